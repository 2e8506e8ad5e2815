"""Multi-touch attribution: which channels earn the credit for the conversions they lead to.

A conversion usually follows several touches (an ad, an email, a visit); attribution splits each
conversion among the channels of its journey. The rule-based models give fixed shares by
position (first touch, last touch, linear, position based 40/20/40) or by recency (time decay
with a half-life, 7 days as in Google Analytics). The data-driven ones look at the journeys
that did not convert too: the first-order Markov model (Anderl et al. 2016) turns all journeys
into an absorbing chain from ``(start)`` through the channels to ``(conversion)`` or ``(null)``
and credits a channel with its removal effect, the share of conversions the chain loses when
the channel's state leads to ``(null)`` instead; it is solved exactly with one linear solve on
the transient states, never simulated. The Shapley model treats the channels as players whose
coalition's value is the conversions of the journeys whose channel set lies inside it; that
game's Shapley value has a closed form, each journey's conversions split evenly across its
distinct channels (Zhao et al. 2018), so no coalition is ever enumerated. Every model's credits
add up to the conversions.

Journeys come in two shapes, both one row per path with a conversion and a null count: the
aggregated ChannelAttribution format (a path string such as ``"search > email > direct"`` with
``total_conversions`` and ``total_null`` over the journeys that followed it) or one row per
journey with a list of channels, as :func:`conversion_paths` builds from interactions.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd

from cxm.exceptions import ValidationError
from cxm.journey._events import EventLog, event_log
from cxm.metrics.feedback import wilson_interval

__all__ = [
    "ATTRIBUTION_MODELS",
    "MarkovChain",
    "aggregate_paths",
    "attribution",
    "attribution_table",
    "conversion_paths",
    "markov_chain",
    "removal_effects",
]

AttributionModel = Literal[
    "first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"
]

ATTRIBUTION_MODELS: tuple[str, ...] = (
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
    "markov",
    "shapley",
)
"""The models :func:`attribution` knows, rule-based first."""

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
_NS_PER_DAY = 86_400 * 1_000_000_000
_DEFAULT_HALF_LIFE_DAYS = 7.0  # Google Analytics' time-decay model
_DEFAULT_HALF_LIFE_TOUCHES = 1.0


@attrs.frozen(eq=False)
class _Journeys:
    """Paths flattened to one entry per touch, on integer channel codes."""

    channels: pd.Index  # labels, sorted (or in category order)
    row: np.ndarray  # path row of every touch (non-decreasing)
    code: np.ndarray  # channel code of every touch
    position: np.ndarray  # 0-based position of every touch in its path
    lengths: np.ndarray  # touches of every path row
    conversions: np.ndarray  # float64 per path row
    nulls: np.ndarray  # float64 per path row
    value: np.ndarray | None  # float64 per path row
    times: np.ndarray | None  # time of every touch before the conversion (float)


def _require_frame(paths: Any) -> pd.DataFrame:
    if not isinstance(paths, pd.DataFrame):
        raise ValidationError("paths", type(paths).__name__, "must be a pandas DataFrame")
    return paths


def _require_column(df: pd.DataFrame, name: Hashable, field: str) -> pd.Series:
    if name not in df.columns:
        raise ValidationError(
            field, name, f"is not a column of the frame (columns: {list(df.columns)[:20]})"
        )
    return df[name]


def _first_index(df: pd.DataFrame, mask: np.ndarray) -> Any:
    return df.index[int(np.argmax(mask))]


def _counts(df: pd.DataFrame, name: Hashable, field: str) -> np.ndarray:
    """A non-negative, finite count column as float64."""
    series = _require_column(df, name, field)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        raise ValidationError(field, name, f"must hold numbers, not {series.dtype}")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValidationError(
            field,
            name,
            f"{int(bad.sum())} rows have no finite value (first at index "
            f"{_first_index(df, bad)!r}); fill or drop them first",
        )
    negative = values < 0
    if negative.any():
        raise ValidationError(
            field,
            name,
            f"{int(negative.sum())} rows are negative (first at index "
            f"{_first_index(df, negative)!r}); counts must be 0 or more",
        )
    return values


def _explode(series: pd.Series, separator: str, field: str) -> tuple[pd.Series, np.ndarray]:
    """One entry per element of every cell (strings split on ``separator``), and cell lengths."""
    if series.isna().to_numpy().any():
        missing = series.isna().to_numpy()
        raise ValidationError(
            field,
            series.name,
            f"{int(missing.sum())} rows have no path (first at index "
            f"{series.index[int(np.argmax(missing))]!r})",
        )
    if pd.api.types.infer_dtype(series, skipna=False) == "string":
        series = series.str.split(separator, regex=False)
    lengths = series.str.len()
    if lengths.isna().to_numpy().any():
        bad = lengths.isna().to_numpy()
        raise ValidationError(
            field,
            series.name,
            f"must hold separator-joined strings or lists; {int(bad.sum())} rows hold neither "
            f"(first at index {series.index[int(np.argmax(bad))]!r})",
        )
    return series.explode(), lengths.to_numpy(dtype=np.int64)


def _journeys(
    paths: Any,
    *,
    path: Hashable,
    conversions: Hashable,
    nulls: Hashable | None,
    value: Hashable | None,
    separator: str,
    times: Hashable | None,
) -> _Journeys:
    df = _require_frame(paths)
    if not separator or not isinstance(separator, str):
        raise ValidationError("separator", separator, "must be a non-empty string")
    path_series = _require_column(df, path, "path")
    converted = _counts(df, conversions, "conversions")
    null_counts = (
        _counts(df, nulls, "nulls") if nulls is not None else np.zeros(len(df), dtype=np.float64)
    )
    values = None
    if value is not None:
        values = _counts(df, value, "value")
    flat, lengths = _explode(path_series, separator, "path")
    empty = lengths == 0
    if empty.any():
        raise ValidationError(
            "path",
            path,
            f"{int(empty.sum())} rows have an empty path (first at index "
            f"{_first_index(df, empty)!r}), e.g. conversions with no touch in the lookback; "
            f"keep the others with df[df[{path!r}].str.len() > 0]",
        )
    labels = flat.reset_index(drop=True)
    blank = labels.isna().to_numpy() | (labels.astype(str) == "").to_numpy()
    if blank.any():
        rows = np.repeat(np.arange(len(df)), lengths)
        raise ValidationError(
            "path",
            path,
            f"{int(blank.sum())} touches have no channel (first in the path at index "
            f"{df.index[rows[int(np.argmax(blank))]]!r}); a path must name every channel",
        )
    code, channels = pd.factorize(labels, sort=True)
    reserved = [label for label in (START, CONVERSION, NULL) if label in channels]
    if reserved:
        raise ValidationError("path", reserved[0], "is a reserved state name, not a channel")
    row = np.repeat(np.arange(len(df), dtype=np.int64), lengths)
    starts = np.cumsum(lengths) - lengths
    position = np.arange(row.size, dtype=np.int64) - starts[row]
    touch_times = None
    if times is not None:
        touch_times = _touch_times(df, times, separator, lengths)
    return _Journeys(
        channels=pd.Index(channels),
        row=row,
        code=code.astype(np.int64, copy=False),
        position=position,
        lengths=lengths,
        conversions=converted,
        nulls=null_counts,
        value=values,
        times=touch_times,
    )


def _touch_times(
    df: pd.DataFrame, times: Hashable, separator: str, lengths: np.ndarray
) -> np.ndarray:
    flat, time_lengths = _explode(_require_column(df, times, "times"), separator, "times")
    mismatch = time_lengths != lengths
    if mismatch.any():
        raise ValidationError(
            "times",
            times,
            f"{int(mismatch.sum())} rows have a different number of times than touches "
            f"(first at index {_first_index(df, mismatch)!r})",
        )
    flat = flat.reset_index(drop=True)
    try:
        if pd.api.types.infer_dtype(flat, skipna=False) in ("timedelta", "timedelta64"):
            days = (pd.to_timedelta(flat) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64)
        else:
            days = pd.to_numeric(flat).to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValidationError(
            "times", times, f"must hold numbers (days) or timedeltas ({error})"
        ) from None
    bad = ~np.isfinite(days) | (days < 0)
    if bad.any():
        raise ValidationError(
            "times",
            times,
            f"{int(bad.sum())} touch times are missing or negative (a touch after its "
            "conversion); times are the time from each touch to the conversion",
        )
    return days


def _per_channel(journeys: _Journeys, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Attributed conversions (and value) per channel, from every touch's share of its path."""
    k = len(journeys.channels)
    credit = np.bincount(
        journeys.code, weights=weights * journeys.conversions[journeys.row], minlength=k
    )
    value = None
    if journeys.value is not None:
        value = np.bincount(
            journeys.code, weights=weights * journeys.value[journeys.row], minlength=k
        )
    return credit, value


