"""Event logs as sorted integer codes: the engine under every journey function.

Journey analysis needs each customer's events in time order. Sorting a million-row frame of
strings with pandas, then grouping it, is where the time goes; here the case and activity
columns become integer codes once (categoricals' codes as they are, anything else factorised),
times become int64 nanoseconds, and one quicksort of a single int64 key (case and time packed
together) puts the events in order; only runs of events tied on case and time are sorted
further by the tie rule. Every journey function works on the resulting arrays.

Order of events (the tie rule). Events are ordered by case, then time, then the optional
``order`` column (for example ``interaction_id``, the store's arrival order, or an event index
from the source log), then the activity's position among the activity labels (category order
for a categorical column, otherwise sorted by value). Events equal on all of these are the same
activity at the same moment in the same case, so their relative order changes no count,
duration or path. The result therefore never depends on the caller's row order: shuffled
input gives the same transitions, variants and funnels.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from cxm.exceptions import ValidationError

__all__ = ["EventLog", "event_log", "time_values"]

_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


@attrs.frozen(eq=False)
class EventLog:
    """A log's events sorted by case, time and the tie rule, as integer codes.

    All arrays are aligned with each other and in sorted order.

    Attributes:
        case: Case number of every event, ``0 .. n_cases - 1``, non-decreasing.
        activity: Activity code of every event, an index into ``activities``.
        time: Event time as int64 nanoseconds since the epoch for datetimes; for a numeric
            column its numbers (int64, or float64 when they are not all whole).
        position: Row position of every event in the caller's frame.
        cases: Case labels, indexed by case number.
        activities: Activity labels, indexed by activity code.
        bounds: ``n_cases + 1`` offsets; case ``c`` owns events ``bounds[c]:bounds[c + 1]``.
        tz: The time zone of the time column (``None`` for naive or numeric times).
        is_datetime: Whether the time column held datetimes (else plain numbers).
    """

    case: np.ndarray
    activity: np.ndarray
    time: np.ndarray
    position: np.ndarray
    cases: pd.Index
    activities: pd.Index
    bounds: np.ndarray
    tz: Any = None
    is_datetime: bool = True

    @property
    def n_events(self) -> int:
        """Number of events."""
        return int(self.case.size)

    @property
    def n_cases(self) -> int:
        """Number of cases."""
        return int(self.bounds.size - 1)

    @property
    def lengths(self) -> np.ndarray:
        """Number of events of every case."""
        return np.diff(self.bounds)

    @property
    def first(self) -> np.ndarray:
        """Index (into the sorted arrays) of every case's first event."""
        return self.bounds[:-1]

    @property
    def last(self) -> np.ndarray:
        """Index (into the sorted arrays) of every case's last event."""
        return self.bounds[1:] - 1

    def follows(self) -> np.ndarray:
        """Return a mask over events ``0 .. n - 2``: event ``i + 1`` directly follows ``i``.

        That is, both belong to the same case.
        """
        return np.asarray(self.case[1:] == self.case[:-1])

    def as_times(self, values: np.ndarray) -> Any:
        """Turn int64 nanoseconds (from ``time``) back into the caller's kind of time."""
        if not self.is_datetime:
            return values
        index = pd.DatetimeIndex(values.astype("datetime64[ns]"))
        return index.tz_localize("UTC").tz_convert(self.tz) if self.tz is not None else index

    def as_durations(self, values: np.ndarray) -> Any:
        """Turn int64 nanosecond differences into ``timedelta64[ns]`` (or numbers)."""
        if not self.is_datetime:
            return values
        return values.astype("timedelta64[ns]")


