"""Monitoring and alerts: a metric as a time series, control charts, tests, and alerts.

A CX team wants to hear when NPS at the checkout falls, not to read a dashboard every Monday.
Here a feedback metric becomes a time series (one row per period and segment with its ``n``,
value and standard error, :func:`metric_series`), and three kinds of check watch it: a p-chart
for shares (:func:`p_chart`, Shewhart 3-sigma limits that widen when a week has few answers),
an EWMA chart and a tabular CUSUM for means and scores (:func:`ewma_chart`, :func:`cusum`;
both catch small lasting shifts that a Shewhart chart misses), and a significance test of the
latest period against a baseline window (:func:`detect_change`, with Benjamini-Hochberg
adjustment across segments). A :class:`Monitor` bundles one configured check;
:func:`check_monitors` runs several over a feedback frame and returns :class:`Alert` objects,
each with its metric, segment, direction, size, p-value and a severity from documented rules
(:func:`alert_severity`). :func:`deliver_alerts` hands them to receivers (the ``cxm_alert``
plugin hook) so that one failing receiver never stops the others.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd
from scipy import signal, stats

from cxm.exceptions import ValidationError
from cxm.metrics._grouping import group_rows, grouped_sums
from cxm.metrics.feedback import DEFAULT_MIN_N, ces, compare_nps, csat, nps, rating

__all__ = [
    "Alert",
    "DeliveryFailure",
    "Monitor",
    "alert_severity",
    "benjamini_hochberg",
    "check_monitors",
    "cusum",
    "deliver_alerts",
    "detect_change",
    "ewma_chart",
    "metric_series",
    "p_chart",
]

logger = logging.getLogger(__name__)

MetricKind = Literal["nps", "share", "mean"]
MonitorMethod = Literal["p_chart", "ewma", "cusum", "change"]
Severity = Literal["info", "warning", "critical"]

_METRICS: dict[str, MetricKind] = {
    "nps": "nps",
    "promoters": "share",
    "detractors": "share",
    "csat": "share",
    "easy": "share",
    "ces": "mean",
    "rating": "mean",
}
_METHODS = ("p_chart", "ewma", "cusum", "change")
_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
_RULES = (1, 2, 3, 4)
_D2_INDIVIDUALS = 1.128
"""d2 for moving ranges of two: sigma is estimated as the mean moving range / 1.128."""


# -- validation helpers -----------------------------------------------------------------------


def _as_list(by: str | Sequence[Hashable] | None) -> list[Hashable]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _positive(name: str, value: object, *, upper: float = math.inf, closed: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(name, value, "must be a number")
    number = float(value)
    inside = 0 < number <= upper if closed else 0 < number < upper
    if not inside or math.isnan(number):
        bound = f"in (0, {upper:g}{']' if closed else ')'}" if upper < math.inf else "above 0"
        raise ValidationError(name, value, f"must be {bound}")
    return number


def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(name, value, "must be a whole number")
    if value < minimum:
        raise ValidationError(name, value, f"must be at least {minimum}")
    return int(value)


def _optional_number(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(name, value, "must be a number or None")
    if not math.isfinite(float(value)):
        raise ValidationError(name, value, "must be finite")
    return float(value)


@attrs.frozen
class _Ordered:
    """A series sorted by segment then period, with integer codes for both."""

    frame: pd.DataFrame
    segment: np.ndarray  # segment code of each row, 0 .. segments - 1, ascending
    rank: np.ndarray  # rank of each row's period among all periods of the series
    segments: int
    periods: np.ndarray  # the distinct periods, ascending
    keys: list[Hashable]


def _ordered(
    series: pd.DataFrame, *, period: str, by: list[Hashable], needed: Sequence[str]
) -> _Ordered:
    if not isinstance(series, pd.DataFrame):
        raise ValidationError("series", type(series).__name__, "must be a pandas DataFrame")
    columns = [period, *by, *needed]
    missing = [str(column) for column in columns if column not in series.columns]
    if missing:
        raise ValidationError(
            "series",
            ", ".join(missing),
            f"column(s) missing; the frame has {list(series.columns)}",
        )
    if series[period].isna().any():
        raise ValidationError(period, None, "every row needs a period")
    try:
        rank, periods = pd.factorize(series[period], sort=True)
    except TypeError as exc:
        raise ValidationError(period, str(series[period].dtype), f"cannot sort: {exc}") from None
    segment = group_rows(series, by).codes if by else np.zeros(len(series), dtype=np.int64)
    order = np.lexsort((rank, segment))
    segment, rank = segment[order], rank.astype(np.int64)[order]
    if len(order) > 1 and np.any((np.diff(segment) == 0) & (np.diff(rank) == 0)):
        raise ValidationError(
            "series", period, "has several rows for one segment and period; group by= them"
        )
    segments = int(segment.max()) + 1 if len(segment) else 0
    frame = series.iloc[order].reset_index(drop=True)
    return _Ordered(frame, segment, rank, segments, np.asarray(periods), by)


def _baseline_mask(ordered: _Ordered, baseline: int | None) -> np.ndarray:
    if baseline is None:
        return np.ones(len(ordered.rank), dtype=bool)
    _whole("baseline", baseline, 1)
    return ordered.rank < baseline


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    try:
        return frame[column].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValidationError(column, str(frame[column].dtype), "must hold numbers") from None


def _segment_sum(ordered: _Ordered, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.bincount(
        ordered.segment, weights=np.where(mask, values, 0.0), minlength=ordered.segments
    )


def _segment_starts(segment: np.ndarray) -> np.ndarray:
    """Index of the first row of each row's segment (rows are sorted by segment)."""
    first = np.r_[True, segment[1:] != segment[:-1]][: len(segment)]
    starts = np.flatnonzero(first)
    result: np.ndarray = starts[np.cumsum(first) - 1]
    return result


def _key_columns(ordered: _Ordered, period: str) -> pd.DataFrame:
    return ordered.frame[[*ordered.keys, period]].copy()


# -- the time series ----------------------------------------------------------------------------