def _touch_weights(
    journeys: _Journeys,
    model: str,
    *,
    half_life: float | None,
    first_weight: float,
    last_weight: float,
) -> np.ndarray:
    """Every touch's share of its path's conversions under a rule-based model (sums to 1)."""
    n = journeys.lengths[journeys.row].astype(np.float64)
    position = journeys.position
    if model == "first_touch":
        return np.asarray(position == 0, dtype=np.float64)
    if model == "last_touch":
        return np.asarray(position == n - 1, dtype=np.float64)
    if model == "linear":
        return np.asarray(1.0 / n, dtype=np.float64)
    if model == "position_based":
        ends = first_weight + last_weight
        two_first = first_weight / ends if ends > 0 else 0.5
        with np.errstate(divide="ignore", invalid="ignore"):
            middle = np.where(n > 2, (1.0 - ends) / np.maximum(n - 2, 1), 0.0)
        weights = middle.copy()
        is_first = position == 0
        is_last = position == n - 1
        weights[is_first] = np.where(n[is_first] > 2, first_weight, two_first)
        weights[is_last & ~is_first] = np.where(
            n[is_last & ~is_first] > 2, last_weight, 1.0 - two_first
        )
        weights[is_first & is_last] = 1.0
        return weights
    # time_decay: credit halves every half-life back from the conversion.
    if journeys.times is not None:
        age = journeys.times
        life = _DEFAULT_HALF_LIFE_DAYS if half_life is None else half_life
    else:
        age = n - 1 - position
        life = _DEFAULT_HALF_LIFE_TOUCHES if half_life is None else half_life
    # Measuring age from each path's most recent touch leaves the normalised shares unchanged
    # and keeps 2 ** -x from underflowing to 0 on every touch of an old path.
    nearest = np.full(journeys.lengths.size, np.inf)
    np.minimum.at(nearest, journeys.row, age)
    raw = np.exp2(-(age - nearest[journeys.row]) / life)
    return np.asarray(raw / np.bincount(journeys.row, weights=raw)[journeys.row], dtype=np.float64)


_DENSE_PAIRS = 50_000_000  # path rows x channels up to which a presence mask beats sorting


def _distinct_touches(journeys: _Journeys) -> tuple[np.ndarray, np.ndarray]:
    """Path row and channel code of every distinct (path, channel) pair, by row then channel."""
    k = len(journeys.channels)
    key = journeys.row * k + journeys.code
    size = journeys.lengths.size * k
    if size <= _DENSE_PAIRS:
        # A presence mask finds the distinct pairs in linear time, already in order.
        present = np.zeros(size, dtype=bool)
        present[key] = True
        pairs = np.flatnonzero(present)
    else:
        pairs = np.unique(key)
    return pairs // k, pairs % k


