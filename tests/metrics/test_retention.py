"""Retention and churn: published sBG and Kaplan-Meier figures, brute-force oracles, validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cxm.exceptions import ValidationError
from cxm.metrics.feedback import wilson_interval
from cxm.metrics.retention import (
    CohortRetention,
    churn_rate,
    churned,
    cohort_retention,
    customer_lifetimes,
    customer_survival,
    fit_sbg,
    kaplan_meier,
)

# Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. Journal of
# Interactive Marketing, 21(1), 76-90: customers of two 1,000-strong cohorts still active at
# the start of years 0..7, and the published sBG fits on years 1-7.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]

# Freireich, E. J. et al. (1963). Blood, 21(6), 699-716: weeks in remission of 21 leukaemia
# patients on 6-mercaptopurine (False: still in remission, censored) and 21 on placebo, as
# tabulated in Klein, J. P. & Moeschberger, M. L. (2003). Survival Analysis, 2nd ed.,
# section 1.2, with the Kaplan-Meier estimate and Greenwood standard errors of Table 4.1A.
SIX_MP = [
    (6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True),
    (10, False), (11, False), (13, True), (16, True), (17, False), (19, False), (20, False),
    (22, True), (23, True), (25, False), (32, False), (32, False), (34, False), (35, False),
]  # fmt: skip
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
KM_TABLE_4_1A = {  # time: (S(t), Greenwood SE), to 3 decimals
    6: (0.857, 0.076),
    7: (0.807, 0.087),
    10: (0.753, 0.096),
    13: (0.690, 0.107),
    16: (0.627, 0.114),
    22: (0.538, 0.128),
    23: (0.448, 0.135),
}


def leukaemia() -> pd.DataFrame:
    six_mp = pd.DataFrame(SIX_MP, columns=["duration", "observed"]).assign(arm="6-MP")
    placebo = pd.DataFrame({"duration": PLACEBO, "observed": True, "arm": "placebo"})
    return pd.concat([six_mp, placebo], ignore_index=True)


# -- shifted-beta-geometric: the published figures -------------------------------------------


@pytest.mark.parametrize(
    ("counts", "alpha", "beta", "loglik"),
    [(REGULAR, 0.704, 1.182, -1680.3), (HIGH_END, 0.668, 3.806, -1611.2)],
    ids=["regular", "high-end"],
)
def test_sbg_reproduces_fader_hardie_2007(
    counts: list[int], alpha: float, beta: float, loglik: float
) -> None:
    fit = fit_sbg(counts)
    assert fit.n_periods == 7  # the paper calibrates on years 1-7
    assert (round(fit.alpha, 3), round(fit.beta, 3)) == (alpha, beta)
    assert round(fit.log_likelihood, 1) == loglik
    assert fit.converged
    assert list(fit.params.index) == ["alpha", "beta"]


def sbg_loglik_by_hand(alpha: float, beta: float, counts: list[int]) -> float:
    """The paper's likelihood written out term by term with math.lgamma."""

    def log_beta(a: float, b: float) -> float:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    total = 0.0
    for t in range(1, len(counts)):
        lost = counts[t - 1] - counts[t]
        total += lost * (log_beta(alpha + 1, beta + t - 1) - log_beta(alpha, beta))
    n = len(counts) - 1
    return total + counts[-1] * (log_beta(alpha, beta + n) - log_beta(alpha, beta))


@pytest.mark.parametrize("counts", [REGULAR, HIGH_END], ids=["regular", "high-end"])
def test_sbg_is_the_maximum_of_the_papers_likelihood(counts: list[int]) -> None:
    fit = fit_sbg(counts)
    best = sbg_loglik_by_hand(fit.alpha, fit.beta, counts)
    assert fit.log_likelihood == pytest.approx(best, abs=1e-9)
    for da, db in [(1e-4, 0), (-1e-4, 0), (0, 1e-4), (0, -1e-4), (1e-4, 1e-4)]:
        assert sbg_loglik_by_hand(fit.alpha + da, fit.beta + db, counts) < best


