"""Key driver analysis: published figures, the R² decomposition, bootstrap, quadrants, input."""

from __future__ import annotations

import io
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from cxm.exceptions import ValidationError
from cxm.metrics.drivers import (
    QUADRANTS,
    KeyDriverResult,
    key_drivers,
    relative_weights,
    shapley_r2,
)

# The `attitude` data of R's datasets package: a survey of the clerical employees of a large
# financial organisation, 30 departments, percentage of favourable answers. Chatterjee, S. &
# Price, B. (1977). Regression Analysis by Example. Wiley. (Public data shipped with R.)
ATTITUDE = """\
rating,complaints,privileges,learning,raises,critical,advance
43,51,30,39,61,92,45
63,64,51,54,63,73,47
71,70,68,69,76,86,48
61,63,45,47,54,84,35
81,78,56,66,71,83,47
43,55,49,44,54,49,34
58,67,42,56,66,68,35
71,75,50,55,70,66,41
72,82,72,67,71,83,31
67,61,45,47,62,80,41
64,53,53,58,58,67,34
67,60,47,39,59,74,41
69,62,57,42,55,63,25
68,83,83,45,59,77,35
77,77,54,72,79,77,46
81,90,50,72,60,54,36
74,85,64,69,79,79,63
65,60,65,75,55,80,60
65,70,46,57,75,85,46
50,58,68,54,64,78,52
50,40,33,34,43,64,33
64,61,52,62,66,80,41
53,66,52,50,63,80,37
40,37,42,58,50,57,49
63,54,42,48,66,75,33
66,77,66,63,88,76,72
78,75,58,74,80,78,49
48,57,44,45,51,83,38
85,85,71,71,77,74,55
82,82,39,59,64,78,39
"""
ATTITUDE_DRIVERS = ["complaints", "privileges", "learning", "raises", "critical", "advance"]


@pytest.fixture
def attitude() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(ATTITUDE))


