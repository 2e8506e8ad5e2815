"""Retention and churn: cohort matrices, inactivity churn, survival curves and the sBG model.

Customers are followed through their interactions. A cohort is the customers whose first
interaction (or first purchase, or first row of any kind you choose) fell in the same calendar
period; the retention matrix says what share of each cohort was active again 0, 1, 2, …
periods later. Churn in a non-contractual business is never announced, so it is declared by a
rule: a customer with no activity for ``inactive_for`` is churned. The same rule turns activity
into lifetimes for a Kaplan-Meier survival curve with Greenwood bands and a median lifetime per
segment. For contractual cohorts (subscriptions, where every loss is seen) the
shifted-beta-geometric model of Fader & Hardie (2007) is fitted to the counts still active and
projects retention beyond the data, with the discounted expected residual lifetime of Fader &
Hardie (2010).

Everything is computed on integer codes (``factorize``, ``lexsort``, ``bincount``); rows may
come in any order.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, cast

import attrs
import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from cxm.exceptions import ValidationError
from cxm.metrics._grouping import group_rows, grouped_sums
from cxm.metrics.feedback import DEFAULT_MIN_N, wilson_interval

__all__ = [
    "CohortRetention",
    "KaplanMeier",
    "SBGFit",
    "churn_rate",
    "churned",
    "cohort_retention",
    "customer_lifetimes",
    "customer_survival",
    "fit_sbg",
    "kaplan_meier",
]

RowFilter = str | Sequence[str] | pd.Series | np.ndarray | None
"""Which rows count: ``None`` (all), a ``kind`` value or list of them, or a boolean mask."""

_NS_PER_DAY = 86_400_000_000_000
_MEDIAN_TOLERANCE = 1e-12  # S(t) computed as exp(sum log) may miss 0.5 by rounding


# -- validation -----------------------------------------------------------------------------


def _z(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    if not 0 < confidence < 1:
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _check_min_n(min_n: object) -> int:
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise ValidationError("min_n", min_n, "must be a whole number, 0 or more")
    return int(min_n)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _as_list(by: Hashable | Sequence[Hashable] | None) -> list[Hashable]:
    if by is None:
        return []
    if isinstance(by, str) or not isinstance(by, Sequence):
        return [by]
    return list(by)


def _check_frame(df: object, columns: Sequence[Hashable]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValidationError("df", type(df).__name__, "must be a pandas DataFrame")
    missing = [str(column) for column in columns if column not in df.columns]
    if missing:
        raise ValidationError(
            "df", ", ".join(missing), f"column(s) missing; the frame has {list(df.columns)}"
        )
    return df


def _duration(name: str, value: object) -> pd.Timedelta:
    """A positive duration such as ``"90D"`` (bare numbers are refused: 90 would be 90 ns)."""
    if isinstance(value, (bool, int, float, np.number)):
        raise ValidationError(name, value, "must be a duration such as '90D' or '4W'")
    try:
        delta = pd.Timedelta(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        try:  # a bare unit: "D", "W", "h"
            delta = pd.Timedelta(f"1{value}")
        except (TypeError, ValueError):
            raise ValidationError(name, value, "must be a duration such as '90D' or '4W'") from None
    if not delta > pd.Timedelta(0):  # also refuses NaT
        raise ValidationError(name, value, "must be a positive duration")
    return delta


def _time_ticks(frame: pd.DataFrame, time: str) -> np.ndarray:
    """The time column as int64 nanoseconds (UTC for aware times); refuses non-times and NaT."""
    values = frame[time]
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise ValidationError(time, str(values.dtype), "must hold datetimes")
    if values.isna().any():
        raise ValidationError(
            time, None, f"{int(values.isna().sum())} row(s) have no time; drop them first"
        )
    return np.asarray(values.dt.as_unit("ns").array.asi8, dtype=np.int64)


def _as_of(value: object, times: pd.Series, ticks: np.ndarray) -> pd.Timestamp | None:
    """``as_of`` as a timestamp in the column's time zone; default the latest time."""
    tz = getattr(times.dtype, "tz", None)
    if value is None:
        if not len(ticks):
            return None
        stamp = pd.Timestamp(int(ticks.max()), unit="ns")
        return stamp.tz_localize("UTC").tz_convert(tz) if tz is not None else stamp
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError("as_of", value, "must be a date or time") from None
    if pd.isna(stamp):
        raise ValidationError("as_of", value, "must be a date or time")
    if tz is not None and stamp.tz is None:
        stamp = stamp.tz_localize(tz)
    elif tz is None and stamp.tz is not None:
        raise ValidationError("as_of", value, "is time-zone aware but the times are not")
    return stamp


def _ns(stamp: pd.Timestamp) -> int:
    return int(stamp.as_unit("ns").value)


def _row_filter(frame: pd.DataFrame, spec: RowFilter, *, name: str, kind: str) -> np.ndarray:
    """Boolean mask of the rows ``spec`` selects (see :data:`RowFilter`)."""
    if spec is None:
        return np.ones(len(frame), dtype=bool)
    if isinstance(spec, str) or (
        isinstance(spec, (list, tuple, set, frozenset)) and all(isinstance(s, str) for s in spec)
    ):
        kinds = [spec] if isinstance(spec, str) else list(spec)
        if kind not in frame.columns:
            raise ValidationError(
                name,
                spec,
                f"selects rows by their {kind!r} column, which the frame lacks; "
                "pass kind= or a boolean mask",
            )
        mask = frame[kind].isin(kinds).to_numpy(dtype=bool)
        if len(frame) and not mask.any():
            present = sorted(str(k) for k in pd.unique(frame[kind].dropna()))
            raise ValidationError(name, spec, f"no row has that {kind}; present: {present}")
        return mask
    if isinstance(spec, pd.Series):
        if not spec.index.equals(frame.index):
            raise ValidationError(name, "Series", "a mask must have the frame's index")
        values = spec
    else:
        values = pd.Series(np.asarray(spec))
    if not pd.api.types.is_bool_dtype(values.dtype) or len(values) != len(frame):
        raise ValidationError(
            name,
            type(spec).__name__,
            "must be a kind, a list of kinds, or booleans aligned with the rows",
        )
    if values.isna().any():
        raise ValidationError(name, None, "the mask has missing values")
    return values.to_numpy(dtype=bool)


def _factorize_customers(values: pd.Series) -> tuple[np.ndarray, Any]:
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError:  # mixed types cannot be sorted; keep them in order of appearance
        codes, labels = pd.factorize(values, sort=False)
    return codes.astype(np.int64), labels


