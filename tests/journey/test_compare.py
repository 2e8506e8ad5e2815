"""Segment comparison: planted effects, brute-force counts, scipy's tests, BH, Newcombe, input."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cxm.exceptions import ValidationError
from cxm.journey.compare import (
    _comparison,
    compare_journeys,
    nps_response_times,
    nps_segments,
)

START = pd.Timestamp("2024-03-01", tz="UTC")


def planted(seed: int = 7, per_segment: int = 300) -> tuple[pd.DataFrame, pd.Series]:
    """Detractors and promoters with the same touchpoint mix except two planted differences:
    detractors reach "call" more often (45% against 15%), and go "billing -> app" where
    promoters go "app -> billing" (both touchpoints equally common). "email" is neutral (35%)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, pd.Timestamp, str]] = []
    segment = {}
    for i in range(2 * per_segment):
        customer = f"c{i:04d}"
        detractor = i < per_segment
        segment[customer] = "detractor" if detractor else "promoter"
        steps = ["web"]
        if rng.random() < 0.35:
            steps.append("email")
        if rng.random() < 0.5:
            steps += ["billing", "app"] if detractor else ["app", "billing"]
        if rng.random() < (0.45 if detractor else 0.15):
            steps.append("call")
        for k, step in enumerate(steps):
            rows.append((customer, START + pd.Timedelta(hours=k), step))
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "touchpoint"])
    return frame, pd.Series(segment)


def brute_force(
    frame: pd.DataFrame, segment: dict[str, str], a: str, b: str, *, self_loops: bool = True
) -> tuple[dict[tuple[str, str], list[int]], int, int]:
    """Customers per segment whose journey holds each item, by plain Python."""
    journeys: dict[str, list[tuple[pd.Timestamp, str]]] = defaultdict(list)
    for customer, when, touchpoint in frame[
        ["customer_id", "occurred_at", "touchpoint"]
    ].itertuples(index=False):
        journeys[customer].append((when, touchpoint))
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    sizes = [0, 0]
    for customer, events in journeys.items():
        side = {a: 0, b: 1}.get(segment.get(customer, ""), -1)
        if side < 0:
            continue
        sizes[side] += 1
        events.sort()  # time, then touchpoint label: the documented tie rule
        items = {("touchpoint", tp) for _, tp in events}
        for (_, x), (_, y) in pairwise(events):
            if self_loops or x != y:
                items.add(("transition", f"{x} -> {y}"))
        for item in items:
            counts[item][side] += 1
    return dict(counts), sizes[0], sizes[1]


# -- the planted effects ----------------------------------------------------------------------


def test_planted_touchpoint_and_transition_come_first() -> None:
    frame, segment = planted()
    table = compare_journeys(frame, segment, a="detractor", b="promoter")
    touchpoints = table[table["kind"] == "touchpoint"]
    assert touchpoints["item"].iloc[0] == "call"
    # The swapped order also shifts its neighbours (web -> app is a promoter's step, web ->
    # billing a detractor's); the planted pair leads the detractors' transitions.
    detractors = table[(table["kind"] == "transition") & (table["difference"] > 0)]
    assert detractors["item"].iloc[0] == "billing -> app"
    rows = table.set_index("item")
    for item in ("call", "billing -> app"):
        row = rows.loc[item]
        assert row["q_value"] < 1e-6
        assert row["significant"]
        assert row["more_common_in"] == "detractor"
        assert row["ci_low"] > 0.2
        assert row["odds_ratio_ci_low"] > 1
    reverse = rows.loc["app -> billing"]
    assert reverse["customers_a"] == 0
    assert reverse["more_common_in"] == "promoter"
    assert reverse["significant"]
    assert np.isfinite(reverse["odds_ratio_ci_high"])  # Haldane-Anscombe keeps it finite
    neutral = rows.loc["email"]
    assert not neutral["significant"]
    assert neutral["q_value"] > 0.05
    assert neutral["ci_low"] < 0 < neutral["ci_high"]
    for touchpoint in ("billing", "app", "web"):
        assert not rows.loc[touchpoint, "significant"]
    assert list(table.columns) == [
        "kind",
        "item",
        "source",
        "target",
        "n_a",
        "n_b",
        "customers_a",
        "customers_b",
        "share_a",
        "share_a_ci_low",
        "share_a_ci_high",
        "share_b",
        "share_b_ci_low",
        "share_b_ci_high",
        "difference",
        "ci_low",
        "ci_high",
        "lift",
        "odds_ratio",
        "odds_ratio_ci_low",
        "odds_ratio_ci_high",
        "more_common_in",
        "test",
        "p_value",
        "q_value",
        "significant",
        "low_n",
    ]
    transition = rows.loc["billing -> app"]
    assert (transition["kind"], transition["source"], transition["target"]) == (
        "transition",
        "billing",
        "app",
    )
    assert rows.loc["call", "target"] is None


