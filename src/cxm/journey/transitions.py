"""Transitions and variants: which step follows which, how often, how fast, and the paths taken.

A journey log is read as process mining reads an event log (van der Aalst 2016): each case's
events in time order, every pair of consecutive events a *directly-follows* edge ``a -> b``.
Counting the edges gives the directly-follows graph, dividing each edge's count by all edges
leaving its source gives the first-order Markov transition probabilities, and the time between
the two events gives each transition's duration. The first and last events give the start and
end activities, and a case's whole sequence of activities is its *variant*; a handful of
variants usually covers most cases. Every function takes a frame (sorted here, never trusted
to be in order: see :mod:`cxm.journey._events` for the tie rule) or an already-built
:class:`~cxm.journey._events.EventLog`, so one sort can serve several calls, and works on
integer codes: edges are ``source * n_activities + target``, counted with ``np.bincount``,
and the duration quantiles are read at offsets into one sort of the durations by edge.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from cxm.exceptions import ValidationError
from cxm.journey._events import EventLog, event_log
from cxm.metrics.feedback import DEFAULT_MIN_N, wilson_interval

__all__ = [
    "END_STATE",
    "START_STATE",
    "ProcessSummary",
    "end_activities",
    "process_summary",
    "start_activities",
    "transition_matrix",
    "transitions",
    "variants",
]

START_STATE = "(start)"
"""Label of the pseudo-state every case leaves from in :func:`transition_matrix`."""

END_STATE = "(end)"
"""Label of the pseudo-state every case ends in in :func:`transition_matrix`."""

_SEPARATOR = " > "

_RADIX_LIMIT = 1 << 16  # numpy's stable argsort is a linear radix sort for 16-bit keys


def _as_log(
    df: pd.DataFrame | EventLog,
    case: Hashable,
    activity: Hashable,
    time: Hashable,
    order: Hashable | None,
) -> EventLog:
    if isinstance(df, EventLog):
        return df
    return event_log(df, case=case, activity=activity, time=time, order=order)


def _check_min_n(min_n: Any) -> int:
    if isinstance(min_n, bool) or not isinstance(min_n, int | np.integer) or min_n < 0:
        raise ValidationError("min_n", min_n, "must be a whole number >= 0")
    return int(min_n)


def _stable_group(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Stable argsort of small non-negative codes (linear radix sort when they fit 16 bits)."""
    if n_codes <= _RADIX_LIMIT:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    return np.argsort(codes, kind="stable")


_INT64_MAX = int(np.iinfo(np.int64).max)


def _packed_sort(groups: np.ndarray, n_groups: int, values: np.ndarray, span: int) -> np.ndarray:
    """Sorted ``group * span + value`` for int ``values`` in ``0 .. span - 1`` (fits int64)."""
    packed = groups * span
    packed += values
    packed.sort()
    return packed