@pytest.mark.parametrize("counts", [REGULAR, HIGH_END], ids=["regular", "high-end"])
def test_sbg_standard_errors_match_a_numerical_hessian(counts: list[int]) -> None:
    fit = fit_sbg(counts)
    theta, h = np.array([fit.alpha, fit.beta]), 1e-4
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            f = [sbg_loglik_by_hand(*(theta + s1 * ei + s2 * ej), counts) for s1, s2 in
                 [(1, 1), (1, -1), (-1, 1), (-1, -1)]]  # fmt: skip
            hessian[i, j] = (f[0] - f[1] - f[2] + f[3]) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    np.testing.assert_allclose(fit.standard_errors.to_numpy(), se, rtol=1e-4)
    summary = fit.summary
    assert list(summary.columns) == ["estimate", "se", "ci_low", "ci_high"]
    assert (summary["ci_low"] < summary["estimate"]).all()
    assert (summary["estimate"] < summary["ci_high"]).all()
    assert (summary["ci_low"] > 0).all()


def test_sbg_survival_retention_and_churn_probability_agree() -> None:
    fit = fit_sbg(REGULAR)
    t = np.arange(1, 15)
    survival = fit.survival(np.arange(15))
    assert survival[0] == pytest.approx(1.0)
    np.testing.assert_allclose(survival[1:], np.cumprod(fit.retention_rate(t)), rtol=1e-12)
    np.testing.assert_allclose(fit.churn_probability(t), survival[:-1] - survival[1:], rtol=1e-9)
    # The first-period retention rate is beta / (alpha + beta): the mean of 1 - theta.
    assert fit.retention_rate(1) == pytest.approx(fit.beta / (fit.alpha + fit.beta))
    assert np.all(np.diff(fit.retention_rate(t)) > 0)  # retention rises with tenure


def test_sbg_projection_lines_up_with_the_data() -> None:
    fit = fit_sbg(REGULAR, periods=4)
    assert fit.n_periods == 4
    same = fit_sbg(REGULAR[:5])
    assert (fit.alpha, fit.beta) == pytest.approx((same.alpha, same.beta), rel=1e-8)
    table = fit.projected(10)
    assert list(table.columns) == [
        "period",
        "observed",
        "expected",
        "survival",
        "retention_rate",
        "calibration",
    ]
    assert table["observed"].tolist()[:8] == REGULAR  # holdout counts stay for comparison
    assert table["observed"].iloc[8:].isna().all()
    assert table["calibration"].tolist() == [True] * 5 + [False] * 6
    np.testing.assert_allclose(table["expected"], 1000 * fit.survival(np.arange(11)))
    assert np.isnan(table["retention_rate"].iloc[0])


def test_derl_equals_the_discounted_sum_of_survival() -> None:
    fit = fit_sbg(HIGH_END)
    for renewals in (0, 1, 4):
        n = renewals + 1
        for discount in (0.1, 0.25):
            t = np.arange(n, 3000)
            terms = fit.survival(t) / fit.survival(n - 1) * np.exp(-(t - n) * np.log1p(discount))
            assert fit.derl(discount, renewals=renewals) == pytest.approx(terms.sum(), rel=1e-10)
    assert fit.derl(0.1, renewals=5) > fit.derl(0.1)  # survivors are the loyal ones


def test_sbg_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(7)
    theta = rng.beta(1.2, 3.5, size=40_000)
    lifetimes = rng.geometric(theta)  # the period in which each customer leaves
    counts = [int((lifetimes > t).sum()) for t in range(9)]
    fit = fit_sbg(counts)
    assert fit.alpha == pytest.approx(1.2, abs=3 * fit.standard_errors["alpha"])
    assert fit.beta == pytest.approx(3.5, abs=3 * fit.standard_errors["beta"])