def test_sorted_by_q_value_then_effect() -> None:
    frame, segment = planted()
    table = compare_journeys(frame, segment)
    q = table["q_value"].to_numpy()
    assert (np.diff(q) >= 0).all()
    for _, tied in table.groupby("q_value"):
        effect = tied["difference"].abs().to_numpy()
        assert (np.diff(effect) <= 1e-15).all()


def test_default_segments_and_swapped_roles() -> None:
    frame, segment = planted()
    default = compare_journeys(frame, segment)
    assert (default.attrs["a"], default.attrs["b"]) == ("detractor", "promoter")
    swapped = compare_journeys(frame, segment, a="promoter").set_index("item")
    first = default.set_index("item").loc[swapped.index]
    assert (swapped["customers_a"] == first["customers_b"]).all()
    np.testing.assert_allclose(swapped["difference"], -first["difference"])
    np.testing.assert_allclose(swapped["p_value"], first["p_value"])
    np.testing.assert_allclose(swapped["ci_low"], -first["ci_high"], atol=1e-12)


# -- counts against a brute-force reference ---------------------------------------------------


def test_counts_and_shares_match_brute_force() -> None:
    frame, segment = planted(seed=3, per_segment=60)
    table = compare_journeys(frame, segment, a="detractor", b="promoter")
    expected, n_a, n_b = brute_force(frame, segment.to_dict(), "detractor", "promoter")
    got = {
        (kind, item): [a, b]
        for kind, item, a, b in table[["kind", "item", "customers_a", "customers_b"]].itertuples(
            index=False
        )
    }
    assert got == expected
    assert (table["n_a"] == n_a).all()
    assert (table["n_b"] == n_b).all()
    np.testing.assert_allclose(table["share_a"], table["customers_a"] / n_a)
    np.testing.assert_allclose(table["share_b"], table["customers_b"] / n_b)


journeys = st.lists(
    st.tuples(
        st.integers(0, 7),  # customer
        st.integers(0, 5),  # time (ties on purpose)
        st.sampled_from(["a", "b", "c"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(journeys, st.booleans())
def test_property_counts_match_brute_force(
    rows: list[tuple[int, int, str]], self_loops: bool
) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "touchpoint"])
    frame["customer_id"] = "k" + frame["customer_id"].astype(str)
    segment = {f"k{i}": ("x" if i % 2 else "y") for i in range(8)}
    present = {segment[c] for c in frame["customer_id"]}
    if present != {"x", "y"}:
        with pytest.raises(ValidationError):
            compare_journeys(frame, segment, a="x", b="y")
        return
    table = compare_journeys(frame, segment, a="x", b="y", self_loops=self_loops)
    expected, n_a, n_b = brute_force(frame, segment, "x", "y", self_loops=self_loops)
    got = {
        (kind, item): [a, b]
        for kind, item, a, b in table[["kind", "item", "customers_a", "customers_b"]].itertuples(
            index=False
        )
    }
    assert got == expected
    assert (table.attrs["n_a"], table.attrs["n_b"]) == (n_a, n_b)
    assert ((table["p_value"] >= 0) & (table["p_value"] <= 1)).all()
    assert (table["q_value"] >= table["p_value"] - 1e-15).all()


def test_shuffled_rows_give_identical_results() -> None:
    frame, segment = planted(seed=11, per_segment=80)
    frame["occurred_at"] = START.floor("D")  # every event tied: order comes from the tie rule
    expected = compare_journeys(frame, segment)
    shuffled = frame.sample(frac=1.0, random_state=5).reset_index(drop=True)
    pd.testing.assert_frame_equal(compare_journeys(shuffled, segment), expected)


def test_self_loops_are_transitions_unless_turned_off() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c2", "c2"],
            "occurred_at": [1, 2, 3, 1, 2],
            "touchpoint": ["call", "call", "web", "web", "call"],
        }
    )
    groups = {"c1": "churned", "c2": "retained"}
    table = compare_journeys(frame, groups, items="transition")
    assert sorted(table["item"]) == ["call -> call", "call -> web", "web -> call"]
    table = compare_journeys(frame, groups, items=["transition"], self_loops=False)
    assert sorted(table["item"]) == ["call -> web", "web -> call"]
    assert set(compare_journeys(frame, groups, items="touchpoint")["kind"]) == {"touchpoint"}