def _column(df: pd.DataFrame, name: Hashable, field: str) -> pd.Series:
    if not isinstance(df, pd.DataFrame):
        raise ValidationError("df", type(df).__name__, "must be a pandas DataFrame")
    if name not in df.columns:
        raise ValidationError(
            field, name, f"is not a column of the frame (columns: {list(df.columns)[:20]})"
        )
    series = df[name]
    missing = series.isna().to_numpy()
    if missing.any():
        first = df.index[int(np.argmax(missing))]
        raise ValidationError(
            field,
            name,
            f"{int(missing.sum())} rows have no value (first at index {first!r}); "
            f"filter them first, e.g. df.dropna(subset=[{name!r}])",
        )
    return series


def _codes(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and their labels; labels sorted (or in category order)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64, copy=False), pd.Index(
            series.cat.categories
        )
    codes, labels = pd.factorize(series, sort=True)
    return codes.astype(np.int64, copy=False), pd.Index(labels)


def time_values(series: pd.Series, field: str = "time") -> tuple[np.ndarray, Any, bool]:
    """Return a time column as int64 nanoseconds, its time zone, and whether it held datetimes.

    Numbers are kept as they are: integers as int64, floats as int64 when every value is a
    whole number and as float64 otherwise (so ``1.5`` is not truncated to ``1``).

    Raises:
        ValidationError: The column holds neither datetimes nor numbers.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        ns = series.array.asi8 * _NS_PER_UNIT[dtype.unit]
        return np.asarray(ns, dtype=np.int64), dtype.tz, True
    if pd.api.types.is_datetime64_dtype(dtype):
        unit = np.datetime_data(dtype)[0]  # type: ignore[arg-type]
        ns = series.to_numpy().view(np.int64) * _NS_PER_UNIT[unit]
        return ns, None, True
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if pd.api.types.is_integer_dtype(dtype):
            return series.to_numpy(dtype=np.int64), None, False
        values = series.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValidationError(field, series.name, "holds infinite numbers")
        whole = np.abs(values).max(initial=0.0) < 2**53 and bool((values == np.round(values)).all())
        return (values.astype(np.int64) if whole else values), None, False
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        try:
            parsed = pd.to_datetime(series, utc=True, format="ISO8601")
        except (TypeError, ValueError):
            try:
                # Not ISO 8601: let pandas guess (dateutil), without its per-call warning.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    parsed = pd.to_datetime(series, utc=True)
            except (TypeError, ValueError) as error:
                raise ValidationError(
                    field, series.name, f"must hold datetimes or numbers ({error})"
                ) from None
        return time_values(parsed, field)
    raise ValidationError(field, series.name, f"must hold datetimes or numbers, not {dtype}")


def _order_values(series: pd.Series) -> np.ndarray:
    """Sortable values of the ``order`` column: numbers and datetimes as they are, else codes."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return time_values(series, "order")[0]
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy()
    return _codes(series)[0]


def event_log(
    df: pd.DataFrame,
    *,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
) -> EventLog:
    """Sort a frame's events into an :class:`EventLog` (see the module docstring for the rule).

    Args:
        df: One row per event.
        case: Column naming the case (the customer, the ticket).
        activity: Column naming what happened (touchpoint, stage, activity).
        time: Column of datetimes (any unit, naive or aware) or numbers.
        order: Optional column that orders events sharing a timestamp.

    Returns:
        The sorted log.

    Raises:
        ValidationError: A column is missing or has missing values, or the time column holds
            neither datetimes nor numbers.
    """
    case_values = _column(df, case, "case")
    activity_values = _column(df, activity, "activity")
    time_series = _column(df, time, "time")
    case_codes, case_labels = _codes(case_values)
    activity_codes, activity_labels = _codes(activity_values)
    times, tz, is_datetime = time_values(time_series, "time")
    order_values = None if order is None else _order_values(_column(df, order, "order"))
    position = _sort(case_codes, len(case_labels), times, order_values, activity_codes)
    sorted_case = case_codes[position] if position is not None else case_codes
    n = len(sorted_case)
    # Relabel cases 0..n-1 in sorted order, dropping labels with no events (unused categories).
    change = np.zeros(n, dtype=bool)
    np.not_equal(sorted_case[1:], sorted_case[:-1], out=change[1:])
    dense = np.cumsum(change, dtype=np.int64)
    starts = np.flatnonzero(change)
    if n:
        starts = np.r_[0, starts]
    bounds = np.r_[starts, n].astype(np.int64)
    present = sorted_case[starts]
    if position is None:
        position = np.arange(n, dtype=np.int64)
        sorted_activity, sorted_time = activity_codes, times
    else:
        sorted_activity, sorted_time = activity_codes[position], times[position]
    return EventLog(
        case=dense,
        activity=sorted_activity,
        time=sorted_time,
        position=position,
        cases=case_labels[present] if len(present) else case_labels[:0],
        activities=activity_labels,
        bounds=bounds,
        tz=tz,
        is_datetime=is_datetime,
    )