def metric_series(
    df: pd.DataFrame,
    metric: str | Callable[[pd.DataFrame], Any] = "nps",
    *,
    freq: str = "W",
    by: str | Sequence[Hashable] | None = None,
    score: str = "score",
    time: str = "occurred_at",
    name: str | None = None,
    min_n: int = DEFAULT_MIN_N,
    scale: tuple[float, float] | None = None,
    top_box: int | None = None,
) -> pd.DataFrame:
    """A feedback metric per period (and segment): its value, ``n`` and standard error.

    The input of every chart and test in this module. Built-in metrics reuse
    :func:`cxm.metrics.nps`, :func:`~cxm.metrics.csat`, :func:`~cxm.metrics.ces` and
    :func:`~cxm.metrics.rating`, so the same validation applies (a 12 in an NPS column is an
    error). A callable metric receives the frame and returns one value per row (a sentiment
    score, a churn flag): booleans make a share, numbers a mean; rows whose value is missing
    are left out.

    Args:
        df: One row per answer, e.g. ``ws.feedback()``.
        metric: ``"nps"`` (points), ``"promoters"`` or ``"detractors"`` (percent of NPS
            answers), ``"csat"`` (percent satisfied), ``"easy"`` (percent of CES answers that
            are easy), ``"ces"`` or ``"rating"`` (mean answer), or a callable as above.
        freq: A pandas frequency (``"W"``, ``"MS"``, ``"D"``) for the periods.
        by: Column(s) whose values are the segments (``"touchpoint"``).
        score: The answers' column.
        time: The answer times' column.
        name: The metric's name in the result; defaults to ``metric`` or the callable's name.
        min_n: Periods with fewer answers are flagged ``low_n``.
        scale: The answer scale for ``csat``, ``ces`` and ``rating`` (see those functions).
        top_box: For ``csat``: how many top points count as satisfied.

    Returns:
        One row per segment and period, sorted by them, columns:

        - the ``by`` columns, ``period`` (the period's label as :func:`~cxm.metrics.nps` gives
            it: the end of the week for ``"W"``, the start of the month for ``"MS"``);
        - ``metric`` (str): the name; ``kind`` (str): ``"nps"``, ``"share"`` or ``"mean"``;
        - ``n`` (int64): answers; ``value`` (float64): NPS in points, a share in percent or
            the mean answer;
        - ``se`` (float64): the value's standard error in the same units (Wald for NPS and
            shares, ``sd / sqrt(n)`` for means);
        - ``sd`` (float64): the sample standard deviation of one answer in the same units
            (an NPS answer counts +100, 0 or -100; a share answer 100 or 0); NaN when n < 2;
        - for shares ``successes`` (int64); for NPS ``promoters``, ``passives``,
            ``detractors`` (int64);
        - ``low_n`` (bool): ``n < min_n``.

    Raises:
        ValidationError: If ``metric`` is unknown, the callable's result does not fit the
            frame, a column is missing or a score is off its scale.

    Examples:
        >>> import pandas as pd
        >>> answers = pd.DataFrame({
        ...     "score": [10, 9, 3, 10, 7, 8],
        ...     "occurred_at": pd.to_datetime(["2024-03-04"] * 3 + ["2024-03-11"] * 3),
        ... })
        >>> table = metric_series(answers, "nps", freq="W", min_n=1)
        >>> [str(day.date()) for day in table["period"]], table["value"].round(1).tolist()
        (['2024-03-10', '2024-03-17'], [33.3, 33.3])
    """
    if not freq:
        raise ValidationError("freq", freq, "a time series needs a frequency such as 'W' or 'MS'")
    _whole("min_n", min_n, 0)
    keys = _as_list(by)
    if callable(metric):
        label = name or str(getattr(metric, "__name__", "custom"))
        return _custom_series(df, metric, label=label, keys=keys, freq=freq, time=time, min_n=min_n)
    if metric not in _METRICS:
        raise ValidationError(
            "metric", metric, f"must be one of {', '.join(_METRICS)} or a callable"
        )
    common: dict[str, Any] = {"by": keys, "freq": freq, "score": score, "time": time}
    label = name or metric
    kind = _METRICS[metric]
    if metric in ("nps", "promoters", "detractors"):
        table = nps(df, method="wald", min_n=min_n, **common)
        n = table["n"].to_numpy(float)
        if metric == "nps":
            shares = table[["promoters", "detractors"]].to_numpy(float) / n[:, None]
            per_answer = shares.sum(axis=1) - (shares[:, 0] - shares[:, 1]) ** 2
            out = table[[*keys, "period", "n"]].copy()
            out["value"] = table["nps"].to_numpy(float)
            out["se"] = table["se"].to_numpy(float)
            out["sd"] = _sample_sd(per_answer * 100**2, n)
            for column in ("promoters", "passives", "detractors"):
                out[column] = table[column].to_numpy()
            return _series_finish(out, label, kind, min_n)
        successes = table[metric].to_numpy()
    elif metric == "csat":
        table = csat(df, scale=scale, top_box=top_box, min_n=min_n, **common)
        successes = table["satisfied"].to_numpy()
    elif metric == "easy":
        table = ces(df, min_n=min_n, scale=scale, **common)  # type: ignore[arg-type]
        successes = table["easy"].to_numpy()
    else:
        function = ces if metric == "ces" else rating
        table = function(df, min_n=min_n, scale=scale, **common)  # type: ignore[arg-type]
        out = table[[*keys, "period", "n"]].copy()
        out["value"] = table["mean"].to_numpy(float)
        out["sd"] = table["sd"].to_numpy(float)
        out["se"] = out["sd"].to_numpy() / np.sqrt(out["n"].to_numpy(float))
        return _series_finish(out[[*keys, "period", "n", "value", "se", "sd"]], label, kind, min_n)
    return _share_series(table[[*keys, "period", "n"]].copy(), successes, label, min_n)