# -- statistics against scipy and published figures -------------------------------------------


def tables(frame_table: pd.DataFrame) -> list[np.ndarray]:
    return [
        np.array([[xa, na - xa], [xb, nb - xb]])
        for xa, na, xb, nb in frame_table[["customers_a", "n_a", "customers_b", "n_b"]].itertuples(
            index=False
        )
    ]


def test_z_test_is_chi_squared_and_fisher_is_scipys() -> None:
    frame, segment = planted(seed=5, per_segment=40)
    auto = compare_journeys(frame, segment)
    assert set(auto["test"]) == {"z", "fisher"}  # rare transitions fall to Fisher
    for table, test, p in zip(tables(auto), auto["test"], auto["p_value"], strict=True):
        expected_counts = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
        assert (test == "fisher") == bool((expected_counts < 5).any())
        if test == "z":
            reference = stats.chi2_contingency(table, correction=False).pvalue
        else:
            reference = stats.fisher_exact(table).pvalue
        assert p == pytest.approx(reference, rel=1e-9, abs=1e-12)
    exact = compare_journeys(frame, segment, test="fisher")
    for table, p in zip(tables(exact), exact["p_value"], strict=True):
        assert p == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-9, abs=1e-12)
    normal = compare_journeys(frame, segment, test="z")
    assert set(normal["test"]) == {"z"}
    for table, p in zip(tables(normal), normal["p_value"], strict=True):
        if (table.sum(axis=0) == 0).any():  # item in every customer: equal shares
            assert p == 1.0
        else:
            reference = stats.chi2_contingency(table, correction=False).pvalue
            assert p == pytest.approx(reference, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("xa", "na", "xb", "nb"),
    [(0, 50, 7, 60), (3, 9, 0, 4), (12, 12, 1, 30), (1, 1000, 9, 1000), (40, 41, 37, 40)],
)
def test_fisher_on_edge_tables(xa: int, na: int, xb: int, nb: int) -> None:
    measures = _comparison(np.array([xa]), na, np.array([xb]), nb, confidence=0.95, test="fisher")
    reference = stats.fisher_exact([[xa, na - xa], [xb, nb - xb]]).pvalue
    assert measures["p_value"][0] == pytest.approx(reference, rel=1e-9)


NEWCOMBE_TABLE_II = [  # (x1, n1, x2, n2, lower, upper) of p1 - p2, method 10
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0),
    (10, 10, 0, 10, 0.6075, 1.0),
]


@pytest.mark.parametrize("example", NEWCOMBE_TABLE_II)
def test_newcombe_interval_reproduces_newcombe_1998(
    example: tuple[int, int, int, int, float, float],
) -> None:
    """Newcombe (1998), Table II, method 10 (hybrid score interval without continuity
    correction), examples (a) to (h)."""
    xa, na, xb, nb, low, high = example
    measures = _comparison(np.array([xa]), na, np.array([xb]), nb, confidence=0.95, test="z")
    assert measures["ci_low"][0] == pytest.approx(low, abs=5e-5)
    assert measures["ci_high"][0] == pytest.approx(high, abs=5e-5)