@pytest.mark.parametrize(
    "counts",
    [[1000], [1000, 1100], [1000, 600.5], [0, 0], [1000, -1], "many", [1000, 1000, 1000]],
)
def test_sbg_refuses_counts_that_are_not_a_cohort(counts: object) -> None:
    with pytest.raises(ValidationError, match=r"^active="):
        fit_sbg(counts)


def test_sbg_refuses_bad_options() -> None:
    with pytest.raises(ValidationError, match=r"^periods="):
        fit_sbg(REGULAR, periods=8)
    with pytest.raises(ValidationError, match=r"^periods="):
        fit_sbg(REGULAR, periods=0)
    with pytest.raises(ValidationError, match=r"^confidence="):
        fit_sbg(REGULAR, confidence=95)
    fit = fit_sbg(REGULAR)
    with pytest.raises(ValidationError, match=r"^discount="):
        fit.derl(0)
    with pytest.raises(ValidationError, match=r"^t="):
        fit.retention_rate(0)
    assert "log-likelihood -1680.27" in fit._repr_html_()


# -- Kaplan-Meier: the published figures -----------------------------------------------------


def test_kaplan_meier_reproduces_klein_moeschberger_table_4_1a() -> None:
    curve = kaplan_meier(leukaemia(), by="arm", min_n=0)
    table = curve.table[curve.table["arm"] == "6-MP"].set_index("time")
    for time, (survival, se) in KM_TABLE_4_1A.items():
        assert round(table.loc[time, "survival"], 3) == survival
        assert round(table.loc[time, "se"], 3) == se
    assert table.loc[6.0, ["at_risk", "events", "censored"]].tolist() == [21, 3, 1]
    assert table.loc[23.0, ["at_risk", "events", "censored"]].tolist() == [6, 1, 0]
    medians = curve.medians.set_index("arm")
    assert medians.loc["6-MP", "median"] == 23.0
    assert medians.loc["placebo", "median"] == 8.0
    assert medians.loc["6-MP", ["n", "events"]].tolist() == [21, 9]
    assert np.isnan(medians.loc["6-MP", "ci_high"])  # the upper band never falls to 0.5


def km_by_hand(
    durations: list[float], observed: list[bool], z: float = 1.959963984540054
) -> dict[float, tuple[float, float, float, float]]:
    """Kaplan-Meier with Greenwood's variance and the log-log band, one time at a time."""
    out = {}
    survival, greenwood = 1.0, 0.0
    for time in sorted(set(durations)):
        at_risk = sum(d >= time for d in durations)
        events = sum(d == time and o for d, o in zip(durations, observed, strict=True))
        if events:
            survival *= 1 - events / at_risk
            greenwood += events / (at_risk * (at_risk - events)) if at_risk > events else 0
        if survival == 0:
            out[time] = (0.0, math.nan, 0.0, 0.0)
        elif survival == 1:
            out[time] = (1.0, 0.0, 1.0, 1.0)
        else:
            log_s = math.log(survival)
            spread = z * math.sqrt(greenwood) / abs(log_s)
            low = math.exp(-math.exp(math.log(-log_s) + spread))
            high = math.exp(-math.exp(math.log(-log_s) - spread))
            out[time] = (survival, survival * math.sqrt(greenwood), low, high)
    return out


def test_log_log_band_matches_the_formula_by_hand() -> None:
    durations = [float(d) for d, _ in SIX_MP]
    observed = [o for _, o in SIX_MP]
    curve = kaplan_meier(pd.DataFrame({"duration": durations, "observed": observed}), min_n=0)
    expected = km_by_hand(durations, observed)
    for row in curve.table.itertuples():
        np.testing.assert_allclose(
            [row.survival, row.se, row.ci_low, row.ci_high], expected[row.time], rtol=1e-12
        )
    # The median's interval is where each band first falls to 0.5 or below.
    first_low = min(t for t, (_, _, low, _) in expected.items() if low <= 0.5)
    assert curve.medians["ci_low"].iloc[0] == first_low == 13.0


