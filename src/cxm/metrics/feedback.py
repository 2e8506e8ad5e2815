"""Feedback metrics: NPS, CSAT, CES and ratings, each with its n and an honest interval.

Every function takes a DataFrame of scores (``ws.feedback()``, or any frame with a score
column), groups it ``by=`` any columns and ``freq=`` any pandas frequency over a time column,
and returns one row per group with the counts, the metric, a confidence interval and a
``low_n`` flag for groups too small to trust. Scores are validated against the metric's scale
before anything is counted: a 12 in an NPS column is an error that names the value, never a
silent promoter. The work is a single vectorised group-by over integer flags, so ten million
responses take about as long as a hand-written pandas group-by of the same counts.

Intervals:

- NPS: the adjusted Wald interval of Rocks (2016) by default (add 3 to n and 3/4 to the
  promoters and detractors, then the Wald formula), which keeps its nominal coverage at small n
  and near the ends of the scale; plain Wald (the normal approximation of the difference of two
  multinomial proportions) and a multinomial bootstrap on request.
- CSAT and the CES share of "easy" answers: the Wilson score interval (Wilson 1927).
- Means (CES, ratings): Student's t interval.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd
from scipy import stats

from cxm.exceptions import ValidationError
from cxm.metrics._grouping import grouped_sums

__all__ = [
    "NPSComparison",
    "ces",
    "compare_nps",
    "csat",
    "nps",
    "nps_interval",
    "rating",
    "wilson_interval",
]

NPSMethod = Literal["adjusted_wald", "wald", "bootstrap"]
_NPS_METHODS = ("adjusted_wald", "wald", "bootstrap")
DEFAULT_MIN_N = 30
"""Groups with fewer responses than this are flagged ``low_n``."""


# -- intervals ------------------------------------------------------------------------------


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def nps_interval(
    promoters: Any,
    passives: Any,
    detractors: Any,
    *,
    method: Literal["adjusted_wald", "wald"] = "adjusted_wald",
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the NPS standard error and interval bounds, in points, for counts.

    Args:
        promoters: Count(s) of 9-10 answers (a number or an array).
        passives: Count(s) of 7-8 answers.
        detractors: Count(s) of 0-6 answers.
        method: ``"adjusted_wald"`` (Rocks 2016: n + 3 responses with 3/4 added to promoters and
            to detractors) or ``"wald"`` (the plain normal approximation).
        confidence: The interval's coverage.

    Returns:
        ``(se, ci_low, ci_high)`` as float arrays in NPS points (-100..100). ``se`` is the
        standard error of the method's estimate; NaN where there are no responses.

    Examples:
        >>> se, low, high = nps_interval(100, 60, 40, method="wald")
        >>> round(float(se), 2), round(float(high - low) / 2, 1)
        (5.52, 10.8)
        >>> se, low, high = nps_interval(100, 60, 40)
        >>> round(float(low), 1), round(float(high), 1)
        (18.8, 40.3)

    References:
        Rocks, B. (2016). Interval estimation for the "net promoter score". The American
        Statistician, 70(4), 365-372.
    """
    z = _z(confidence)
    p = np.asarray(promoters, dtype=float)
    a = np.asarray(passives, dtype=float)
    d = np.asarray(detractors, dtype=float)
    n = p + a + d
    if method == "adjusted_wald":
        n, p, d = n + 3, p + 0.75, d + 0.75
    elif method != "wald":
        raise ValidationError("method", method, "must be 'adjusted_wald' or 'wald'")
    with np.errstate(invalid="ignore", divide="ignore"):
        share_p, share_d = p / n, d / n
        estimate = share_p - share_d
        se = np.sqrt(np.clip(share_p + share_d - estimate**2, 0, None) / n)
        low = np.clip(estimate - z * se, -1, 1)
        high = np.clip(estimate + z * se, -1, 1)
    empty = (np.asarray(promoters) + np.asarray(passives) + np.asarray(detractors)) == 0
    se, low, high = (np.where(empty, np.nan, x * 100) for x in (se, low, high))
    return se, low, high