def _sample_sd(population_variance: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The ddof=1 standard deviation from a ddof=0 variance; NaN where n < 2."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, np.sqrt(np.clip(population_variance, 0, None) * n / (n - 1)), np.nan)


def _share_series(out: pd.DataFrame, successes: np.ndarray, label: str, min_n: int) -> pd.DataFrame:
    n = out["n"].to_numpy(float)
    share = successes / n
    out["value"] = share * 100
    out["se"] = np.sqrt(share * (1 - share) / n) * 100
    out["sd"] = _sample_sd(share * (1 - share) * 100**2, n)
    out["successes"] = np.asarray(successes, dtype=np.int64)
    return _series_finish(out, label, "share", min_n)


def _series_finish(out: pd.DataFrame, label: str, kind: MetricKind, min_n: int) -> pd.DataFrame:
    n_at = list(out.columns).index("n")
    out.insert(n_at, "kind", kind)
    out.insert(n_at, "metric", label)
    out["low_n"] = out["n"].to_numpy() < min_n
    return out.reset_index(drop=True)


def _custom_series(
    df: pd.DataFrame,
    metric: Callable[[pd.DataFrame], Any],
    *,
    label: str,
    keys: list[Hashable],
    freq: str,
    time: str,
    min_n: int,
) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValidationError("df", type(df).__name__, "must be a pandas DataFrame")
    missing = [str(column) for column in [*keys, time] if column not in df.columns]
    if missing:
        raise ValidationError("df", ", ".join(missing), "column(s) missing")
    raw = np.asarray(metric(df))
    if raw.shape != (len(df),):
        raise ValidationError(
            "metric", label, f"returned shape {raw.shape}; it must return one value per row"
        )
    if raw.dtype.kind == "b":
        frame, flags = df, raw
        sums = grouped_sums(frame, {"successes": flags}, by=keys, time=time, freq=freq)
        return _share_series(
            sums[[*keys, "period", "n"]].copy(), sums["successes"].to_numpy(), label, min_n
        )
    try:
        values = raw.astype(float)
    except (TypeError, ValueError):
        raise ValidationError("metric", label, "must return numbers or booleans") from None
    keep = ~np.isnan(values)
    frame, values = df.loc[keep], values[keep]
    centre = float(values.mean()) if len(values) else 0.0
    shifted = values - centre  # centred so the variance does not cancel catastrophically
    sums = grouped_sums(
        frame, {"total": shifted, "squares": shifted**2}, by=keys, time=time, freq=freq
    )
    n = sums["n"].to_numpy(float)
    mean = sums["total"].to_numpy(float) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (sums["squares"].to_numpy(float) - n * mean**2) / (n - 1)
    out = sums[[*keys, "period", "n"]].copy()
    out["value"] = mean + centre
    out["sd"] = np.where(n > 1, np.sqrt(np.clip(variance, 0, None)), np.nan)
    out["se"] = out["sd"].to_numpy() / np.sqrt(n)
    return _series_finish(out[[*keys, "period", "n", "value", "se", "sd"]], label, "mean", min_n)


# -- p-chart ------------------------------------------------------------------------------------


def _run_rules(
    z: np.ndarray, segment: np.ndarray, rules: Iterable[int], nsigmas: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return (which rules fired as text, whether rule 1 fired) for standardised points ``z``."""
    rules = tuple(rules)
    unknown = [rule for rule in rules if rule not in _RULES]
    if unknown or not rules:
        raise ValidationError("rules", rules, "must be a non-empty selection of 1, 2, 3, 4")
    finite = np.isfinite(z)
    starts = _segment_starts(segment)
    position = np.arange(len(z)) - starts

    def in_window(flags: np.ndarray, width: int) -> np.ndarray:
        cumulative = np.r_[0, np.cumsum(flags)]
        index = np.arange(len(flags)) + 1
        begin = np.maximum(index - width, starts)
        return np.where(position + 1 >= width, cumulative[index] - cumulative[begin], 0)

    fired: dict[int, np.ndarray] = {}
    with np.errstate(invalid="ignore"):
        fired[1] = finite & (np.abs(z) > nsigmas)
        for side in (1.0, -1.0):
            beyond_two = finite & (side * z > 2)
            beyond_one = finite & (side * z > 1)
            same_side = finite & (side * z > 0)
            rule2 = beyond_two & (in_window(beyond_two, 3) >= 2)
            rule3 = beyond_one & (in_window(beyond_one, 5) >= 4)
            rule4 = in_window(same_side, 8) >= 8
            fired[2] = fired.get(2, np.zeros(len(z), bool)) | rule2
            fired[3] = fired.get(3, np.zeros(len(z), bool)) | rule3
            fired[4] = fired.get(4, np.zeros(len(z), bool)) | rule4
    labels = np.full(len(z), "", dtype=object)
    for rule in sorted(set(rules)):
        labels = np.where(
            fired[rule], np.where(labels == "", str(rule), labels + "," + str(rule)), labels
        )
    rule_one = fired[1] if 1 in rules else np.zeros(len(z), bool)
    return labels, rule_one


def p_chart(
    series: pd.DataFrame,
    *,
    successes: str = "successes",
    n: str = "n",
    period: str = "period",
    by: str | Sequence[Hashable] | None = None,
    baseline: int | None = None,
    p_bar: float | None = None,
    nsigmas: float = 3.0,
    rules: Sequence[int] = (1,),
    min_n: int = 0,
) -> pd.DataFrame:
    """Shewhart p-chart: a share per period against limits that follow each period's ``n``.

    The centre line is the baseline's pooled share, ``p_bar = sum(successes) / sum(n)`` over
    the baseline periods (all periods when ``baseline`` is None, Montgomery's phase I), or a
    known ``p_bar``. Each period's limits are
    ``p_bar ± nsigmas * sqrt(p_bar * (1 - p_bar) / n_t)``, clipped to [0, 1], so a quiet week
    gets wider limits instead of a false alarm. Points are then tested with the Western
    Electric run rules chosen in ``rules`` (Western Electric 1956; Montgomery 2009 §5.3.6),
    on the standardised share ``z = (p - p_bar) / sigma_t``:

    1. one point beyond ``nsigmas`` (the control limit);
    2. two of three consecutive points beyond 2 sigma on the same side (the point is one of
       them);
    3. four of five consecutive points beyond 1 sigma on the same side (the point is one of
       them);
    4. eight consecutive points on the same side of the centre line.

    A window never spans two segments. Only rule 1 is on by default: every extra rule raises
    the false-alarm rate.

    Args:
        series: One row per period (and segment) with a count of successes and of trials,
            e.g. :func:`metric_series` of a share metric.
        successes: Column of successes (detractors, satisfied answers, churned customers).
        n: Column of trials (answers, customers at risk).
        period: Column of periods; any sortable values.
        by: Segment columns; each segment gets its own centre line and limits.
        baseline: Use the first ``baseline`` periods of the series (the same calendar
            periods for every segment) to estimate ``p_bar``; ``None`` uses all.
        p_bar: A known centre line (a standard given) instead of the estimate.
        nsigmas: Width of the limits in standard errors.
        rules: Which run rules to test (see above).
        min_n: Periods with fewer trials are flagged ``low_n``.

    Returns:
        One row per period and segment, sorted by segment then period, columns: the ``by``
        columns, ``period``; ``n`` (int64); ``successes`` (int64); ``p`` (float64, the
        share); ``centre`` (float64, ``p_bar``); ``sigma`` (float64, the share's standard
        error at ``p_bar``); ``ucl``, ``lcl`` (float64, limits clipped to [0, 1]); ``z``
        (float64, standardised share); ``in_baseline`` (bool); ``signal`` (str, the rules
        that fired, e.g. ``"1"`` or ``"1,4"``, empty for none); ``out_of_control`` (bool,
        any rule fired); ``low_n`` (bool).

    Raises:
        ValidationError: If a column is missing, counts are negative or successes exceed
            trials, or an option is invalid.

    Examples:
        >>> import pandas as pd
        >>> weeks = pd.DataFrame({"period": [1, 2, 3, 4], "successes": [10, 12, 9, 30],
        ...                       "n": [100, 100, 100, 100]})
        >>> chart = p_chart(weeks, baseline=3)
        >>> round(float(chart["ucl"].iloc[0]), 4), chart["signal"].tolist()
        (0.1947, ['', '', '', '1'])

    References:
        Montgomery, D. C. (2009). Introduction to Statistical Quality Control, 6th ed.,
        Wiley, §7.2 (the p-chart, variable sample size) and §5.3.6 (run rules).
        Western Electric (1956). Statistical Quality Control Handbook. Western Electric Co.
    """
    nsigmas = _positive("nsigmas", nsigmas)
    _whole("min_n", min_n, 0)
    known = _optional_number("p_bar", p_bar)
    if known is not None and not 0 < known < 1:
        raise ValidationError("p_bar", p_bar, "must be between 0 and 1")
    ordered = _ordered(series, period=period, by=_as_list(by), needed=[successes, n])
    frame = ordered.frame
    count = _numbers(frame, successes)
    trials = _numbers(frame, n)
    bad = ~(np.isfinite(count) & np.isfinite(trials)) | (count < 0) | (count > trials)
    bad |= trials <= 0
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            successes,
            (count[first], trials[first]),
            f"needs 0 <= {successes} <= {n} and {n} > 0 in every row (period "
            f"{frame[period].iloc[first]!r})",
        )
    in_baseline = _baseline_mask(ordered, baseline)
    if known is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            centre_of = _segment_sum(ordered, count, in_baseline) / _segment_sum(
                ordered, trials, in_baseline
            )
        centre = centre_of[ordered.segment]
    else:
        centre = np.full(len(frame), known)
    share = count / trials
    sigma = np.sqrt(centre * (1 - centre) / trials)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (share - centre) / sigma
        # A centre of 0 or 1 has no spread: any departure from it is infinitely far out.
        z = np.where(sigma > 0, z, np.where(share == centre, 0.0, np.sign(share - centre) * np.inf))
    z = np.where(np.isnan(centre), np.nan, z)
    labels, _ = _run_rules(z, ordered.segment, rules, nsigmas)
    out = _key_columns(ordered, period)
    out["n"] = trials.astype(np.int64)
    out["successes"] = count.astype(np.int64)
    out["p"] = share
    out["centre"] = centre
    out["sigma"] = sigma
    out["ucl"] = np.clip(centre + nsigmas * sigma, 0, 1)
    out["lcl"] = np.clip(centre - nsigmas * sigma, 0, 1)
    out["z"] = z
    out["in_baseline"] = in_baseline
    out["signal"] = labels.astype(str)
    out["out_of_control"] = labels != ""
    out["low_n"] = trials < min_n
    return out


# -- EWMA and CUSUM -----------------------------------------------------------------------------


def _mean_chart_inputs(
    series: pd.DataFrame,
    *,
    value: str,
    n: str | None,
    sd: str | None,
    period: str,
    by: str | Sequence[Hashable] | None,
    target: float | None,
    sigma: float | None,
    baseline: int | None,
) -> tuple[_Ordered, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Order the series and return (ordered, values, n, in_baseline, centre, unit sigma)."""
    target = _optional_number("target", target)
    if sigma is not None:
        sigma = _positive("sigma", sigma)
    present = set(getattr(series, "columns", ()))
    n = n if n in present else None
    sd = sd if sd in present else None
    needed = [value, *([n] if n else []), *([sd] if sd else [])]
    ordered = _ordered(series, period=period, by=_as_list(by), needed=needed)
    frame = ordered.frame
    values = _numbers(frame, value)
    if not np.isfinite(values).all():
        raise ValidationError(value, None, "every period needs a finite value")
    sizes = _numbers(frame, n) if n else np.ones(len(frame))
    if not (np.isfinite(sizes) & (sizes > 0)).all():
        raise ValidationError(n or "n", None, "every period needs n > 0")
    in_baseline = _baseline_mask(ordered, baseline)
    weight = _segment_sum(ordered, sizes, in_baseline)
    if target is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            centre_of = _segment_sum(ordered, sizes * values, in_baseline) / weight
    else:
        centre_of = np.full(ordered.segments, target)
    if sigma is not None:
        sigma_of = np.full(ordered.segments, sigma)
    else:
        sigma_of = np.full(ordered.segments, np.nan)
        if sd:
            spread = _numbers(frame, sd)
            usable = in_baseline & np.isfinite(spread) & (sizes > 1)
            dof = np.where(usable, sizes - 1, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                pooled = _segment_sum(ordered, dof * np.nan_to_num(spread) ** 2, usable)
                sigma_of = np.sqrt(pooled / _segment_sum(ordered, dof, usable))
        # Individuals (or no spread column): the mean moving range over d2 (Montgomery §6.4).
        starts = _segment_starts(ordered.segment)
        previous_in_baseline = np.r_[False, in_baseline[:-1]][: len(frame)]
        follows = (np.arange(len(frame)) > starts) & in_baseline & previous_in_baseline
        ranges = np.abs(np.diff(values, prepend=np.nan))
        with np.errstate(invalid="ignore", divide="ignore"):
            moving = _segment_sum(ordered, np.nan_to_num(ranges), follows) / np.bincount(
                ordered.segment, weights=follows.astype(float), minlength=ordered.segments
            )
        sigma_of = np.where(np.isfinite(sigma_of), sigma_of, moving / _D2_INDIVIDUALS)
    return (
        ordered,
        values,
        sizes,
        in_baseline,
        centre_of[ordered.segment],
        sigma_of[ordered.segment],
    )


def ewma_chart(
    series: pd.DataFrame,
    *,
    value: str = "value",
    n: str | None = "n",
    sd: str | None = "sd",
    period: str = "period",
    by: str | Sequence[Hashable] | None = None,
    lam: float = 0.1,
    nsigmas: float = 2.7,
    target: float | None = None,
    sigma: float | None = None,
    baseline: int | None = None,
    min_n: int = 0,
) -> pd.DataFrame:
    """EWMA control chart of a mean (NPS points, CES, a sentiment score) with exact limits.

    The statistic is ``z_t = lam * x_t + (1 - lam) * z_{t-1}`` from ``z_0 = target``
    (Roberts 1959). Each period's value ``x_t`` is the mean of ``n_t`` answers, so its
    variance is ``sigma^2 / n_t``, and the EWMA's variance follows the exact recursion
    ``V_t = lam^2 * sigma^2 / n_t + (1 - lam)^2 * V_{t-1}``, ``V_0 = 0``. With a constant
    ``n`` this is Montgomery's time-varying limit
    ``target ± nsigmas * sigma/sqrt(n) * sqrt(lam / (2 - lam) * (1 - (1 - lam)^(2t)))``,
    which grows to the steady-state ``sqrt(lam / (2 - lam))``. The defaults ``lam = 0.1``,
    ``nsigmas = 2.7`` are Montgomery's example (in-control average run length about 500).

    ``target`` defaults to the ``n``-weighted mean of the baseline periods. ``sigma`` (the
    standard deviation of one answer) defaults to the pooled within-period ``sd`` of the
    baseline, ``sqrt(sum((n_t - 1) sd_t^2) / sum(n_t - 1))``; without an ``sd`` column (or
    with one answer per period) to the baseline's mean moving range / 1.128 (individuals).

    Args:
        series: One row per period (and segment), e.g. :func:`metric_series`.
        value: Column of period values (means).
        n: Column of answers per period; ``None`` or absent means one observation each.
        sd: Column of the per-answer standard deviation in each period; ``None`` or absent
            to use moving ranges.
        period: Column of periods; any sortable values.
        by: Segment columns; each segment gets its own chart.
        lam: The smoothing weight, 0 < lam <= 1 (1 is a Shewhart chart).
        nsigmas: Width of the limits in EWMA standard deviations (Montgomery's ``L``).
        target: The in-control mean (``mu_0``); estimated from the baseline when None.
        sigma: The in-control standard deviation of one answer; estimated when None.
        baseline: The first ``baseline`` periods of the series estimate ``target`` and
            ``sigma``; ``None`` uses all.
        min_n: Periods with fewer answers are flagged ``low_n``.

    Returns:
        One row per period and segment, sorted by segment then period, columns: the ``by``
        columns, ``period``; ``n`` (float64); ``value`` (float64); ``ewma`` (float64,
        ``z_t``); ``centre`` (float64, the target); ``sigma`` (float64, the EWMA's standard
        deviation ``sqrt(V_t)``); ``ucl``, ``lcl`` (float64); ``z`` (float64,
        ``(ewma - centre) / sigma``); ``in_baseline`` (bool); ``out_of_control`` (bool,
        outside the limits); ``low_n`` (bool).

    Raises:
        ValidationError: If a column is missing, a value is not finite, or an option is
            invalid.

    Examples:
        >>> import pandas as pd
        >>> x = pd.DataFrame({"period": [1, 2], "value": [9.45, 7.99]})
        >>> chart = ewma_chart(x, target=10, sigma=1)
        >>> chart["ewma"].round(4).tolist(), chart["ucl"].round(2).tolist()
        ([9.945, 9.7495], [10.27, 10.36])

    References:
        Roberts, S. W. (1959). Control chart tests based on geometric moving averages.
        Technometrics, 1(3), 239-250.
        Montgomery, D. C. (2009). Introduction to Statistical Quality Control, 6th ed.,
        Wiley, §9.2 (Example 9.3: lam = 0.1, L = 2.7).
    """
    lam = _positive("lam", lam, upper=1, closed=True)
    nsigmas = _positive("nsigmas", nsigmas)
    _whole("min_n", min_n, 0)
    ordered, values, sizes, in_baseline, centre, unit_sigma = _mean_chart_inputs(
        series,
        value=value,
        n=n,
        sd=sd,
        period=period,
        by=by,
        target=target,
        sigma=sigma,
        baseline=baseline,
    )
    smoothed = np.empty(len(values))
    variance = np.empty(len(values))
    bounds = np.flatnonzero(np.r_[True, np.diff(ordered.segment) != 0, True])
    for begin, end in itertools.pairwise(bounds):
        if begin == end:
            continue
        start = centre[begin] if np.isfinite(centre[begin]) else 0.0
        smoothed[begin:end], _ = signal.lfilter(
            [lam], [1, -(1 - lam)], values[begin:end], zi=[(1 - lam) * start]
        )
        variance[begin:end] = signal.lfilter(
            [lam**2], [1, -((1 - lam) ** 2)], unit_sigma[begin:end] ** 2 / sizes[begin:end]
        )
    spread = np.sqrt(variance)
    smoothed = np.where(np.isfinite(centre), smoothed, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (smoothed - centre) / spread
    out = _key_columns(ordered, period)
    out["n"] = sizes
    out["value"] = values
    out["ewma"] = smoothed
    out["centre"] = centre
    out["sigma"] = spread
    out["ucl"] = centre + nsigmas * spread
    out["lcl"] = centre - nsigmas * spread
    out["z"] = z
    out["in_baseline"] = in_baseline
    with np.errstate(invalid="ignore"):
        out["out_of_control"] = np.isfinite(z) & (np.abs(z) > nsigmas)
    out["low_n"] = sizes < min_n
    return out


def cusum(
    series: pd.DataFrame,
    *,
    value: str = "value",
    n: str | None = "n",
    sd: str | None = "sd",
    period: str = "period",
    by: str | Sequence[Hashable] | None = None,
    k: float = 0.5,
    h: float = 5.0,
    target: float | None = None,
    sigma: float | None = None,
    baseline: int | None = None,
    min_n: int = 0,
) -> pd.DataFrame:
    """Tabular (two-sided) CUSUM of a mean, with ``k`` and ``h`` in standard deviations.

    Each period's value is standardised, ``x'_t = (x_t - target) / (sigma / sqrt(n_t))``,
    and two sums accumulate deviations beyond the reference value ``k``:
    ``C+_t = max(0, x'_t - k + C+_{t-1})`` and ``C-_t = max(0, -x'_t - k + C-_{t-1})`` from
    zero (Page 1954; Montgomery §9.1). The chart signals when a sum exceeds ``h``. With
    ``k = 0.5`` and ``h = 5`` it is tuned to a one-sigma shift with an in-control average run
    length of about 465. The sums are not reset after a signal. ``run_upper``/``run_lower``
    count the periods since each sum was last zero: the shift began about that many periods
    ago, and Montgomery's estimate of the new mean is
    ``target + sigma_t * (k + C+ / run_upper)`` (or minus, for ``C-``).

    ``target`` and ``sigma`` are estimated from the baseline as in :func:`ewma_chart`.

    Args:
        series: One row per period (and segment), e.g. :func:`metric_series`.
        value: Column of period values (means).
        n: Column of answers per period; ``None`` or absent means one observation each.
        sd: Column of the per-answer standard deviation; ``None`` or absent for moving
            ranges.
        period: Column of periods; any sortable values.
        by: Segment columns; each segment gets its own sums.
        k: The reference value (allowance) in standard deviations, usually half the shift
            to detect.
        h: The decision interval in standard deviations.
        target: The in-control mean; estimated from the baseline when None.
        sigma: The in-control standard deviation of one answer; estimated when None.
        baseline: The first ``baseline`` periods estimate ``target`` and ``sigma``;
            ``None`` uses all.
        min_n: Periods with fewer answers are flagged ``low_n``.

    Returns:
        One row per period and segment, sorted by segment then period, columns: the ``by``
        columns, ``period``; ``n`` (float64); ``value`` (float64); ``centre`` (float64);
        ``sigma`` (float64, ``sigma / sqrt(n_t)``, the value's standard deviation);
        ``standardized`` (float64, ``x'_t``); ``upper``, ``lower`` (float64, ``C+`` and
        ``C-`` in standard deviations); ``run_upper``, ``run_lower`` (int64);
        ``in_baseline`` (bool); ``out_of_control`` (bool, a sum above ``h``); ``direction``
        (str, ``"up"``, ``"down"`` or empty); ``low_n`` (bool).

    Raises:
        ValidationError: If a column is missing, a value is not finite, or an option is
            invalid.

    Examples:
        >>> import pandas as pd
        >>> x = pd.DataFrame({"period": [1, 2, 3, 4], "value": [11.5, 11.8, 12.1, 11.9]})
        >>> chart = cusum(x, target=10, sigma=1)
        >>> chart["upper"].round(2).tolist(), chart["out_of_control"].tolist()
        ([1.0, 2.3, 3.9, 5.3], [False, False, False, True])

    References:
        Page, E. S. (1954). Continuous inspection schemes. Biometrika, 41(1/2), 100-115.
        Montgomery, D. C. (2009). Introduction to Statistical Quality Control, 6th ed.,
        Wiley, §9.1 (Example 9.1, Table 9.2: k = 0.5, h = 5).
    """
    k = _positive("k", k)
    h = _positive("h", h)
    _whole("min_n", min_n, 0)
    ordered, values, sizes, in_baseline, centre, unit_sigma = _mean_chart_inputs(
        series,
        value=value,
        n=n,
        sd=sd,
        period=period,
        by=by,
        target=target,
        sigma=sigma,
        baseline=baseline,
    )
    spread = unit_sigma / np.sqrt(sizes)
    with np.errstate(invalid="ignore", divide="ignore"):
        standardized = (values - centre) / spread
    upper = np.zeros(len(values))
    lower = np.zeros(len(values))
    run_upper = np.zeros(len(values), dtype=np.int64)
    run_lower = np.zeros(len(values), dtype=np.int64)
    fresh = np.r_[True, np.diff(ordered.segment) != 0] if len(values) else np.array([], bool)
    # The recursion runs over periods of the summary table (a few hundred rows), not answers.
    c_plus = c_minus = 0.0
    n_plus = n_minus = 0
    for i, x in enumerate(standardized):
        if fresh[i]:
            c_plus = c_minus = 0.0
            n_plus = n_minus = 0
        if not math.isfinite(x):
            upper[i] = lower[i] = np.nan
            continue
        c_plus = max(0.0, x - k + c_plus)
        c_minus = max(0.0, -x - k + c_minus)
        n_plus = n_plus + 1 if c_plus > 0 else 0
        n_minus = n_minus + 1 if c_minus > 0 else 0
        upper[i], lower[i], run_upper[i], run_lower[i] = c_plus, c_minus, n_plus, n_minus
    with np.errstate(invalid="ignore"):
        up, down = upper > h, lower > h
    out = _key_columns(ordered, period)
    out["n"] = sizes
    out["value"] = values
    out["centre"] = centre
    out["sigma"] = spread
    out["standardized"] = standardized
    out["upper"] = upper
    out["lower"] = lower
    out["run_upper"] = run_upper
    out["run_lower"] = run_lower
    out["in_baseline"] = in_baseline
    out["out_of_control"] = up | down
    direction = np.where(up & ~(down & (lower > upper)), "up", np.where(down, "down", ""))
    out["direction"] = direction.astype(str)
    out["low_n"] = sizes < min_n
    return out


# -- change detection ---------------------------------------------------------------------------


def benjamini_hochberg(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (the false discovery rate step-up procedure).

    With ``m`` p-values sorted ascending, the adjusted value of the ``i``-th smallest is
    ``min over j >= i of (m * p_(j) / j)``, capped at 1; a test is a discovery at FDR ``q``
    when its adjusted value is at most ``q``. Missing p-values stay missing and do not count
    towards ``m``.

    Args:
        p_values: A sequence or array of p-values in [0, 1] (NaN allowed).

    Returns:
        The adjusted p-values as a float array in the input's order.

    Raises:
        ValidationError: If a p-value lies outside [0, 1].

    Examples:
        >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.20]).round(4).tolist()
        [0.04, 0.0533, 0.0533, 0.2]

    References:
        Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: a
        practical and powerful approach to multiple testing. JRSS B, 57(1), 289-300.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    present = ~np.isnan(p)
    if np.any((p[present] < 0) | (p[present] > 1)):
        raise ValidationError(
            "p_values",
            p[present][(p[present] < 0) | (p[present] > 1)][0],
            "p-values must lie between 0 and 1",
        )
    adjusted = np.full(len(p), np.nan)
    values = p[present]
    m = len(values)
    if m == 0:
        return adjusted
    order = np.argsort(values, kind="stable")
    scaled = values[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(stepped, 1.0)
    adjusted[present] = result
    return adjusted


def detect_change(
    series: pd.DataFrame,
    *,
    by: str | Sequence[Hashable] | None = None,
    baseline: int = 8,
    period: Any = None,
    alpha: float = 0.05,
    adjust: Literal["bh", "none"] = "bh",
    min_n: int = 0,
) -> pd.DataFrame:
    """Test whether a period differs from the periods before it, per segment.

    The period (the latest by default) is compared with the ``baseline`` periods before it,
    pooled: for NPS by :func:`~cxm.metrics.compare_nps` (difference of two independent NPS,
    Wald variances); for shares by the two-proportion z-test with the pooled share; for
    means by Welch's t-test, the baseline's variance being that of all its answers together
    (within- plus between-period). With several segments the p-values are adjusted by
    Benjamini-Hochberg so that about ``alpha`` of the changes reported are false
    discoveries, however many segments are watched; ``adjust="none"`` keeps the raw values.

    Args:
        series: A :func:`metric_series` table (it needs its ``kind``, ``n``, ``value``,
            ``sd`` and count columns).
        by: The segment columns the series was built with.
        baseline: How many periods before the tested one form the baseline.
        period: The period to test; the latest of the series when None.
        alpha: The level (of the adjusted p-values) for ``significant``.
        adjust: ``"bh"`` (Benjamini-Hochberg across segments) or ``"none"``.
        min_n: Tested periods with fewer answers are flagged ``low_n``.

    Returns:
        One row per segment that has the tested period, columns: the ``by`` columns,
        ``period``; ``metric`` (str); ``test`` (str: ``"nps_z"``, ``"two_proportion_z"`` or
        ``"welch_t"``); ``n`` (int64), ``current`` (float64): the tested period's answers
        and value; ``baseline_n`` (int64), ``baseline`` (float64): the same over the
        baseline; ``difference`` (float64, current minus baseline, in the metric's units);
        ``se`` (float64, of the difference); ``statistic`` (float64, z or t);
        ``p_value`` (float64, two-sided); ``p_adjusted`` (float64); ``direction`` (str,
        ``"up"``/``"down"``/empty); ``significant`` (bool, ``p_adjusted < alpha``);
        ``low_n`` (bool).

    Raises:
        ValidationError: If the series lacks a column, mixes metrics, the period is unknown,
            there is no baseline period, or an option is invalid.

    References:
        Rocks, B. (2016). Interval estimation for the "net promoter score". The American
        Statistician, 70(4), 365-372.
        Welch, B. L. (1947). The generalization of "Student's" problem when several different
        population variances are involved. Biometrika, 34(1/2), 28-35.
        Benjamini, Y., & Hochberg, Y. (1995). JRSS B, 57(1), 289-300.
    """
    _whole("baseline", baseline, 1)
    alpha = _positive("alpha", alpha, upper=1)
    _whole("min_n", min_n, 0)
    if adjust not in ("bh", "none"):
        raise ValidationError("adjust", adjust, "must be 'bh' or 'none'")
    if "kind" not in getattr(series, "columns", ()):
        raise ValidationError("series", "kind", "must be a metric_series() table")
    kinds = pd.unique(series["kind"])
    if len(kinds) != 1 or kinds[0] not in ("nps", "share", "mean"):
        raise ValidationError("series", list(kinds), "must hold one metric of one kind")
    kind: MetricKind = kinds[0]
    extra = {"nps": ["promoters", "passives", "detractors"], "share": ["successes"]}
    needed = ["n", "value", "sd", "metric", *extra.get(kind, [])]
    ordered = _ordered(series, period="period", by=_as_list(by), needed=needed)
    if period is None:
        at = len(ordered.periods) - 1
    else:
        matches = np.flatnonzero(ordered.periods == period)
        if not len(matches):
            raise ValidationError("period", period, "is not a period of the series")
        at = int(matches[0])
    if at < 1:
        raise ValidationError("period", period, "has no earlier period to compare with")
    window = (ordered.rank >= at - baseline) & (ordered.rank < at)
    rows = np.flatnonzero(ordered.rank == at)
    sizes = ordered.frame["n"].to_numpy(float)
    n1 = sizes[rows]
    n0 = _segment_sum(ordered, sizes, window)[ordered.segment[rows]]
    tester = {"share": _share_test, "nps": _nps_test, "mean": _mean_test}[kind]
    with np.errstate(invalid="ignore", divide="ignore"):
        test, current_value, base_value, difference, se, statistic, p_value = tester(
            ordered, window, rows
        )
    frame = ordered.frame
    p_value = np.where(n0 > 0, p_value, np.nan)
    adjusted = benjamini_hochberg(p_value) if adjust == "bh" else p_value.astype(float)
    out = frame.loc[rows, [*ordered.keys, "period", "metric"]].reset_index(drop=True)
    out["test"] = test
    out["n"] = n1.astype(np.int64)
    out["current"] = current_value
    out["baseline_n"] = n0.astype(np.int64)
    out["baseline"] = base_value
    out["difference"] = difference
    out["se"] = se
    out["statistic"] = statistic
    out["p_value"] = p_value
    out["p_adjusted"] = adjusted
    out["direction"] = np.where(difference > 0, "up", np.where(difference < 0, "down", ""))
    with np.errstate(invalid="ignore"):
        out["significant"] = adjusted < alpha
    out["low_n"] = n1 < min_n
    return out


_TestResult = tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _share_test(ordered: _Ordered, window: np.ndarray, rows: np.ndarray) -> _TestResult:
    """Two-proportion z-test with the pooled share, in percent."""
    seg = ordered.segment[rows]
    sizes = ordered.frame["n"].to_numpy(float)
    count = ordered.frame["successes"].to_numpy(float)
    n1, n0 = sizes[rows], _segment_sum(ordered, sizes, window)[seg]
    k1, k0 = count[rows], _segment_sum(ordered, count, window)[seg]
    p1, p0 = k1 / n1, k0 / n0
    pooled = (k1 + k0) / (n1 + n0)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    statistic = np.where(se > 0, (p1 - p0) / se, 0.0)
    p_value = 2 * stats.norm.sf(np.abs(statistic))
    return ("two_proportion_z", p1 * 100, p0 * 100, (p1 - p0) * 100, se * 100, statistic, p_value)


def _nps_test(ordered: _Ordered, window: np.ndarray, rows: np.ndarray) -> _TestResult:
    """:func:`~cxm.metrics.compare_nps` of each segment's period against its baseline."""
    counts = ordered.frame[["promoters", "passives", "detractors"]].to_numpy(np.int64)
    base_counts = np.column_stack(
        [_segment_sum(ordered, counts[:, j].astype(float), window) for j in range(3)]
    )[ordered.segment[rows]]
    results = [
        compare_nps(tuple(counts[row]), tuple(np.rint(base))) if base.sum() > 0 else None
        for row, base in zip(rows, base_counts, strict=True)
    ]

    def field(name: str) -> np.ndarray:
        return np.array([getattr(r, name) if r else np.nan for r in results], dtype=float)

    current = ordered.frame["value"].to_numpy(float)[rows]
    return (
        "nps_z",
        current,
        field("nps_b"),
        field("difference"),
        field("se"),
        field("z"),
        field("p_value"),
    )


def _mean_test(ordered: _Ordered, window: np.ndarray, rows: np.ndarray) -> _TestResult:
    """Welch's t of the period's mean against all the baseline's answers pooled."""
    frame = ordered.frame
    seg = ordered.segment[rows]
    sizes = frame["n"].to_numpy(float)
    values = frame["value"].to_numpy(float)
    spread = frame["sd"].to_numpy(float)
    base_n = _segment_sum(ordered, sizes, window)
    mean0 = _segment_sum(ordered, sizes * values, window) / base_n
    # Total sum of squares of the baseline's answers: within periods plus between them.
    within = np.where(sizes > 1, (sizes - 1) * np.nan_to_num(spread) ** 2, 0.0)
    between = np.nan_to_num(sizes * (values - mean0[ordered.segment]) ** 2)
    var0 = (_segment_sum(ordered, within + between, window) / (base_n - 1))[seg]
    n1, n0 = sizes[rows], base_n[seg]
    a, b = spread[rows] ** 2 / n1, var0 / n0
    se = np.sqrt(a + b)
    difference = values[rows] - mean0[seg]
    statistic = difference / se
    dof = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1))
    p_value = 2 * stats.t.sf(np.abs(statistic), dof)
    return ("welch_t", values[rows], mean0[seg], difference, se, statistic, p_value)


# -- alerts -------------------------------------------------------------------------------------


def alert_severity(
    p_value: float | None,
    *,
    out_of_limits: bool,
    warning: float = 0.01,
    critical: float = 0.001,
    low_n: bool = False,
) -> Severity:
    """Grade an alert ``"critical"``, ``"warning"`` or ``"info"``.

    - ``"critical"``: the point is outside its control limits (for a test: ``|z|`` or
      ``|t|`` of 3 or more, the 3-sigma equivalent) **and** ``p < critical`` (0.001);
    - ``"warning"``: ``p < warning`` (0.01), or outside the limits with a larger (or no)
      p-value;
    - ``"info"``: anything else that fired (a run rule, or significance at the monitor's
      ``alpha`` only).

    A period with fewer answers than the monitor's ``min_n`` is never more than ``"info"``:
    it is reported, but it does not page anyone.

    Args:
        p_value: The alert's p-value (adjusted where several segments were tested), or
            None when the method has none (CUSUM).
        out_of_limits: Whether the point is outside its control limits.
        warning: The p-value below which an alert is at least a warning.
        critical: The p-value below which an out-of-limits alert is critical.
        low_n: Whether the period had too few answers.

    Returns:
        The severity.

    Examples:
        >>> alert_severity(0.0002, out_of_limits=True)
        'critical'
        >>> alert_severity(0.0002, out_of_limits=False), alert_severity(0.03, out_of_limits=False)
        ('warning', 'info')
    """
    if low_n:
        return "info"
    p = p_value if p_value is not None and not math.isnan(p_value) else None
    if out_of_limits and p is not None and p < critical:
        return "critical"
    if out_of_limits or (p is not None and p < warning):
        return "warning"
    return "info"


def _segment_converter(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {str(key): _plain(item) for key, item in dict(value).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


@attrs.frozen(kw_only=True)
class Alert:
    """A metric moved: what, where, when, which way, how much, and how sure.

    Attributes:
        metric: The metric's name (``"nps"``, ``"csat"``, a callable's name).
        segment: The ``by`` values of the segment (``{"touchpoint": "checkout"}``), or None.
        period: The period's label (the end of the week for ``"W"``), or None.
        direction: ``"up"`` or ``"down"``.
        size: Current minus baseline, in the metric's units (NPS points, percentage points
            for shares, answer units for means).
        baseline: The baseline value (the chart's centre line or the baseline window's).
        current: The period's value (for CUSUM: the mean since the shift began).
        p_value: The p-value (Benjamini-Hochberg adjusted for change detection across
            segments; from the standardised point for charts); None for CUSUM.
        severity: ``"info"``, ``"warning"`` or ``"critical"`` (:func:`alert_severity`).
        rule: What fired: ``"p_chart:1"``, ``"ewma"``, ``"cusum"``, ``"change:nps_z"`` ...
        n: Answers in the period.
        low_n: The period had fewer answers than the monitor's ``min_n``.
    """

    metric: str
    segment: dict[str, Any] | None = attrs.field(default=None, converter=_segment_converter)
    period: pd.Timestamp | None = None
    direction: Literal["up", "down"]
    size: float
    baseline: float
    current: float
    p_value: float | None
    severity: Severity
    rule: str
    n: int
    low_n: bool = False

    def __attrs_post_init__(self) -> None:
        if self.direction not in ("up", "down"):
            raise ValidationError("Alert.direction", self.direction, "must be 'up' or 'down'")
        if self.severity not in _SEVERITY_RANK:
            raise ValidationError(
                "Alert.severity", self.severity, "must be 'info', 'warning' or 'critical'"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values (the period as an ISO string)."""
        data = attrs.asdict(self)
        data["period"] = None if self.period is None else pd.Timestamp(self.period).isoformat()
        return data

    def __str__(self) -> str:
        where = (
            " " + ", ".join(f"{key}={value}" for key, value in self.segment.items())
            if self.segment
            else ""
        )
        when = "" if self.period is None else f" {pd.Timestamp(self.period).date()}"
        p = "" if self.p_value is None else f", p={self.p_value:.2g}"
        small = ", low n" if self.low_n else ""
        return (
            f"{self.severity.upper()} {self.metric}{where}{when}: {self.direction} "
            f"{abs(self.size):.3g} ({self.baseline:.3g} -> {self.current:.3g}, n={self.n}{p}"
            f"{small}) [{self.rule}]"
        )


@attrs.frozen(kw_only=True)
class DeliveryFailure:
    """A receiver that raised while an alert was delivered to it.

    Attributes:
        receiver: The receiver's name (the plugin's name).
        alert: The alert it failed on.
        error: ``"ExceptionType: message"``.
    """

    receiver: str
    alert: Alert
    error: str


def deliver_alerts(
    alerts: Iterable[Alert], receivers: Iterable[tuple[str, Callable[[Alert], object]]]
) -> list[DeliveryFailure]:
    """Hand every alert to every receiver; one that raises never stops the others.

    Each call is guarded on its own: an exception is logged (``cxm.metrics.monitoring``,
    level WARNING) and recorded, and delivery goes on with the next receiver and alert.
    Return values are ignored. This is how ``Workspace.check_alerts`` calls the
    ``cxm_alert`` plugin hook, one implementation at a time.

    Args:
        alerts: The alerts, in the order to deliver them.
        receivers: ``(name, callable)`` pairs; each callable takes one :class:`Alert`.

    Returns:
        The failures, in the order they happened (empty when all went well).

    Examples:
        >>> alert = Alert(metric="nps", direction="down", size=-9.0, baseline=41.0,
        ...               current=32.0, p_value=0.004, severity="warning", rule="change:nps_z",
        ...               n=180)
        >>> seen = []
        >>> def broken(alert): raise RuntimeError("smtp down")
        >>> failures = deliver_alerts([alert], [("mail", broken), ("log", seen.append)])
        >>> len(seen), failures[0].receiver, failures[0].error
        (1, 'mail', 'RuntimeError: smtp down')
    """
    receivers = list(receivers)
    failures: list[DeliveryFailure] = []
    for alert in alerts:
        for name, receive in receivers:
            try:
                receive(alert)
            except Exception as exc:  # a broken receiver must not silence the others
                failures.append(
                    DeliveryFailure(
                        receiver=name, alert=alert, error=f"{type(exc).__name__}: {exc}"
                    )
                )
                logger.warning("cxm alert receiver %s failed on %s: %s", name, alert, exc)
    return failures


# -- monitors -----------------------------------------------------------------------------------


_THRESHOLDS = {"alpha": 0.05, "warning": 0.01, "critical": 0.001}
_OPTIONS: dict[str, frozenset[str]] = {
    "p_chart": frozenset({"nsigmas", "rules", "p_bar"}),
    "ewma": frozenset({"lam", "nsigmas", "target", "sigma"}),
    "cusum": frozenset({"k", "h", "target", "sigma"}),
    "change": frozenset({"adjust"}),
}


def _by_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _check_metric(instance: Monitor, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not callable(value) and value not in _METRICS:
        raise ValidationError(
            "Monitor.metric", value, f"must be one of {', '.join(_METRICS)} or a callable"
        )


def _check_method(instance: Monitor, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in _METHODS:
        raise ValidationError("Monitor.method", value, f"must be one of {', '.join(_METHODS)}")


def _check_thresholds(instance: Monitor, attribute: attrs.Attribute[Any], value: Any) -> None:
    for key, number in dict(value).items():
        if key not in _THRESHOLDS:
            raise ValidationError(
                "Monitor.thresholds", key, f"unknown; the thresholds are {', '.join(_THRESHOLDS)}"
            )
        _positive(f"Monitor.thresholds[{key!r}]", number, upper=1)


def _check_options(instance: Monitor, attribute: attrs.Attribute[Any], value: Any) -> None:
    allowed = _OPTIONS.get(instance.method, frozenset())
    for key in dict(value):
        if key not in allowed:
            raise ValidationError(
                "Monitor.options",
                key,
                f"not an option of method {instance.method!r}; it takes "
                f"{', '.join(sorted(allowed)) or 'none'}",
            )


def _check_positive_whole(instance: Monitor, attribute: attrs.Attribute[Any], value: Any) -> None:
    _whole(f"Monitor.{attribute.name}", value, 1 if attribute.name == "baseline" else 0)


@attrs.frozen
class Monitor:
    """One configured check of one metric: what to watch, how, and against what.

    ``run`` builds the metric's series (:func:`metric_series`), keeps the latest period and
    the ``baseline`` periods before it, runs the method, and returns an :class:`Alert` for
    every segment whose latest period fired:

    - ``"p_chart"``: a share outside its p-chart limits (or a run rule in
      ``options["rules"]``); centre line from the baseline periods. Needs a share metric
      (``csat``, ``promoters``, ``detractors``, ``easy``, or a callable returning flags).
    - ``"ewma"``: the EWMA of the metric outside its limits (``lam``, ``nsigmas`` default
      0.1 and 2.7); target and sigma from the baseline periods.
    - ``"cusum"``: a tabular CUSUM sum above ``h`` (``k``, ``h`` default 0.5 and 5).
    - ``"change"``: the latest period differs significantly from the baseline window
      (:func:`detect_change`, Benjamini-Hochberg across segments).

    The latest period is the last one with any answers: pass ``end=`` when reading the
    feedback to leave out a period that is still running.

    Attributes:
        metric: A :func:`metric_series` metric name or callable.
        method: ``"p_chart"``, ``"ewma"``, ``"cusum"`` or ``"change"``.
        by: Segment column(s).
        freq: The period length, a pandas frequency.
        baseline: How many periods before the latest form the baseline.
        min_n: Periods with fewer answers still alert, but never above ``"info"``.
        thresholds: ``alpha`` (change detection's level, 0.05), ``warning`` (0.01) and
            ``critical`` (0.001) p-value thresholds of :func:`alert_severity`.
        options: The method's own options (``nsigmas``, ``rules``, ``p_bar``; ``lam``;
            ``k``, ``h``; ``target``, ``sigma``; ``adjust``).
        name: The metric's name in alerts; defaults to the metric.
        scale: The answer scale for ``csat``, ``ces``, ``rating``.
    """

    # The metric may be given by position, Monitor("nps", method="change"); the rest by name.
    metric: str | Callable[[pd.DataFrame], Any] = attrs.field(
        default="nps", validator=_check_metric
    )
    method: MonitorMethod = attrs.field(default="change", validator=_check_method, kw_only=True)
    by: tuple[str, ...] = attrs.field(default=(), converter=_by_tuple, kw_only=True)
    freq: str = attrs.field(default="W", kw_only=True)
    baseline: int = attrs.field(default=8, validator=_check_positive_whole, kw_only=True)
    min_n: int = attrs.field(default=DEFAULT_MIN_N, validator=_check_positive_whole, kw_only=True)
    thresholds: Mapping[str, float] = attrs.field(
        factory=dict, validator=_check_thresholds, kw_only=True
    )
    options: Mapping[str, Any] = attrs.field(factory=dict, validator=_check_options, kw_only=True)
    name: str | None = attrs.field(default=None, kw_only=True)
    scale: tuple[float, float] | None = attrs.field(default=None, kw_only=True)

    def _threshold(self, key: str) -> float:
        return float(self.thresholds.get(key, _THRESHOLDS[key]))

    def run(
        self, feedback: pd.DataFrame, *, score: str = "score", time: str = "occurred_at"
    ) -> list[Alert]:
        """Run the check over a feedback frame and return its alerts, most severe first.

        Args:
            feedback: One row per answer, e.g. ``ws.feedback()``.
            score: The answers' column.
            time: The answer times' column.

        Returns:
            The alerts for the latest period (empty when nothing fired or there is no data).

        Raises:
            ValidationError: If the frame does not fit the metric, or the method does not
                fit the metric (a p-chart of NPS).
        """
        keys = list(self.by)
        if not self._has_answers(feedback):
            return []
        series = metric_series(
            feedback,
            self.metric,
            freq=self.freq,
            by=keys,
            score=score,
            time=time,
            name=self.name,
            min_n=self.min_n,
            scale=self.scale,
        )
        if series.empty:
            return []
        periods = np.sort(series["period"].unique())
        if len(periods) < 2:
            return []
        kept = periods[-(self.baseline + 1) :]
        series = series.loc[series["period"].isin(kept)].reset_index(drop=True)
        latest = kept[-1]
        baseline = len(kept) - 1
        if self.method == "change":
            alerts = self._change_alerts(series, keys, baseline)
        elif self.method == "p_chart":
            alerts = self._p_chart_alerts(series, keys, baseline, latest)
        else:
            alerts = self._mean_chart_alerts(series, keys, baseline, latest)
        return sorted(alerts, key=_alert_order)

    def _has_answers(self, feedback: pd.DataFrame) -> bool:
        """Whether the frame holds any answer of the metric (an empty series has no periods)."""
        if len(feedback) == 0:
            return False
        if callable(self.metric):
            return True
        stored = {"promoters": "nps", "detractors": "nps", "easy": "ces"}.get(
            self.metric, self.metric
        )
        if "metric" in feedback.columns:
            return bool((feedback["metric"].to_numpy() == stored).any())
        return True

    def _alert(self, row: Mapping[Hashable, Any], keys: list[str], **fields: Any) -> Alert:
        low_n = bool(row["low_n"])
        severity = alert_severity(
            fields.get("p_value"),
            out_of_limits=fields.pop("out_of_limits"),
            warning=self._threshold("warning"),
            critical=self._threshold("critical"),
            low_n=low_n,
        )
        return Alert(
            metric=str(row["metric"]),
            segment={key: row[key] for key in keys} if keys else None,
            period=pd.Timestamp(row["period"]),
            severity=severity,
            n=int(row["n"]),
            low_n=low_n,
            **fields,
        )

    def _change_alerts(self, series: pd.DataFrame, keys: list[str], baseline: int) -> list[Alert]:
        table = detect_change(
            series,
            by=keys,
            baseline=baseline,
            alpha=self._threshold("alpha"),
            adjust=self.options.get("adjust", "bh"),
            min_n=self.min_n,
        )
        alerts = []
        for row in table.loc[table["significant"] & (table["direction"] != "")].to_dict("records"):
            alerts.append(
                self._alert(
                    row,
                    keys,
                    direction=row["direction"],
                    size=float(row["difference"]),
                    baseline=float(row["baseline"]),
                    current=float(row["current"]),
                    p_value=float(row["p_adjusted"]),
                    rule=f"change:{row['test']}",
                    out_of_limits=bool(abs(row["statistic"]) >= 3),
                )
            )
        return alerts

    def _p_chart_alerts(
        self, series: pd.DataFrame, keys: list[str], baseline: int, latest: Any
    ) -> list[Alert]:
        if series["kind"].iloc[0] != "share":
            raise ValidationError(
                "Monitor.method",
                "p_chart",
                f"charts shares; {series['metric'].iloc[0]!r} is a {series['kind'].iloc[0]}: "
                "use 'ewma', 'cusum' or 'change'",
            )
        chart = p_chart(series, by=keys, baseline=baseline, min_n=self.min_n, **self.options)
        chart["metric"] = series["metric"].iloc[0]
        fired = chart.loc[(chart["period"] == latest) & chart["out_of_control"]]
        alerts = []
        for row in fired.to_dict("records"):
            size = (row["p"] - row["centre"]) * 100
            if size == 0:
                continue
            alerts.append(
                self._alert(
                    row,
                    keys,
                    direction="up" if size > 0 else "down",
                    size=float(size),
                    baseline=float(row["centre"] * 100),
                    current=float(row["p"] * 100),
                    p_value=float(2 * stats.norm.sf(abs(row["z"]))),
                    rule=f"p_chart:{row['signal']}",
                    out_of_limits="1" in str(row["signal"]).split(","),
                )
            )
        return alerts

    def _mean_chart_alerts(
        self, series: pd.DataFrame, keys: list[str], baseline: int, latest: Any
    ) -> list[Alert]:
        options = dict(self.options)
        metric = series["metric"].iloc[0]
        alerts = []
        if self.method == "ewma":
            chart = ewma_chart(series, by=keys, baseline=baseline, min_n=self.min_n, **options)
            chart["metric"] = metric
            for row in chart.loc[(chart["period"] == latest) & chart["out_of_control"]].to_dict(
                "records"
            ):
                size = float(row["ewma"] - row["centre"])
                alerts.append(
                    self._alert(
                        row,
                        keys,
                        direction="up" if size > 0 else "down",
                        size=size,
                        baseline=float(row["centre"]),
                        current=float(row["ewma"]),
                        p_value=float(2 * stats.norm.sf(abs(row["z"]))),
                        rule="ewma",
                        out_of_limits=True,
                    )
                )
            return alerts
        chart = cusum(series, by=keys, baseline=baseline, min_n=self.min_n, **options)
        chart["metric"] = metric
        for index in np.flatnonzero(
            (chart["period"] == latest).to_numpy() & chart["out_of_control"].to_numpy()
        ):
            row = chart.iloc[index].to_dict()
            direction = row["direction"]
            run = int(row["run_upper"] if direction == "up" else row["run_lower"])
            since = chart.iloc[index - run + 1 : index + 1]
            current = float(np.average(since["value"], weights=since["n"]))
            alerts.append(
                self._alert(
                    row,
                    keys,
                    direction=direction,
                    size=current - float(row["centre"]),
                    baseline=float(row["centre"]),
                    current=current,
                    p_value=None,
                    rule="cusum",
                    out_of_limits=True,
                )
            )
        return alerts


def _alert_order(alert: Alert) -> tuple[int, float]:
    p = alert.p_value if alert.p_value is not None else 1.0
    return (_SEVERITY_RANK[alert.severity], p)


def check_monitors(
    feedback: pd.DataFrame,
    monitors: Monitor | Iterable[Monitor],
    *,
    score: str = "score",
    time: str = "occurred_at",
) -> list[Alert]:
    """Run every monitor over a feedback frame; return all alerts, most severe first.

    Args:
        feedback: One row per answer, e.g. ``ws.feedback()``.
        monitors: One :class:`Monitor` or several.
        score: The answers' column.
        time: The answer times' column.

    Returns:
        The alerts, critical before warning before info, smaller p-values first within each.

    Raises:
        ValidationError: If something is not a Monitor, or a monitor does not fit the frame.
    """
    if isinstance(monitors, Monitor):
        monitors = [monitors]
    alerts: list[Alert] = []
    for monitor in monitors:
        if not isinstance(monitor, Monitor):
            raise ValidationError("monitors", monitor, "must be Monitor objects")
        alerts.extend(monitor.run(feedback, score=score, time=time))
    return sorted(alerts, key=_alert_order)