def _shapley(journeys: _Journeys) -> tuple[np.ndarray, np.ndarray | None]:
    """Closed-form Shapley value: each path's conversions split over its distinct channels."""
    k = len(journeys.channels)
    row, code = _distinct_touches(journeys)
    distinct = np.bincount(row, minlength=journeys.lengths.size).astype(np.float64)
    credit = np.bincount(code, weights=journeys.conversions[row] / distinct[row], minlength=k)
    value = None
    if journeys.value is not None:
        value = np.bincount(code, weights=journeys.value[row] / distinct[row], minlength=k)
    return credit, value


def _touched(journeys: _Journeys) -> tuple[np.ndarray, np.ndarray]:
    """Journeys (conversions + nulls) and conversions of the paths that include each channel."""
    k = len(journeys.channels)
    row, code = _distinct_touches(journeys)
    total = journeys.conversions + journeys.nulls
    return (
        np.bincount(code, weights=total[row], minlength=k),
        np.bincount(code, weights=journeys.conversions[row], minlength=k),
    )


@attrs.frozen(eq=False)
class MarkovChain:
    """A first-order Markov chain over journeys, absorbing in conversion or null.

    States are ``(start)``, the channels (sorted), ``(conversion)`` and ``(null)``. Transition
    counts are weighted by the journeys that follow each path (its conversions plus its
    nulls); a path's last channel moves to ``(conversion)`` as often as it converted and to
    ``(null)`` as often as it did not.

    Attributes:
        states: The state labels, in matrix order.
        counts: Weighted transition counts, rows the state left, columns the state entered.
        transitions: Transition probabilities, the counts normalised by row; the absorbing
            states move to themselves with probability 1.
        p_convert: Probability that a journey from ``(start)`` is absorbed in
            ``(conversion)`` (NaN without journeys). It equals ``conversions / n_journeys``:
            a chain fitted to counts keeps the overall flow.
        n_journeys: Journeys in the data (conversions plus nulls).
        conversions: Conversions in the data.
        ci_low: Lower bound of the 95 % Wilson interval of ``p_convert`` over ``n_journeys``.
        ci_high: Upper bound of that interval.
        removal_effects: One row per channel, columns ``channel`` (object),
            ``visit_probability`` (float64, chance that a journey passes through it),
            ``p_convert_without`` (float64, P(convert) when its state leads to ``(null)``),
            ``removal_effect`` (float64, ``1 - p_convert_without / p_convert``) and
            ``conversions`` (float64, the conversions credited to it, proportional to its
            removal effect). Sorted by channel.
    """

    states: pd.Index
    counts: pd.DataFrame
    transitions: pd.DataFrame
    p_convert: float
    n_journeys: float
    conversions: float
    ci_low: float
    ci_high: float
    removal_effects: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """One row: n_journeys, conversions, p_convert, ci_low, ci_high and n_channels."""
        return pd.DataFrame(
            {
                "n_journeys": [self.n_journeys],
                "conversions": [self.conversions],
                "p_convert": [self.p_convert],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "n_channels": [len(self.states) - 3],
            }
        )

    def _repr_html_(self) -> str:
        return str(self.summary.to_html(index=False)) + str(
            self.removal_effects.to_html(index=False)
        )


def _markov(journeys: _Journeys) -> MarkovChain:
    k = len(journeys.channels)
    size = k + 3  # (start), channels, (conversion), (null)
    conversion_state, null_state = k + 1, k + 2
    state = journeys.code + 1
    previous = np.where(journeys.position == 0, 0, np.r_[0, state[:-1]])
    flow = (journeys.conversions + journeys.nulls)[journeys.row]
    counts = np.bincount(previous * size + state, weights=flow, minlength=size * size).astype(
        np.float64
    )
    last = np.cumsum(journeys.lengths) - 1
    last_state = state[last]
    counts += np.bincount(
        last_state * size + conversion_state, weights=journeys.conversions, minlength=size * size
    )
    counts += np.bincount(
        last_state * size + null_state, weights=journeys.nulls, minlength=size * size
    )
    counts = counts.reshape(size, size)
    out = counts.sum(axis=1)
    probabilities = np.divide(
        counts, out[:, None], out=np.zeros_like(counts), where=out[:, None] > 0
    )
    # A state nothing leaves (only on paths with no journeys) is treated as leading nowhere:
    # a zero row in Q, so I - Q stays invertible.
    probabilities[conversion_state, conversion_state] = 1.0
    probabilities[null_state, null_state] = 1.0
    transient = slice(0, k + 1)
    q = probabilities[transient, transient]
    r = probabilities[transient, conversion_state]
    # Fundamental matrix N = (I - Q)^-1 (Kemeny & Snell 1960): N[i, j] is the expected visits
    # to j from i, and x = N r the absorption probabilities in (conversion).
    fundamental = np.linalg.solve(np.eye(k + 1) - q, np.eye(k + 1))
    absorb = fundamental @ r
    p_convert = float(absorb[0])
    # Redirecting channel c to (null) removes exactly the journeys that reach c, so
    # P(convert without c) = x_start - P(reach c) * x_c, with P(reach c) = N[start, c] / N[c, c]
    # (Kemeny & Snell, Theorem 3.5.7): one solve serves every channel.
    reach = fundamental[0, 1:] / np.diag(fundamental)[1:]
    without = np.clip(p_convert - reach * absorb[1:], 0.0, None)
    effect = np.clip(1.0 - without / p_convert if p_convert > 0 else np.zeros(k), 0.0, 1.0)
    total_conversions = float(journeys.conversions.sum())
    effect_sum = effect.sum()
    credit = total_conversions * effect / effect_sum if effect_sum > 0 else np.zeros(k)
    n_journeys = float(total_conversions + journeys.nulls.sum())
    low, high = wilson_interval(total_conversions, n_journeys)
    states = pd.Index([START, *journeys.channels, CONVERSION, NULL], dtype=object)
    effects = pd.DataFrame(
        {
            "channel": pd.Index(journeys.channels, dtype=object),
            "visit_probability": reach,
            "p_convert_without": without,
            "removal_effect": effect,
            "conversions": credit,
        }
    )
    return MarkovChain(
        states=states,
        counts=pd.DataFrame(counts, index=states, columns=states),
        transitions=pd.DataFrame(probabilities, index=states, columns=states),
        p_convert=p_convert if n_journeys > 0 else float("nan"),
        n_journeys=n_journeys,
        conversions=total_conversions,
        ci_low=float(low),
        ci_high=float(high),
        removal_effects=effects,
    )