def wilson_interval(
    successes: Any, n: Any, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score interval of a proportion, as shares between 0 and 1.

    Args:
        successes: Count(s) of successes.
        n: Count(s) of trials; NaN bounds where it is 0.
        confidence: The interval's coverage.

    Returns:
        ``(low, high)`` float arrays.

    Examples:
        >>> low, high = wilson_interval(81, 100)
        >>> round(float(low), 4), round(float(high), 4)
        (0.7222, 0.8749)

    References:
        Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
        inference. JASA, 22(158), 209-212.
    """
    z = _z(confidence)
    k = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = k / total
        denominator = 1 + z**2 / total
        centre = (share + z**2 / (2 * total)) / denominator
        half = z * np.sqrt(share * (1 - share) / total + z**2 / (4 * total**2)) / denominator
    low = np.where(total > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(total > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def _t_interval(
    mean: np.ndarray, sd: np.ndarray, n: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    _z(confidence)  # validates
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(0.5 + confidence / 2, n - 1)
        half = t * sd / np.sqrt(n)
    low = np.where(n > 1, mean - half, np.nan)
    high = np.where(n > 1, mean + half, np.nan)
    return low, high


# -- shared plumbing ------------------------------------------------------------------------


def _as_list(by: str | Sequence[Hashable] | None) -> list[Hashable]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _select(
    frame: pd.DataFrame,
    *,
    score: str,
    metric: str | None,
    by: list[Hashable],
    time: str,
    freq: str | None,
) -> pd.DataFrame:
    """Check the columns, keep the metric's rows and return them."""
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError("df", type(frame).__name__, "must be a pandas DataFrame")
    needed = [score, *by] + ([time] if freq is not None else [])
    missing = [str(column) for column in needed if column not in frame.columns]
    if missing:
        raise ValidationError(
            "df", ", ".join(missing), f"column(s) missing; the frame has {list(frame.columns)}"
        )
    if metric is not None and "metric" in frame.columns:
        frame = frame.loc[frame["metric"].to_numpy() == metric]
    if freq is not None and not pd.api.types.is_datetime64_any_dtype(frame[time]):
        raise ValidationError(time, str(frame[time].dtype), "must hold datetimes to use freq=")
    return frame


def _validated_scores(
    frame: pd.DataFrame,
    score: str,
    scale: tuple[float, float],
    *,
    integers: bool,
    what: str,
) -> np.ndarray:
    """Return the scores as floats, or raise naming the first one off the scale."""
    try:
        values = frame[score].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        bad = next((v for v in frame[score] if not isinstance(v, (int, float, np.number))), None)
        raise ValidationError(score, bad, f"{what} scores must be numbers") from None
    low, high = scale
    wrong = np.isnan(values) | (values < low) | (values > high)
    if integers:
        wrong |= values != np.floor(values)
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        value = frame[score].iloc[first]
        kind = "whole numbers " if integers else ""
        raise ValidationError(
            score,
            value,
            f"{int(wrong.sum())} {what} score(s) are not {kind}from {low:g} to {high:g} "
            f"(row {frame.index[first]!r}); drop or fix them first",
        )
    if "scale_min" in frame.columns and "scale_max" in frame.columns and len(frame):
        other = (frame["scale_min"].to_numpy(float) != low) | (
            frame["scale_max"].to_numpy(float) != high
        )
        if other.any():
            first = int(np.flatnonzero(other)[0])
            found = (frame["scale_min"].iloc[first], frame["scale_max"].iloc[first])
            raise ValidationError(
                "scale",
                found,
                f"{int(other.sum())} {what} row(s) were given on another scale than "
                f"{low:g}..{high:g}; pass scale= or filter them first",
            )
    return values


def _finish(result: pd.DataFrame, order: list[str], min_n: int, by: list[Hashable]) -> pd.DataFrame:
    result["low_n"] = result["n"].to_numpy() < min_n
    keys = [c for c in [*by, "period"] if c in result.columns]
    return result[[*keys, *order, "low_n"]].reset_index(drop=True)


def _whole(name: str, value: object, minimum: int, maximum: float = np.inf) -> int:
    """Return ``value`` if it is a whole number in range, else raise naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(name, value, "must be a whole number")
    if not minimum <= value <= maximum:
        bound = f"from {minimum} to {maximum:g}" if maximum < np.inf else f"at least {minimum}"
        raise ValidationError(name, value, f"must be {bound}")
    return int(value)


def _check_min_n(min_n: object) -> None:
    _whole("min_n", min_n, 0)


# -- NPS ------------------------------------------------------------------------------------


def nps(
    df: pd.DataFrame,
    *,
    by: str | Sequence[Hashable] | None = None,
    freq: str | None = None,
    score: str = "score",
    time: str = "occurred_at",
    metric: str | None = "nps",
    method: NPSMethod = "adjusted_wald",
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
    n_boot: int = 2000,
    seed: int | None = None,
) -> pd.DataFrame:
    """Net Promoter Score with its confidence interval, overall or per group and period.

    A score of 9-10 is a promoter, 7-8 a passive, 0-6 a detractor; NPS is the share of
    promoters minus the share of detractors, in points from -100 to 100 (Reichheld 2003).

    Args:
        df: One row per answer, e.g. ``ws.feedback()``. When it has a ``metric`` column only
            the rows whose metric is ``metric`` are used.
        by: Column(s) to group by (``"touchpoint"``, ``["touchpoint", "channel"]``).
        freq: A pandas frequency (``"MS"``, ``"W"``, ``"QS"``) to group the ``time`` column
            into periods.
        score: The column of 0-10 answers. Every one must be a whole number from 0 to 10.
        time: The column of answer times, used with ``freq``.
        metric: The ``metric`` value to keep; ``None`` uses every row.
        method: The interval: ``"adjusted_wald"`` (Rocks 2016, the default), ``"wald"``, or
            ``"bootstrap"`` (percentile interval of ``n_boot`` multinomial resamples).
        confidence: The interval's coverage.
        min_n: Groups with fewer answers are flagged ``low_n`` (still reported).
        n_boot: Resamples for the bootstrap.
        seed: Seed of the bootstrap's random generator.

    Returns:
        One row per group (sorted by the group keys, empty groups left out), columns:

        - the ``by`` columns, then ``period`` (the start of the period) when ``freq`` is given;
        - ``n`` (int64): answers; ``promoters``, ``passives``, ``detractors`` (int64);
        - ``nps`` (float64): the score in points, -100..100;
        - ``se`` (float64): standard error in points (of the adjusted estimate for
            ``adjusted_wald``; of the bootstrap distribution for ``bootstrap``);
        - ``ci_low``, ``ci_high`` (float64): the interval in points;
        - ``low_n`` (bool): ``n < min_n``.

    Raises:
        ValidationError: If a column is missing, a score is not a whole number from 0 to 10,
            rows carry another scale, or an option is invalid.

    Examples:
        >>> import pandas as pd
        >>> answers = pd.DataFrame({"score": [10] * 100 + [7] * 60 + [3] * 40})
        >>> row = nps(answers).iloc[0]
        >>> float(row["nps"]), round(float(row["ci_low"]), 1), round(float(row["ci_high"]), 1)
        (30.0, 18.8, 40.3)

    References:
        Reichheld, F. F. (2003). The one number you need to grow. Harvard Business Review.
        Rocks, B. (2016). Interval estimation for the "net promoter score". The American
        Statistician, 70(4), 365-372.
    """
    if method not in _NPS_METHODS:
        raise ValidationError("method", method, f"must be one of {', '.join(_NPS_METHODS)}")
    _check_min_n(min_n)
    _z(confidence)
    keys = _as_list(by)
    frame = _select(df, score=score, metric=metric, by=keys, time=time, freq=freq)
    values = _validated_scores(frame, score, (0, 10), integers=True, what="NPS")
    counts = grouped_sums(
        frame,
        {"promoters": values >= 9, "detractors": values <= 6},
        by=keys,
        time=time,
        freq=freq,
    )
    n = counts["n"].to_numpy()
    promoters = counts["promoters"].to_numpy()
    detractors = counts["detractors"].to_numpy()
    counts["passives"] = n - promoters - detractors
    with np.errstate(invalid="ignore", divide="ignore"):
        counts["nps"] = (promoters - detractors) / n * 100
    if method == "bootstrap":
        _whole("n_boot", n_boot, 100)
        se, low, high = _nps_bootstrap(
            promoters,
            counts["passives"].to_numpy(),
            detractors,
            confidence=confidence,
            n_boot=n_boot,
            seed=seed,
        )
    else:
        se, low, high = nps_interval(
            promoters, counts["passives"], detractors, method=method, confidence=confidence
        )
    counts["se"], counts["ci_low"], counts["ci_high"] = se, low, high
    order = ["n", "promoters", "passives", "detractors", "nps", "se", "ci_low", "ci_high"]
    return _finish(counts, order, min_n, keys)


def _nps_bootstrap(
    promoters: np.ndarray,
    passives: np.ndarray,
    detractors: np.ndarray,
    *,
    confidence: float,
    n_boot: int,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tail = (1 - confidence) / 2 * 100
    se, low, high = (np.full(len(promoters), np.nan) for _ in range(3))
    for i, (p, a, d) in enumerate(zip(promoters, passives, detractors, strict=True)):
        n = int(p + a + d)
        if n == 0:
            continue
        draws = rng.multinomial(n, [p / n, a / n, d / n], size=n_boot)
        scores = (draws[:, 0] - draws[:, 2]) / n * 100
        se[i] = scores.std(ddof=1)
        low[i], high[i] = np.percentile(scores, [tail, 100 - tail])
    return se, low, high


@attrs.frozen
class NPSComparison:
    """The difference between two Net Promoter Scores and its two-sided z-test.

    Attributes:
        nps_a: NPS of the first group, in points.
        nps_b: NPS of the second group, in points.
        n_a: Answers in the first group.
        n_b: Answers in the second group.
        difference: ``nps_a - nps_b`` in points.
        se: Standard error of the difference in points (Wald variances of the two scores).
        z: ``difference / se``.
        p_value: Two-sided p-value of ``z`` under the standard normal.
        ci_low: Lower bound of the difference's interval, in points.
        ci_high: Upper bound of the difference's interval, in points.
        confidence: The interval's coverage.
    """

    nps_a: float
    nps_b: float
    n_a: int
    n_b: int
    difference: float
    se: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        """Return the fields as a plain dict."""
        return attrs.asdict(self)

    def __str__(self) -> str:
        return (
            f"NPS {self.nps_a:.1f} (n={self.n_a}) vs {self.nps_b:.1f} (n={self.n_b}): "
            f"difference {self.difference:+.1f} points "
            f"[{self.ci_low:.1f}, {self.ci_high:.1f}], z = {self.z:.3f}, p = {self.p_value:.4f}"
        )


def _nps_counts(value: Any, name: str, score: str, metric: str | None) -> tuple[int, int, int]:
    if isinstance(value, pd.DataFrame):
        if {"promoters", "passives", "detractors"} <= set(value.columns) and score not in value:
            if len(value) != 1:
                raise ValidationError(name, f"{len(value)} rows", "must be one row of NPS counts")
            value = value.iloc[0]
        else:
            row = nps(value, score=score, metric=metric, min_n=0).iloc[0]
            return int(row["promoters"]), int(row["passives"]), int(row["detractors"])
    if isinstance(value, pd.Series) and {"promoters", "passives", "detractors"} <= set(value.index):
        value = (value["promoters"], value["passives"], value["detractors"])
    elif isinstance(value, pd.Series):
        return _nps_counts(value.to_frame(score), name, score, None)
    if isinstance(value, Mapping):
        value = (value["promoters"], value["passives"], value["detractors"])
    try:
        promoters, passives, detractors = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationError(
            name,
            value,
            "must be (promoters, passives, detractors) counts, a row of nps(), or answers",
        ) from None
    if min(promoters, passives, detractors) < 0 or promoters + passives + detractors == 0:
        raise ValidationError(name, value, "counts must be 0 or more with at least one answer")
    return promoters, passives, detractors


def compare_nps(
    a: Any,
    b: Any,
    *,
    confidence: float = 0.95,
    score: str = "score",
    metric: str | None = "nps",
) -> NPSComparison:
    """Test whether two Net Promoter Scores differ: the difference, z and two-sided p.

    Each side's variance is the Wald variance of its NPS, ``(p + d - (p - d)^2) / n`` for
    promoter share ``p`` and detractor share ``d``; the two groups are independent, so the
    difference's variance is their sum (Rocks 2016).

    Args:
        a: The first group: ``(promoters, passives, detractors)`` counts, a mapping or row with
            those keys (a row of :func:`nps`), or a frame or series of 0-10 answers.
        b: The second group, in any of the same forms.
        confidence: Coverage of the difference's interval.
        score: The answers' column when a group is given as a frame.
        metric: The ``metric`` value to keep when a frame has a ``metric`` column.

    Returns:
        An :class:`NPSComparison`.

    Raises:
        ValidationError: If a group is not in one of the accepted forms or has no answers.

    Examples:
        >>> result = compare_nps((100, 60, 40), (100, 80, 70))
        >>> round(result.difference, 1), round(result.z, 3), round(result.p_value, 4)
        (18.0, 2.382, 0.0172)
    """
    z_crit = _z(confidence)
    sides = []
    for name, value in (("a", a), ("b", b)):
        p, m, d = _nps_counts(value, name, score, metric)
        n = p + m + d
        share_p, share_d = p / n, d / n
        sides.append((share_p - share_d, (share_p + share_d - (share_p - share_d) ** 2) / n, n))
    (score_a, var_a, n_a), (score_b, var_b, n_b) = sides
    difference = score_a - score_b
    se = float(np.sqrt(var_a + var_b))
    z = difference / se if se > 0 else (0.0 if difference == 0 else np.copysign(np.inf, difference))
    p_value = float(2 * stats.norm.sf(abs(z)))
    return NPSComparison(
        nps_a=score_a * 100,
        nps_b=score_b * 100,
        n_a=n_a,
        n_b=n_b,
        difference=difference * 100,
        se=se * 100,
        z=float(z),
        p_value=p_value,
        ci_low=(difference - z_crit * se) * 100,
        ci_high=(difference + z_crit * se) * 100,
        confidence=confidence,
    )


# -- CSAT, CES, ratings ---------------------------------------------------------------------


def _frame_scale(
    frame: pd.DataFrame, scale: tuple[float, float] | None, what: str
) -> tuple[float, float] | None:
    """``scale`` if given, else the one scale of the frame's ``scale_min``/``scale_max``."""
    if scale is not None or not {"scale_min", "scale_max"} <= set(frame.columns) or not len(frame):
        return scale
    scales = frame[["scale_min", "scale_max"]].drop_duplicates()
    if len(scales) > 1:
        raise ValidationError(
            "scale",
            [tuple(row) for row in scales.itertuples(index=False)],
            f"the {what} were given on several scales; filter to one or pass scale=",
        )
    return (float(scales["scale_min"].iloc[0]), float(scales["scale_max"].iloc[0]))


def _scale(value: Any, default: tuple[float, float]) -> tuple[float, float]:
    if value is None:
        return default
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationError("scale", value, "must be (lowest, highest)") from None
    if not low < high:
        raise ValidationError("scale", value, "the lowest score must be below the highest")
    return low, high


def csat(
    df: pd.DataFrame,
    *,
    by: str | Sequence[Hashable] | None = None,
    freq: str | None = None,
    score: str = "score",
    time: str = "occurred_at",
    metric: str | None = "csat",
    scale: tuple[float, float] | None = None,
    top_box: int | None = None,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """Customer satisfaction: the share of satisfied answers (top-2-box by default).

    An answer is satisfied when it lies in the top ``top_box`` points of the scale: 4 or 5 on
    the usual 1-5 scale, the top answer on a scale of four points or fewer (so a good/bad
    rating stored as 1/0 counts its 1s). The interval is Wilson's.

    Args:
        df: One row per answer, e.g. ``ws.feedback()``; only rows whose ``metric`` is
            ``metric`` are used when the frame has that column.
        by: Column(s) to group by.
        freq: A pandas frequency to group ``time`` into periods.
        score: The column of answers; each must be a whole number on ``scale``.
        time: The column of answer times, used with ``freq``.
        metric: The ``metric`` value to keep; ``None`` uses every row.
        scale: The lowest and highest answer. ``None`` takes it from the frame's
            ``scale_min``/``scale_max`` columns when they hold one scale, else 1-5.
        top_box: How many of the top points count as satisfied; ``None`` is 2 on scales of
            five points or more, else 1.
        confidence: The interval's coverage.
        min_n: Groups with fewer answers are flagged ``low_n``.

    Returns:
        One row per group, columns: the ``by`` columns and ``period`` (with ``freq``); ``n``
        (int64); ``satisfied`` (int64); ``csat`` (float64, percent satisfied); ``ci_low``,
        ``ci_high`` (float64, percent, Wilson); ``mean`` (float64, the mean answer);
        ``low_n`` (bool).

    Raises:
        ValidationError: If a column is missing, an answer is off the scale or an option is
            invalid.

    Examples:
        >>> import pandas as pd
        >>> row = csat(pd.DataFrame({"score": [5, 4, 4, 3, 1]})).iloc[0]
        >>> int(row["satisfied"]), float(row["csat"])
        (3, 60.0)
    """
    keys = _as_list(by)
    frame = _select(df, score=score, metric=metric, by=keys, time=time, freq=freq)
    low, high = _scale(_frame_scale(frame, scale, "CSAT answers"), (1, 5))
    if top_box is None:
        top_box = 2 if high - low >= 4 else 1
    _whole("top_box", top_box, 1, high - low)
    _check_min_n(min_n)
    _z(confidence)
    values = _validated_scores(frame, score, (low, high), integers=True, what="CSAT")
    sums = grouped_sums(
        frame,
        {"satisfied": values > high - top_box, "total": values},
        by=keys,
        time=time,
        freq=freq,
    )
    n = sums["n"].to_numpy()
    satisfied = sums["satisfied"].to_numpy()
    sums["csat"] = satisfied / n * 100
    ci_low, ci_high = wilson_interval(satisfied, n, confidence=confidence)
    sums["ci_low"], sums["ci_high"] = ci_low * 100, ci_high * 100
    sums["mean"] = sums["total"].to_numpy(float) / n
    return _finish(sums, ["n", "satisfied", "csat", "ci_low", "ci_high", "mean"], min_n, keys)


def _mean_table(
    frame: pd.DataFrame,
    values: np.ndarray,
    *,
    keys: list[Hashable],
    freq: str | None,
    time: str,
    scale: tuple[float, float],
    extra: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Group sums of ``values`` into ``n``, ``mean`` and ``sd`` per group, plus ``extra``."""
    # Centre on the overall mean before squaring so the variance does not cancel
    # catastrophically (sum of squares minus n times the squared mean).
    centre = float(values.mean()) if len(values) else (scale[0] + scale[1]) / 2
    shifted = values - centre
    columns: dict[str, Any] = {"total": shifted, "squares": shifted**2, **(extra or {})}
    sums = grouped_sums(frame, columns, by=keys, time=time, freq=freq)
    n = sums["n"].to_numpy().astype(float)
    total = sums["total"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        variance = (sums["squares"].to_numpy(float) - n * mean**2) / (n - 1)
    sums["mean"] = mean + centre
    sums["sd"] = np.where(n > 1, np.sqrt(np.clip(variance, 0, None)), np.nan)
    return sums


def ces(
    df: pd.DataFrame,
    *,
    by: str | Sequence[Hashable] | None = None,
    freq: str | None = None,
    score: str = "score",
    time: str = "occurred_at",
    metric: str | None = "ces",
    scale: tuple[float, float] = (1, 7),
    easy: tuple[float, float] = (5, 7),
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """Customer effort score: the mean answer and the share who found it easy.

    On the CES 2.0 scale ("The company made it easy for me to handle my issue", 1 = strongly
    disagree, 7 = strongly agree) the score is the mean answer, and the share answering 5-7 is
    reported beside it (Dixon, Freeman & Toman 2010).

    Args:
        df: One row per answer, e.g. ``ws.feedback()``.
        by: Column(s) to group by.
        freq: A pandas frequency to group ``time`` into periods.
        score: The column of answers; each must be a whole number on ``scale``.
        time: The column of answer times, used with ``freq``.
        metric: The ``metric`` value to keep; ``None`` uses every row.
        scale: The lowest and highest answer.
        easy: The answers (inclusive range) that count as easy.
        confidence: The intervals' coverage.
        min_n: Groups with fewer answers are flagged ``low_n``.

    Returns:
        One row per group, columns: the ``by`` columns and ``period``; ``n`` (int64);
        ``mean``, ``sd`` (float64); ``ci_low``, ``ci_high`` (float64, Student's t interval of
        the mean); ``easy`` (int64, answers in the ``easy`` range); ``easy_share`` (float64,
        percent); ``easy_ci_low``, ``easy_ci_high`` (float64, percent, Wilson); ``low_n``
        (bool).

    Raises:
        ValidationError: If a column is missing, an answer is off the scale or an option is
            invalid.

    Examples:
        >>> import pandas as pd
        >>> row = ces(pd.DataFrame({"score": [7, 6, 5, 2]})).iloc[0]
        >>> float(row["mean"]), int(row["easy"]), float(row["easy_share"])
        (5.0, 3, 75.0)
    """
    low, high = _scale(scale, (1, 7))
    try:
        easy_low, easy_high = (float(v) for v in easy)
    except (TypeError, ValueError):
        raise ValidationError("easy", easy, "must be (lowest, highest) easy answer") from None
    if not low <= easy_low <= easy_high <= high:
        raise ValidationError("easy", easy, f"must be a range inside {low:g}..{high:g}")
    _check_min_n(min_n)
    _z(confidence)
    keys = _as_list(by)
    frame = _select(df, score=score, metric=metric, by=keys, time=time, freq=freq)
    values = _validated_scores(frame, score, (low, high), integers=True, what="CES")
    flags = (values >= easy_low) & (values <= easy_high)
    sums = _mean_table(
        frame, values, keys=keys, freq=freq, time=time, scale=(low, high), extra={"easy": flags}
    )
    n = sums["n"].to_numpy()
    sums["ci_low"], sums["ci_high"] = _t_interval(
        sums["mean"].to_numpy(), sums["sd"].to_numpy(), n, confidence
    )
    sums["easy_share"] = sums["easy"].to_numpy() / n * 100
    share_low, share_high = wilson_interval(sums["easy"], n, confidence=confidence)
    sums["easy_ci_low"], sums["easy_ci_high"] = share_low * 100, share_high * 100
    order = ["n", "mean", "sd", "ci_low", "ci_high", "easy", "easy_share"]
    return _finish(sums, [*order, "easy_ci_low", "easy_ci_high"], min_n, keys)


def rating(
    df: pd.DataFrame,
    *,
    by: str | Sequence[Hashable] | None = None,
    freq: str | None = None,
    score: str = "score",
    time: str = "occurred_at",
    metric: str | None = "rating",
    scale: tuple[float, float] | None = None,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """Star ratings: the mean with its interval, and how many answers gave each star.

    Args:
        df: One row per rating, e.g. ``ws.feedback()``.
        by: Column(s) to group by (``"touchpoint"`` compares review sites).
        freq: A pandas frequency to group ``time`` into periods.
        score: The column of ratings; each must lie on ``scale``.
        time: The column of rating times, used with ``freq``.
        metric: The ``metric`` value to keep; ``None`` uses every row.
        scale: The lowest and highest rating. ``None`` takes it from the frame's
            ``scale_min``/``scale_max`` columns when they hold one scale, else 1-5.
        confidence: The interval's coverage.
        min_n: Groups with fewer ratings are flagged ``low_n``.

    Returns:
        One row per group, columns: the ``by`` columns and ``period``; ``n`` (int64);
        ``mean``, ``sd``, ``ci_low``, ``ci_high`` (float64, Student's t interval of the mean);
        then, when every rating is a whole number, one count column per point of the scale,
        ``n_1`` … ``n_5`` (int64); ``low_n`` (bool).

    Raises:
        ValidationError: If a column is missing, a rating is off the scale, or the frame mixes
            scales.

    Examples:
        >>> import pandas as pd
        >>> row = rating(pd.DataFrame({"score": [5, 4, 4, 1]})).iloc[0]
        >>> float(row["mean"]), int(row["n_4"]), int(row["n_2"])
        (3.5, 2, 0)
    """
    keys = _as_list(by)
    frame = _select(df, score=score, metric=metric, by=keys, time=time, freq=freq)
    scale = _frame_scale(frame, scale, "ratings")
    low, high = _scale(scale, (1, 5))
    _check_min_n(min_n)
    _z(confidence)
    values = _validated_scores(frame, score, (low, high), integers=False, what="rating")
    whole = bool(len(values)) and bool(np.all(values == np.floor(values)))
    points = list(range(int(np.ceil(low)), int(np.floor(high)) + 1)) if whole else []
    extra = {f"n_{p}": values == p for p in points}
    sums = _mean_table(
        frame, values, keys=keys, freq=freq, time=time, scale=(low, high), extra=extra
    )
    sums["ci_low"], sums["ci_high"] = _t_interval(
        sums["mean"].to_numpy(), sums["sd"].to_numpy(), sums["n"].to_numpy(), confidence
    )
    order = ["n", "mean", "sd", "ci_low", "ci_high", *extra]
    return _finish(sums, order, min_n, keys)