def test_odds_ratio_woolf_and_haldane_anscombe() -> None:
    measures = _comparison(
        np.array([30, 0]), 100, np.array([10, 5]), 100, confidence=0.95, test="z"
    )
    z = stats.norm.ppf(0.975)
    log_or = np.log(30 * 90 / (70 * 10))
    se = np.sqrt(1 / 30 + 1 / 70 + 1 / 10 + 1 / 90)
    assert measures["odds_ratio"][0] == pytest.approx(np.exp(log_or))
    assert measures["odds_ratio_ci_low"][0] == pytest.approx(np.exp(log_or - z * se))
    assert measures["odds_ratio_ci_high"][0] == pytest.approx(np.exp(log_or + z * se))
    # A zero cell: 0.5 added to all four cells of that table only.
    assert measures["odds_ratio"][1] == pytest.approx((0.5 * 95.5) / (100.5 * 5.5))
    assert measures["lift"][0] == pytest.approx(3.0)
    assert measures["lift"][1] == 0.0
    inf = _comparison(np.array([4]), 10, np.array([0]), 10, confidence=0.95, test="z")
    assert np.isinf(inf["lift"][0])


def test_benjamini_hochberg_and_bonferroni_by_hand() -> None:
    frame, segment = planted(seed=9, per_segment=50)
    table = compare_journeys(frame, segment)
    p = table["p_value"].to_numpy()
    m = len(p)
    ranks = np.argsort(np.argsort(p, kind="stable"), kind="stable") + 1
    by_hand = [min(*(p[j] * m / ranks[j] for j in range(m) if p[j] >= p[i]), 1.0) for i in range(m)]
    np.testing.assert_allclose(table["q_value"], by_hand, rtol=1e-12)
    assert (table["significant"] == (table["q_value"] <= 0.05)).all()
    bonferroni = compare_journeys(frame, segment, correction="bonferroni")
    np.testing.assert_allclose(bonferroni["q_value"], np.minimum(bonferroni["p_value"] * m, 1))
    none = compare_journeys(frame, segment, correction="none", confidence=0.9)
    np.testing.assert_allclose(none["q_value"], none["p_value"])
    assert (none["significant"] == (none["p_value"] <= 0.1 + 1e-12)).all()


# -- who is compared --------------------------------------------------------------------------


def test_customers_without_a_group_are_counted_not_compared() -> None:
    frame, segment = planted(seed=2, per_segment=40)
    extra = pd.DataFrame(
        {
            "customer_id": ["anon1", "anon2", "p1", "p1"],
            "occurred_at": [START] * 4,
            "touchpoint": ["call", "call", "web", "email"],
        }
    )
    everyone = pd.concat([frame, extra], ignore_index=True)
    groups = segment.copy()
    groups["p1"] = "passive"
    groups["ghost"] = "detractor"  # answered but has no journey in the frame
    groups["anon2"] = None
    table = compare_journeys(everyone, groups, a="detractor", b="promoter")
    attrs = table.attrs
    assert attrs["customers_without_segment"] == 2
    assert attrs["customers_other_segments"] == 1
    assert attrs["customers_without_journey"] == 1
    assert attrs["segments"] == {"detractor": 40, "passive": 1, "promoter": 40}
    assert (attrs["n_a"], attrs["n_b"]) == (40, 40)
    pd.testing.assert_frame_equal(table, compare_journeys(frame, segment), check_like=False)