def markov_chain(
    paths: pd.DataFrame,
    *,
    path: Hashable = "path",
    conversions: Hashable = "total_conversions",
    nulls: Hashable | None = "total_null",
    separator: str = " > ",
) -> MarkovChain:
    """Fit the first-order Markov chain of the journeys and solve it exactly.

    Every path ``c1 > c2 > ... > cn`` becomes the transitions ``(start) -> c1 -> ... -> cn``,
    weighted by the journeys that followed it (conversions plus nulls), then ``cn ->
    (conversion)`` as often as it converted and ``cn -> (null)`` as often as it did not. The
    chance of conversion from ``(start)`` is the absorption probability ``x = (I - Q)^-1 r``
    over the transient states (``Q`` their transition block, ``r`` their probabilities of
    entering ``(conversion)``), a linear solve with no simulation. Repeated channels stay in the
    chain as self-loops; for a first-order chain that changes nothing (a self-loop only
    lengthens the stay in a state, not where the journey goes next), so merging consecutive
    repeats gives the same removal effects to the last digit.

    Args:
        paths: One row per path (aggregated) or per journey; see :func:`attribution`.
        path: Column of paths: strings joined by ``separator`` or lists of channels.
        conversions: Column of conversions per row (counts, or booleans per journey).
        nulls: Column of journeys per row that did not convert; ``None`` for none.
        separator: What joins the channels of a path string.

    Returns:
        The fitted chain, with the removal effect of every channel.

    Raises:
        ValidationError: A column is missing, a count is negative or missing, or a path is
            empty.

    Examples:
        >>> paths = pd.DataFrame({
        ...     "path": ["search > email", "search", "email"],
        ...     "total_conversions": [2, 1, 0],
        ...     "total_null": [2, 3, 2],
        ... })
        >>> chain = markov_chain(paths)
        >>> round(chain.p_convert, 4)
        0.3
        >>> chain.removal_effects[["channel", "removal_effect"]].round(4)
          channel  removal_effect
        0   email          0.6667
        1  search          0.7778

    References:
        Anderl, E., Becker, I., von Wangenheim, F., & Schumann, J. H. (2016). Mapping the
        customer journey: Lessons learned from graph-based online attribution modeling.
        International Journal of Research in Marketing, 33(3), 457-474.
        Kemeny, J. G., & Snell, J. L. (1960). Finite Markov Chains, chapter 3. Van Nostrand.
    """
    journeys = _journeys(
        paths,
        path=path,
        conversions=conversions,
        nulls=nulls,
        value=None,
        separator=separator,
        times=None,
    )
    return _markov(journeys)


def removal_effects(
    paths: pd.DataFrame,
    *,
    path: Hashable = "path",
    conversions: Hashable = "total_conversions",
    nulls: Hashable | None = "total_null",
    separator: str = " > ",
) -> pd.DataFrame:
    """Removal effect of every channel in the first-order Markov chain of the journeys.

    The removal effect of channel ``c`` is the relative drop in the chance of conversion when
    ``c``'s state leads to ``(null)``: ``1 - P(convert without c) / P(convert)``. It is computed
    exactly from the chain's fundamental matrix (see :func:`markov_chain`).

    Args:
        paths: One row per path (aggregated) or per journey; see :func:`attribution`.
        path: Column of paths: strings joined by ``separator`` or lists of channels.
        conversions: Column of conversions per row.
        nulls: Column of journeys per row that did not convert; ``None`` for none.
        separator: What joins the channels of a path string.

    Returns:
        One row per channel, sorted by channel: ``channel`` (object), ``visit_probability``
        (float64, chance that a journey passes through the channel), ``p_convert_without``
        (float64, P(convert) with the channel removed), ``removal_effect`` (float64) and
        ``conversions`` (float64, conversions credited in proportion to the removal effect).

    Raises:
        ValidationError: As :func:`markov_chain`.

    Examples:
        >>> paths = pd.DataFrame({"path": ["a > b", "b"], "total_conversions": [1, 1],
        ...                       "total_null": [1, 1]})
        >>> removal_effects(paths)[["channel", "removal_effect"]]
          channel  removal_effect
        0       a             0.5
        1       b             1.0

    References:
        Anderl, E., Becker, I., von Wangenheim, F., & Schumann, J. H. (2016). Mapping the
        customer journey: Lessons learned from graph-based online attribution modeling.
        International Journal of Research in Marketing, 33(3), 457-474.
    """
    chain = markov_chain(
        paths, path=path, conversions=conversions, nulls=nulls, separator=separator
    )
    return chain.removal_effects