def test_kaplan_meier_against_the_loop_on_random_segments() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "weeks": rng.integers(0, 12, 400).astype(float),
            "seen": rng.random(400) < 0.6,
            "plan": rng.choice(["basic", "pro", "team"], 400),
        }
    )
    curve = kaplan_meier(frame, duration="weeks", observed="seen", by="plan", confidence=0.9)
    z = 1.6448536269514722
    for plan, rows in frame.groupby("plan"):
        expected = km_by_hand(rows["weeks"].tolist(), rows["seen"].tolist(), z)
        got = curve.table[curve.table["plan"] == plan]
        assert got["time"].tolist() == sorted(expected)
        for row in got.itertuples():
            np.testing.assert_allclose(
                [row.survival, row.se, row.ci_low, row.ci_high], expected[row.time], rtol=1e-10
            )
    shuffled = kaplan_meier(frame.sample(frac=1, random_state=1), duration="weeks",
                            observed="seen", by="plan", confidence=0.9)  # fmt: skip
    pd.testing.assert_frame_equal(shuffled.table, curve.table)
    pd.testing.assert_frame_equal(shuffled.medians, curve.medians)


def test_kaplan_meier_ties_wipeout_and_reading_the_curve() -> None:
    frame = pd.DataFrame({"duration": [2, 2, 2, 5, 5], "observed": [1, 0, 1, 1, 1]})
    curve = kaplan_meier(frame, min_n=10)
    first = curve.table.iloc[0]
    # Events come before censorings at a tie: the one censored at 2 was still at risk.
    assert (first["at_risk"], first["events"], first["censored"]) == (5, 2, 1)
    assert first["survival"] == pytest.approx(0.6)
    last = curve.table.iloc[-1]
    assert last["survival"] == 0.0
    assert np.isnan(last["se"])
    assert (last["ci_low"], last["ci_high"]) == (0.0, 0.0)
    assert curve.medians["low_n"].iloc[0]
    read = curve.survival_at([0, 2, 3.5, 99])
    assert read["survival"].tolist() == pytest.approx([1.0, 0.6, 0.6, 0.0])
    assert read["ci_low"].iloc[0] == 1.0
    every = kaplan_meier(frame.drop(columns="observed"), observed=None, min_n=0)
    assert every.medians["events"].iloc[0] == 5


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"duration": [1, -2], "observed": [1, 1]}), r"^duration="),
        (pd.DataFrame({"duration": [1, np.nan], "observed": [1, 1]}), r"^duration="),
        (pd.DataFrame({"duration": ["a", "b"], "observed": [1, 1]}), r"^duration="),
        (pd.DataFrame({"duration": [1, 2], "observed": ["yes", "no"]}), r"^observed="),
        (pd.DataFrame({"duration": [1, 2], "observed": [1, 2]}), r"^observed="),
        (pd.DataFrame({"duration": [1, 2]}), r"^df="),
        (pd.DataFrame({"duration": [], "observed": []}), r"^df="),
    ],
)
def test_kaplan_meier_refuses_bad_input(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        kaplan_meier(frame)


# -- cohort retention against a brute-force loop ---------------------------------------------


def random_interactions(seed: int, customers: int = 60) -> pd.DataFrame:
    """Unsorted interactions with gaps: customers skip months and come back."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        start = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        for _ in range(int(rng.integers(1, 12))):
            when = start + pd.Timedelta(hours=int(rng.integers(0, 24 * 400)))
            rows.append(
                (
                    f"c{c:03d}",
                    when,
                    rng.choice(["purchase", "ticket", "review"]),
                    "web" if c % 3 else "store",
                )
            )
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "kind", "channel"])
    frame = frame[frame["occurred_at"] <= pd.Timestamp("2024-02-15")]
    return frame.sample(frac=1, random_state=seed).set_index(rng.permutation(len(frame)))


def cohort_loop(
    frame: pd.DataFrame, freq: str, entry_kind: str | None, by: str | None = None
) -> dict[tuple[object, pd.Timestamp, int], tuple[int, int]]:
    """(segment, cohort, period) -> (n, active), one customer and one period at a time."""
    period = {"MS": "M", "W": "W-SUN"}[freq]
    label = frame["occurred_at"].dt.to_period(period)
    last = label.max()
    cohorts: dict[str, tuple[object, pd.Period]] = {}
    for customer, rows in frame.groupby("customer_id"):
        starts = rows if entry_kind is None else rows[rows["kind"] == entry_kind]
        if len(starts):
            first = starts.sort_values(["occurred_at", by] if by else ["occurred_at"]).iloc[0]
            cohorts[str(customer)] = (first[by] if by else None, label[first.name])
    out: dict[tuple[object, pd.Timestamp, int], tuple[int, int]] = {}
    keys = {(seg, coh) for seg, coh in cohorts.values()}
    for seg, coh in keys:
        members = [c for c, v in cohorts.items() if v == (seg, coh)]
        for k in range((last - coh).n + 1):
            target = coh + k
            active = sum(((frame["customer_id"] == c) & (label == target)).any() for c in members)
            stamp = coh.start_time if freq == "MS" else coh.end_time.normalize()
            out[(seg, stamp, k)] = (len(members), int(active))
    return out


@pytest.mark.parametrize(
    ("freq", "entry", "by"),
    [
        ("MS", None, None),
        ("MS", "purchase", None),
        ("W", None, None),
        ("MS", "purchase", "channel"),
    ],
)
def test_cohort_retention_matches_the_brute_force_loop(
    freq: str, entry: str | None, by: str | None
) -> None:
    frame = random_interactions(11)
    result = cohort_retention(frame, freq=freq, cohort_by=entry, by=by)
    expected = cohort_loop(frame, freq, entry, by)
    table = result.table
    assert len(table) == len(expected)
    for row in table.itertuples():
        seg = getattr(row, by) if by else None
        assert (row.n, row.active) == expected[(seg, row.cohort, row.period)]
    assert (table["retention"] == table["active"] / table["n"]).all()
    low, high = wilson_interval(table["active"], table["n"])
    np.testing.assert_allclose(table["ci_low"], low)
    np.testing.assert_allclose(table["ci_high"], high)


def test_cohort_matrix_counts_and_curve() -> None:
    frame = random_interactions(5)
    result = cohort_retention(frame, freq="MS", min_n=5)
    matrix = result.matrix
    assert matrix.columns.tolist() == list(range(len(matrix.columns)))
    assert (matrix[0] == 1.0).all()  # every first interaction is activity in period 0
    # The matrix is a staircase: a cohort is listed up to the last month and no further.
    last = frame["occurred_at"].max().to_period("M")
    months = [(last - cohort.to_period("M")).n + 1 for cohort in matrix.index]
    assert matrix.notna().sum(axis=1).tolist() == months
    assert (result.counts.fillna(0) <= result.sizes.to_numpy()[:, None]).all().all()
    curve = result.curve()
    for k, row in curve.set_index("period").iterrows():
        cells = result.table[result.table["period"] == k]
        assert row["n"] == cells["n"].sum()
        assert row["active"] == cells["active"].sum()
        assert row["cohorts"] == len(cells)
    assert (result.table["low_n"] == (result.table["n"] < 5)).all()
    assert "%" in result._repr_html_()
    assert isinstance(result, CohortRetention)


def test_cohort_retention_edges() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", None, "b", "b", "c"],
            "occurred_at": pd.to_datetime(
                [
                    "2024-01-10",
                    "2024-03-02",
                    "2024-01-01",
                    "2024-02-01",
                    "2024-01-20",
                    "2024-04-30",
                ],
                utc=True,
            ),
            "kind": ["ticket", "purchase", "purchase", "purchase", "ticket", "ticket"],
        }
    )
    # Cohort by first purchase; the ticket b sent before buying does not count.
    result = cohort_retention(frame, cohort_by="purchase", as_of="2024-03-31", min_n=0)
    table = result.table
    assert table["cohort"].dt.tz is not None
    assert set(table["cohort"].dt.strftime("%Y-%m")) == {"2024-02", "2024-03"}
    feb = table[table["cohort"].dt.month == 2]
    assert feb["active"].tolist() == [1, 0]
    assert feb["period"].tolist() == [0, 1]
    # Activity restricted to purchases; the anonymous purchase is ignored.
    only = cohort_retention(frame, activity=["purchase"], min_n=0).table
    jan = only[only["cohort"].dt.month == 1]
    assert jan["n"].iloc[0] == 2
    assert jan["active"].tolist() == [0, 1, 1, 0]
    mask = pd.Series(frame["kind"] == "ticket", index=frame.index)
    assert cohort_retention(frame, cohort_by=mask, min_n=0).sizes.sum() == 3
    none = cohort_retention(frame.iloc[:0], min_n=0)
    assert none.table.empty


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cohort_by": "purchse"}, r"^cohort_by="),
        ({"activity": [True, False]}, r"^activity="),
        ({"freq": "nonsense"}, r"^freq="),
        ({"freq": ""}, r"^freq="),
        ({"customer": "client"}, r"^df="),
        ({"confidence": 1.5}, r"^confidence="),
        ({"min_n": -1}, r"^min_n="),
        ({"as_of": "not a date"}, r"^as_of="),
    ],
)
def test_cohort_retention_refuses_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        cohort_retention(random_interactions(1, customers=5), **kwargs)


def test_cohort_retention_refuses_bad_times() -> None:
    frame = random_interactions(1, customers=5)
    with pytest.raises(ValidationError, match=r"^occurred_at="):
        cohort_retention(frame.assign(occurred_at="2024-01-01"))
    with pytest.raises(ValidationError, match=r"^occurred_at="):
        cohort_retention(frame.assign(occurred_at=pd.NaT))


# -- churn -----------------------------------------------------------------------------------


def test_churned_matches_a_loop_and_the_boundary_is_inclusive() -> None:
    frame = random_interactions(9)
    as_of = pd.Timestamp("2024-01-01")
    table = churned(frame, inactive_for="60D", as_of=as_of, by="channel")
    seen = frame[frame["occurred_at"] <= as_of]
    assert table["customer_id"].tolist() == sorted(seen["customer_id"].unique())
    for row in table.itertuples():
        rows = seen[seen["customer_id"] == row.customer_id]
        assert row.first_seen == rows["occurred_at"].min()
        assert row.last_seen == rows["occurred_at"].max()
        assert row.interactions == len(rows)
        assert row.churned == (as_of - rows["occurred_at"].max() >= pd.Timedelta("60D"))
        assert row.days_inactive == pytest.approx((as_of - row.last_seen) / pd.Timedelta("1D"))
        assert row.channel == rows.sort_values("occurred_at")["channel"].iloc[0]
    exact = pd.DataFrame(
        {"customer_id": ["a", "b"], "occurred_at": pd.to_datetime(["2024-01-01", "2024-03-31"])}
    )
    assert churned(exact, inactive_for="90D")["churned"].tolist() == [True, False]


def test_churn_rate_by_segment() -> None:
    frame = random_interactions(9)
    table = churned(frame, inactive_for="45D", by="channel")
    rates = churn_rate(frame, inactive_for="45D", by="channel", min_n=25)
    for row in rates.itertuples():
        cell = table[table["channel"] == row.channel]
        assert (row.n, row.churned) == (len(cell), cell["churned"].sum())
        low, high = wilson_interval(row.churned, row.n)
        assert (row.ci_low, row.ci_high) == pytest.approx((float(low), float(high)))
        assert row.low_n == (row.n < 25)


@pytest.mark.parametrize("bad", [90, "-5D", "soon", None])
def test_churned_refuses_a_bad_inactivity_rule(bad: object) -> None:
    with pytest.raises(ValidationError, match=r"^inactive_for="):
        churned(random_interactions(1, customers=3), inactive_for=bad)  # type: ignore[arg-type]


# -- lifetimes and survival from activity ----------------------------------------------------


def test_lifetimes_end_at_the_first_lapse_and_censor_at_the_last_confirmable_day() -> None:
    days = [0, 10, 80, 5, 30, 55, 80, 20, 30, 95]
    frame = pd.DataFrame(
        {
            "customer_id": ["win-back"] * 3 + ["steady"] * 4 + ["lost"] * 2 + ["new"],
            "occurred_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
        }
    )
    lives = customer_lifetimes(frame, inactive_for="30D", as_of="2024-04-10").set_index(
        "customer_id"
    )
    # as_of is day 100; a lapse can be confirmed up to day 70.
    assert lives.loc["win-back", ["duration", "lapsed"]].tolist() == [10.0, True]
    assert lives.loc["lost", ["duration", "lapsed"]].tolist() == [10.0, True]
    assert lives.loc["steady", ["duration", "lapsed"]].tolist() == [65.0, False]
    assert "new" not in lives.index  # first seen after day 70: nothing to say yet
    weeks = customer_lifetimes(frame, inactive_for="30D", as_of="2024-04-10", unit="7D")
    assert weeks.set_index("customer_id").loc["steady", "duration"] == 9.0


def test_customer_survival_is_unbiased_on_simulated_customers() -> None:
    # Customers arrive over two years, are active every day of a geometric lifetime, then
    # stop. P(lifetime > t) = (1 - p) ** (t + 1); the rule-based curve must recover it.
    rng = np.random.default_rng(2024)
    p, customers = 1 / 60, 2500
    arrival = rng.integers(0, 730, customers)
    life = rng.geometric(p, customers) - 1
    owner = np.repeat(np.arange(customers), life + 1)
    day = arrival[owner] + (np.arange(len(owner)) - np.repeat(np.cumsum(life + 1) - life - 1,
                                                               life + 1))  # fmt: skip
    frame = pd.DataFrame(
        {
            "customer_id": owner,
            "occurred_at": pd.Timestamp("2022-01-01") + pd.to_timedelta(day, unit="D"),
        }
    )
    frame = frame[frame["occurred_at"] < pd.Timestamp("2024-01-01")]
    curve = customer_survival(frame, inactive_for="120D", as_of="2024-01-01")
    read = curve.survival_at([20, 60, 120])
    truth = (1 - p) ** (np.array([20, 60, 120]) + 1)
    np.testing.assert_allclose(read["survival"], truth, atol=0.03)
    assert (read["ci_low"] <= truth).all()
    assert (truth <= read["ci_high"]).all()
    median = curve.medians["median"].iloc[0]
    assert abs(median - (np.log(0.5) / np.log(1 - p) - 1)) < 6
    # Censoring at the last activity instead overstates survival: the bias the design avoids.
    table = churned(frame, inactive_for="120D", as_of="2024-01-01")
    naive = kaplan_meier(table, duration="tenure_days", observed="churned")
    assert (naive.survival_at([60, 120])["survival"] > truth[1:] + 0.04).all()


def test_customer_survival_by_segment_and_refusals() -> None:
    frame = random_interactions(13, customers=80)
    curve = customer_survival(frame, inactive_for="30D", by="channel", min_n=0)
    assert curve.medians["channel"].tolist() == ["store", "web"]
    lives = customer_lifetimes(frame, inactive_for="30D", by="channel")
    again = kaplan_meier(lives, observed="lapsed", by="channel", min_n=0)
    pd.testing.assert_frame_equal(curve.table, again.table)
    assert curve.medians["n"].sum() == len(lives)
    with pytest.raises(ValidationError, match=r"^df="):
        customer_survival(frame, inactive_for="3000D")
    with pytest.raises(ValidationError, match=r"^unit="):
        customer_lifetimes(frame, unit="-1D")
    with pytest.raises(ValidationError, match=r"^as_of="):
        customer_lifetimes(frame.assign(occurred_at=frame["occurred_at"].dt.tz_localize(None)),
                           as_of=pd.Timestamp("2024-01-01", tz="UTC"))  # fmt: skip