def _segment_cumsum(values: np.ndarray, segment: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running sums restarting at each segment (rows sorted by segment; ``starts``: firsts)."""
    running = np.cumsum(values)
    base = (running - values)[starts]
    return np.asarray(running - base[segment])


# -- per-customer activity ------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Activity:
    """Activity rows sorted by customer then time, with per-customer first and last rows."""

    rows: np.ndarray  # positions in the caller's frame
    codes: np.ndarray  # customer code of each sorted row
    ticks: np.ndarray  # ns of each sorted row
    starts: np.ndarray  # first sorted row of each customer
    ends: np.ndarray  # last sorted row of each customer
    customers: Any  # label of each customer code
    segments: pd.DataFrame  # the by columns, one row per customer (from their first row)
    as_of: pd.Timestamp | None


def _activity(
    df: pd.DataFrame,
    *,
    customer: str,
    time: str,
    activity: RowFilter,
    kind: str,
    by: list[Hashable],
    as_of: object,
) -> _Activity:
    frame = _check_frame(df, [customer, time, *by])
    active = _row_filter(frame, activity, name="activity", kind=kind)
    ticks = _time_ticks(frame, time)
    stamp = _as_of(as_of, frame[time], ticks)
    keep = active & frame[customer].notna().to_numpy()
    if stamp is not None:
        keep &= ticks <= _ns(stamp)
    rows = np.flatnonzero(keep)
    sub = frame.iloc[rows]
    codes, customers = _factorize_customers(sub[customer])
    segment = group_rows(sub, by) if by else None
    tie = segment.codes if segment is not None else np.zeros(len(rows), dtype=np.int64)
    # Ties in time are broken by segment order so the result never depends on row order.
    order = np.lexsort((tie, ticks[rows], codes))
    codes, sorted_ticks, rows, tie = codes[order], ticks[rows][order], rows[order], tie[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
    ends = np.r_[starts[1:], len(codes)] - 1 if len(codes) else codes
    if segment is not None:
        segments = segment.keys.iloc[tie[starts]].reset_index(drop=True)
    else:
        segments = pd.DataFrame(index=range(len(starts)))
    return _Activity(
        rows=rows,
        codes=codes,
        ticks=sorted_ticks,
        starts=starts,
        ends=ends,
        customers=customers,
        segments=segments,
        as_of=stamp,
    )


def _take_times(df: pd.DataFrame, time: str, rows: np.ndarray) -> pd.Series:
    return pd.Series(df[time].array.take(rows), name=time)


# -- churn ----------------------------------------------------------------------------------


def churned(
    df: pd.DataFrame,
    *,
    customer: str = "customer_id",
    time: str = "occurred_at",
    inactive_for: str | pd.Timedelta = "90D",
    as_of: object = None,
    activity: RowFilter = None,
    kind: str = "kind",
    by: Hashable | Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Which customers have churned: no activity for ``inactive_for`` up to ``as_of``.

    A customer is churned when ``as_of - last_seen >= inactive_for``. Rows after ``as_of`` are
    ignored, so a past ``as_of`` replays what the rule said on that day. Rows without a
    customer (anonymous interactions) cannot be followed and are left out.

    Args:
        df: One row per interaction, e.g. ``ws.interactions()``.
        customer: The customer column.
        time: The interaction time column (datetimes, no missing values).
        inactive_for: How long without activity makes a customer churned (``"90D"``, ``"8W"``).
        as_of: The day the rule is applied; default the latest time in ``df``.
        activity: Which rows count as activity: ``None`` (every row), a ``kind`` value such as
            ``"purchase"`` or a list of kinds, or a boolean mask aligned with ``df``.
        kind: The column ``activity`` kinds are looked up in.
        by: Segment column(s) carried over from each customer's first activity row.

    Returns:
        One row per customer with activity up to ``as_of``, sorted by customer, columns:
        ``customer`` (the customer column's name); the ``by`` columns; ``first_seen``,
        ``last_seen`` (the time column's dtype); ``interactions`` (int64, activity rows);
        ``tenure_days`` (float64, ``last_seen - first_seen``); ``days_inactive`` (float64,
        ``as_of - last_seen``); ``churned`` (bool).

    Raises:
        ValidationError: If a column is missing, the times are not datetimes or an option is
            invalid.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({
        ...     "customer_id": ["a", "a", "b"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-02-01"]),
        ... })
        >>> table = churned(events, inactive_for="90D")
        >>> print(table[["customer_id", "days_inactive", "churned"]].to_string(index=False))
        customer_id  days_inactive  churned
                  a            0.0    False
                  b          121.0     True

    References:
        Ascarza, E., Fader, P. S. & Hardie, B. G. S. (2017). Marketing models for the
        customer-centric firm. In Handbook of Marketing Decision Models (2nd ed.), Springer:
        in a non-contractual setting churn is unobserved, so a rule has to declare it.
    """
    gap = _duration("inactive_for", inactive_for)
    keys = _as_list(by)
    found = _activity(
        df, customer=customer, time=time, activity=activity, kind=kind, by=keys, as_of=as_of
    )
    first, last = found.ticks[found.starts], found.ticks[found.ends]
    end = _ns(found.as_of) if found.as_of is not None else 0
    result = pd.DataFrame({customer: np.asarray(found.customers, dtype=object)})
    for column in keys:
        result[column] = found.segments[column].to_numpy()
    result["first_seen"] = _take_times(df, time, found.rows[found.starts])
    result["last_seen"] = _take_times(df, time, found.rows[found.ends])
    result["interactions"] = np.diff(np.r_[found.starts, len(found.codes)]).astype(np.int64)
    result["tenure_days"] = (last - first) / _NS_PER_DAY
    result["days_inactive"] = (end - last) / _NS_PER_DAY
    result["churned"] = (end - last) >= gap.value
    return result


def churn_rate(
    df: pd.DataFrame,
    *,
    customer: str = "customer_id",
    time: str = "occurred_at",
    inactive_for: str | pd.Timedelta = "90D",
    as_of: object = None,
    activity: RowFilter = None,
    kind: str = "kind",
    by: Hashable | Sequence[Hashable] | None = None,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """The share of customers churned under an inactivity rule, overall or per segment.

    Args:
        df: One row per interaction, e.g. ``ws.interactions()``.
        customer: The customer column.
        time: The interaction time column.
        inactive_for: How long without activity makes a customer churned.
        as_of: The day the rule is applied; default the latest time in ``df``.
        activity: Which rows count as activity (see :func:`churned`).
        kind: The column ``activity`` kinds are looked up in.
        by: Segment column(s), taken from each customer's first activity row.
        confidence: The interval's coverage.
        min_n: Segments with fewer customers are flagged ``low_n``.

    Returns:
        One row per segment, columns: the ``by`` columns; ``n`` (int64, customers);
        ``churned`` (int64); ``churn_rate`` (float64, share 0-1); ``ci_low``, ``ci_high``
        (float64, Wilson interval of the share); ``low_n`` (bool).

    Raises:
        ValidationError: If a column is missing or an option is invalid.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({
        ...     "customer_id": ["a", "a", "b"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-02-01"]),
        ... })
        >>> row = churn_rate(events).iloc[0]
        >>> int(row["n"]), int(row["churned"]), float(row["churn_rate"])
        (2, 1, 0.5)

    References:
        Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
        inference. JASA, 22(158), 209-212.
    """
    _z(confidence)
    _check_min_n(min_n)
    keys = _as_list(by)
    table = churned(
        df,
        customer=customer,
        time=time,
        inactive_for=inactive_for,
        as_of=as_of,
        activity=activity,
        kind=kind,
        by=keys,
    )
    sums = grouped_sums(
        table, {"churned": table["churned"].to_numpy(bool)}, by=keys, time=time, freq=None
    )
    n, lost = sums["n"].to_numpy(), sums["churned"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        sums["churn_rate"] = lost / n
    sums["ci_low"], sums["ci_high"] = wilson_interval(lost, n, confidence=confidence)
    sums["low_n"] = n < min_n
    return sums[[*keys, "n", "churned", "churn_rate", "ci_low", "ci_high", "low_n"]]


# -- cohort retention -----------------------------------------------------------------------


@attrs.frozen(eq=False)
class CohortRetention:
    """A cohort retention table and its matrix views.

    Attributes:
        table: One row per cohort (and segment) and period since the cohort started; the
            columns are listed in :func:`cohort_retention`.
        by: The segment columns.
        freq: The period length (a pandas frequency).
        confidence: The coverage of the intervals.
        min_n: Cohorts smaller than this are flagged ``low_n``.
    """

    table: pd.DataFrame
    by: tuple[Hashable, ...]
    freq: str
    confidence: float
    min_n: int

    def _pivot(self, values: str) -> pd.DataFrame:
        index = [*self.by, "cohort"]
        matrix = self.table.pivot(index=index, columns="period", values=values)
        matrix.columns.name = "period"
        return matrix

    @property
    def matrix(self) -> pd.DataFrame:
        """Share of each cohort active ``period`` periods after it started (NaN: not yet)."""
        return self._pivot("retention")

    @property
    def counts(self) -> pd.DataFrame:
        """Customers of each cohort active in each period, as a matrix (NaN: not yet)."""
        return self._pivot("active")

    @property
    def sizes(self) -> pd.Series:
        """Customers in each cohort, indexed like :attr:`matrix`."""
        first = self.table.loc[self.table["period"].to_numpy() == 0]
        return cast("pd.Series", first.set_index([*self.by, "cohort"])["n"])

    def curve(self) -> pd.DataFrame:
        """Retention by period since start, pooled over every cohort observed that long.

        Returns:
            One row per segment and period, columns: the ``by`` columns; ``period`` (int64);
            ``cohorts`` (int64, cohorts observed that long); ``n`` (int64, their customers);
            ``active`` (int64); ``retention`` (float64, ``active / n``); ``ci_low``,
            ``ci_high`` (float64, Wilson); ``low_n`` (bool).
        """
        keys = [*self.by, "period"]
        sums = grouped_sums(
            self.table,
            {
                "customers": self.table["n"].to_numpy(np.int64),
                "active": self.table["active"].to_numpy(np.int64),
            },
            by=keys,
            time="cohort",
            freq=None,
        )
        sums = sums.rename(columns={"n": "cohorts"}).rename(columns={"customers": "n"})
        n, active = sums["n"].to_numpy(), sums["active"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            sums["retention"] = active / n
        sums["ci_low"], sums["ci_high"] = wilson_interval(active, n, confidence=self.confidence)
        sums["low_n"] = n < self.min_n
        columns = [*keys, "cohorts", "n", "active", "retention", "ci_low", "ci_high", "low_n"]
        return sums[columns]

    def _repr_html_(self) -> str:
        return str(self.matrix.to_html(float_format=lambda v: f"{v:.1%}", na_rep=""))

    def __repr__(self) -> str:
        cohorts = len(self.sizes)
        return f"CohortRetention({cohorts} cohorts, freq={self.freq!r}, by={list(self.by)})"


def _period_positions(
    times: pd.Series, horizon: pd.Timestamp, *, time: str, freq: str
) -> tuple[np.ndarray, int, pd.DatetimeIndex]:
    """Each time's period as a position on a gap-free calendar grid, the horizon's, the grid."""
    stamps = pd.concat(
        [times.reset_index(drop=True), pd.Series([horizon], dtype=times.dtype)], ignore_index=True
    )
    groups = group_rows(pd.DataFrame({time: stamps}), [], time=time, freq=freq)
    labels = pd.DatetimeIndex(groups.keys["period"])
    try:
        grid = pd.date_range(labels[0], labels[-1], freq=freq)
    except (TypeError, ValueError) as exc:
        raise ValidationError("freq", freq, f"cannot lay out its periods: {exc}") from None
    where = grid.get_indexer(labels)
    if (where < 0).any():
        raise ValidationError(
            "freq", freq, "its periods cannot be numbered; use one such as 'D', 'W', 'MS', 'QS'"
        )
    positions = where[groups.codes]
    return positions[:-1], int(positions[-1]), grid


def _cohort_counts(
    codes: np.ndarray,
    position: np.ndarray,
    segment_code: np.ndarray,
    *,
    entry: np.ndarray,
    active: np.ndarray,
    ticks: np.ndarray,
    width: int,
    last: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cohort keys (``segment * width + cohort``), sizes, periods listed and active counts."""
    customers = int(codes.max()) + 1
    # Each customer's cohort comes from their earliest entry row (ties: first segment).
    starters = np.flatnonzero(entry)
    order = starters[np.lexsort((segment_code[starters], ticks[starters], codes[starters]))]
    firsts = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
    cohort_of = np.full(customers, -1, dtype=np.int64)
    segment_of = np.zeros(customers, dtype=np.int64)
    cohort_of[codes[firsts]] = position[firsts]
    segment_of[codes[firsts]] = segment_code[firsts]

    members = np.flatnonzero(cohort_of >= 0)
    cohort_keys, group_of_member = np.unique(
        segment_of[members] * width + cohort_of[members], return_inverse=True
    )
    group_of = np.full(customers, -1, dtype=np.int64)
    group_of[members] = group_of_member
    sizes = np.bincount(group_of_member, minlength=len(cohort_keys))
    spans = last - cohort_keys % width + 1
    offsets = np.r_[0, np.cumsum(spans)[:-1]]

    # Count each customer once per period they were active in, from their cohort's period on.
    doers = np.flatnonzero(active & (cohort_of[codes] >= 0))
    since = position[doers] - cohort_of[codes[doers]]
    doers, since = doers[since >= 0], since[since >= 0]
    pairs = np.unique(codes[doers] * width + since)
    who, when = np.divmod(pairs, width)
    active_count = np.bincount(offsets[group_of[who]] + when, minlength=int(spans.sum()))
    return cohort_keys, sizes, spans, active_count


def cohort_retention(
    df: pd.DataFrame,
    *,
    customer: str = "customer_id",
    time: str = "occurred_at",
    freq: str = "MS",
    cohort_by: RowFilter = None,
    activity: RowFilter = None,
    kind: str = "kind",
    by: Hashable | Sequence[Hashable] | None = None,
    as_of: object = None,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> CohortRetention:
    """Cohort retention: the share of each starting cohort active in each later period.

    A customer's cohort is the calendar period (``freq``) of their first ``cohort_by`` row:
    their first interaction by default, their first purchase with ``cohort_by="purchase"``.
    Period ``k`` of a cohort is the ``k``-th calendar period after its own; a customer is
    active in it when they have at least one ``activity`` row there (rows before the cohort
    started do not count). Periods run up to the one holding ``as_of`` (by default the latest
    time), so every cohort is listed to the end of the data and never beyond; the last period
    may be incomplete. Customers who skip a period and come back count again when they come
    back: this is "active in period k", not "survived to period k".

    Args:
        df: One row per interaction, e.g. ``ws.interactions()``; rows without a customer are
            left out.
        customer: The customer column.
        time: The interaction time column (datetimes, no missing values).
        freq: The period length: a pandas frequency such as ``"MS"`` (months), ``"W"``,
            ``"QS"``, ``"D"``. Periods are labelled as :func:`cxm.metrics._grouping.group_rows`
            labels them (the start for ``"MS"``/``"QS"``/``"D"``, the end for ``"W"``).
        cohort_by: Which rows can start a cohort: ``None`` (any interaction), a ``kind``
            value (``"purchase"``) or list of kinds, or a boolean mask aligned with ``df``.
            Customers with no such row are left out.
        activity: Which rows count as activity, in the same forms; default every row.
        kind: The column the kinds of ``cohort_by`` and ``activity`` are looked up in.
        by: Segment column(s), taken from the row that started each customer's cohort.
        as_of: Ignore rows after this time and end the table in its period.
        confidence: The intervals' coverage.
        min_n: Cohorts with fewer customers are flagged ``low_n``.

    Returns:
        A :class:`CohortRetention`. Its ``table`` has one row per segment, cohort and period
        ``0 .. last``, columns: the ``by`` columns; ``cohort`` (datetime, the cohort's period
        label); ``period`` (int64, periods since the cohort's); ``period_start`` (datetime, the
        label of that calendar period); ``n`` (int64, customers in the cohort); ``active``
        (int64, of them active in the period); ``retention`` (float64, ``active / n``, share
        0-1); ``ci_low``, ``ci_high`` (float64, Wilson interval); ``low_n`` (bool). Its
        ``matrix`` is the cohort-by-period pivot of ``retention``; ``counts`` of ``active``;
        ``curve()`` pools the cohorts per period.

    Raises:
        ValidationError: If a column is missing, the times are not datetimes, a kind is not
            present or an option is invalid.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({
        ...     "customer_id": ["a", "b", "a", "c", "b"],
        ...     "occurred_at": pd.to_datetime(
        ...         ["2024-01-05", "2024-01-20", "2024-02-02", "2024-02-10", "2024-03-01"]
        ...     ),
        ... })
        >>> result = cohort_retention(events, freq="MS")
        >>> print(result.matrix)  # doctest: +NORMALIZE_WHITESPACE
        period        0    1    2
        cohort
        2024-01-01  1.0  0.5  0.5
        2024-02-01  1.0  0.0  NaN

    References:
        Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
        inference. JASA, 22(158), 209-212 (the interval). Fader, P. S. & Hardie, B. G. S.
        (2007). How to project customer retention. Journal of Interactive Marketing, 21(1),
        76-90 (why pooled retention rises with tenure: heterogeneity, not loyalty growth).
    """
    _z(confidence)
    min_n = _check_min_n(min_n)
    if not _is_text(freq):
        raise ValidationError("freq", freq, "must be a pandas frequency such as 'MS' or 'W'")
    keys = _as_list(by)
    frame = _check_frame(df, [customer, time, *keys])
    entry = _row_filter(frame, cohort_by, name="cohort_by", kind=kind)
    active = _row_filter(frame, activity, name="activity", kind=kind)
    ticks = _time_ticks(frame, time)
    horizon = _as_of(as_of, frame[time], ticks)
    keep = frame[customer].notna().to_numpy() & (entry | active)
    if horizon is not None:
        keep &= ticks <= _ns(horizon)
    rows = np.flatnonzero(keep)
    result_columns = [*keys, "cohort", "period", "period_start", "n", "active", "retention"]
    if horizon is None or not entry[rows].any():
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in result_columns})
        empty[["ci_low", "ci_high"]] = np.nan
        empty["low_n"] = pd.Series(dtype=bool)
        return CohortRetention(empty, tuple(keys), freq, confidence, min_n)
    sub = frame.iloc[rows]
    position, last, grid = _period_positions(sub[time], horizon, time=time, freq=freq)
    width = len(grid)
    codes, _ = _factorize_customers(sub[customer])
    segment = group_rows(sub, keys) if keys else None
    segment_code = segment.codes if segment is not None else np.zeros(len(rows), dtype=np.int64)
    cohort_keys, sizes, spans, active_count = _cohort_counts(
        codes,
        position,
        segment_code,
        entry=entry[rows],
        active=active[rows],
        ticks=ticks[rows],
        width=width,
        last=last,
    )
    group_segment, group_cohort = np.divmod(cohort_keys, width)
    cells = int(spans.sum())
    offsets = np.r_[0, np.cumsum(spans)[:-1]]
    group = np.repeat(np.arange(len(cohort_keys)), spans)
    period = np.arange(cells) - offsets[group]
    table = pd.DataFrame(index=range(cells))
    if segment is not None:
        labels = segment.keys.iloc[group_segment[group]].reset_index(drop=True)
        for column in keys:
            table[column] = labels[column]
    table["cohort"] = grid[group_cohort[group]]
    table["period"] = period.astype(np.int64)
    table["period_start"] = grid[group_cohort[group] + period]
    n = sizes[group].astype(np.int64)
    table["n"] = n
    table["active"] = active_count.astype(np.int64)
    table["retention"] = active_count / n
    table["ci_low"], table["ci_high"] = wilson_interval(active_count, n, confidence=confidence)
    table["low_n"] = n < min_n
    return CohortRetention(table, tuple(keys), freq, confidence, min_n)


# -- Kaplan-Meier ---------------------------------------------------------------------------


@attrs.frozen(eq=False)
class KaplanMeier:
    """Kaplan-Meier survival curves with Greenwood log-log bands and median lifetimes.

    Attributes:
        table: One row per segment and distinct time; the columns are listed in
            :func:`kaplan_meier`.
        medians: One row per segment: the median lifetime and its interval.
        by: The segment columns.
        confidence: The bands' coverage.
    """

    table: pd.DataFrame
    medians: pd.DataFrame
    by: tuple[Hashable, ...]
    confidence: float

    @property
    def summary(self) -> pd.DataFrame:
        """The median lifetimes (same as :attr:`medians`)."""
        return self.medians

    def survival_at(self, times: Any) -> pd.DataFrame:
        """Read the curves at given times (a step function: 1 before the first time).

        Args:
            times: A number or numbers, in the durations' unit.

        Returns:
            One row per segment and time, columns: the ``by`` columns; ``time``;
            ``survival``, ``ci_low``, ``ci_high`` (float64).
        """
        at = np.atleast_1d(np.asarray(times, dtype=float))
        if np.isnan(at).any():
            raise ValidationError("times", times, "must be numbers")
        parts = []
        keys = list(self.by)
        segments = self.medians[keys] if keys else pd.DataFrame(index=range(len(self.medians)))
        starts = np.r_[0, np.cumsum(self.medians["distinct_times"].to_numpy())]
        for i in range(len(self.medians)):
            curve = self.table.iloc[starts[i] : starts[i + 1]]
            step = np.searchsorted(curve["time"].to_numpy(), at, side="right") - 1
            part = pd.DataFrame({"time": at})
            for column in ("survival", "ci_low", "ci_high"):
                values = curve[column].to_numpy(float)
                part[column] = np.where(step >= 0, values[np.clip(step, 0, None)], 1.0)
            for key in reversed(keys):
                part.insert(0, key, segments[key].iloc[i])
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def _repr_html_(self) -> str:
        return str(self.medians.to_html(index=False))

    def __repr__(self) -> str:
        return f"KaplanMeier({len(self.medians)} segment(s), by={list(self.by)})"


def kaplan_meier(
    df: pd.DataFrame,
    *,
    duration: str = "duration",
    observed: str | None = "observed",
    by: Hashable | Sequence[Hashable] | None = None,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> KaplanMeier:
    """Kaplan-Meier survival curve with Greenwood log-log bands and the median, per segment.

    ``S(t)`` is the product over event times ``t_i <= t`` of ``1 - d_i / n_i`` (``d_i`` events
    among ``n_i`` at risk; at a tie, events come before censorings, so a subject censored at
    ``t_i`` is still at risk there). Greenwood's variance of ``log S(t)`` is
    ``sum d_i / (n_i (n_i - d_i))``; the band is built on ``log(-log S(t))`` and transformed
    back, ``S(t) ** exp(+-z * sqrt(greenwood) / log S(t))``: it stays inside 0..1 and is the
    default of lifelines and of Klein & Moeschberger's log-transformed interval. The median is
    the first time with ``S(t) <= 0.5``; its interval is the first time each band falls to
    0.5 or below (Brookmeyer & Crowley 1982, as lifelines reports it); NaN when not reached.

    Args:
        df: One row per subject (customer).
        duration: The column of times to the event or to censoring (numbers, 0 or more).
        observed: The column saying whether the event was seen (``True``/1) or the subject
            was censored (``False``/0); ``None`` means every event was seen.
        by: Segment column(s): one curve per segment.
        confidence: The bands' coverage.
        min_n: Segments with fewer subjects are flagged ``low_n``.

    Returns:
        A :class:`KaplanMeier`. Its ``table`` has one row per segment and distinct time,
        columns: the ``by`` columns; ``time`` (float64); ``at_risk``, ``events``,
        ``censored`` (int64); ``survival`` (float64, ``S(t)`` just after ``time``); ``se``
        (float64, Greenwood standard error of ``S(t)``: ``S(t) * sqrt(greenwood)``, NaN once
        ``S`` is 0); ``ci_low``, ``ci_high`` (float64, log-log band; 1 before the first
        event, 0 once ``S`` is 0). Its ``medians`` has one row per segment: the ``by``
        columns; ``n``, ``events`` (int64); ``median``, ``ci_low``, ``ci_high`` (float64);
        ``distinct_times`` (int64, rows of ``table``); ``low_n`` (bool).

    Raises:
        ValidationError: If a column is missing, a duration is negative or missing, or
            ``observed`` holds something other than booleans or 0/1.

    Examples:
        >>> import pandas as pd
        >>> lives = pd.DataFrame({"duration": [1, 2, 2, 3, 4], "observed": [1, 1, 0, 1, 0]})
        >>> curve = kaplan_meier(lives, min_n=0)
        >>> print(curve.table[["time", "at_risk", "events", "survival"]].to_string(index=False))
         time  at_risk  events  survival
          1.0        5       1       0.8
          2.0        4       1       0.6
          3.0        2       1       0.3
          4.0        1       0       0.3
        >>> float(curve.medians["median"].iloc[0])
        3.0

    References:
        Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete
        observations. JASA, 53(282), 457-481. Greenwood, M. (1926). The natural duration of
        cancer. Reports on Public Health and Medical Subjects, 33. Klein, J. P. &
        Moeschberger, M. L. (2003). Survival Analysis (2nd ed.), sections 4.2-4.5.
        Brookmeyer, R. & Crowley, J. (1982). A confidence interval for the median survival
        time. Biometrics, 38(1), 29-41.
    """
    z = _z(confidence)
    min_n = _check_min_n(min_n)
    keys = _as_list(by)
    frame = _check_frame(df, [duration, *keys, *([observed] if observed is not None else [])])
    times = _durations(frame, duration)
    events_seen = _observed(frame, observed)
    if not len(frame):
        raise ValidationError("df", "0 rows", "needs at least one subject")
    segment = group_rows(frame, keys) if keys else None
    seg = segment.codes if segment is not None else np.zeros(len(frame), dtype=np.int64)
    groups = segment.size if segment is not None else 1

    order = np.lexsort((times, seg))
    ts, ss, es = times[order], seg[order], events_seen[order]
    new_time = np.r_[True, (ss[1:] != ss[:-1]) | (ts[1:] != ts[:-1])]
    run = np.cumsum(new_time) - 1
    run_time, run_seg = ts[new_time], ss[new_time]
    total = np.bincount(run).astype(np.int64)
    events = np.bincount(run, weights=es.astype(float)).round().astype(np.int64)
    firsts = np.flatnonzero(np.r_[True, run_seg[1:] != run_seg[:-1]])
    seg_n = np.bincount(ss, minlength=groups).astype(np.int64)
    before = _segment_cumsum(total, run_seg, firsts) - total
    at_risk = seg_n[run_seg] - before

    survival, se, low, high = _km_estimates(events, at_risk, run_seg, firsts, z)

    table = pd.DataFrame(index=range(len(run_time)))
    if segment is not None:
        labels = segment.keys.iloc[run_seg].reset_index(drop=True)
        for column in keys:
            table[column] = labels[column]
    table["time"] = run_time
    table["at_risk"] = at_risk
    table["events"] = events
    table["censored"] = total - events
    table["survival"] = survival
    table["se"] = se
    table["ci_low"] = low
    table["ci_high"] = high

    medians = segment.keys.copy() if segment is not None else pd.DataFrame(index=range(1))
    medians["n"] = seg_n
    medians["events"] = np.bincount(run_seg, weights=events, minlength=groups).astype(np.int64)
    medians["median"] = _first_at_or_below(survival, run_time, firsts)
    medians["ci_low"] = _first_at_or_below(low, run_time, firsts)
    medians["ci_high"] = _first_at_or_below(high, run_time, firsts)
    medians["distinct_times"] = np.diff(np.r_[firsts, len(run_time)]).astype(np.int64)
    medians["low_n"] = seg_n < min_n
    return KaplanMeier(table, medians.reset_index(drop=True), tuple(keys), confidence)


def _durations(frame: pd.DataFrame, duration: str) -> np.ndarray:
    try:
        times = frame[duration].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValidationError(duration, str(frame[duration].dtype), "must be numbers") from None
    bad = ~np.isfinite(times) | (times < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            duration,
            frame[duration].iloc[first],
            f"{int(bad.sum())} duration(s) are missing, infinite or negative",
        )
    return times


def _km_estimates(
    events: np.ndarray, at_risk: np.ndarray, segment: np.ndarray, firsts: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Survival, Greenwood SE and log-log band at each distinct time, segment by segment."""
    wiped = events == at_risk  # everyone left had the event: S falls to 0 for good
    share = np.where(wiped, 0.0, events / at_risk)
    greenwood_step = np.where(wiped, 0.0, events / (at_risk * np.where(wiped, 1, at_risk - events)))
    log_s = _segment_cumsum(np.log1p(-share), segment, firsts)
    greenwood = _segment_cumsum(greenwood_step, segment, firsts)
    zero = _segment_cumsum(wiped.astype(np.int64), segment, firsts) > 0
    survival = np.where(zero, 0.0, np.exp(log_s))
    se = np.where(zero, np.nan, survival * np.sqrt(greenwood))
    low, high = _loglog_band(log_s, greenwood, z)
    # As lifelines does: once S is 0 the band collapses onto it.
    return survival, se, np.where(zero, 0.0, low), np.where(zero, 0.0, high)


def _observed(frame: pd.DataFrame, observed: str | None) -> np.ndarray:
    if observed is None:
        return np.ones(len(frame), dtype=bool)
    values = frame[observed]
    if values.isna().any():
        raise ValidationError(observed, None, "has missing values; use True/False or 1/0")
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float)
        if np.isin(numbers, (0.0, 1.0)).all():
            return np.asarray(numbers == 1)
    raise ValidationError(observed, str(values.dtype), "must hold True/False or 1/0")


def _loglog_band(log_s: np.ndarray, greenwood: np.ndarray, z: float) -> tuple[np.ndarray, ...]:
    """Band ``exp(-exp(log(-log S) +- z * sd))``, ``sd = sqrt(greenwood) / |log S|``."""
    some = log_s < 0
    safe = np.where(some, log_s, -1.0)
    centre = np.log(-safe)
    spread = z * np.sqrt(greenwood) / -safe
    low = np.where(some, np.exp(-np.exp(centre + spread)), 1.0)
    high = np.where(some, np.exp(-np.exp(centre - spread)), 1.0)
    return low, high


def _first_at_or_below(values: np.ndarray, times: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Per segment, the first time ``values <= 0.5`` (NaN when it never is)."""
    count = len(values)
    hit = np.where(values <= 0.5 + _MEDIAN_TOLERANCE, np.arange(count), count)
    first = np.minimum.reduceat(hit, firsts)
    return np.where(first < count, times[np.minimum(first, count - 1)], np.nan)


# -- lifetimes from activity ----------------------------------------------------------------


def customer_lifetimes(
    df: pd.DataFrame,
    *,
    customer: str = "customer_id",
    time: str = "occurred_at",
    inactive_for: str | pd.Timedelta = "90D",
    as_of: object = None,
    activity: RowFilter = None,
    kind: str = "kind",
    by: Hashable | Sequence[Hashable] | None = None,
    unit: str | pd.Timedelta = "D",
) -> pd.DataFrame:
    """Each customer's lifetime until their first lapse, censored where no lapse is seen yet.

    A lapse is a gap of at least ``inactive_for`` after an activity: to the next activity, or
    to ``as_of`` for the last one. A customer's lifetime runs from their first activity to the
    activity that starts their first lapse (a customer who later returns is a win-back; their
    first life still ended there). A lapse can only be confirmed ``inactive_for`` after it
    starts, so a customer with no lapse yet is censored at ``as_of - inactive_for`` (time since
    first seen), the last moment a lapse could have been confirmed. That censoring time
    depends only on when the customer arrived, as Kaplan-Meier requires; censoring at the last
    activity instead would miss every lapse that began in the final ``inactive_for`` and
    overstate survival. Customers first seen after ``as_of - inactive_for`` carry no
    information yet and are left out.

    Args:
        df: One row per interaction, e.g. ``ws.interactions()``.
        customer: The customer column.
        time: The interaction time column.
        inactive_for: The length of inactivity that makes a lapse.
        as_of: The end of observation; rows after it are ignored. Default the latest time.
        activity: Which rows count as activity (see :func:`churned`).
        kind: The column ``activity`` kinds are looked up in.
        by: Segment column(s), taken from each customer's first activity row.
        unit: The unit of ``duration`` (``"D"``, ``"7D"``, ``"30D"``); durations are whole
            units, rounded down.

    Returns:
        One row per customer, sorted by customer, columns: ``customer`` (the customer column's
        name); the ``by`` columns; ``first_seen`` (the time column's dtype); ``duration``
        (float64, whole ``unit`` s); ``lapsed`` (bool, True when the lapse was seen, False
        when censored).

    Raises:
        ValidationError: If a column is missing or an option is invalid.

    References:
        Klein, J. P. & Moeschberger, M. L. (2003). Survival Analysis (2nd ed.), section 3.2
        (right censoring must not depend on the lifetime: administrative censoring at the end
        of observation).
    """
    gap = _duration("inactive_for", inactive_for).value
    step = _duration("unit", unit).value
    keys = _as_list(by)
    found = _activity(
        df, customer=customer, time=time, activity=activity, kind=kind, by=keys, as_of=as_of
    )
    end = _ns(found.as_of) if found.as_of is not None else 0
    rows = len(found.codes)
    following = np.r_[found.ticks[1:], end] if rows else found.ticks.copy()
    following[found.ends] = end  # a customer's last activity is followed by as_of
    lapse_rows = np.where(following - found.ticks >= gap, np.arange(rows), rows)
    first_lapse = np.minimum.reduceat(lapse_rows, found.starts) if rows else found.starts
    lapsed = first_lapse < rows
    first = found.ticks[found.starts]
    lapse_tick = found.ticks[np.minimum(first_lapse, max(rows - 1, 0))] if rows else first
    span = np.where(lapsed, lapse_tick - first, end - gap - first)
    known = lapsed | (span >= 0)
    result = pd.DataFrame({customer: np.asarray(found.customers, dtype=object)})
    for column in keys:
        result[column] = found.segments[column].to_numpy()
    result["first_seen"] = _take_times(df, time, found.rows[found.starts])
    result["duration"] = (span // step).astype(float)
    result["lapsed"] = lapsed
    return cast("pd.DataFrame", result.loc[known].reset_index(drop=True))


def customer_survival(
    df: pd.DataFrame,
    *,
    customer: str = "customer_id",
    time: str = "occurred_at",
    inactive_for: str | pd.Timedelta = "90D",
    as_of: object = None,
    activity: RowFilter = None,
    kind: str = "kind",
    by: Hashable | Sequence[Hashable] | None = None,
    unit: str | pd.Timedelta = "D",
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> KaplanMeier:
    """Kaplan-Meier survival of customers until their first lapse, with the median lifetime.

    The lifetimes are :func:`customer_lifetimes` (first activity to the start of the first gap
    of ``inactive_for``, censored at ``as_of - inactive_for``), the curve is
    :func:`kaplan_meier`.

    Args:
        df: One row per interaction, e.g. ``ws.interactions()``.
        customer: The customer column.
        time: The interaction time column.
        inactive_for: The length of inactivity that makes a lapse.
        as_of: The end of observation; default the latest time.
        activity: Which rows count as activity (see :func:`churned`).
        kind: The column ``activity`` kinds are looked up in.
        by: Segment column(s), from each customer's first activity row: one curve each.
        unit: The time unit of the curve (``"D"`` days, ``"7D"`` weeks, ``"30D"``).
        confidence: The bands' coverage.
        min_n: Segments with fewer customers are flagged ``low_n``.

    Returns:
        A :class:`KaplanMeier` over the durations in ``unit`` (see :func:`kaplan_meier`).

    Raises:
        ValidationError: If a column is missing, an option is invalid or no customer has been
            observed for ``inactive_for`` yet.

    References:
        Kaplan, E. L. & Meier, P. (1958). JASA, 53(282), 457-481. Greenwood, M. (1926).
    """
    lives = customer_lifetimes(
        df,
        customer=customer,
        time=time,
        inactive_for=inactive_for,
        as_of=as_of,
        activity=activity,
        kind=kind,
        by=by,
        unit=unit,
    )
    if not len(lives):
        raise ValidationError(
            "df", "no lifetimes", "no customer has been observed for inactive_for yet"
        )
    return kaplan_meier(
        lives, duration="duration", observed="lapsed", by=by, confidence=confidence, min_n=min_n
    )


# -- shifted-beta-geometric -----------------------------------------------------------------


_Terms = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def _sbg_terms(active: np.ndarray) -> _Terms:
    """``LL = sum w * betaln(a + p, b + q) - N * betaln(a, b)`` as (w, p, q, N)."""
    periods = len(active) - 1
    lost = -np.diff(active)
    t = np.arange(1, periods + 1, dtype=float)
    weights = np.r_[lost, active[-1]].astype(float)
    p = np.r_[np.ones(periods), 0.0]
    q = np.r_[t - 1, float(periods)]
    return weights, p, q, float(active[0])


def _sbg_loglik(theta: np.ndarray, terms: _Terms) -> float:
    a, b = theta
    w, p, q, n = terms
    return float(w @ special.betaln(a + p, b + q) - n * special.betaln(a, b))


def _sbg_gradient(theta: np.ndarray, terms: _Terms) -> np.ndarray:
    a, b = theta
    w, p, q, n = terms
    both = special.digamma(a + b + p + q)
    grad_a = w @ (special.digamma(a + p) - both) - n * (special.digamma(a) - special.digamma(a + b))
    grad_b = w @ (special.digamma(b + q) - both) - n * (special.digamma(b) - special.digamma(a + b))
    return np.array([grad_a, grad_b])


def _sbg_hessian(theta: np.ndarray, terms: _Terms) -> np.ndarray:
    a, b = theta
    w, p, q, n = terms
    both = special.polygamma(1, a + b + p + q)
    sum_ab = special.polygamma(1, a + b)
    aa = w @ (special.polygamma(1, a + p) - both) - n * (special.polygamma(1, a) - sum_ab)
    bb = w @ (special.polygamma(1, b + q) - both) - n * (special.polygamma(1, b) - sum_ab)
    ab = -(w @ both) + n * sum_ab
    return np.array([[aa, ab], [ab, bb]])


@attrs.frozen(eq=False)
class SBGFit:
    """A shifted-beta-geometric model fitted to one contractual cohort.

    Each customer renews every period with a probability ``1 - theta`` of their own;
    ``theta`` varies across customers as Beta(alpha, beta). Retention rises with tenure
    because the customers most likely to leave leave first.

    Attributes:
        alpha: The Beta distribution's alpha.
        beta: The Beta distribution's beta.
        log_likelihood: The maximised log-likelihood.
        covariance: The 2x2 covariance of (alpha, beta): the inverse observed information.
        active: Every count passed: customers active at the start of period 0, 1, ...
        n_periods: How many periods the model was fitted on (``active[: n_periods + 1]``).
        confidence: The coverage of the intervals in :attr:`summary`.
        converged: Whether the optimiser reported success with a vanishing gradient.
    """

    alpha: float
    beta: float
    log_likelihood: float
    covariance: np.ndarray
    active: np.ndarray
    n_periods: int
    confidence: float
    converged: bool

    @property
    def cohort_size(self) -> int:
        """Customers at the start of period 0."""
        return int(self.active[0])

    @property
    def params(self) -> pd.Series:
        """The estimates, ``alpha`` and ``beta``."""
        return pd.Series({"alpha": self.alpha, "beta": self.beta}, name="estimate")

    @property
    def standard_errors(self) -> pd.Series:
        """Standard errors from the inverse observed information (NaN if it is singular)."""
        return pd.Series(np.sqrt(np.diag(self.covariance)), index=["alpha", "beta"], name="se")

    @property
    def summary(self) -> pd.DataFrame:
        """Estimate, standard error and interval of each parameter.

        The interval is the Wald interval on the log scale, ``estimate * exp(+-z * se /
        estimate)``, which keeps both bounds positive as the parameters must be.
        """
        z = float(stats.norm.ppf(0.5 + self.confidence / 2))
        estimate = self.params.to_numpy()
        se = self.standard_errors.to_numpy()
        factor = np.exp(z * se / estimate)
        return pd.DataFrame(
            {
                "estimate": estimate,
                "se": se,
                "ci_low": estimate / factor,
                "ci_high": estimate * factor,
            },
            index=pd.Index(["alpha", "beta"], name="param"),
        )

    def survival(self, t: Any) -> np.ndarray:
        """Share of the cohort still active at the start of period ``t`` (``S(0) = 1``).

        ``S(t) = B(alpha, beta + t) / B(alpha, beta)``.
        """
        periods = _periods_array(t, minimum=0)
        log_s = special.betaln(self.alpha, self.beta + periods) - special.betaln(
            self.alpha, self.beta
        )
        return np.asarray(np.exp(log_s), dtype=float)

    def churn_probability(self, t: Any) -> np.ndarray:
        """Probability that a new customer leaves in period ``t`` (``t >= 1``).

        ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)``.
        """
        periods = _periods_array(t, minimum=1)
        log_p = special.betaln(self.alpha + 1, self.beta + periods - 1) - special.betaln(
            self.alpha, self.beta
        )
        return np.asarray(np.exp(log_p), dtype=float)

    def retention_rate(self, t: Any) -> np.ndarray:
        """Share of those active in period ``t - 1`` still active in period ``t`` (``t >= 1``).

        ``r(t) = (beta + t - 1) / (alpha + beta + t - 1)``.
        """
        periods = _periods_array(t, minimum=1)
        return (self.beta + periods - 1) / (self.alpha + self.beta + periods - 1)

    def projected(self, periods: int) -> pd.DataFrame:
        """The fitted and projected cohort, period 0 to ``periods``, beside what was observed.

        Args:
            periods: The last period to project to.

        Returns:
            One row per period, columns: ``period`` (int64); ``observed`` (Int64, the count
            passed, <NA> beyond it); ``expected`` (float64, ``cohort_size * S(t)``);
            ``survival`` (float64); ``retention_rate`` (float64, NaN in period 0);
            ``calibration`` (bool, the period was used to fit).
        """
        last = _whole("periods", periods, 0)
        t = np.arange(last + 1)
        observed = pd.array([pd.NA] * len(t), dtype="Int64")
        shown = min(len(self.active), len(t))
        observed[:shown] = self.active[:shown]
        return pd.DataFrame(
            {
                "period": t.astype(np.int64),
                "observed": observed,
                "expected": self.cohort_size * self.survival(t),
                "survival": self.survival(t),
                "retention_rate": np.r_[np.nan, self.retention_rate(t[1:])],
                "calibration": t <= self.n_periods,
            }
        )

    def derl(self, discount: float, renewals: int = 0) -> float:
        """Discounted expected residual lifetime, in periods (Fader & Hardie 2010).

        For a customer who has renewed ``renewals`` times and is about to decide on the next
        renewal (``n = renewals + 1``): the expected number of further periods they pay for,
        each discounted by ``1 / (1 + discount)`` per period, the upcoming one undiscounted,
        ``(beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n;
        1 / (1 + discount))``. Multiply by the margin per period for the residual value.

        Args:
            discount: The discount rate per period (0.1 for 10 %), above 0.
            renewals: Renewals made so far (0 for a just-acquired customer).

        Returns:
            The DERL, in periods.

        References:
            Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a contractual
            setting: the perils of ignoring heterogeneity. Marketing Science, 29(1), 85-93,
            equation (6).
        """
        if not _is_positive_number(discount):
            raise ValidationError("discount", discount, "must be a rate above 0, e.g. 0.1")
        n = _whole("renewals", renewals, 0) + 1
        a, b = self.alpha, self.beta
        factor = (b + n - 1) / (a + b + n - 1)
        return float(factor * special.hyp2f1(1.0, b + n, a + b + n, 1 / (1 + discount)))

    def _repr_html_(self) -> str:
        table = self.summary.to_html(float_format=lambda v: f"{v:.4f}")
        return (
            f"<p>shifted-beta-geometric, cohort of {self.cohort_size}, {self.n_periods} "
            f"periods, log-likelihood {self.log_likelihood:.2f}</p>{table}"
        )

    def __repr__(self) -> str:
        return (
            f"SBGFit(alpha={self.alpha:.4f}, beta={self.beta:.4f}, "
            f"log_likelihood={self.log_likelihood:.2f}, n_periods={self.n_periods})"
        )


def _is_positive_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return False
    return bool(value > 0)


def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValidationError(name, value, f"must be a whole number, {minimum} or more")
    return int(value)


def _periods_array(t: Any, *, minimum: int) -> np.ndarray:
    values = np.asarray(t, dtype=float)
    if np.isnan(values).any() or (values < minimum).any():
        raise ValidationError("t", t, f"periods must be {minimum} or more")
    return values


def fit_sbg(active: Any, *, periods: int | None = None, confidence: float = 0.95) -> SBGFit:
    """Fit the shifted-beta-geometric (sBG) model to a contractual cohort's survivor counts.

    Customers renew each period with their own churn probability ``theta``, drawn from
    Beta(alpha, beta) across the cohort (Fader & Hardie 2007). With ``n_t`` customers active
    at the start of period ``t`` the log-likelihood is ``sum_{t=1..T} (n_{t-1} - n_t) log
    P(T = t) + n_T log S(T)``, ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)``,
    ``S(t) = B(alpha, beta + t) / B(alpha, beta)``. It is maximised by BFGS on the log
    parameters with the analytic gradient; standard errors come from the analytic Hessian.

    Args:
        active: Customers still active at the start of period 0, 1, ..., T (the first is the
            cohort size). Counts must be whole, 0 or more and never rise.
        periods: Fit on the first ``periods`` periods only (``active[: periods + 1]``); the
            rest stay in the result for comparing projections. Default: all of them.
        confidence: The coverage of the intervals in ``summary``.

    Returns:
        An :class:`SBGFit`.

    Raises:
        ValidationError: If the counts are not a non-increasing run of whole numbers starting
            above 0, nobody was lost, or ``periods`` is out of range.

    Examples:
        >>> fit = fit_sbg([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> round(fit.alpha, 3), round(fit.beta, 3), round(fit.log_likelihood, 1)
        (0.704, 1.182, -1680.3)
        >>> round(float(fit.retention_rate(8)), 3)
        0.921

    References:
        Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. Journal of
        Interactive Marketing, 21(1), 76-90.
    """
    _z(confidence)
    counts = _survivor_counts(active)
    fitted = len(counts) - 1
    if periods is not None:
        fitted = _whole("periods", periods, 1)
        if fitted > len(counts) - 1:
            raise ValidationError(
                "periods", periods, f"only {len(counts) - 1} period(s) of counts were given"
            )
    used = counts[: fitted + 1]
    if used[-1] == used[0]:
        raise ValidationError("active", list(used), "nobody was lost; the model has no data")
    terms = _sbg_terms(used)

    def objective(log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(log_theta)
        return -_sbg_loglik(theta, terms), -_sbg_gradient(theta, terms) * theta

    found = optimize.minimize(
        objective, np.zeros(2), jac=True, method="BFGS", options={"gtol": 1e-10}
    )
    theta = np.exp(found.x)
    for _ in range(5):  # Newton polish: BFGS stops a hair short of the mode on flat ridges
        hessian = _sbg_hessian(theta, terms)
        try:
            step = np.linalg.solve(hessian, _sbg_gradient(theta, terms))
        except np.linalg.LinAlgError:
            break
        candidate = theta - step
        if (candidate <= 0).any() or _sbg_loglik(candidate, terms) < _sbg_loglik(theta, terms):
            break
        theta = candidate
    hessian = _sbg_hessian(theta, terms)
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        covariance = np.full((2, 2), np.nan)
    if (np.diag(covariance) <= 0).any():
        covariance = np.full((2, 2), np.nan)
    gradient = _sbg_gradient(theta, terms)
    converged = bool(found.success or np.abs(gradient * theta).max() < 1e-6)
    return SBGFit(
        alpha=float(theta[0]),
        beta=float(theta[1]),
        log_likelihood=_sbg_loglik(theta, terms),
        covariance=covariance,
        active=counts,
        n_periods=fitted,
        confidence=confidence,
        converged=converged,
    )


def _survivor_counts(active: Any) -> np.ndarray:
    try:
        values = np.asarray(active, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError("active", active, "must be counts of active customers") from None
    if values.ndim != 1 or len(values) < 2:
        raise ValidationError("active", active, "needs the cohort size and at least one period")
    if not np.isfinite(values).all() or (values != np.floor(values)).any() or (values < 0).any():
        raise ValidationError("active", active, "counts must be whole numbers, 0 or more")
    if values[0] <= 0:
        raise ValidationError("active", active, "the cohort must have at least one customer")
    if (np.diff(values) > 0).any():
        raise ValidationError(
            "active",
            active,
            "customers still active can only fall; the sBG model is for contractual cohorts "
            "where a lost customer does not come back",
        )
    return values.astype(np.int64)