def attribution(
    paths: pd.DataFrame,
    model: AttributionModel | str = "markov",
    *,
    path: Hashable = "path",
    conversions: Hashable = "total_conversions",
    nulls: Hashable | None = "total_null",
    value: Hashable | None = None,
    separator: str = " > ",
    times: Hashable | None = None,
    half_life: float | None = None,
    first_weight: float = 0.4,
    last_weight: float = 0.4,
) -> pd.DataFrame:
    """Split the conversions among the channels of their journeys, by one attribution model.

    ``paths`` has one row per path with its conversion and null counts, either aggregated
    (ChannelAttribution's format: ``path`` a string such as ``"search > email"``, with
    ``total_conversions`` and ``total_null`` the journeys that followed it and did or did not
    convert) or one row per journey (``path`` a list of channels, the counts 1 or 0), as
    :func:`conversion_paths` returns. A channel seen twice in a path is two touches.

    Models (every one's credits add up to the conversions):

    - ``first_touch``, ``last_touch``: all of a path's conversions to its first or last touch.
    - ``linear``: equal shares to every touch (a channel touched twice gets two shares).
    - ``position_based``: ``first_weight`` (0.4) to the first touch, ``last_weight`` (0.4)
        to the last and the rest split evenly among the touches between (Google Analytics'
        40/20/40). A two-touch path splits in the ratio ``first_weight : last_weight``; a
        one-touch path gives it everything.
    - ``time_decay``: a touch's share is proportional to ``2 ** (-age / half_life)``. With
        ``times`` (each touch's time before the conversion, in days or as timedeltas) the
        age is that time and ``half_life`` defaults to 7 days (Google Analytics). Without
        ``times`` the age is the number of touches between it and the conversion (0 for the
        last) and ``half_life`` defaults to 1 touch: each step back halves the credit.
    - ``markov``: first-order Markov removal effect (Anderl et al. 2016), conversions
        credited in proportion to each channel's removal effect; see :func:`markov_chain`.
        Only this model uses the nulls.
    - ``shapley``: the Shapley value of the game whose coalition value is the conversions of
        the journeys whose channel set lies inside the coalition. Its closed form splits each
        path's conversions evenly across its distinct channels (Zhao et al. 2018), so the
        2^k coalitions are never enumerated.

    Args:
        paths: One row per path or per journey.
        model: One of :data:`ATTRIBUTION_MODELS`.
        path: Column of paths: strings joined by ``separator`` or lists of channels.
        conversions: Column of conversions per row (counts, or booleans per journey).
        nulls: Column of journeys per row that did not convert; ``None`` for none.
        value: Optional column of conversion value per row (revenue), split like the
            conversions.
        separator: What joins the channels of a path string.
        times: Optional column, aligned with ``path``, of each touch's time before the
            conversion (lists of days or timedeltas, or strings of days joined by
            ``separator``); used by ``time_decay`` only.
        half_life: Time-decay half-life, in days with ``times`` (default 7) or in touches
            without (default 1).
        first_weight: Position-based share of the first touch.
        last_weight: Position-based share of the last touch.

    Returns:
        One row per channel, most credited first (ties by channel): ``channel`` (object),
        ``conversions`` (float64, attributed conversions), ``share`` (float64, of all
        conversions; NaN when there are none), ``touched_journeys`` (float64, journeys,
        converting or not, whose path includes the channel), ``touched_conversions``
        (float64, conversions of those journeys), ``value`` (float64, attributed value, only
        with ``value``) and, for ``markov`` only, ``removal_effect`` (float64).

    Raises:
        ValidationError: An unknown model, a missing column, a negative or missing count, an
            empty path or touch, times that do not match the touches, or weights outside
            0..1.

    Examples:
        >>> paths = pd.DataFrame({
        ...     "path": ["search > email > direct", "email", "search > direct"],
        ...     "total_conversions": [2, 1, 0],
        ...     "total_null": [3, 4, 5],
        ... })
        >>> attribution(paths, "linear")[["channel", "conversions", "share"]].round(4)
          channel  conversions   share
        0   email       1.6667  0.5556
        1  direct       0.6667  0.2222
        2  search       0.6667  0.2222
        >>> round(float(attribution(paths, "shapley")["conversions"].sum()), 9)
        3.0

    References:
        Anderl, E., Becker, I., von Wangenheim, F., & Schumann, J. H. (2016). Mapping the
        customer journey: Lessons learned from graph-based online attribution modeling.
        International Journal of Research in Marketing, 33(3), 457-474.
        Zhao, K., Mahboobi, S. H., & Bagheri, S. R. (2018). Shapley value methods for
        attribution modeling in online advertising. arXiv:1804.05327.
        Google Analytics Help, "Attribution models" (first/last interaction, linear,
        position based 40/20/40, time decay with a 7-day half-life).
    """
    if model not in ATTRIBUTION_MODELS:
        raise ValidationError("model", model, f"must be one of {list(ATTRIBUTION_MODELS)}")
    _check_weights(first_weight, last_weight, half_life)
    journeys = _journeys(
        paths,
        path=path,
        conversions=conversions,
        nulls=nulls,
        value=value,
        separator=separator,
        times=times if model == "time_decay" else None,
    )
    return _attribute(
        journeys,
        model,
        half_life=half_life,
        first_weight=first_weight,
        last_weight=last_weight,
    )


def _check_weights(first_weight: float, last_weight: float, half_life: float | None) -> None:
    """Check the position-based weights and the time-decay half-life before any work."""
    if half_life is not None and not (np.isfinite(half_life) and half_life > 0):
        raise ValidationError("half_life", half_life, "must be a positive number")
    for name, weight in (("first_weight", first_weight), ("last_weight", last_weight)):
        if not (np.isfinite(weight) and 0 <= weight <= 1):
            raise ValidationError(name, weight, "must be between 0 and 1")
    if first_weight + last_weight > 1 + 1e-12:
        raise ValidationError(
            "last_weight",
            last_weight,
            f"first_weight + last_weight must be at most 1, not {first_weight + last_weight}",
        )