def test_groups_from_a_column_mapping_or_series_agree() -> None:
    frame, segment = planted(seed=4, per_segment=30)
    frame["segment"] = frame["customer_id"].map(segment)
    repeat = frame.index[frame["customer_id"].duplicated()][0]
    frame.loc[repeat, "segment"] = None  # a row without a segment takes its customer's others'
    by_column = compare_journeys(frame, "segment")
    by_series = compare_journeys(frame, segment)
    by_mapping = compare_journeys(frame, segment.to_dict())
    pd.testing.assert_frame_equal(by_column, by_series)
    pd.testing.assert_frame_equal(by_mapping, by_series)
    categorical = segment.astype(pd.CategoricalDtype(["promoter", "passive", "detractor"]))
    assert compare_journeys(frame, categorical).attrs["a"] == "promoter"


def test_before_keeps_only_events_before_the_answer() -> None:
    frame, segment = planted(seed=8, per_segment=150)
    # Detractors are called back by a retention team after their answer at +10 hours.
    detractors = segment.index[segment == "detractor"]
    callbacks = pd.DataFrame(
        {
            "customer_id": detractors,
            "occurred_at": START + pd.Timedelta(hours=11),
            "touchpoint": "retention call",
        }
    )
    frame = pd.concat([frame, callbacks], ignore_index=True)
    answered = pd.Series(START + pd.Timedelta(hours=10), index=segment.index)
    everything = compare_journeys(frame, segment).set_index("item")
    assert everything.loc["retention call", "significant"]
    before = compare_journeys(frame, segment, before=answered)
    assert "retention call" not in set(before["item"])
    assert before.attrs["events_after_cutoff"] == len(detractors)
    cut_early = pd.Series(START + pd.Timedelta(minutes=30), index=segment.index)
    only_first = compare_journeys(frame, segment, before=cut_early)
    assert set(only_first["item"]) == {"web"}  # the first event, at START, alone is kept
    assert (only_first["n_a"] == 150).all()  # empty journeys still count in the segment
    partial = answered.drop(detractors[:5])
    some = compare_journeys(frame, segment, before=partial)
    assert (some.attrs["customers_without_cutoff"], some.attrs["n_a"]) == (5, 145)


def test_an_event_at_the_cutoff_is_left_out() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c2", "c2"],
            "occurred_at": [1.0, 5.0, 6.0, 1.0, 2.0],
            "touchpoint": ["web", "survey", "call", "web", "app"],
        }
    )
    groups = {"c1": "detractor", "c2": "promoter"}
    table = compare_journeys(frame, groups, before={"c1": 5.0, "c2": 9.0})
    assert set(table["item"]) == {"web", "app", "web -> app"}
    assert table.attrs["events_after_cutoff"] == 2


def test_before_must_match_the_kind_of_time() -> None:
    frame, segment = planted(seed=8, per_segment=10)
    naive = pd.Series(pd.Timestamp("2024-03-02"), index=segment.index)
    with pytest.raises(ValidationError, match="same kind of times"):
        compare_journeys(frame, segment, before=naive)
    with pytest.raises(ValidationError, match="Series or mapping"):
        compare_journeys(frame, segment, before=[START])


# -- NPS segments -----------------------------------------------------------------------------


def answers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c2", "c2", "c3", None, "c4"],
            "occurred_at": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-02-01",
                    "2024-01-05",
                    "2024-03-01",
                    "2024-03-01",
                    "2024-01-09",
                    "2024-01-10",
                    "2024-01-11",
                ],
                utc=True,
            ),
            "score": [10, 2, 9, 6, 8, 9, 0, 4],
            "metric": ["nps"] * 7 + ["csat"],
        }
    )


def test_nps_segments_last_first_and_mean() -> None:
    last = nps_segments(answers())
    assert last.to_dict() == {"c1": "detractor", "c2": "passive", "c3": "promoter"}  # 7 = mean
    assert last.attrs["answers_without_customer"] == 1
    assert list(last.cat.categories) == ["detractor", "passive", "promoter"]
    assert nps_segments(answers(), which="first").to_dict() == {
        "c1": "promoter",
        "c2": "promoter",
        "c3": "promoter",
    }
    assert nps_segments(answers(), which="mean").to_dict() == {
        "c1": "detractor",  # (10 + 2) / 2 = 6
        "c2": "passive",  # 23 / 3
        "c3": "promoter",
    }
    assert nps_segments(answers(), metric=None)["c4"] == "detractor"
    shuffled = answers().sample(frac=1.0, random_state=1)
    pd.testing.assert_series_equal(nps_segments(shuffled), last)