def _distinct(ordered: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array."""
    if len(ordered) == 0:
        return ordered
    keep = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _sort_within(
    groups: np.ndarray, n_groups: int, values: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """``values`` sorted by group code, then ascending within each group.

    Whole numbers are packed with their group into one int64 (after dividing by their
    greatest common step when needed to fit) and sorted as one array, which is several
    times faster than an argsort; other values fall back to an argsort and a stable sort by
    group.
    """
    if values.dtype.kind == "i" and len(values) and int(values.min()) >= 0:
        step = 1
        span = int(values.max()) + 1
        if n_groups * span > _INT64_MAX:
            step = int(np.gcd.reduce(values)) or 1
            span = (span - 1) // step + 1
        if n_groups * span <= _INT64_MAX:
            scaled = values // step if step > 1 else values
            packed = _packed_sort(groups, n_groups, scaled, span)
            offsets = np.repeat(np.arange(n_groups, dtype=np.int64) * span, counts)
            packed -= offsets
            if step > 1:
                packed *= step
            return packed
    by_value = np.argsort(values)
    return np.asarray(values[by_value[_stable_group(groups[by_value], n_groups)]])


def _quantiles(
    values: np.ndarray, starts: np.ndarray, sizes: np.ndarray, q: float, whole: bool
) -> np.ndarray:
    """Quantile ``q`` of every group of sorted ``values[start : start + size]`` (size >= 1).

    Linear interpolation between the two nearest ranks, numpy's and pandas' default (Hyndman
    & Fan 1996, definition 7). With ``whole`` (nanoseconds) the result is int64, exact where
    no interpolation is needed and rounded to the nearest whole number otherwise; else float64.
    """
    h = (sizes - 1) * q
    below = np.floor(h).astype(np.int64)
    above = np.minimum(below + 1, sizes - 1)
    low = values[starts + below]
    high = values[starts + above]
    fraction = h - below
    if not whole:
        low = low.astype(np.float64)
        return np.asarray(low + fraction * (high.astype(np.float64) - low))
    return np.asarray(low + np.round(fraction * (high - low).astype(np.float64)).astype(np.int64))


def _durations(log: EventLog, values: np.ndarray) -> Any:
    """Durations as ``timedelta64[ns]`` for datetime logs, float64 for numeric ones."""
    if log.is_datetime:
        return np.asarray(values, dtype=np.int64).astype("timedelta64[ns]")
    return np.asarray(values, dtype=np.float64)


def _activity_categorical(log: EventLog, codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=log.activities)


def transitions(
    df: pd.DataFrame | EventLog,
    *,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """Count the directly-follows transitions between activities, with their timing.

    Within each case (sorted by time and the tie rule of :mod:`cxm.journey._events`), every
    event and the next one form a transition ``source -> target``; a case of ``k`` events has
    ``k - 1``, so the counts add up to events minus cases. Repeats are kept (``A -> A`` is an
    edge), as in process mining's directly-follows graph (van der Aalst 2016, sec. 6.2; the
    counts equal pm4py's ``discover_dfg`` on the same order of events). ``share_of_source`` is
    the first-order Markov estimate ``P(next = target | now = source)`` = count over all
    transitions leaving the source (cases that end at the source are not counted in it; see
    :func:`transition_matrix` with ``start_end=True`` for that), with a Wilson interval.

    Args:
        df: One row per event, or an :class:`~cxm.journey._events.EventLog` (the column
            arguments are then ignored).
        case: Column naming the case (the customer, the ticket).
        activity: Column naming the step (touchpoint, stage, activity).
        time: Column of datetimes or numbers.
        order: Optional column that orders events sharing a timestamp (e.g. an event index).
        min_n: Transitions seen fewer times are flagged ``low_n`` (still reported).

    Returns:
        One row per edge seen at least once, sorted by ``count`` descending, then by source
        and target in activity order (category order, else sorted labels), columns:

        - ``source``, ``target`` (category of the activity labels): the edge;
        - ``count`` (int64): how many times ``target`` directly followed ``source``;
        - ``cases`` (int64): distinct cases with the edge at least once;
        - ``outgoing`` (int64): all transitions leaving ``source`` (the ``n`` of the share);
        - ``share_of_source`` (float64): ``count / outgoing``, 0..1;
        - ``ci_low``, ``ci_high`` (float64): 95% Wilson interval of the share;
        - ``duration_median``, ``duration_mean``, ``duration_p90`` (timedelta64[ns], or
            float64 when times are numbers): time from the source event to the target
            event; quantiles interpolate linearly (numpy's default), rounded to the
            nanosecond;
        - ``low_n`` (bool): ``count < min_n``.

    Raises:
        ValidationError: A column is missing or has missing values, times are neither
            datetimes nor numbers, or ``min_n`` is not a whole number >= 0.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({
        ...     "customer_id": ["a", "a", "a", "b", "b"],
        ...     "touchpoint": ["web", "call", "shop", "web", "shop"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 10:00",
        ...         "2024-01-02 10:00", "2024-01-03 09:00", "2024-01-03 09:30"]),
        ... })
        >>> table = transitions(events)
        >>> table[["source", "target", "count", "share_of_source", "duration_median"]]
          source target  count  share_of_source duration_median
        0   call   shop      1              1.0 1 days 00:00:00
        1    web   call      1              0.5 0 days 01:00:00
        2    web   shop      1              0.5 0 days 00:30:00

    References:
        van der Aalst, W. M. P. (2016). Process Mining: Data Science in Action (2nd ed.),
        Springer, sec. 6.2 (directly-follows graphs). Berti, A., van Zelst, S. J., & van der
        Aalst, W. M. P. (2019). Process Mining for Python (PM4Py). arXiv:1905.06169.
    """
    min_n = _check_min_n(min_n)
    log = _as_log(df, case, activity, time, order)
    n_act = len(log.activities)
    n_edges = n_act * n_act
    source_event = np.flatnonzero(log.follows())
    source = log.activity[source_event]
    target = log.activity[source_event + 1]
    edge = source * n_act + target
    duration = log.time[source_event + 1] - log.time[source_event]
    edge_codes: np.ndarray | None = None
    if n_edges > 4 * len(edge) + (1 << 20):
        # Many activities (pages, URLs): number only the edges that occur, so no table is
        # sized by activities squared.
        edge_codes = _distinct(np.sort(edge))
        edge = np.searchsorted(edge_codes, edge)
        n_edges = len(edge_codes)
    count = np.bincount(edge, minlength=n_edges)

    # Distinct cases per edge: sort the (edge, case) pairs and count the distinct ones.
    pairs = _packed_sort(edge, n_edges, log.case[source_event], log.n_cases)
    cases = np.bincount(_distinct(pairs) // max(log.n_cases, 1), minlength=n_edges)
    del pairs
    sorted_duration = _sort_within(edge, n_edges, duration, count)
    total = np.bincount(edge, weights=duration.astype(np.float64), minlength=n_edges)

    seen = np.flatnonzero(count)
    sizes = count[seen]
    starts = np.cumsum(count)[seen] - sizes
    cases = cases[seen]
    median = _quantiles(sorted_duration, starts, sizes, 0.5, log.is_datetime)
    p90 = _quantiles(sorted_duration, starts, sizes, 0.9, log.is_datetime)
    mean = total[seen] / sizes
    if log.is_datetime:
        mean = np.round(mean).astype(np.int64)
    outgoing = np.bincount(source, minlength=n_act)
    if edge_codes is not None:
        seen = edge_codes[seen]
    seen_source = seen // n_act
    seen_target = seen % n_act
    n = outgoing[seen_source]
    ci_low, ci_high = wilson_interval(sizes, n)
    # Count descending, then the edge code: source, then target, in activity order.
    rank = np.lexsort((seen, -sizes))
    table = pd.DataFrame(
        {
            "source": _activity_categorical(log, seen_source[rank]),
            "target": _activity_categorical(log, seen_target[rank]),
            "count": sizes[rank].astype(np.int64),
            "cases": cases[rank].astype(np.int64),
            "outgoing": n[rank].astype(np.int64),
            "share_of_source": sizes[rank] / n[rank],
            "ci_low": ci_low[rank],
            "ci_high": ci_high[rank],
            "duration_median": _durations(log, median[rank]),
            "duration_mean": _durations(log, mean[rank]),
            "duration_p90": _durations(log, p90[rank]),
            "low_n": sizes[rank] < min_n,
        }
    )
    return table


def _boundary_activities(log: EventLog, events: np.ndarray) -> pd.DataFrame:
    n_act = len(log.activities)
    counts = np.bincount(log.activity[events], minlength=n_act)
    seen = np.flatnonzero(counts)
    cases = counts[seen]
    rank = np.lexsort((seen, -cases))
    n_cases = log.n_cases
    low, high = wilson_interval(cases, n_cases)
    return pd.DataFrame(
        {
            "activity": _activity_categorical(log, seen[rank]),
            "cases": cases[rank].astype(np.int64),
            "share": cases[rank] / n_cases,
            "ci_low": low[rank],
            "ci_high": high[rank],
        }
    )


def start_activities(
    df: pd.DataFrame | EventLog,
    *,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
) -> pd.DataFrame:
    """Count the activities cases start with: where journeys begin.

    Args:
        df: One row per event, or an :class:`~cxm.journey._events.EventLog`.
        case: Column naming the case.
        activity: Column naming the step.
        time: Column of datetimes or numbers.
        order: Optional column that orders events sharing a timestamp.

    Returns:
        One row per activity that starts at least one case, sorted by ``cases`` descending,
        then in activity order, columns:

        - ``activity`` (category of the activity labels);
        - ``cases`` (int64): cases whose first event is this activity;
        - ``share`` (float64): ``cases`` over all cases, 0..1 (sums to 1);
        - ``ci_low``, ``ci_high`` (float64): 95% Wilson interval of the share.

    Raises:
        ValidationError: As :func:`transitions` does.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({"customer_id": [1, 1, 2, 3], "touchpoint": ["web", "shop",
        ...     "web", "call"], "occurred_at": [1, 2, 1, 5]})
        >>> start_activities(events)[["activity", "cases", "share"]]
          activity  cases     share
        0      web      2  0.666667
        1     call      1  0.333333

    References:
        van der Aalst, W. M. P. (2016). Process Mining: Data Science in Action (2nd ed.),
        Springer. pm4py ``get_start_activities``.
    """
    log = _as_log(df, case, activity, time, order)
    return _boundary_activities(log, log.first)


def end_activities(
    df: pd.DataFrame | EventLog,
    *,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
) -> pd.DataFrame:
    """Count the activities cases end with: where journeys stop (for now).

    Args:
        df: One row per event, or an :class:`~cxm.journey._events.EventLog`.
        case: Column naming the case.
        activity: Column naming the step.
        time: Column of datetimes or numbers.
        order: Optional column that orders events sharing a timestamp.

    Returns:
        One row per activity that ends at least one case, sorted by ``cases`` descending,
        then in activity order, columns:

        - ``activity`` (category of the activity labels);
        - ``cases`` (int64): cases whose last event is this activity;
        - ``share`` (float64): ``cases`` over all cases, 0..1 (sums to 1);
        - ``ci_low``, ``ci_high`` (float64): 95% Wilson interval of the share.

    Raises:
        ValidationError: As :func:`transitions` does.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({"customer_id": [1, 1, 2, 3], "touchpoint": ["web", "shop",
        ...     "web", "call"], "occurred_at": [1, 2, 1, 5]})
        >>> end_activities(events)[["activity", "cases"]]
          activity  cases
        0     call      1
        1     shop      1
        2      web      1

    References:
        van der Aalst, W. M. P. (2016). Process Mining: Data Science in Action (2nd ed.),
        Springer. pm4py ``get_end_activities``.
    """
    log = _as_log(df, case, activity, time, order)
    return _boundary_activities(log, log.last)


def transition_matrix(
    df: pd.DataFrame | EventLog,
    *,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
    start_end: bool = False,
) -> pd.DataFrame:
    """The first-order Markov transition matrix between activities.

    Entry ``[a, b]`` is the share of transitions leaving ``a`` that go to ``b`` (the
    ``share_of_source`` of :func:`transitions`). Without pseudo-states a row is NaN for an
    activity that is never followed (it only ever ends cases). With ``start_end=True`` the
    chain is closed, as in Markov-chain journey attribution (Anderl et al. 2016): a row
    ``(start)`` holds where cases begin (the start activities' shares), a column ``(end)``
    holds, for each activity, the share of its occurrences that end their case, and
    ``(end)`` is absorbing (``[(end), (end)] = 1``), so every row sums to 1.

    Args:
        df: One row per event, or an :class:`~cxm.journey._events.EventLog`.
        case: Column naming the case.
        activity: Column naming the step.
        time: Column of datetimes or numbers.
        order: Optional column that orders events sharing a timestamp.
        start_end: Add the ``(start)`` and ``(end)`` pseudo-states.

    Returns:
        A square float64 DataFrame, rows the current state and columns the next, over the
        activities that occur in the log, in activity order (with ``start_end``: ``(start)``
        first and ``(end)`` last, in both the rows and the columns). The matrix is dense:
        for thousands of activities (pages, URLs) prefer :func:`transitions`, which lists
        only the transitions that occur.

    Raises:
        ValidationError: As :func:`transitions` does, or with ``start_end`` an activity is
            itself labelled ``(start)`` or ``(end)``.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({"customer_id": [1, 1, 1, 2, 2], "touchpoint": ["web",
        ...     "web", "shop", "web", "call"], "occurred_at": [1, 2, 3, 1, 2]})
        >>> transition_matrix(events).round(2)
              call  shop   web
        call   NaN   NaN   NaN
        shop   NaN   NaN   NaN
        web   0.33  0.33  0.33
        >>> closed = transition_matrix(events, start_end=True)
        >>> closed.loc["(start)"].tolist(), closed.loc["shop"].tolist()
        ([0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0])

    References:
        Norris, J. R. (1997). Markov Chains. Cambridge University Press. Anderl, E., Becker,
        I., von Wangenheim, F., & Schumann, J. H. (2016). Mapping the customer journey:
        lessons learned from graph-based online attribution modeling. International Journal
        of Research in Marketing, 33(3), 457-474.
    """
    log = _as_log(df, case, activity, time, order)
    n_act = len(log.activities)
    source_event = np.flatnonzero(log.follows())
    present = np.flatnonzero(np.bincount(log.activity, minlength=n_act))
    labels = list(log.activities[present])
    # Rows and columns for the activities that occur only (unused categories drop out).
    slot = np.zeros(n_act, dtype=np.int64)
    slot[present] = np.arange(len(present))
    size = len(present)
    edge = slot[log.activity[source_event]] * size + slot[log.activity[source_event + 1]]
    counts = np.bincount(edge, minlength=size * size).reshape(size, size).astype(np.float64)
    if not start_end:
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = counts / counts.sum(axis=1, keepdims=True)
        return pd.DataFrame(matrix, index=pd.Index(labels), columns=pd.Index(labels))
    for state in (START_STATE, END_STATE):
        if state in labels:
            raise ValidationError("activity", state, "is reserved for a pseudo-state")
    full = np.zeros((size + 2, size + 2), dtype=np.float64)
    full[1:-1, 1:-1] = counts
    full[0, 1:-1] = np.bincount(log.activity[log.first], minlength=n_act)[present]
    full[1:-1, -1] = np.bincount(log.activity[log.last], minlength=n_act)[present]
    full[-1, -1] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = full / full.sum(axis=1, keepdims=True)
    states = pd.Index([START_STATE, *labels, END_STATE], dtype=object)
    return pd.DataFrame(matrix, index=states, columns=states)


def _dense_rank(key: np.ndarray, n_keys: int) -> np.ndarray:
    """Rank of every key among the distinct keys (``0, 1, ...`` in ascending order).

    Keys lie in ``0 .. n_keys - 1``; when that range is not much larger than the keys, a
    table of the keys present and its running count rank them in linear time, else a sort.
    """
    if n_keys <= 8 * len(key) + 1024:
        present = np.zeros(n_keys, dtype=bool)
        present[key] = True
        return np.asarray((np.cumsum(present) - 1)[key])
    ranked = np.argsort(key)
    ordered = key[ranked]
    fresh = np.zeros(len(key), dtype=np.int64)
    np.not_equal(ordered[1:], ordered[:-1], out=fresh[1:])
    ids = np.empty(len(key), dtype=np.int64)
    ids[ranked] = np.cumsum(fresh)
    return ids


def _variant_ids(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """Each case's variant as ``(length, id)``: equal pairs are equal activity sequences.

    Prefixes are numbered level by level, like the nodes of a trie: the prefix of length
    ``k + 1`` of a case is the pair (its prefix of length ``k``, its ``k + 1``-th activity),
    and the distinct pairs of a level, sorted, get ids ``0, 1, ...``. Sorting keeps the ids
    of a level in the lexicographic order of the prefixes' activity codes. The loop runs
    once per position (the longest case's length), each pass over the cases that long.
    """
    n_act = max(len(log.activities), 1)
    lengths = log.lengths
    n_cases = log.n_cases
    position = np.arange(log.n_events, dtype=np.int64) - log.bounds[log.case]
    longest = int(lengths.max()) if n_cases else 0
    by_level = _stable_group(position, longest)
    level_starts = np.r_[0, np.cumsum(np.bincount(position, minlength=longest))]
    prefix = np.zeros(n_cases, dtype=np.int64)
    for level in range(longest):
        events = by_level[level_starts[level] : level_starts[level + 1]]
        cases = log.case[events]
        key = prefix[cases] * n_act + log.activity[events]
        prefix[cases] = _dense_rank(key, (int(prefix.max(initial=0)) + 1) * n_act)
    return lengths, prefix


def _spell(
    log: EventLog, cases: np.ndarray, lengths: np.ndarray
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Each case's activity labels as a tuple and as a ``" > "``-joined string.

    Cases of one length are read as one (cases x length) matrix of codes, so the tuples and
    strings are built by ``map`` at C speed; the loop runs once per distinct length.
    """
    if len(cases) == 0:
        return [], []
    labels = np.asarray(log.activities, dtype=object)
    texts = np.asarray([str(label) for label in log.activities], dtype=object)
    by_length = np.argsort(lengths, kind="stable")
    ordered = lengths[by_length]
    edges = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])
    sequences: list[tuple[Any, ...]] = []
    paths: list[str] = []
    for low, high in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        length = int(ordered[low])
        first = log.bounds[cases[by_length[low:high]]]
        codes = log.activity[first[:, None] + np.arange(length)]
        if high - low >= 4 * length:
            # Many short sequences: one list per position, zipped into tuples in C.
            sequences.extend(
                zip(*(labels[codes[:, j]].tolist() for j in range(length)), strict=True)
            )
            paths.extend(
                map(
                    _SEPARATOR.join,
                    zip(*(texts[codes[:, j]].tolist() for j in range(length)), strict=True),
                )
            )
        else:
            # Few long sequences: slice one flat list.
            flat_labels = labels[codes.ravel()].tolist()
            flat_texts = texts[codes.ravel()].tolist()
            starts = range(0, codes.size, length)
            sequences.extend(tuple(flat_labels[i : i + length]) for i in starts)
            paths.extend(_SEPARATOR.join(flat_texts[i : i + length]) for i in starts)
    if len(cases) < 2:
        return sequences, paths
    back = np.empty(len(cases), dtype=np.int64)
    back[by_length] = np.arange(len(cases))
    pick = operator.itemgetter(*back.tolist())
    return list(pick(sequences)), list(pick(paths))


def variants(
    df: pd.DataFrame | EventLog,
    *,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
) -> pd.DataFrame:
    """Group cases by their variant: the exact sequence of activities they went through.

    Two cases share a variant when their activities, in event order (time, then the tie
    rule of :mod:`cxm.journey._events`), are the same sequence, repeats included; times do
    not matter. This is pm4py's ``get_variants`` on the same order of events.

    Args:
        df: One row per event, or an :class:`~cxm.journey._events.EventLog`.
        case: Column naming the case.
        activity: Column naming the step.
        time: Column of datetimes or numbers.
        order: Optional column that orders events sharing a timestamp.

    Returns:
        One row per variant, sorted by ``cases`` descending, then by ``length``, then by
        the sequence compared step by step in activity order, columns:

        - ``variant`` (object): the activity labels as a tuple;
        - ``path`` (str): the labels joined by ``" > "``;
        - ``length`` (int64): events per case;
        - ``cases`` (int64): cases with this variant;
        - ``share`` (float64): ``cases`` over all cases, 0..1;
        - ``cumulative_share`` (float64): running total of ``share`` down the table;
        - ``ci_low``, ``ci_high`` (float64): 95% Wilson interval of the share;
        - ``duration_median`` (timedelta64[ns], or float64 for numeric times): median time
            from a case's first event to its last, over the variant's cases.

    Raises:
        ValidationError: As :func:`transitions` does.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({"customer_id": [1, 1, 2, 2, 3], "touchpoint": ["web",
        ...     "shop", "web", "shop", "call"], "occurred_at": [1, 3, 2, 3, 4]})
        >>> variants(events)[["path", "length", "cases", "share", "duration_median"]]
                 path  length  cases     share  duration_median
        0  web > shop       2      2  0.666667              1.5
        1        call       1      1  0.333333              0.0

    References:
        van der Aalst, W. M. P. (2016). Process Mining: Data Science in Action (2nd ed.),
        Springer, sec. 5.2 (traces and variants). pm4py ``get_variants``.
    """
    log = _as_log(df, case, activity, time, order)
    n_cases = log.n_cases
    lengths, prefix = _variant_ids(log)
    variant_key = lengths * max(n_cases, 1) + prefix
    span = log.time[log.last] - log.time[log.first] if n_cases else log.time[:0]
    # Cases grouped by variant, each group's durations ascending (for the median).
    by_variant = np.lexsort((span, variant_key))
    keys = variant_key[by_variant]
    fresh = np.ones(n_cases, dtype=bool)
    fresh[1:] = keys[1:] != keys[:-1]
    group_starts = np.flatnonzero(fresh)
    sizes = np.diff(np.r_[group_starts, n_cases])
    median = _quantiles(span[by_variant], group_starts, sizes, 0.5, log.is_datetime)
    representative = by_variant[group_starts]
    # Most cases first; ties by length, then the sequence (keys are in that order).
    rank = np.argsort(-sizes, kind="stable")
    sizes, median, representative = sizes[rank], median[rank], representative[rank]
    rep_lengths = lengths[representative]
    sequences, paths = _spell(log, representative, rep_lengths)
    share = sizes / n_cases if n_cases else sizes.astype(np.float64)
    ci_low, ci_high = wilson_interval(sizes, n_cases)
    variant_column = np.empty(len(sequences), dtype=object)
    variant_column[:] = sequences
    return pd.DataFrame(
        {
            "variant": variant_column,
            "path": pd.array(paths, dtype="str"),
            "length": rep_lengths.astype(np.int64),
            "cases": sizes.astype(np.int64),
            "share": share,
            "cumulative_share": np.cumsum(share),
            "ci_low": ci_low,
            "ci_high": ci_high,
            "duration_median": _durations(log, median),
        }
    )


@attrs.frozen(eq=False)
class ProcessSummary:
    """Transitions, start and end activities and variants of one log, from one sort.

    Attributes:
        transitions: As :func:`transitions` returns.
        start_activities: As :func:`start_activities` returns.
        end_activities: As :func:`end_activities` returns.
        variants: As :func:`variants` returns.
        n_events: Events in the log.
        n_cases: Cases in the log.
        n_activities: Distinct activities that occur.
    """

    transitions: pd.DataFrame
    start_activities: pd.DataFrame
    end_activities: pd.DataFrame
    variants: pd.DataFrame
    n_events: int
    n_cases: int
    n_activities: int

    def __repr__(self) -> str:
        return (
            f"ProcessSummary({self.n_events:,} events, {self.n_cases:,} cases, "
            f"{self.n_activities} activities, {len(self.transitions)} transitions, "
            f"{len(self.variants)} variants)"
        )


def process_summary(
    df: pd.DataFrame | EventLog,
    *,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
    min_n: int = DEFAULT_MIN_N,
) -> ProcessSummary:
    """Discover a log's process in one call: transitions, start and end activities, variants.

    The frame is sorted once (:func:`cxm.journey._events.event_log`) and the four tables
    computed from the same log; see each function for its columns and method.

    Args:
        df: One row per event, or an :class:`~cxm.journey._events.EventLog`.
        case: Column naming the case.
        activity: Column naming the step.
        time: Column of datetimes or numbers.
        order: Optional column that orders events sharing a timestamp.
        min_n: Transitions seen fewer times are flagged ``low_n``.

    Returns:
        The four tables and the log's size.

    Raises:
        ValidationError: As :func:`transitions` does.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({"customer_id": [1, 1, 2, 2, 3], "touchpoint": ["web",
        ...     "shop", "web", "shop", "call"], "occurred_at": [1, 3, 2, 3, 4]})
        >>> process_summary(events)
        ProcessSummary(5 events, 3 cases, 3 activities, 1 transitions, 2 variants)

    References:
        van der Aalst, W. M. P. (2016). Process Mining: Data Science in Action (2nd ed.),
        Springer.
    """
    min_n = _check_min_n(min_n)
    log = _as_log(df, case, activity, time, order)
    return ProcessSummary(
        transitions=transitions(log, min_n=min_n),
        start_activities=start_activities(log),
        end_activities=end_activities(log),
        variants=variants(log),
        n_events=log.n_events,
        n_cases=log.n_cases,
        n_activities=int(np.count_nonzero(np.bincount(log.activity))) if log.n_events else 0,
    )