def _attribute(
    journeys: _Journeys,
    model: str,
    *,
    half_life: float | None,
    first_weight: float,
    last_weight: float,
) -> pd.DataFrame:
    effect = None
    if model == "markov":
        chain = _markov(journeys)
        credit = chain.removal_effects["conversions"].to_numpy()
        effect = chain.removal_effects["removal_effect"].to_numpy()
        value = None
        if journeys.value is not None:
            total_effect = effect.sum()
            share = effect / total_effect if total_effect > 0 else np.zeros_like(effect)
            value = journeys.value.sum() * share
    elif model == "shapley":
        credit, value = _shapley(journeys)
    else:
        weights = _touch_weights(
            journeys,
            model,
            half_life=half_life,
            first_weight=first_weight,
            last_weight=last_weight,
        )
        credit, value = _per_channel(journeys, weights)
    touched_journeys, touched_conversions = _touched(journeys)
    # An empty frame's bincounts come back as integers; the columns are floats.
    credit = np.asarray(credit, dtype=np.float64)
    total = journeys.conversions.sum()
    columns: dict[str, Any] = {
        "channel": pd.Index(journeys.channels, dtype=object),
        "conversions": credit,
        "share": credit / total if total > 0 else np.full(credit.size, np.nan),
        "touched_journeys": np.asarray(touched_journeys, dtype=np.float64),
        "touched_conversions": np.asarray(touched_conversions, dtype=np.float64),
    }
    if value is not None:
        columns["value"] = np.asarray(value, dtype=np.float64)
    if effect is not None:
        columns["removal_effect"] = effect
    result = pd.DataFrame(columns)
    # Most credited first; ties keep the channel order (the frame is sorted by channel).
    order = np.argsort(-np.round(credit, 9), kind="stable")
    return result.iloc[order].reset_index(drop=True)