def test_nps_response_times() -> None:
    times = nps_response_times(answers())
    assert times.dtype == answers()["occurred_at"].dtype
    assert times.dt.strftime("%Y-%m-%d").to_dict() == {
        "c1": "2024-02-01",
        "c2": "2024-03-01",
        "c3": "2024-01-09",
    }
    first = nps_response_times(answers(), which="mean")
    assert first["c2"] == pd.Timestamp("2024-01-05", tz="UTC")


def test_nps_segments_plug_into_compare_journeys() -> None:
    feedback = answers()
    journeys = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c3", "c3"],
            "occurred_at": pd.to_datetime(
                ["2023-12-01", "2024-03-01", "2023-12-01", "2023-12-01", "2023-12-02"], utc=True
            ),
            "touchpoint": ["web", "call", "web", "web", "app"],
        }
    )
    table = compare_journeys(
        journeys,
        nps_segments(feedback),
        a="detractor",
        b="promoter",
        before=nps_response_times(feedback),
    )
    assert table.attrs["customers_other_segments"] == 1  # c2, a passive
    assert table.attrs["events_after_cutoff"] == 1  # c1's call came after the answer
    assert set(table["item"]) == {"web", "app", "web -> app"}
    assert table["low_n"].all()


def test_nps_segments_validate_scores_and_columns() -> None:
    bad = answers()
    bad.loc[0, "score"] = 11
    with pytest.raises(ValidationError, match="11"):
        nps_segments(bad)
    with pytest.raises(ValidationError, match="column"):
        nps_segments(answers().drop(columns="occurred_at"))
    with pytest.raises(ValidationError, match="which"):
        nps_segments(answers(), which="median")  # type: ignore[arg-type]


# -- bad input --------------------------------------------------------------------------------


def test_validation_errors() -> None:
    frame, segment = planted(seed=1, per_segment=10)
    with pytest.raises(ValidationError, match="not a segment") as error:
        compare_journeys(frame, segment, a="detractor", b="promotor")
    assert (error.value.field, error.value.value) == ("b", "promotor")
    with pytest.raises(ValidationError, match="differ"):
        compare_journeys(frame, segment, a="detractor", b="detractor")
    with pytest.raises(ValidationError, match="column name of df"):
        compare_journeys(frame, ["detractor"] * len(frame))
    with pytest.raises(ValidationError, match="column name of df"):
        compare_journeys(frame, segment.to_frame())
    with pytest.raises(ValidationError, match="not a column"):
        compare_journeys(frame, "segment")
    with pytest.raises(ValidationError, match="index the Series by customer"):
        compare_journeys(frame, pd.Series(segment.to_numpy()))
    three = segment.copy()
    three.iloc[0] = "passive"
    with pytest.raises(ValidationError, match="not exactly two"):
        compare_journeys(frame, three)
    clash = pd.concat([segment, pd.Series({"c0000": "promoter"})])
    with pytest.raises(ValidationError, match="more than one"):
        compare_journeys(frame, clash)
    frame["segment"] = frame["customer_id"].map(segment)
    frame.loc[0, "segment"] = "promoter"  # c0000 is a detractor on its other rows
    with pytest.raises(ValidationError, match="more than one segment"):
        compare_journeys(frame, "segment")
    with pytest.raises(ValidationError, match="item kind"):
        compare_journeys(frame, segment, items=("touchpoint", "path"))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="correction"):
        compare_journeys(frame, segment, correction="holm")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="confidence"):
        compare_journeys(frame, segment, confidence=95)
    with pytest.raises(ValidationError, match="min_n"):
        compare_journeys(frame, segment, min_n=-1)
    missing = frame.copy()
    missing.loc[3, "touchpoint"] = None
    with pytest.raises(ValidationError, match="touchpoint"):
        compare_journeys(missing, segment)