_INT64_MAX = int(np.iinfo(np.int64).max)


def _sort_key(case: np.ndarray, n_cases: int, times: np.ndarray) -> tuple[np.ndarray, bool]:
    """One int64 per event that orders events by case, then time; and whether it is exact.

    Integer times: ``case * width + ((time - earliest) >> shift)``, with the smallest shift
    that makes the key fit in int64. With shift 0 (the usual case: microsecond data of a few
    years and a million customers needs a handful of bits) equal keys are equal times; with a
    coarser key, events that share a key are ordered by their full time afterwards. Float
    times: their dense rank stands in for them, which always fits.
    """
    if times.dtype.kind == "i" and len(times):
        low = int(times.min())
        span = int(times.max()) - low + 1
        shift = 0
        while n_cases * (((span - 1) >> shift) + 1) > _INT64_MAX:
            shift += 1
        width = ((span - 1) >> shift) + 1
        key = times - low
        if shift:
            key >>= shift
        key += case * width
        return key, shift == 0
    by_time = np.argsort(times)
    ordered = times[by_time]
    steps = np.zeros(len(times), dtype=np.int64)
    np.not_equal(ordered[1:], ordered[:-1], out=steps[1:])
    rank = np.empty(len(times), dtype=np.int64)
    rank[by_time] = np.cumsum(steps)
    rank += case * max(len(times), 1)
    return rank, True


def _sort(
    case: np.ndarray,
    n_cases: int,
    times: np.ndarray,
    order: np.ndarray | None,
    activity: np.ndarray,
) -> np.ndarray | None:
    """Row positions in event order, or ``None`` when the rows are in order already.

    One quicksort of a single int64 key (case and time packed together) orders the events;
    only the runs of events tied on that key are then sorted by time (when the key had to
    be coarser than the times), ``order`` and activity, so the cost of the tie rule follows
    the number of ties, not of events.
    """
    n = len(case)
    if n < 2:
        return None
    key, exact = _sort_key(case, n_cases, times)
    ascending = key[1:] >= key[:-1]
    if ascending.all():
        position = None
        sorted_key = key
    else:
        position = np.argsort(key)
        sorted_key = key[position]
    del ascending
    tied = sorted_key[1:] == sorted_key[:-1]
    if not tied.any():
        return position
    # Events inside a run of equal keys: sort each run by (time, order, activity, row); the
    # time matters only when the key was coarser than the times.
    member = np.zeros(n, dtype=bool)
    member[1:] |= tied
    member[:-1] |= tied
    index = np.flatnonzero(member)
    rows = index if position is None else position[index]
    run = np.cumsum(~np.r_[False, tied[index[1:] - 1]])
    keys: list[np.ndarray] = [rows, activity[rows]]
    if order is not None:
        keys.append(order[rows])
    if not exact:
        keys.append(times[rows])
    keys.append(run)
    settled = rows[np.lexsort(keys)]
    if position is None:
        if np.array_equal(settled, rows):
            return None
        position = np.arange(n, dtype=np.int64)
    position[index] = settled
    return position
