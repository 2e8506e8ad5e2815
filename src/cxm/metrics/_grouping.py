"""Group-by on integer codes: the engine under every metric's ``by=`` and ``freq=``.

Metrics sum a few flags per group (promoters, detractors, satisfied answers) over millions of
rows. A pandas ``groupby`` over several keys plus a ``pd.Grouper`` on a time column spends most
of its time building the keys, not summing. Here every key becomes an integer code first
(categories' codes as they are, other columns factorised, times binned by calendar period on the
few distinct days rather than on every row), the codes are combined into one group number, and
each sum is one ``np.bincount``. Groups come out in pandas' sort order: categories in their
order, other values sorted, missing values last, periods ascending. Period labels are the ones
``pd.Grouper(freq=...)`` gives (the start for ``"MS"``, ``"QS"``, ``"D"``; the end for
``"W"`` and ``"ME"``), so a result lines up with ``DataFrame.resample``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from cxm.exceptions import ValidationError

__all__ = ["Groups", "group_rows", "grouped_sums"]

_DENSE_LIMIT = 1 << 22
"""Combined key spaces up to this size are counted densely; larger ones are compacted first."""
_UNIT_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


@attrs.frozen
class Groups:
    """Rows assigned to groups.

    Attributes:
        codes: The group number of every row, ``0 .. size - 1``.
        size: How many groups there are (each has at least one row).
        keys: One row per group, in group-number order: the ``by`` columns, then ``period``
            when a frequency was given.
    """

    codes: np.ndarray
    size: int
    keys: pd.DataFrame

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Return the sum of ``values`` (aligned with the rows) per group, as float64."""
        return np.bincount(self.codes, weights=values, minlength=self.size)

    def count(self, flags: np.ndarray | None = None) -> np.ndarray:
        """Return how many rows (or rows whose flag is true) each group has, as int64."""
        if flags is None:
            return np.bincount(self.codes, minlength=self.size).astype(np.int64)
        return np.bincount(self.codes[flags], minlength=self.size).astype(np.int64)


@attrs.frozen
class _Key:
    codes: np.ndarray  # int64, 0 .. size - 1
    size: int
    labels: Any  # what each code stands for, indexable by an array of codes
    categories: pd.CategoricalDtype | None = None


def _column_key(values: pd.Series, name: Hashable) -> _Key:
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        labels: Any = np.arange(len(values.cat.categories))
        size = len(values.cat.categories)
        dtype: pd.CategoricalDtype | None = values.dtype
    else:
        try:
            raw, uniques = pd.factorize(values, sort=True)
        except TypeError as exc:
            raise ValidationError(
                str(name), str(values.dtype), f"cannot group by it: {exc}"
            ) from None
        codes = raw.astype(np.int64)
        labels = np.asarray(uniques, dtype=object)
        size = len(uniques)
        dtype = None
    missing = codes < 0
    if missing.any():  # missing keys form their own group, last, as pandas' dropna=False does
        codes = np.where(missing, size, codes)
        labels = np.append(labels, np.asarray([None], dtype=object))
        size += 1
    return _Key(codes=codes, size=size, labels=labels, categories=dtype)


