"""Funnels: a brute-force reference, each PostHog rule by hand, intervals, comparison, input."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.exceptions import ValidationError
from cxm.journey.funnel import Exclusion, compare_funnels, funnel
from cxm.metrics.feedback import wilson_interval

DAY = pd.Timedelta("1D")
T0 = pd.Timestamp("2025-03-01", tz="UTC")


def log(rows: list[tuple[Any, str, float]], **extra: list[Any]) -> pd.DataFrame:
    """Events ``(customer, touchpoint, day)``; days become UTC datetimes from T0."""
    frame = pd.DataFrame(rows, columns=["customer_id", "touchpoint", "day"])
    frame["occurred_at"] = T0 + pd.to_timedelta(frame.pop("day"), unit="D")
    for name, values in extra.items():
        frame[name] = values
    return frame


def outcome(result: Any) -> dict[Any, tuple[int, bool]]:
    customers = result.customers
    return {
        row.customer_id: (int(row.furthest_step), bool(row.excluded))
        for row in customers.itertuples()
    }


# -- the brute-force reference ---------------------------------------------------------------


def reference(
    frame: pd.DataFrame,
    steps: list[str],
    window: int | None,
    mode: str,
    exclusions: list[tuple[str, int, int]],
) -> dict[Any, tuple[int, bool, list[float]]]:
    """The funnel as the docs word it, one customer and one attempt at a time.

    Events are ordered by time, then activity label (the tie rule without an order column).
    Returns per customer (furthest step, excluded, times of the reported attempt's steps).
    """
    out: dict[Any, tuple[int, bool, list[float]]] = {}
    for who, events in frame.groupby("customer_id", sort=True):
        ordered = sorted(zip(events["t"], events["touchpoint"], strict=True))
        times = [t for t, _ in ordered]
        acts = [a for _, a in ordered]
        n = len(acts)
        in_window = _window_check(times, window)
        attempts = []
        starts = [
            i
            for i in range(n)
            if (acts[i] in steps if mode == "any_order" else acts[i] == steps[0])
        ]
        for s in starts:
            if mode == "any_order":
                firsts = []
                for step in steps:
                    hits = [j for j in range(s, n) if acts[j] == step and in_window(j, s)]
                    if hits:
                        firsts.append(hits[0])
                pos = sorted(firsts)
            else:
                pos = [s]
                for step in steps[1:]:
                    if mode == "strict":
                        j = pos[-1] + 1
                        found = j if j < n and acts[j] == step and in_window(j, s) else None
                    else:
                        hits = [
                            j for j in range(pos[-1] + 1, n) if acts[j] == step and in_window(j, s)
                        ]
                        found = hits[0] if hits else None
                    if found is None:
                        break
                    pos.append(found)
            disqualified = False
            for x, low, high in exclusions:
                if len(pos) < low:
                    continue
                for j in range(pos[low - 1] + 1, n):
                    if acts[j] != x:
                        continue
                    inside = j < pos[high - 1] if len(pos) >= high else in_window(j, s)
                    if inside:
                        disqualified = True
            attempts.append((s, pos, disqualified))
        if not attempts:
            continue
        furthest = max(len(pos) for _, pos, _ in attempts)
        top = [a for a in attempts if len(a[1]) == furthest]
        qualified = [a for a in top if not a[2]]
        pool = qualified or top
        first_end = min(a[1][-1] for a in pool)
        chosen = max((a for a in pool if a[1][-1] == first_end), key=lambda a: a[0])
        out[who] = (furthest, not qualified, [times[j] for j in chosen[1]])
    return out


def _window_check(times: list[float], window: int | None) -> Any:
    def in_window(j: int, s: int) -> bool:
        return window is None or times[j] - times[s] <= window

    return in_window


activities = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def funnels(
    draw: Any,
) -> tuple[pd.DataFrame, list[str], int | None, str, list[tuple[str, int, int]]]:
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, 3), activities, st.integers(0, 12)), min_size=0, max_size=30
        )
    )
    steps = draw(st.lists(activities, min_size=1, max_size=4))
    window = draw(st.sampled_from([None, 0, 1, 3, 6]))
    mode = draw(st.sampled_from(["ordered", "strict", "any_order"]))
    exclusions: list[tuple[str, int, int]] = []
    if len(steps) >= 2 and draw(st.booleans()):
        low = draw(st.integers(1, len(steps) - 1))
        high = draw(st.integers(low + 1, len(steps)))
        exclusions.append((draw(activities), low, high))
    # every step value must occur (a value that never occurs is refused as a typo)
    rows = rows + [(9, step, 50) for step in {*steps, *(x for x, _, _ in exclusions)}]
    frame = pd.DataFrame(rows, columns=["customer_id", "touchpoint", "t"])
    return frame, steps, window, mode, exclusions


@settings(max_examples=150, deadline=None)
@given(funnels())
def test_matches_the_brute_force_reference(case: Any) -> None:
    frame, steps, window, mode, exclusions = case
    result = funnel(
        frame,
        steps,
        window=window,
        mode=mode,
        exclude=exclusions or None,
        time="t",
    )
    expected = reference(frame, steps, window, mode, exclusions)
    customers = result.customers
    got = {
        row.customer_id: (int(row.furthest_step), bool(row.excluded))
        for row in customers.itertuples()
    }
    assert got == {who: (far, ex) for who, (far, ex, _) in expected.items()}
    for k in range(len(steps)):
        times = customers[f"step_{k + 1}_at"].tolist()
        for who, value in zip(customers["customer_id"], times, strict=True):
            want = expected[who][2]
            assert (value == want[k]) if k < len(want) else math.isnan(value)
    reached = [
        sum(1 for far, ex, _ in expected.values() if far >= k and not ex)
        for k in range(1, len(steps) + 1)
    ]
    assert result.table["customers"].tolist() == reached
    assert result.excluded == sum(1 for _, ex, _ in expected.values() if ex)


@settings(max_examples=40, deadline=None)
@given(funnels(), st.randoms(use_true_random=False))
def test_shuffled_rows_give_the_same_funnel(case: Any, random: Any) -> None:
    frame, steps, window, mode, exclusions = case
    shuffled = frame.sample(frac=1, random_state=random.randint(0, 10**6)).reset_index(drop=True)
    one = funnel(frame, steps, window=window, mode=mode, exclude=exclusions or None, time="t")
    two = funnel(shuffled, steps, window=window, mode=mode, exclude=exclusions or None, time="t")
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.customers, two.customers)


# -- PostHog's rules, by hand ----------------------------------------------------------------


def test_a_later_step_1_event_restarts_the_attempt_and_its_window() -> None:
    frame = log([("c", "view", 0), ("c", "view", 10), ("c", "buy", 20)])
    result = funnel(frame, ["view", "buy"], window="14D")
    assert outcome(result) == {"c": (2, False)}
    # timed from the second view, the attempt that converted
    assert result.table["time_to_convert_median"].iloc[1] == 10 * DAY
    assert result.customers["step_1_at"].iloc[0] == T0 + 10 * DAY


def test_the_window_edge_is_inclusive() -> None:
    on_edge = log([("c", "view", 0), ("c", "buy", 14)])
    past_edge = log([("c", "view", 0), ("c", "buy", 14.0001)])
    assert outcome(funnel(on_edge, ["view", "buy"], window="14D")) == {"c": (2, False)}
    assert outcome(funnel(past_edge, ["view", "buy"], window="14D")) == {"c": (1, False)}
    assert outcome(funnel(past_edge, ["view", "buy"], window=None)) == {"c": (2, False)}


def test_the_window_counts_from_the_attempt_start_not_the_previous_step() -> None:
    frame = log([("c", "view", 0), ("c", "cart", 10), ("c", "buy", 20)])
    assert outcome(funnel(frame, ["view", "cart", "buy"], window="14D")) == {"c": (2, False)}


def test_the_result_is_the_furthest_step_over_attempts() -> None:
    frame = log(
        [
            ("c", "view", 0),
            ("c", "cart", 1),
            ("c", "buy", 2),  # first attempt: all three steps
            ("c", "view", 30),
            ("c", "cart", 31),  # second attempt: two steps
        ]
    )
    result = funnel(frame, ["view", "cart", "buy"], window="7D")
    assert outcome(result) == {"c": (3, False)}
    assert result.table["customers"].tolist() == [1, 1, 1]
    assert result.customers["step_1_at"].iloc[0] == T0


def test_strict_order_is_broken_by_any_event_in_between() -> None:
    broken = log([("c", "view", 0), ("c", "help", 1), ("c", "buy", 2)])
    direct = log([("c", "view", 0), ("c", "buy", 2), ("c", "help", 3)])
    assert outcome(funnel(broken, ["view", "buy"], mode="strict")) == {"c": (1, False)}
    assert outcome(funnel(broken, ["view", "buy"], mode="ordered")) == {"c": (2, False)}
    assert outcome(funnel(direct, ["view", "buy"], mode="strict")) == {"c": (2, False)}


def test_any_order_counts_distinct_steps_in_the_window() -> None:
    frame = log([("c", "buy", 0), ("c", "cart", 1), ("c", "view", 2), ("d", "cart", 0)])
    ordered = funnel(frame, ["view", "cart", "buy"])
    anyway = funnel(frame, ["view", "cart", "buy"], mode="any_order")
    assert outcome(ordered) == {"c": (1, False)}  # d never viewed: not in the funnel
    assert outcome(anyway) == {"c": (3, False), "d": (1, False)}
    assert anyway.table["step_name"].tolist() == ["any 1 of 3", "any 2 of 3", "any 3 of 3"]
    assert anyway.table["customers"].tolist() == [2, 1, 1]


def test_equal_timestamps_follow_the_tie_rule() -> None:
    frame = log([("c", "a_view", 0), ("c", "b_buy", 0)])
    # labels sort a_view before b_buy: the buy comes after the view at the same instant
    assert outcome(funnel(frame, ["a_view", "b_buy"])) == {"c": (2, False)}
    assert outcome(funnel(frame, ["b_buy", "a_view"])) == {"c": (1, False)}
    # an order column (e.g. the interaction id) says which came first
    flipped = frame.assign(seq=[2, 1])
    assert outcome(funnel(flipped, ["b_buy", "a_view"], order="seq")) == {"c": (2, False)}
    # one event never fills two steps
    assert outcome(funnel(log([("c", "view", 0)]), ["view", "view"])) == {"c": (1, False)}


def test_exclusion_between_steps_drops_the_customer_from_the_whole_funnel() -> None:
    frame = log(
        [
            ("x", "view", 0),
            ("x", "coupon", 1),
            ("x", "buy", 2),  # coupon between view and buy: excluded
            ("y", "view", 0),
            ("y", "buy", 1),
            ("y", "coupon", 2),  # coupon after buy: kept
            ("z", "view", 0),
            ("z", "coupon", 1),  # never bought, coupon inside the window: excluded
            ("w", "view", 0),
            ("w", "coupon", 20),  # coupon outside the window: kept
        ]
    )
    result = funnel(frame, ["view", "buy"], window="14D", exclude="coupon")
    assert outcome(result) == {"w": (1, False), "x": (2, True), "y": (2, False), "z": (1, True)}
    assert result.table["customers"].tolist() == [2, 1]
    assert result.table["n"].tolist() == [2, 2]
    assert result.excluded == 2
    assert result.table["excluded"].tolist() == [2, 2]


def test_a_qualified_attempt_reaching_the_same_step_keeps_the_customer() -> None:
    frame = log(
        [
            ("c", "view", 0),
            ("c", "coupon", 1),
            ("c", "buy", 2),
            ("c", "view", 30),
            ("c", "buy", 31),
        ]
    )
    result = funnel(frame, ["view", "buy"], window="7D", exclude=Exclusion("coupon", 1, 2))
    assert outcome(result) == {"c": (2, False)}
    assert result.customers["step_1_at"].iloc[0] == T0 + 30 * DAY


def test_exclusion_bounds_limit_where_it_counts() -> None:
    frame = log([("c", "view", 0), ("c", "cart", 1), ("c", "coupon", 2), ("c", "buy", 3)])
    steps = ["view", "cart", "buy"]
    assert outcome(funnel(frame, steps, exclude=("coupon", 1, 2))) == {"c": (3, False)}
    assert outcome(funnel(frame, steps, exclude=("coupon", 2, 3))) == {"c": (3, True)}


def test_step_specifications_by_mapping_and_name() -> None:
    frame = log(
        [("c", "web", 0), ("c", "web", 1), ("d", "web", 0)],
        kind=["visit", "purchase", "visit"],
    )
    result = funnel(frame, [("Visited", {"kind": "visit"}), {"kind": ["purchase", "refund"]}])
    assert result.table["step_name"].tolist() == ["Visited", "kind in ['purchase', 'refund']"]
    assert result.table["customers"].tolist() == [2, 1]


# -- the table's figures ---------------------------------------------------------------------


def test_rates_wilson_intervals_dropoff_and_low_n() -> None:
    rows = [(i, "view", 0) for i in range(40)]
    rows += [(i, "cart", 1) for i in range(10)]
    rows += [(i, "buy", 1 + (i + 1)) for i in range(3)]
    table = funnel(log(rows), ["view", "cart", "buy"], min_n=30).table
    assert table["customers"].tolist() == [40, 10, 3]
    assert table["conversion"].tolist() == pytest.approx([1.0, 0.25, 0.075])
    assert table["step_conversion"].tolist() == pytest.approx([1.0, 0.25, 0.3])
    assert table["dropoff"].tolist() == [0, 30, 7]
    assert table["dropoff_rate"].tolist() == pytest.approx([0.0, 0.75, 0.7])
    assert table["low_n"].tolist() == [False, False, True]
    # Wilson by hand for 3 of 10 at 95 %
    z = 1.959963984540054
    p, n = 0.3, 10
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert table["step_ci_low"].iloc[2] == pytest.approx(centre - half)
    assert table["step_ci_high"].iloc[2] == pytest.approx(centre + half)
    low, high = wilson_interval(3, 40)
    assert (table["ci_low"].iloc[2], table["ci_high"].iloc[2]) == pytest.approx(
        (float(low), float(high))
    )
    # buy 1, 2 and 3 days after the cart
    assert table["time_to_convert_median"].iloc[2] == 2 * DAY
    assert table["time_to_convert_mean"].iloc[2] == 2 * DAY
    assert table["time_to_convert_median"].iloc[1] == DAY
    assert pd.isna(table["time_to_convert_median"].iloc[0])


def test_breakdown_is_taken_at_first_touch() -> None:
    frame = log(
        [
            ("c", "view", 0),  # first view on the web: counted under web
            ("c", "view", 30),
            ("c", "buy", 31),
            ("d", "view", 0),
            ("e", "view", 0),
        ],
        channel=["web", "app", "app", "app", None],
    )
    result = funnel(frame, ["view", "buy"], window="7D", breakdown="channel")
    table = result.table
    assert result.breakdown == "channel"
    web = table[table["channel"] == "web"]
    app = table[table["channel"] == "app"]
    assert web["customers"].tolist() == [1, 1]
    assert app["customers"].tolist() == [1, 0]
    assert table[table["channel"].isna()]["customers"].tolist() == [1, 0]
    assert result.customers["channel"].tolist()[:2] == ["web", "app"]


def test_segment_gives_one_value_per_customer() -> None:
    frame = log([("c", "view", 0), ("c", "buy", 1), ("d", "view", 0), ("e", "view", 0)])
    result = funnel(frame, ["view", "buy"], segment={"c": "gold", "d": "gold"})
    table = result.table
    assert table[table["segment"] == "gold"]["customers"].tolist() == [2, 1]
    assert table[table["segment"].isna()]["customers"].tolist() == [1, 0]


def test_compare_two_segments_with_the_two_proportion_test() -> None:
    rows = [(f"a{i}", "view", 0) for i in range(200)] + [(f"a{i}", "buy", 1) for i in range(60)]
    rows += [(f"b{i}", "view", 0) for i in range(150)] + [(f"b{i}", "buy", 1) for i in range(30)]
    frame = log(rows)
    segments = {f"a{i}": "A" for i in range(200)} | {f"b{i}": "B" for i in range(150)}
    result = funnel(frame, ["view", "buy"], segment=segments)
    comparison = result.compare("A", "B")
    last = comparison.iloc[-1]
    p1, p2 = 60 / 200, 30 / 150
    pooled = 90 / 350
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 200 + 1 / 150))
    assert last["difference"] == pytest.approx(p1 - p2)
    assert last["z"] == pytest.approx(z)
    assert last["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    assert last["p_value"] == pytest.approx(0.0341, abs=1e-4)  # z = 2.118
    # Newcombe's interval from the two Wilson intervals
    l1, u1 = wilson_interval(60, 200)
    l2, u2 = wilson_interval(30, 150)
    assert last["ci_low"] == pytest.approx(p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    assert last["ci_high"] == pytest.approx(p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    assert comparison["p_value"].iloc[0] == 1.0  # step 1: both 100 %
    # two funnels computed apart give the same comparison
    a = funnel(frame[frame["customer_id"].str.startswith("a")], ["view", "buy"])
    b = funnel(frame[frame["customer_id"].str.startswith("b")], ["view", "buy"])
    pd.testing.assert_frame_equal(compare_funnels(a, b), comparison)
    with pytest.raises(ValidationError, match="breakdown"):
        compare_funnels(result, a)
    with pytest.raises(ValidationError, match=r"a='C'.*not a breakdown value"):
        result.compare("C", "B")


def test_numeric_times_take_a_numeric_window() -> None:
    frame = pd.DataFrame({"customer_id": [1, 1], "touchpoint": ["a", "b"], "t": [0.0, 5.0]})
    assert funnel(frame, ["a", "b"], window=5, time="t").table["customers"].tolist() == [1, 1]
    assert funnel(frame, ["a", "b"], window=4.9, time="t").table["customers"].tolist() == [1, 0]
    with pytest.raises(ValidationError, match="window=5"):
        funnel(log([("c", "a", 0)]), ["a"], window=5)


def test_the_result_shows_itself() -> None:
    result = funnel(log([("c", "view", 0), ("c", "buy", 1)]), ["view", "buy"])
    assert "<table" in result._repr_html_()
    assert "FunnelResult(mode='ordered'" in repr(result)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": "fortnight"}, "window='fortnight'"),
        ({"window": "-1D"}, "non-negative"),
        ({"mode": "funnelish"}, "mode='funnelish'"),
        ({"steps": []}, "steps=\\[\\]: needs at least one step"),
        ({"steps": "view"}, "must be a list of steps"),
        ({"steps": ["view", {"nope": "x"}]}, "steps\\[1\\].*'nope', which is not a column"),
        ({"steps": ["view", "biy"]}, "steps\\[1\\]='biy'.*never occurs"),
        ({"exclude": ("coupon", 2, 2)}, "exclude\\[0\\]"),
        ({"breakdown": "device"}, "breakdown='device'"),
        ({"confidence": 1.5}, "confidence=1.5"),
        ({"min_n": -1}, "min_n=-1"),
        ({"case": "who"}, "case='who'"),
    ],
)
def test_bad_input_names_the_field_and_value(kwargs: dict[str, Any], message: str) -> None:
    frame = log([("c", "view", 0), ("c", "buy", 1), ("c", "coupon", 2)])
    arguments: dict[str, Any] = {"steps": ["view", "buy"], **kwargs}
    steps = arguments.pop("steps")
    with pytest.raises(ValidationError, match=message):
        funnel(frame, steps, **arguments)


def test_missing_customers_raise_rather_than_vanish() -> None:
    frame = log([("c", "view", 0), (None, "view", 1)])
    with pytest.raises(ValidationError, match=r"customer_id.*1 rows have no value"):
        funnel(frame, ["view"])


@settings(max_examples=30, deadline=None)
@given(funnels())
def test_a_categorical_activity_column_gives_the_same_funnel(case: Any) -> None:
    frame, steps, window, mode, exclusions = case
    categorical = frame.assign(
        touchpoint=pd.Categorical(frame["touchpoint"], categories=["a", "b", "c", "d", "e"])
    )
    one = funnel(frame, steps, window=window, mode=mode, exclude=exclusions or None, time="t")
    two = funnel(categorical, steps, window=window, mode=mode, exclude=exclusions or None, time="t")
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.customers, two.customers)