def survey(n: int = 600, p: int = 4, seed: int = 3) -> pd.DataFrame:
    """Correlated driver ratings and an outcome that depends on them unequally."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n, 1))
    ratings = rng.normal(size=(n, p)) + 0.8 * common
    effects = np.linspace(1.5, 0.1, p)
    frame = pd.DataFrame(ratings, columns=[f"d{i}" for i in range(p)])
    frame["nps_score"] = ratings @ effects + rng.normal(0, 2, n)
    return frame


def ols_r_squared(y: np.ndarray, x: np.ndarray) -> float:
    """R² of the least-squares fit with an intercept (the oracle for the decompositions)."""
    if x.shape[1] == 0:
        return 0.0
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    return float(1 - residual @ residual / ((y - y.mean()) @ (y - y.mean())))


# -- published figures ----------------------------------------------------------------------


def test_relative_weights_reproduce_the_iopsych_relwt_example() -> None:
    # iopsych::relWt reference example (Jones & Goebl, CRAN iopsych 0.90.1): predictors 1-4,
    # criterion 5 of this correlation matrix; published eps 0.24066119 0.05492664 0.12143476
    # 0.28158189.
    r = np.array(
        [
            [1.0, 0.2, 0.3, 0.4, -0.4],
            [0.2, 1.0, 0.5, 0.1, 0.1],
            [0.3, 0.5, 1.0, 0.2, -0.3],
            [0.4, 0.1, 0.2, 1.0, 0.4],
            [-0.4, 0.1, -0.3, 0.4, 1.0],
        ]
    )
    weights = relative_weights(r[:4, :4], r[:4, 4])
    np.testing.assert_allclose(weights, [0.24066119, 0.05492664, 0.12143476, 0.28158189], atol=5e-9)
    r_squared = r[:4, 4] @ np.linalg.solve(r[:4, :4], r[:4, 4])
    assert weights.sum() == pytest.approx(r_squared, abs=1e-12)


def test_relative_weights_reproduce_the_johnsons_relative_weights_npm_example() -> None:
    # npm package johnsons-relative-weights (Kovalyshyn), README: criterion is the first of
    # seven variables; published raw weights and rSquared 0.6620304789821244.
    r = np.array(
        [
            [1.00, 0.66, 0.67, 0.54, 0.68, 0.62, 0.72],
            [0.66, 1.00, 0.58, 0.59, 0.68, 0.68, 0.56],
            [0.67, 0.58, 1.00, 0.52, 0.60, 0.62, 0.68],
            [0.54, 0.59, 0.52, 1.00, 0.52, 0.61, 0.45],
            [0.68, 0.68, 0.60, 0.52, 1.00, 0.63, 0.62],
            [0.62, 0.68, 0.62, 0.61, 0.63, 1.00, 0.57],
            [0.72, 0.56, 0.68, 0.45, 0.62, 0.57, 1.00],
        ]
    )
    weights = relative_weights(r[1:, 1:], r[1:, 0])
    published = [
        0.10774831782516386,
        0.1164837573016094,
        0.06551431494877613,
        0.12116711335808825,
        0.08006198853448922,
        0.1710549870139989,
    ]
    np.testing.assert_allclose(weights, published, rtol=1e-10)
    assert weights.sum() == pytest.approx(0.6620304789821244, rel=1e-12)
    np.testing.assert_allclose(
        weights / weights.sum() * 100,
        [16.275431607, 17.594923648, 9.895966580, 18.302346675, 12.093399183, 25.837932307],
        rtol=1e-9,
    )


def test_shapley_reproduces_the_published_lmg_of_the_attitude_data(attitude: pd.DataFrame) -> None:
    # dominanceanalysis README (Bustos Navarrete & Coutinho Soares): lm(rating ~ ., attitude),
    # average contribution complaints 0.371, privileges 0.051, learning 0.156, raises 0.120,
    # critical 0.007, advance 0.028; full-model R² 0.733.
    result = key_drivers(
        attitude, drivers=ATTITUDE_DRIVERS, outcome="rating", method="shapley", n_boot=0
    )
    assert round(result.r_squared, 3) == 0.733
    got = result.params.round(3).to_dict()
    assert got == {
        "complaints": 0.371,
        "privileges": 0.051,
        "learning": 0.156,
        "raises": 0.120,
        "critical": 0.007,
        "advance": 0.028,
    }
    assert list(result.table["driver"]) == [
        "complaints",
        "learning",
        "raises",
        "privileges",
        "advance",
        "critical",
    ]


@pytest.mark.parametrize(
    ("subset", "published"),
    [
        (["complaints", "learning"], 0.708),
        (["learning", "raises", "advance"], 0.552),
        (["privileges", "learning", "raises", "advance"], 0.563),
        (["complaints", "privileges", "learning", "raises", "advance"], 0.732),
    ],
)
def test_subset_r_squared_match_the_published_dominance_table(
    attitude: pd.DataFrame, subset: list[str], published: float
) -> None:
    result = key_drivers(attitude, drivers=subset, outcome="rating", n_boot=0)
    assert round(result.r_squared, 3) == published


# -- the decomposition ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_importances_sum_to_the_least_squares_r_squared(method: str, seed: int) -> None:
    frame = survey(n=400, p=5, seed=seed)
    drivers = [f"d{i}" for i in range(5)]
    result = key_drivers(frame, drivers=drivers, method=method, n_boot=0)  # type: ignore[arg-type]
    oracle = ols_r_squared(frame["nps_score"].to_numpy(), frame[drivers].to_numpy())
    assert result.r_squared == pytest.approx(oracle, abs=1e-12)
    assert result.table["importance"].sum() == pytest.approx(oracle, abs=1e-12)
    assert result.table["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (result.table["importance"] >= 0).all()


def test_shapley_equals_the_average_over_all_orderings_brute_force() -> None:
    frame = survey(n=300, p=4, seed=11)
    drivers = [f"d{i}" for i in range(4)]
    y = frame["nps_score"].to_numpy()
    x = frame[drivers].to_numpy()
    gains = np.zeros(4)
    orders = list(permutations(range(4)))
    for order in orders:
        entered: list[int] = []
        for j in order:
            before = ols_r_squared(y, x[:, entered])
            entered.append(j)
            gains[j] += ols_r_squared(y, x[:, entered]) - before
    brute = gains / len(orders)
    result = key_drivers(frame, drivers=drivers, method="shapley", n_boot=0)
    np.testing.assert_allclose(result.params[drivers].to_numpy(), brute, atol=1e-12)


def test_relative_weights_follow_johnsons_definition_step_by_step() -> None:
    frame = survey(n=500, p=5, seed=5)
    drivers = [f"d{i}" for i in range(5)]
    # Johnson (2000): Z = X (X'X)^-1/2 is the best-fitting orthonormal counterpart of the
    # standardised drivers X; Lambda = Z'X regresses X on Z; beta = Z'y; eps = Lambda^2 beta^2.
    x = frame[drivers].to_numpy()
    y = frame["nps_score"].to_numpy()
    xs = (x - x.mean(axis=0)) / x.std(axis=0)
    ys = (y - y.mean()) / y.std()
    u, _, vt = np.linalg.svd(xs, full_matrices=False)
    z = u @ vt * np.sqrt(len(y))  # orthogonal columns with unit variance, closest to xs
    lam = z.T @ xs / len(y)
    beta = z.T @ ys / len(y)
    eps = (lam**2) @ (beta**2)
    result = key_drivers(frame, drivers=drivers, n_boot=0)
    np.testing.assert_allclose(result.params[drivers].to_numpy(), eps, atol=1e-12)


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_relative_weights_approximate_shapley_closely(seed: int) -> None:
    frame = survey(n=800, p=6, seed=seed)
    drivers = [f"d{i}" for i in range(6)]
    rw = key_drivers(frame, drivers=drivers, n_boot=0)
    lmg = key_drivers(frame, drivers=drivers, method="shapley", n_boot=0)
    gap = (rw.params[drivers] - lmg.params[drivers]).abs().max()
    assert gap < 0.03 * rw.r_squared  # within 3% of R², as Johnson (2000) reports


def test_relative_weights_approximate_shapley_on_the_attitude_data(attitude: pd.DataFrame) -> None:
    rw = key_drivers(attitude, drivers=ATTITUDE_DRIVERS, outcome="rating", n_boot=0)
    lmg = key_drivers(
        attitude, drivers=ATTITUDE_DRIVERS, outcome="rating", method="shapley", n_boot=0
    )
    gap = (rw.params - lmg.params[rw.params.index]).abs().max()
    assert gap < 0.03 * rw.r_squared
    assert list(rw.table["driver"]) == list(lmg.table["driver"])


def test_two_predictors_relative_weights_equal_shapley() -> None:
    rxx = np.array([[1.0, 0.45], [0.45, 1.0]])
    rxy = np.array([0.5, 0.2])
    np.testing.assert_allclose(relative_weights(rxx, rxy), shapley_r2(rxx, rxy), atol=1e-14)


def test_importance_ignores_units_and_direction_but_correlation_keeps_the_sign() -> None:
    frame = survey(n=400, p=4, seed=8)
    drivers = [f"d{i}" for i in range(4)]
    base = key_drivers(frame, drivers=drivers, method="shapley", n_boot=0)
    changed = frame.assign(d0=10 - 3 * frame["d0"], d2=frame["d2"] * 100 + 7)
    moved = key_drivers(changed, drivers=drivers, method="shapley", n_boot=0)
    np.testing.assert_allclose(moved.params[drivers], base.params[drivers], atol=1e-12)
    corr_base = base.table.set_index("driver")["correlation"]
    corr_moved = moved.table.set_index("driver")["correlation"]
    assert corr_moved["d0"] == pytest.approx(-corr_base["d0"])
    assert corr_moved["d2"] == pytest.approx(corr_base["d2"])


def test_batched_matrices_give_the_same_weights_as_one_at_a_time() -> None:
    rng = np.random.default_rng(0)
    stack, targets = [], []
    for _ in range(3):
        data = rng.normal(size=(50, 4)) + rng.normal(size=(50, 1))
        corr = np.corrcoef(data, rowvar=False)
        stack.append(corr[1:, 1:])
        targets.append(corr[1:, 0])
    for function in (relative_weights, shapley_r2):
        batched = function(np.array(stack), np.array(targets))
        single = np.array([function(a, b) for a, b in zip(stack, targets, strict=True)])
        np.testing.assert_allclose(batched, single, atol=1e-14)


# -- bootstrap ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
def test_bootstrap_intervals_hold_the_estimate_and_repeat_with_a_seed(method: str) -> None:
    frame = survey(n=500, p=4, seed=21)
    drivers = [f"d{i}" for i in range(4)]
    first = key_drivers(frame, drivers=drivers, method=method, n_boot=300, seed=42)  # type: ignore[arg-type]
    again = key_drivers(frame, drivers=drivers, method=method, n_boot=300, seed=42)  # type: ignore[arg-type]
    other = key_drivers(frame, drivers=drivers, method=method, n_boot=300, seed=43)  # type: ignore[arg-type]
    table = first.table
    assert (table["ci_low"] <= table["importance"]).all()
    assert (table["importance"] <= table["ci_high"]).all()
    assert (table["se"] > 0).all()
    pd.testing.assert_frame_equal(first.table, again.table)
    assert not np.allclose(first.table["ci_low"], other.table["ci_low"])
    assert first.n_boot == 300
    assert first.r_squared_ci_low <= first.r_squared <= first.r_squared_ci_high


def test_wider_confidence_gives_wider_intervals() -> None:
    frame = survey(n=300, p=3, seed=2)
    drivers = ["d0", "d1", "d2"]
    narrow = key_drivers(frame, drivers=drivers, n_boot=400, seed=1, confidence=0.8).table
    wide = key_drivers(frame, drivers=drivers, n_boot=400, seed=1, confidence=0.99).table
    assert (wide["ci_high"] - wide["ci_low"] > narrow["ci_high"] - narrow["ci_low"]).all()


def test_bootstrap_standard_error_is_near_the_sampling_spread() -> None:
    # The bootstrap SE of one sample should be close to the spread over fresh samples.
    drivers = ["d0", "d1", "d2"]
    estimates = [
        key_drivers(survey(n=400, p=3, seed=s), drivers=drivers, n_boot=0).params["d0"]
        for s in range(100, 160)
    ]
    boot = key_drivers(survey(n=400, p=3, seed=99), drivers=drivers, n_boot=500, seed=0)
    se = boot.table.set_index("driver").loc["d0", "se"]
    assert 0.6 < se / np.std(estimates, ddof=1) < 1.6


def test_no_bootstrap_leaves_nan_intervals() -> None:
    result = key_drivers(survey(n=100, p=3), drivers=["d0", "d1", "d2"], n_boot=0)
    assert result.table[["se", "ci_low", "ci_high"]].isna().all().all()
    assert result.n_boot == 0
    assert np.isnan(result.r_squared_ci_low)


def test_resamples_where_a_driver_is_flat_are_skipped_not_fatal() -> None:
    # A rare 0/1 flag is constant in some resamples of a small sample.
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"rating": rng.normal(size=12), "flag": [1] + [0] * 11})
    frame["nps_score"] = frame["rating"] + frame["flag"] + rng.normal(0, 0.5, 12)
    result = key_drivers(frame, drivers=["rating", "flag"], n_boot=200, seed=1)
    assert 0 < result.n_boot < 200
    assert np.isfinite(result.table[["ci_low", "ci_high"]]).all().all()


# -- performance and quadrants --------------------------------------------------------------


def quadrant_survey() -> pd.DataFrame:
    """Four independent drivers: strong/weak effect crossed with high/low ratings."""
    rng = np.random.default_rng(17)
    n = 3000
    means = {"staff": 8.0, "waiting": 3.0, "decor": 8.0, "parking": 3.0}
    effects = {"staff": 2.0, "waiting": 2.0, "decor": 0.3, "parking": 0.3}
    frame = pd.DataFrame({k: np.clip(rng.normal(m, 1.0, n), 0, 10) for k, m in means.items()})
    frame["nps_score"] = sum(effects[k] * frame[k] for k in means) + rng.normal(0, 1, n)
    return frame


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
def test_quadrants_on_a_constructed_survey(method: str) -> None:
    frame = quadrant_survey()
    result = key_drivers(
        frame,
        drivers=["staff", "waiting", "decor", "parking"],
        method=method,  # type: ignore[arg-type]
        n_boot=0,
        scale=(0, 10),
    )
    quadrant = result.table.set_index("driver")["quadrant"].astype(str).to_dict()
    assert quadrant == {
        "staff": "keep up",
        "waiting": "improve",
        "decor": "possible overkill",
        "parking": "low priority",
    }
    assert list(result.table["quadrant"].cat.categories) == list(QUADRANTS)
    performance = result.table.set_index("driver")["performance"]
    expected = frame[["staff", "waiting", "decor", "parking"]].mean() * 10  # 0..10 -> 0..100
    np.testing.assert_allclose(performance[expected.index], expected, atol=1e-9)


def test_split_at_the_mean_differs_from_the_median_with_one_dominant_driver() -> None:
    rng = np.random.default_rng(4)
    n = 4000
    frame = pd.DataFrame({k: rng.integers(1, 6, n).astype(float) for k in "abcd"})
    frame["nps_score"] = 5 * frame["a"] + frame["b"] + 0.8 * frame["c"] + 0.1 * frame["d"]
    frame["nps_score"] += rng.normal(0, 1, n)
    median = key_drivers(frame, drivers=list("abcd"), n_boot=0, scale=(1, 5))
    mean = key_drivers(frame, drivers=list("abcd"), n_boot=0, scale=(1, 5), split="mean")
    important_median = set(
        median.table.loc[median.table["quadrant"].isin(["keep up", "improve"]), "driver"]
    )
    important_mean = set(
        mean.table.loc[mean.table["quadrant"].isin(["keep up", "improve"]), "driver"]
    )
    assert important_median == {"a", "b"}  # the top half of four drivers
    assert important_mean == {"a"}  # only the dominant one beats the mean importance
    assert mean.split == "mean"


def test_top_box_performance_is_the_percentage_at_or_above_the_threshold() -> None:
    frame = pd.DataFrame(
        {
            "speed": [5, 5, 4, 3, 2, 5, 4, 1],
            "price": [1, 2, 3, 4, 5, 5, 4, 2],
            "nps_score": [10, 9, 8, 6, 3, 9, 7, 4],
        }
    )
    top = key_drivers(frame, drivers=["speed", "price"], n_boot=0, performance="top_box")
    perf = top.table.set_index("driver")["performance"]
    assert perf["speed"] == pytest.approx(3 / 8 * 100)  # answers of 5 (the scale's top)
    assert perf["price"] == pytest.approx(2 / 8 * 100)
    top2 = key_drivers(
        frame, drivers=["speed", "price"], n_boot=0, performance="top_box", top_box=4
    )
    perf2 = top2.table.set_index("driver")["performance"]
    assert perf2["speed"] == pytest.approx(5 / 8 * 100)
    assert perf2["price"] == pytest.approx(4 / 8 * 100)
    mean = key_drivers(frame, drivers=["speed", "price"], n_boot=0, scale=(1, 5))
    perf3 = mean.table.set_index("driver")["performance"]
    assert perf3["speed"] == pytest.approx((29 / 8 - 1) / 4 * 100)


# -- missing values, result object, validation ------------------------------------------------


def test_rows_with_a_missing_value_are_dropped_and_counted() -> None:
    frame = survey(n=200, p=3, seed=6)
    drivers = ["d0", "d1", "d2"]
    holed = frame.copy()
    holed.loc[[0, 5, 9], "d1"] = np.nan
    holed.loc[[5, 20], "nps_score"] = np.nan
    result = key_drivers(holed, drivers=drivers, n_boot=0)
    assert result.n_dropped == 4
    assert result.n == 196
    clean = key_drivers(holed.dropna(), drivers=drivers, n_boot=0)
    pd.testing.assert_frame_equal(result.table, clean.table)
    assert "4 row(s) with a missing value left out" in str(result)
    assert "4 row(s) with a missing value left out" in result._repr_html_()


def test_result_object_exposes_params_summary_and_html() -> None:
    result = key_drivers(survey(n=200, p=3), drivers=["d0", "d1", "d2"], n_boot=50, seed=0)
    assert isinstance(result, KeyDriverResult)
    assert result.summary is result.table
    assert result.params.index.name == "driver"
    assert list(result.table.columns) == [
        "driver",
        "rank",
        "importance",
        "share",
        "se",
        "ci_low",
        "ci_high",
        "correlation",
        "performance",
        "quadrant",
    ]
    assert list(result.table["rank"]) == [1, 2, 3]
    assert result.table["importance"].is_monotonic_decreasing
    assert "<table" in result._repr_html_()
    assert result.method == "relative_weights"
    assert result.outcome == "nps_score"


def test_boolean_drivers_count_as_zero_one() -> None:
    frame = survey(n=300, p=2, seed=1)
    frame["resolved"] = frame["d0"] > 0
    as_bool = key_drivers(frame, drivers=["resolved", "d1"], n_boot=0)
    as_int = key_drivers(
        frame.assign(resolved=frame["resolved"].astype(int)), drivers=["resolved", "d1"], n_boot=0
    )
    pd.testing.assert_frame_equal(as_bool.table, as_int.table)


def test_twelve_drivers_run_exactly_with_shapley() -> None:
    frame = survey(n=500, p=12, seed=2)
    drivers = [f"d{i}" for i in range(12)]
    result = key_drivers(frame, drivers=drivers, method="shapley", n_boot=20, seed=0)
    assert result.table["importance"].sum() == pytest.approx(result.r_squared, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"drivers": ["d0", "nope"]}, "df"),
        ({"drivers": ["d0"]}, "drivers"),
        ({"drivers": "d0"}, "drivers"),
        ({"drivers": ["d0", "d0"]}, "drivers"),
        ({"drivers": ["d0", "nps_score"]}, "drivers"),
        ({"drivers": ["d0", "d1"], "method": "ols"}, "method"),
        ({"drivers": ["d0", "d1"], "confidence": 1.5}, "confidence"),
        ({"drivers": ["d0", "d1"], "n_boot": -1}, "n_boot"),
        ({"drivers": ["d0", "d1"], "n_boot": 2.5}, "n_boot"),
        ({"drivers": ["d0", "d1"], "performance": "median"}, "performance"),
        ({"drivers": ["d0", "d1"], "split": "mode"}, "split"),
        ({"drivers": ["d0", "d1"], "scale": (1, 5)}, "scale"),
        ({"drivers": ["d0", "d1"], "scale": (5, -50)}, "scale"),
        ({"drivers": ["d0", "d1"], "scale": "1-5"}, "scale"),
        ({"drivers": ["d0", "label"]}, "label"),
        ({"drivers": ["d0", "flat"]}, "flat"),
        ({"drivers": ["d0", "d1", "total"]}, "drivers"),
    ],
)
def test_bad_input_raises_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    frame = survey(n=100, p=2)
    frame["label"] = "x"
    frame["flat"] = 3.0
    frame["total"] = frame["d0"] + frame["d1"]
    with pytest.raises(ValidationError) as info:
        key_drivers(frame, **{"n_boot": 0, **kwargs})  # type: ignore[arg-type]
    assert info.value.field == field


def test_too_many_drivers_for_exact_shapley() -> None:
    frame = survey(n=300, p=13)
    with pytest.raises(ValidationError, match="at most 12"):
        key_drivers(frame, drivers=[f"d{i}" for i in range(13)], method="shapley")
    with pytest.raises(ValidationError, match="at most 12"):
        shapley_r2(np.eye(13), np.zeros(13))
    assert len(key_drivers(frame, drivers=[f"d{i}" for i in range(13)], n_boot=0).table) == 13


def test_too_few_complete_rows() -> None:
    frame = survey(n=4, p=3)
    with pytest.raises(ValidationError, match="at least 5 rows"):
        key_drivers(frame, drivers=["d0", "d1", "d2"], n_boot=0)


def test_not_a_dataframe() -> None:
    with pytest.raises(ValidationError):
        key_drivers([1, 2, 3], drivers=["a", "b"])  # type: ignore[arg-type]


def test_categorical_driver_is_refused() -> None:
    frame = survey(n=50, p=2)
    frame["d1"] = pd.Categorical(np.where(frame["d1"] > 0, "hi", "lo"))
    with pytest.raises(ValidationError, match="0/1 columns"):
        key_drivers(frame, drivers=["d0", "d1"], n_boot=0)