def _period_key(times: pd.Series, freq: str, time: str) -> _Key:
    try:
        offset = to_offset(freq)
    except (TypeError, ValueError) as exc:
        raise ValidationError("freq", freq, f"not a pandas frequency: {exc}") from None
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise ValidationError(time, str(times.dtype), "must hold datetimes to use freq=")
    if times.isna().any():
        raise ValidationError(
            time, None, f"{int(times.isna().sum())} row(s) have no time; drop them to use freq="
        )
    tz = getattr(times.dtype, "tz", None)
    if not len(times):
        return _Key(codes=np.zeros(0, dtype=np.int64), size=0, labels=pd.DatetimeIndex([]))
    wall = times
    if tz is not None and str(tz) != "UTC":
        # Calendar periods follow the local calendar: bin on the wall-clock time.
        wall = times.dt.tz_localize(None)
    unit = wall.dt.unit
    ticks = np.asarray(wall.array.asi8, dtype=np.int64)
    per_day = _UNIT_PER_DAY.get(unit)
    if per_day is None:
        raise ValidationError(time, str(times.dtype), "unsupported time resolution")
    first_day = int(ticks.min() // per_day)
    if isinstance(offset, pd.offsets.Tick):
        codes, labels_ticks = _tick_bins(ticks, offset, per_day, first_day, unit)
    else:
        codes, labels_ticks = _calendar_bins(ticks, offset, per_day, first_day, unit)
        unit = "ns"
    labels = pd.DatetimeIndex(
        np.asarray(labels_ticks, dtype=np.int64).astype(f"datetime64[{unit}]")
    )
    labels = labels.tz_localize(tz) if tz is not None else labels
    return _Key(codes=codes.astype(np.int64), size=len(labels), labels=labels)


def _tick_bins(
    ticks: np.ndarray, offset: Any, per_day: int, first_day: int, unit: str
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-width bins (``"h"``, ``"15min"``) from midnight of the first day, as pandas does."""
    step_ns = pd.Timedelta(offset).value
    step = step_ns * per_day // _UNIT_PER_DAY["ns"]
    if step <= 0 or step_ns * per_day % _UNIT_PER_DAY["ns"]:
        raise ValidationError("freq", offset.freqstr, f"finer than the times' resolution ({unit})")
    origin = first_day * per_day
    codes = (ticks - origin) // step
    present = np.flatnonzero(np.bincount(codes))
    remap = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    return remap[codes], origin + present * step


def _calendar_bins(
    ticks: np.ndarray, offset: Any, per_day: int, first_day: int, unit: str
) -> tuple[np.ndarray, np.ndarray]:
    """Calendar bins (``"MS"``, ``"W"``, ``"QS"``): pandas bins the distinct days, once each."""
    days = ticks // per_day - first_day
    present = np.flatnonzero(np.bincount(days))
    stamps = pd.DatetimeIndex(((present + first_day) * per_day).astype(f"datetime64[{unit}]"))
    binned = pd.DataFrame({"t": stamps}).groupby(pd.Grouper(key="t", freq=offset), sort=True)
    label_of_day = np.empty(len(stamps), dtype=np.int64)
    bins: list[int] = []
    for label, rows in binned.indices.items():
        label_of_day[rows] = len(bins)
        bins.append(pd.Timestamp(label).as_unit("ns").value)  # type: ignore[arg-type]
    order = np.argsort(np.asarray(bins, dtype=np.int64), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    remap = np.full(int(days.max()) + 1, -1, dtype=np.int64)
    remap[present] = rank[label_of_day]
    return remap[days], np.asarray(bins, dtype=np.int64)[order]


def group_rows(
    frame: pd.DataFrame,
    by: Sequence[Hashable],
    *,
    time: str = "occurred_at",
    freq: str | None = None,
) -> Groups:
    """Assign every row of ``frame`` to its group of ``by`` values and ``freq`` period.

    Args:
        frame: The rows.
        by: Columns to group by (may be empty).
        time: The time column, binned when ``freq`` is given.
        freq: A pandas frequency or ``None``.

    Returns:
        A :class:`Groups`; with no ``by`` and no ``freq`` every row is in group 0 (and there is
        one group even when there are no rows).

    Raises:
        ValidationError: If ``freq`` is not a frequency, or the time column is not datetimes or
            has missing values.
    """
    keys = [_column_key(frame[column], column) for column in by]
    if freq is not None:
        if not len(frame):  # no rows, no periods: check the options, return no groups
            _period_key(frame[time].iloc[:0], freq, time)
            names = [*by, "period"]
            return Groups(np.zeros(0, dtype=np.int64), 0, pd.DataFrame(columns=names))
        keys.append(_period_key(frame[time], freq, time))
    if not keys:
        return Groups(np.zeros(len(frame), dtype=np.int64), 1, pd.DataFrame(index=range(1)))
    space = 1
    for key in keys:
        space *= max(key.size, 1)
    if space >= 1 << 62:  # no single int64 can number the combinations: group the code rows
        stacked = np.column_stack([key.codes for key in keys])
        rows, codes = np.unique(stacked, axis=0, return_inverse=True)
        columns = [_labels(key, rows[:, i]) for i, key in enumerate(keys)]
    else:
        combined = np.zeros(len(frame), dtype=np.int64)
        for key in keys:
            combined = combined * key.size + key.codes
        if space <= _DENSE_LIMIT:
            present = np.flatnonzero(np.bincount(combined, minlength=space))
            remap = np.full(space, -1, dtype=np.int64)
            remap[present] = np.arange(len(present))
            codes = remap[combined]
        else:
            present, codes = np.unique(combined, return_inverse=True)
        columns = _decode(present, keys)
    names = [*by, *(["period"] if freq is not None else [])]
    table = pd.DataFrame(dict(zip(names, columns, strict=True)))
    return Groups(codes=np.asarray(codes, dtype=np.int64).ravel(), size=len(table), keys=table)


def _labels(key: _Key, code: np.ndarray) -> Any:
    if key.categories is not None:
        inside = np.where(code < len(key.categories.categories), code, -1)
        return pd.Categorical.from_codes(inside, dtype=key.categories)
    return key.labels[code]


def _decode(groups: np.ndarray, keys: list[_Key]) -> list[Any]:
    """Turn combined group numbers back into each key's labels."""
    out: list[Any] = []
    rest = groups
    for key in reversed(keys):
        rest, code = np.divmod(rest, key.size)
        out.append(_labels(key, code))
    return list(reversed(out))


def grouped_sums(
    frame: pd.DataFrame,
    columns: Mapping[str, np.ndarray],
    *,
    by: Sequence[Hashable],
    time: str,
    freq: str | None,
) -> pd.DataFrame:
    """Sum each of ``columns`` per group; return the keys, ``n`` and the sums.

    Args:
        frame: The rows (for the key columns).
        columns: Arrays aligned with ``frame``: booleans are counted (int64), integers summed
            exactly (int64), anything else summed as float64.
        by: Key columns.
        time: The time column, for ``freq``.
        freq: A pandas frequency or ``None``.

    Returns:
        The group keys, ``n`` (int64) and one column per entry of ``columns``.
    """
    groups = group_rows(frame, by, time=time, freq=freq)
    result = groups.keys.copy()
    result["n"] = groups.count()
    for name, values in columns.items():
        array = np.asarray(values)
        if array.dtype.kind == "b":
            result[name] = groups.count(array)
        elif array.dtype.kind in "iu":
            result[name] = np.rint(groups.sum(array.astype(float))).astype(np.int64)
        else:
            result[name] = groups.sum(array.astype(float))
    return result
