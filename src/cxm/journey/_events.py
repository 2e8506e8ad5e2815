"""Event logs as sorted integer codes: the engine under every journey function.

Journey analysis needs each customer's events in time order. Sorting a million-row frame of
strings with pandas, then grouping it, is where the time goes; here the case and activity
columns become integer codes once (categoricals' codes as they are, anything else factorised),
times become int64 nanoseconds, and one ``np.lexsort`` puts the events in order. Every journey
function works on the resulting arrays.

Order of events (the tie rule). Events are ordered by case, then time, then the optional
``order`` column (for example ``interaction_id``, the store's arrival order, or an event index
from the source log), then the activity's position among the activity labels (category order
for a categorical column, otherwise sorted by value). Events equal on all of these are the same
activity at the same moment in the same case, so their relative order changes no count,
duration or path. The result therefore never depends on the caller's row order: shuffled
input gives the same transitions, variants and funnels.
"""

from __future__ import annotations

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
        time: Event time as int64 nanoseconds (since the epoch for datetimes).
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
        return self.case[1:] == self.case[:-1]

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

    Raises:
        ValidationError: The column holds neither datetimes nor numbers.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        ns = series.array.asi8 * _NS_PER_UNIT[dtype.unit]  # type: ignore[attr-defined]
        return np.asarray(ns, dtype=np.int64), dtype.tz, True
    if pd.api.types.is_datetime64_dtype(dtype):
        unit = np.datetime_data(dtype)[0]  # type: ignore[arg-type]
        ns = series.to_numpy().view(np.int64) * _NS_PER_UNIT[unit]
        return ns, None, True
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=np.float64).astype(np.int64), None, False
    if pd.api.types.is_object_dtype(dtype):
        try:
            parsed = pd.to_datetime(series, utc=True)
        except (TypeError, ValueError) as error:
            raise ValidationError(
                field, series.name, f"must hold datetimes or numbers ({error})"
            ) from None
        return time_values(parsed, field)
    raise ValidationError(field, series.name, f"must hold datetimes or numbers, not {dtype}")


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
    keys: list[np.ndarray] = [activity_codes]
    if order is not None:
        order_codes, _ = _codes(_column(df, order, "order"))
        keys.append(order_codes)
    keys.extend([times, case_codes])
    if len(case_codes) > 1 and not _is_sorted(case_codes, times, keys):
        position = np.lexsort(keys)
    else:
        position = np.arange(len(case_codes))
    sorted_case = case_codes[position]
    # Relabel cases 0..n-1 in sorted order, dropping labels with no events (unused categories).
    starts = (
        np.flatnonzero(np.r_[True, sorted_case[1:] != sorted_case[:-1]])
        if len(sorted_case)
        else np.zeros(0, dtype=np.int64)
    )
    present = sorted_case[starts]
    dense = np.zeros(len(sorted_case), dtype=np.int64)
    if len(starts) > 1:
        dense[starts[1:]] = 1
        dense = np.cumsum(dense)
    bounds = np.r_[starts, len(sorted_case)].astype(np.int64)
    return EventLog(
        case=dense,
        activity=activity_codes[position],
        time=times[position],
        position=position,
        cases=case_labels[present] if len(present) else case_labels[:0],
        activities=activity_labels,
        bounds=bounds,
        tz=tz,
        is_datetime=is_datetime,
    )


def _is_sorted(case: np.ndarray, times: np.ndarray, keys: list[np.ndarray]) -> bool:
    """Whether the rows already follow the order (cheap check that saves the sort)."""
    dc = np.diff(case)
    if (dc < 0).any():
        return False
    same = dc == 0
    dt = np.diff(times)
    if (dt[same] < 0).any():
        return False
    tied = same & (dt == 0)
    if not tied.any():
        return True
    for key in reversed(keys[:-2]):
        dk = np.diff(key)
        if (dk[tied] < 0).any():
            return False
        tied = tied & (dk == 0)
    return True