def attribution_table(
    paths: pd.DataFrame,
    models: Iterable[str] = ATTRIBUTION_MODELS,
    *,
    path: Hashable = "path",
    conversions: Hashable = "total_conversions",
    nulls: Hashable | None = "total_null",
    separator: str = " > ",
    times: Hashable | None = None,
    half_life: float | None = None,
    first_weight: float = 0.4,
    last_weight: float = 0.4,
) -> pd.DataFrame:
    """Attributed conversions of every channel under several models, side by side.

    Args:
        paths: One row per path or per journey; see :func:`attribution`.
        models: The models to compare, in column order (default: all of them).
        path: Column of paths: strings joined by ``separator`` or lists of channels.
        conversions: Column of conversions per row.
        nulls: Column of journeys per row that did not convert; ``None`` for none.
        separator: What joins the channels of a path string.
        times: Optional column of touch times before the conversion (``time_decay``).
        half_life: Time-decay half-life (see :func:`attribution`).
        first_weight: Position-based share of the first touch.
        last_weight: Position-based share of the last touch.

    Returns:
        One row per channel, ordered by the first model's credit (most first, ties by
        channel): ``channel`` (object), then one float64 column per model, named after it,
        with the conversions that model attributes to the channel. Each model column sums to
        the conversions.

    Raises:
        ValidationError: As :func:`attribution`, or no models.

    Examples:
        >>> paths = pd.DataFrame({"path": ["a > b", "b"], "total_conversions": [2, 1],
        ...                       "total_null": [1, 1]})
        >>> attribution_table(paths, ["first_touch", "last_touch", "shapley"])
          channel  first_touch  last_touch  shapley
        0       a          2.0         0.0      1.0
        1       b          1.0         3.0      2.0
    """
    chosen = [models] if isinstance(models, str) else list(models)
    if not chosen:
        raise ValidationError("models", chosen, "must name at least one model")
    for model in chosen:
        if model not in ATTRIBUTION_MODELS:
            raise ValidationError("models", model, f"must be one of {list(ATTRIBUTION_MODELS)}")
    _check_weights(first_weight, last_weight, half_life)
    journeys = _journeys(
        paths,
        path=path,
        conversions=conversions,
        nulls=nulls,
        value=None,
        separator=separator,
        times=times if "time_decay" in chosen else None,
    )
    table = pd.DataFrame({"channel": pd.Index(journeys.channels, dtype=object)})
    for model in chosen:
        result = _attribute(
            journeys,
            model,
            half_life=half_life,
            first_weight=first_weight,
            last_weight=last_weight,
        )
        table[model] = (
            result.set_index("channel")["conversions"].reindex(table["channel"]).to_numpy()
        )
    order = np.argsort(-np.round(table[chosen[0]].to_numpy(), 9), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def _conversion_mask(df: pd.DataFrame, conversion: Any, kind: Hashable) -> np.ndarray:
    """Which rows are conversion events."""
    if isinstance(conversion, pd.Series | np.ndarray) and len(conversion) == len(df):
        mask = np.asarray(conversion)
        if mask.dtype != bool:
            raise ValidationError(
                "conversion", conversion.dtype, "a mask of rows must hold booleans"
            )
        return mask
    criteria = conversion if isinstance(conversion, Mapping) else {kind: conversion}
    if not criteria:
        raise ValidationError("conversion", conversion, "must name at least one column")
    mask = np.ones(len(df), dtype=bool)
    for column, wanted in criteria.items():
        series = _require_column(df, column, "conversion")
        if isinstance(wanted, list | tuple | set | frozenset):
            mask &= series.isin(list(wanted)).to_numpy()
        else:
            mask &= (series == wanted).fillna(False).to_numpy(dtype=bool)
    return mask


def _lookback_ns(lookback: Any, is_datetime: bool) -> int | None:
    if lookback is None:
        return None
    if is_datetime:
        try:
            delta = pd.Timedelta(lookback)
        except (TypeError, ValueError):
            raise ValidationError(
                "lookback", lookback, "must be a timedelta or a string such as '30D'"
            ) from None
        if not delta >= pd.Timedelta(0):  # also rejects NaT
            raise ValidationError("lookback", lookback, "must be a non-negative duration")
        return int(delta.value)
    if not isinstance(lookback, int | float | np.integer | np.floating) or not (
        np.isfinite(lookback) and lookback >= 0
    ):
        raise ValidationError(
            "lookback", lookback, "must be a non-negative number for numeric times"
        )
    return int(lookback)


def conversion_paths(
    interactions: pd.DataFrame,
    *,
    conversion: Any = "purchase",
    kind: Hashable = "kind",
    customer: Hashable = "customer_id",
    channel: Hashable = "channel",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
    value: Hashable | None = None,
    lookback: Any = "30D",
) -> pd.DataFrame:
    """Build one path per journey from interactions: the touches that led to each conversion.

    Conversion events (rows matching ``conversion``) end journeys; every other row is a touch
    on its ``channel``. Each conversion closes its customer's journey made of the touches since
    the previous conversion, keeping those within ``lookback`` before it. The touches after a
    customer's last conversion (or all of them, for a customer who never converted) form a
    journey that did not convert, a null path, kept within ``lookback`` before its last touch.
    Events are ordered by the journey event-log rule (customer, time, ``order``); a touch at
    the same moment as a conversion counts before it.

    Args:
        interactions: One row per event, e.g. ``ws.interactions()``.
        conversion: Which rows are conversions: a value of the ``kind`` column (default
            ``"purchase"``), a mapping ``{column: value}`` whose conditions must all hold (a
            list or set as the value matches any of its items), or a boolean mask aligned
            with the rows.
        kind: The column a plain ``conversion`` value is looked up in.
        customer: Column naming the customer. Anonymous rows (no customer) raise; drop them
            first.
        channel: Column naming a touch's channel (may be missing on conversion rows only).
        time: Column of event times (datetimes or numbers).
        order: Optional column that orders events sharing a timestamp.
        value: Optional column of conversion value (revenue), read on the conversion rows.
        lookback: How far before the journey's end a touch still counts: a timedelta or a
            string such as ``"30D"`` for datetimes, a number for numeric times, ``None`` for
            no limit.

    Returns:
        One row per journey, by customer and then in time order: the customer column
        (labels), ``journey`` (int64, 0-based number of the journey within its customer),
        ``path`` (object, list of channel labels in time order; empty for a conversion with
        no touch in the lookback), ``time_before`` (object, list of float64, each touch's
        time before the journey's end: days for datetime times, the time column's own units
        for numbers), ``n_touches`` (int64), ``n_expired`` (int64, touches since the previous
        conversion that fell outside the lookback and are not in the path), ``started_at``
        (first touch in the path; NaT/NaN when empty), ``ended_at`` (the conversion, or the
        last touch of a null path), ``converted`` (bool), ``total_conversions`` (int64, 1 or
        0), ``total_null`` (int64, 0 or 1) and, with ``value``, ``conversion_value``
        (float64, 0 for null paths). The counts make the frame ready for :func:`attribution`
        (drop the empty paths first) and :func:`aggregate_paths`.

    Raises:
        ValidationError: A missing column, a missing customer, time or touch channel, a
            missing conversion value, or a bad lookback.

    Examples:
        >>> events = pd.DataFrame({
        ...     "customer_id": ["a", "a", "a", "b"],
        ...     "occurred_at": pd.to_datetime(
        ...         ["2025-01-01", "2025-01-03", "2025-01-04", "2025-01-02"], utc=True),
        ...     "channel": ["search", "email", "web", "social"],
        ...     "kind": ["visit", "email", "purchase", "visit"],
        ... })
        >>> conversion_paths(events)[["customer_id", "path", "time_before", "converted"]]
          customer_id             path time_before  converted
        0           a  [search, email]  [3.0, 1.0]       True
        1           b         [social]       [0.0]      False
    """
    df = interactions
    if not isinstance(df, pd.DataFrame):
        raise ValidationError("interactions", type(df).__name__, "must be a pandas DataFrame")
    log, conv, channel_labels = _sorted_events(
        df,
        conversion=conversion,
        kind=kind,
        customer=customer,
        channel=channel,
        time=time,
        order=order,
    )
    values = _conversion_values(df, value, log, conv) if value is not None else None
    n = log.n_events
    new = np.ones(n, dtype=bool)
    new[1:] = (log.case[1:] != log.case[:-1]) | conv[:-1]
    journey = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    n_journeys = starts.size
    last = np.r_[starts[1:] - 1, n - 1].astype(np.int64) if n else starts
    converted = conv[last]
    ended = log.time[last]
    window = _lookback_ns(lookback, log.is_datetime)
    touch = ~conv
    age = ended[journey] - log.time
    kept = touch if window is None else touch & (age <= window)
    n_touches = np.bincount(journey[kept], minlength=n_journeys).astype(np.int64)
    n_expired = np.bincount(journey[touch & ~kept], minlength=n_journeys).astype(np.int64)
    first_kept = np.cumsum(n_touches) - n_touches
    has_touch = n_touches > 0
    started = np.zeros(n_journeys, dtype=np.int64)
    started[has_touch] = log.time[kept][first_kept[has_touch]]
    journey_case = log.case[starts]
    scale = _NS_PER_DAY if log.is_datetime else 1
    result = pd.DataFrame(
        {
            customer: log.cases[journey_case],
            "journey": np.arange(n_journeys, dtype=np.int64)
            - np.searchsorted(journey_case, journey_case, side="left"),
            "path": _lists(np.asarray(channel_labels, dtype=object)[log.activity[kept]], n_touches),
            "time_before": _lists(age[kept] / scale, n_touches),
            "n_touches": n_touches,
            "n_expired": n_expired,
            "started_at": _times(log, started, has_touch),
            "ended_at": _times(log, ended, np.ones(n_journeys, dtype=bool)),
            "converted": converted,
            "total_conversions": converted.astype(np.int64),
            "total_null": (~converted).astype(np.int64),
        }
    )
    if values is not None:
        result["conversion_value"] = np.where(converted, values[last], 0.0)
    return result


def _sorted_events(
    df: pd.DataFrame,
    *,
    conversion: Any,
    kind: Hashable,
    customer: Hashable,
    channel: Hashable,
    time: Hashable,
    order: Hashable | None,
) -> tuple[EventLog, np.ndarray, pd.Index]:
    """Sort the interactions into an event log whose activity is the channel code.

    Returns the log, the conversion mask over its sorted events and the channel labels.
    """
    is_conversion = _conversion_mask(df, conversion, kind)
    channel_series = _require_column(df, channel, "channel")
    _no_missing(df, channel_series.isna().to_numpy() & ~is_conversion, "channel", channel)
    for field, name in (("customer", customer), ("time", time), ("order", order)):
        if name is not None:
            _no_missing(df, _require_column(df, name, field).isna().to_numpy(), field, name)
    channel_codes, channel_labels = _channel_codes(channel_series)
    n_channels = len(channel_labels)
    # One activity code per event: touches by channel, conversions after every channel, so
    # that the event-log tie rule puts a touch before a conversion at the same moment.
    frame: dict[str, Any] = {
        "case": df[customer].reset_index(drop=True),
        "activity": np.where(is_conversion, n_channels, channel_codes),
        "time": df[time].reset_index(drop=True),
    }
    if order is not None:
        frame["order"] = df[order].reset_index(drop=True)
    try:
        log = event_log(
            pd.DataFrame(frame),
            case="case",
            activity="activity",
            time="time",
            order="order" if order is not None else None,
        )
    except ValidationError as error:
        raise ValidationError("time", time, error.reason) from None
    codes = np.asarray(log.activities, dtype=np.int64)[log.activity]
    log = attrs.evolve(log, activity=codes, activities=pd.Index(range(n_channels + 1)))
    return log, codes == n_channels, channel_labels


def _no_missing(df: pd.DataFrame, missing: np.ndarray, field: str, name: Hashable) -> None:
    if missing.any():
        raise ValidationError(
            field,
            name,
            f"{int(missing.sum())} rows have no value (first at index "
            f"{_first_index(df, missing)!r}); filter or fill them first",
        )


def _conversion_values(
    df: pd.DataFrame, value: Hashable, log: EventLog, conv: np.ndarray
) -> np.ndarray:
    raw = _require_column(df, value, "value")
    if not pd.api.types.is_numeric_dtype(raw.dtype):
        raise ValidationError("value", value, f"must hold numbers, not {raw.dtype}")
    values = raw.to_numpy(dtype=np.float64, na_value=np.nan)[log.position]
    bad = conv & ~np.isfinite(values)
    if bad.any():
        raise ValidationError(
            "value",
            value,
            f"{int(bad.sum())} conversions have no value (first at index "
            f"{df.index[log.position[int(np.argmax(bad))]]!r}); fill them, e.g. with 0",
        )
    return np.asarray(values, dtype=np.float64)


def _lists(flat: np.ndarray, lengths: np.ndarray) -> pd.Series:
    """A column of lists: consecutive runs of ``flat`` of the given lengths."""
    # Slicing one Python list is several times faster than np.split and a tolist per part.
    items = flat.tolist()
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return pd.Series([items[a:b] for a, b in zip(starts, ends, strict=True)], dtype=object)


def _times(log: Any, ns: np.ndarray, present: np.ndarray) -> Any:
    """Times in the log's own kind (datetimes in its zone, or numbers), NaT/NaN where absent."""
    if log.is_datetime:
        stamps = pd.Series(log.as_times(ns.astype(np.int64)))
        return stamps.where(present)
    return np.where(present, ns.astype(np.float64), np.nan)


def _channel_codes(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64), pd.Index(series.cat.categories)
    codes, labels = pd.factorize(series, sort=True)
    return codes.astype(np.int64), pd.Index(labels)


def aggregate_paths(
    journeys: pd.DataFrame,
    *,
    path: Hashable = "path",
    conversions: Hashable = "total_conversions",
    nulls: Hashable | None = "total_null",
    value: Hashable | None = None,
    separator: str = " > ",
) -> pd.DataFrame:
    """Aggregate journeys into ChannelAttribution's format: one row per distinct path string.

    Touch times are not kept (they differ between journeys that share a path), so
    time-decay attribution with ``times`` needs the per-journey frame.

    Args:
        journeys: One row per journey (or per path), e.g. from :func:`conversion_paths`.
        path: Column of paths: lists of channels, or strings joined by ``separator``.
        conversions: Column of conversions per row.
        nulls: Column of journeys per row that did not convert; ``None`` for none.
        value: Optional column of conversion value per row.
        separator: What joins the channels in the path strings.

    Returns:
        One row per distinct path, sorted by path: ``path`` (object, channels joined by
        ``separator``), ``total_conversions`` (float64), ``total_null`` (float64) and, with
        ``value``, ``total_conversion_value`` (float64).

    Raises:
        ValidationError: As :func:`attribution`.

    Examples:
        >>> journeys = pd.DataFrame({
        ...     "path": [["search", "email"], ["search", "email"], ["web"]],
        ...     "total_conversions": [1, 0, 1],
        ...     "total_null": [0, 1, 0],
        ... })
        >>> aggregate_paths(journeys)
                     path  total_conversions  total_null
        0  search > email                1.0         1.0
        1             web                1.0         0.0
    """
    parsed = _journeys(
        journeys,
        path=path,
        conversions=conversions,
        nulls=nulls,
        value=value,
        separator=separator,
        times=None,
    )
    labels = pd.Series(np.asarray(parsed.channels, dtype=object)[parsed.code]).astype(str)
    if labels.str.contains(separator, regex=False).any():
        raise ValidationError(
            "separator", separator, "appears inside a channel name; choose another separator"
        )
    joined = labels.groupby(parsed.row, sort=True).agg(separator.join)
    frame = pd.DataFrame(
        {
            "path": joined.to_numpy(dtype=object),
            "total_conversions": parsed.conversions,
            "total_null": parsed.nulls,
        }
    )
    if parsed.value is not None:
        frame["total_conversion_value"] = parsed.value
    return frame.groupby("path", sort=True, as_index=False).sum()
