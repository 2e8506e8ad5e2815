"""The shared event log: the sort against a plain Python sort, every key-packing path, input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.exceptions import ValidationError
from cxm.journey._events import event_log, time_values


def brute_force_order(
    df: pd.DataFrame, case: str, activity: str, time: str, order: str | None = None
) -> list[int]:
    """Row positions sorted by (case label, time, order, activity label, row) with sorted()."""
    case_rank = {label: i for i, label in enumerate(sorted(set(df[case])))}
    if isinstance(df[activity].dtype, pd.CategoricalDtype):
        act_rank = {label: i for i, label in enumerate(df[activity].cat.categories)}
    else:
        act_rank = {label: i for i, label in enumerate(sorted(set(df[activity])))}
    if isinstance(df[case].dtype, pd.CategoricalDtype):
        case_rank = {label: i for i, label in enumerate(df[case].cat.categories)}
    rows = []
    for i in range(len(df)):
        row = df.iloc[i]
        key = (case_rank[row[case]], row[time])
        if order is not None:
            key += (row[order],)
        rows.append((*key, act_rank[row[activity]], i))
    return [r[-1] for r in sorted(rows)]


def random_frame(
    seed: int, n: int, n_cases: int, n_times: int, categorical: bool = False
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{c}" for c in rng.integers(0, n_cases, n)],
            "touchpoint": [f"t{a}" for a in rng.integers(0, 4, n)],
            "occurred_at": rng.integers(0, n_times, n),
            "seq": rng.integers(0, 3, n),
        }
    )
    if categorical:
        frame["touchpoint"] = pd.Categorical(
            frame["touchpoint"], categories=["t3", "t1", "t0", "t2", "unused"]
        )
        frame["customer_id"] = frame["customer_id"].astype("category")
    return frame


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 40),
    n_cases=st.integers(1, 6),
    n_times=st.integers(1, 8),
    flags=st.tuples(st.booleans(), st.booleans()),
)
def test_sort_matches_a_plain_python_sort(
    seed: int, n: int, n_cases: int, n_times: int, flags: tuple[bool, bool]
) -> None:
    categorical, with_order = flags
    frame = random_frame(seed, n, n_cases, n_times, categorical)
    order = "seq" if with_order else None
    log = event_log(frame, order=order)
    expected = brute_force_order(frame, "customer_id", "touchpoint", "occurred_at", order)
    assert log.position.tolist() == expected
    assert log.time.tolist() == frame["occurred_at"].to_numpy()[expected].tolist()
    assert list(log.activities[log.activity]) == list(frame["touchpoint"].to_numpy()[expected])
    assert list(log.cases[log.case]) == list(frame["customer_id"].to_numpy()[expected])
    assert np.all(np.diff(log.case) >= 0)
    assert log.bounds[0] == 0
    assert log.bounds[-1] == n
    assert log.lengths.sum() == n
    assert len(log.cases) == frame["customer_id"].nunique()


@pytest.mark.parametrize(
    ("span_ns", "n_cases"),
    [
        (10**6, 5),  # packs exactly
        (10**17, 1_000),  # packs coarsened by 4 bits: ties on the key are sorted by time
        (10**18, 100),  # coarsened further
    ],
)
def test_every_key_packing_path_sorts_the_same(span_ns: int, n_cases: int) -> None:
    rng = np.random.default_rng(7)
    n = 3_000
    step = 1_000 if span_ns == 10**17 else 1
    ticks = rng.integers(0, span_ns // step, n) * step
    ticks[::7] = ticks[0]  # plenty of ties
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_cases, n),
            "touchpoint": rng.choice(["a", "b", "c"], n),
            "occurred_at": pd.to_datetime(ticks, unit="ns", utc=True),
        }
    )
    log = event_log(frame)
    # lexsort on the plain keys: the reference, independent of any packing.
    codes = pd.factorize(frame["touchpoint"], sort=True)[0]
    expected = np.lexsort((np.arange(n), codes, ticks, frame["customer_id"].to_numpy()))
    assert log.position.tolist() == expected.tolist()


def test_a_coarse_key_still_orders_close_times() -> None:
    # 1,000 cases over 1e17 ns cannot pack exactly: the key drops 4 bits, so events 1 ns
    # apart share it and must still come out in time order (not by activity or row).
    n_cases = 1_000
    half = 5 * 10**16  # a multiple of 16: half and half + 1 share a coarse key
    frame = pd.DataFrame(
        {
            "customer_id": [0, 0, *range(1, n_cases)],
            "touchpoint": ["a", "b"] + ["a"] * (n_cases - 1),
            "occurred_at": [half + 1, half, 0, *[10**17] * (n_cases - 2)],
        }
    )
    log = event_log(frame)
    assert log.time[:2].tolist() == [half, half + 1]
    assert list(log.activities[log.activity[:2]]) == ["b", "a"]


def test_shuffled_rows_give_the_same_log() -> None:
    frame = random_frame(3, 500, 20, 30)
    log = event_log(frame)
    shuffled = event_log(frame.sample(frac=1, random_state=1))
    for field in ("case", "activity", "time", "bounds"):
        np.testing.assert_array_equal(getattr(log, field), getattr(shuffled, field))
    assert list(log.cases) == list(shuffled.cases)


def test_sorted_input_keeps_its_rows() -> None:
    frame = random_frame(4, 200, 10, 1000)
    frame = frame.iloc[brute_force_order(frame, "customer_id", "touchpoint", "occurred_at")]
    log = event_log(frame.reset_index(drop=True))
    assert log.position.tolist() == list(range(200))


def test_numeric_times_are_kept_exactly() -> None:
    values, tz, is_datetime = time_values(pd.Series([1.5, 0.25, 3.0]))
    assert values.dtype == np.float64
    assert values.tolist() == [1.5, 0.25, 3.0]
    assert tz is None
    assert not is_datetime
    whole, _, _ = time_values(pd.Series([1.0, 2.0]))
    assert whole.dtype == np.int64
    frame = pd.DataFrame(
        {"customer_id": [1, 1, 1], "touchpoint": list("abc"), "occurred_at": [0.5, 0.25, 0.75]}
    )
    assert event_log(frame).time.tolist() == [0.25, 0.5, 0.75]


def test_datetime_units_and_zones() -> None:
    stamps = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 09:00"]).tz_localize("Europe/Paris")
    frame = pd.DataFrame(
        {"customer_id": [1, 1], "touchpoint": ["a", "b"], "occurred_at": stamps.as_unit("s")}
    )
    log = event_log(frame)
    assert log.activity.tolist() == [1, 0]
    assert str(log.tz) == "Europe/Paris"
    assert log.as_times(log.time)[0] == stamps[1]


def test_empty_frame() -> None:
    frame = pd.DataFrame(
        {"customer_id": [], "touchpoint": [], "occurred_at": pd.to_datetime([], utc=True)}
    )
    log = event_log(frame)
    assert log.n_events == 0
    assert log.n_cases == 0


@pytest.mark.parametrize("column", ["customer_id", "touchpoint", "occurred_at"])
def test_missing_values_name_the_column(column: str) -> None:
    frame = random_frame(5, 10, 3, 5).astype({"occurred_at": "float64"})
    frame[column] = frame[column].astype(object)
    frame.loc[3, column] = None
    with pytest.raises(ValidationError, match=column):
        event_log(frame)


def test_bad_time_column() -> None:
    frame = random_frame(5, 10, 3, 5).assign(occurred_at="soon")
    with pytest.raises(ValidationError, match="datetimes or numbers"):
        event_log(frame)
    with pytest.raises(ValidationError, match="infinite"):
        event_log(random_frame(5, 10, 3, 5).assign(occurred_at=np.inf))
    with pytest.raises(ValidationError, match="not a column"):
        event_log(random_frame(5, 10, 3, 5), time="when")
