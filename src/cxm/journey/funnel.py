"""Funnels: how many customers get from a first step to each later step, and how fast.

A funnel is a list of steps (touchpoints, or any condition on an event's columns). Every
event of step 1 starts an *attempt*; the attempt reaches step ``k`` when an event of step ``k``
follows its step ``k - 1`` event within the conversion window counted from the attempt's start.
A customer's result is the furthest step over all their attempts, so a customer who tried three
times and got through once counts as converted, once. The semantics are PostHog's (funnel
steps in sequential, strict or any order, conversion window, exclusion steps, first-touch
breakdown; https://posthog.com/docs/product-analytics/funnels and its funnel engine
``funnel-udf/src/steps.rs``), written out exactly in :func:`funnel`'s docstring. The work is
vectorised over the sorted event log of :func:`cxm.journey._events.event_log`: one boolean
mask per step, then, step by step, one ``np.searchsorted`` finds for every attempt at once the
next event of the step; the loop is over the handful of steps, never over customers or events.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd
from scipy import special

from cxm.exceptions import ValidationError
from cxm.journey._events import EventLog, _column, event_log
from cxm.metrics.feedback import _z, wilson_interval

__all__ = ["Exclusion", "FunnelResult", "compare_funnels", "funnel"]

FunnelMode = Literal["ordered", "strict", "any_order"]
_MODES = ("ordered", "strict", "any_order")
_NO_EVENT = np.iinfo(np.int64).max


@attrs.frozen
class Exclusion:
    """An exclusion step: an event that disqualifies an attempt between two of its steps.

    Attributes:
        step: The excluded event, a step specification like those of ``steps`` (an activity
            value, or a mapping ``{column: value or list of values}``).
        from_step: The exclusion starts after the attempt's event of this step (1-based).
        to_step: ... and ends before its event of this step (1-based, after ``from_step``;
            ``None``: the last step).
    """

    step: Any
    from_step: int = 1
    to_step: int | None = None


@attrs.frozen
class _Step:
    name: str
    conditions: tuple[tuple[Hashable, tuple[Any, ...]], ...]


def _step(spec: Any, activity: Hashable, field: str, df: pd.DataFrame) -> _Step:
    """Parse one step specification: a value, a mapping, or a ``(name, spec)`` pair."""
    name: str | None = None
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        name, spec = spec
    if isinstance(spec, Mapping):
        if not spec:
            raise ValidationError(field, spec, "an empty mapping names no event")
        conditions = []
        for column, value in spec.items():
            if column not in df.columns:
                raise ValidationError(
                    field,
                    spec,
                    f"names {column!r}, which is not a column of the frame "
                    f"(columns: {list(df.columns)[:20]})",
                )
            values = tuple(value) if isinstance(value, list | tuple | set | frozenset) else (value,)
            if not values:
                raise ValidationError(field, spec, f"gives no value for {column!r}")
            conditions.append((column, values))
        label = ", ".join(
            f"{column}={values[0]}" if len(values) == 1 else f"{column} in {list(values)}"
            for column, values in conditions
        )
        return _Step(name if name is not None else label, tuple(conditions))
    if isinstance(spec, list | set | dict) or spec is None:
        raise ValidationError(
            field,
            spec,
            "must be an activity value, a mapping {column: value or list of values}, "
            "or a (name, spec) pair",
        )
    return _Step(name if name is not None else str(spec), ((activity, (spec,)),))


def _isin(series: pd.Series, values: tuple[Any, ...]) -> np.ndarray:
    """``series.isin(values)`` as a numpy mask; a categorical is looked up by its codes."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        hit = np.r_[series.cat.categories.isin(list(values)), False]  # code -1 (NaN): False
        return np.asarray(hit[series.cat.codes.to_numpy()], dtype=bool)
    return np.asarray(series.isin(list(values)).to_numpy(), dtype=bool)


def _typo_check(df: pd.DataFrame, step: _Step, field: str, spec: Any) -> None:
    """A step that matches nothing is nearly always a typo: name the value that never occurs."""
    for column, values in step.conditions:
        if not _isin(df[column], values).any():
            known = pd.unique(df[column].dropna())[:20]
            raise ValidationError(
                field,
                spec,
                f"{list(values)} never occurs in column {column!r} "
                f"(values include: {[str(v) for v in known]})",
            )


def _packed_masks(
    df: pd.DataFrame, steps: list[tuple[_Step, str, Any]]
) -> tuple[np.ndarray, list[np.uint64]]:
    """Which steps each row of ``df`` is an event of, as one bit per step.

    Steps that test one categorical column share a lookup table over its categories, so the
    usual funnel of touchpoints costs one pass over the codes whatever the number of steps.
    """
    if len(steps) > 64:
        raise ValidationError("steps", len(steps), "at most 64 steps and exclusion steps")
    bits = [np.uint64(1) << np.uint64(i) for i in range(len(steps))]
    packed = np.zeros(len(df), dtype=np.uint64)
    tables: dict[Hashable, np.ndarray] = {}
    for (step, _, _), bit in zip(steps, bits, strict=True):
        if len(step.conditions) == 1:
            column, values = step.conditions[0]
            series = df[column]
            if isinstance(series.dtype, pd.CategoricalDtype):
                table = tables.setdefault(
                    column, np.zeros(len(series.cat.categories) + 1, dtype=np.uint64)
                )
                table[:-1][series.cat.categories.isin(list(values))] |= bit  # last: NaN code
                continue
        mask = np.ones(len(df), dtype=bool)
        for column, values in step.conditions:
            mask &= _isin(df[column], values)
        packed[mask] |= bit
    for column, table in tables.items():
        packed |= table[df[column].cat.codes.to_numpy()]
    if len(df):
        for (step, field, spec), bit in zip(steps, bits, strict=True):
            if not (packed & bit).any():
                _typo_check(df, step, field, spec)
    return packed, bits


def _window(window: Any, is_datetime: bool) -> int | None:
    """The conversion window as int64 nanoseconds (or time units for numeric times)."""
    if window is None:
        return None
    if is_datetime:
        if isinstance(window, int | float | np.number):
            raise ValidationError(
                "window", window, "must be a duration such as '14D', '36h' or pd.Timedelta"
            )
        try:
            delta = pd.Timedelta(window)
        except (TypeError, ValueError):
            raise ValidationError(
                "window", window, "is not a duration such as '14D', '36h' or '30min'"
            ) from None
        nanoseconds = int(delta.value)  # NaT's value is the smallest int64
        if nanoseconds < 0:
            raise ValidationError("window", window, "must be a non-negative duration")
        return nanoseconds
    if isinstance(window, bool) or not isinstance(window, int | float | np.number):
        raise ValidationError(
            "window", window, "must be a number (the time column holds numbers), or None"
        )
    if not math.isfinite(float(window)) or window < 0:
        raise ValidationError("window", window, "must be a non-negative finite number")
    return math.floor(window)  # times are whole numbers: t - start <= w iff <= floor(w)


def _exclusions(
    exclude: Any, n_steps: int, activity: Hashable, df: pd.DataFrame
) -> list[tuple[_Step, int, int, Any]]:
    if exclude is None:
        return []
    items = exclude if isinstance(exclude, list) else [exclude]
    parsed = []
    low: Any
    high: Any
    for i, item in enumerate(items):
        field = f"exclude[{i}]"
        if isinstance(item, Exclusion):
            spec, low, high = item.step, item.from_step, item.to_step
        elif isinstance(item, tuple) and len(item) == 3:
            spec, low, high = item
        else:
            spec, low, high = item, 1, None
        high = n_steps if high is None else high
        if not (isinstance(low, int) and isinstance(high, int) and 1 <= low < high <= n_steps):
            raise ValidationError(
                field,
                item,
                f"needs 1 <= from_step < to_step <= {n_steps} (the funnel's steps, 1-based)",
            )
        parsed.append((_step(spec, activity, field, df), low, high, spec))
    return parsed


# -- the engine ----------------------------------------------------------------------------


def _next_events(
    events: np.ndarray, after: np.ndarray, side: Literal["left", "right"]
) -> np.ndarray:
    """For each position in ``after``, the first of the sorted ``events`` after (or at) it."""
    if events.size == 0:
        return np.full(after.size, _NO_EVENT, dtype=np.int64)
    j = np.searchsorted(events, after, side=side)
    found = events[np.minimum(j, events.size - 1)]
    return np.where(j < events.size, found, _NO_EVENT)


def _in_attempt(
    log: EventLog, found: np.ndarray, start: np.ndarray, end: np.ndarray, window: int | None
) -> np.ndarray:
    """Whether each found event exists, belongs to the attempt's case, and is in its window."""
    ok = found < end  # end is the case's bound; _NO_EVENT is past every bound
    if window is not None:
        safe = np.where(ok, found, 0)
        ok &= log.time[safe] - log.time[start] <= window
    return ok


def _attempts(
    log: EventLog, masks: list[np.ndarray], mode: str, window: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Every attempt's start and the positions of its step events (-1: not reached).

    Returns ``(starts, positions)`` with ``positions`` of shape ``(attempts, steps)``; in
    ``any_order`` mode column ``k`` holds the event that completed the ``k + 1``-th step.
    """
    n_steps = len(masks)
    if mode == "any_order":
        starts = np.flatnonzero(np.logical_or.reduce(masks))
    else:
        starts = np.flatnonzero(masks[0])
    end = log.bounds[log.case[starts] + 1]
    positions = np.full((starts.size, n_steps), -1, dtype=np.int64)
    if mode == "any_order":
        first = np.empty((starts.size, n_steps), dtype=np.int64)
        for k, mask in enumerate(masks):
            found = _next_events(np.flatnonzero(mask), starts, "left")
            first[:, k] = np.where(_in_attempt(log, found, starts, end, window), found, _NO_EVENT)
        first.sort(axis=1)
        positions[:] = np.where(first == _NO_EVENT, -1, first)
        return starts, positions
    positions[:, 0] = starts
    alive = np.arange(starts.size)
    for k in range(1, n_steps):
        previous = positions[alive, k - 1]
        if mode == "strict":
            found = previous + 1
            found = np.where(found < end[alive], found, _NO_EVENT)
            ok = _in_attempt(log, found, starts[alive], end[alive], window)
            ok[ok] &= masks[k][found[ok]]
        else:
            found = _next_events(np.flatnonzero(masks[k]), previous, "right")
            ok = _in_attempt(log, found, starts[alive], end[alive], window)
        alive = alive[ok]
        positions[alive, k] = found[ok]
    return starts, positions


def _disqualified(
    log: EventLog,
    starts: np.ndarray,
    positions: np.ndarray,
    exclusions: list[tuple[np.ndarray, int, int]],
    window: int | None,
) -> np.ndarray:
    """Attempts with an exclusion event between their ``from`` and ``to`` step events."""
    out = np.zeros(starts.size, dtype=bool)
    end = log.bounds[log.case[starts] + 1]
    for events, low, high in exclusions:
        reached_low = positions[:, low - 1] >= 0
        found = _next_events(
            events, np.where(reached_low, positions[:, low - 1], _NO_EVENT), "right"
        )
        found = np.where(reached_low & (found < end), found, _NO_EVENT)
        high_event = positions[:, high - 1]
        before_high = np.where(high_event >= 0, found < high_event, True)
        out |= _in_attempt(log, found, starts, end, window) & before_high
    return out


def _best_attempts(
    log: EventLog, starts: np.ndarray, positions: np.ndarray, disqualified: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer with an attempt: the case, the first attempt, and the reported attempt.

    The reported attempt reaches the furthest step; among those, a qualified one (not
    disqualified by an exclusion) if any, then the one whose furthest-step event comes first,
    then the latest start (the shortest attempt), as PostHog's engine keeps it.
    """
    reached = (positions >= 0).sum(axis=1)
    last = positions[np.arange(starts.size), reached - 1]
    case = log.case[starts]
    head = np.flatnonzero(np.r_[True, case[1:] != case[:-1]]) if starts.size else starts
    bits = max(int(log.n_events).bit_length(), 1)
    if 2 * bits + 1 + int(positions.shape[1]).bit_length() < 63:
        n = np.int64(log.n_events)
        score = (reached.astype(np.int64) << np.int64(1)) | (~disqualified).astype(np.int64)
        score = (score << np.int64(bits)) | (n - 1 - last)
        score = (score << np.int64(bits)) | starts
        best_score = np.maximum.reduceat(score, head) if starts.size else score
        best_start = best_score & np.int64((1 << bits) - 1)
        best = np.searchsorted(starts, best_start)
    else:  # pragma: no cover - logs past 2**29 events
        order = np.lexsort((-starts, last, disqualified, -reached, case))
        best = order[head]
    return case[head], head, best


# -- the result ----------------------------------------------------------------------------


@attrs.frozen(eq=False, repr=False)
class FunnelResult:
    """A funnel's per-step table and per-customer outcome (see :func:`funnel`).

    Attributes:
        table: One row per step (and breakdown value); columns in :func:`funnel`.
        customers: One row per customer who started the funnel; columns in :func:`funnel`.
        steps: The steps' names.
        mode: ``"ordered"``, ``"strict"`` or ``"any_order"``.
        window: The conversion window (``None``: unlimited).
        breakdown: The name of the breakdown column of ``table`` (``None``: no breakdown).
        excluded: Customers dropped from the whole funnel by exclusion steps.
        confidence: The coverage of the intervals.
        min_n: Rows whose previous step has fewer customers are flagged ``low_n``.
    """

    table: pd.DataFrame
    customers: pd.DataFrame
    steps: tuple[str, ...]
    mode: str
    window: Any
    breakdown: str | None
    excluded: int
    confidence: float
    min_n: int

    def compare(
        self, a: Any, b: Any, *, rate: Literal["conversion", "step_conversion"] = "conversion"
    ) -> pd.DataFrame:
        """Compare two breakdown values' conversion step by step (see :func:`compare_funnels`).

        Args:
            a: The first breakdown value (segment).
            b: The second breakdown value.
            rate: ``"conversion"`` (share of step-1 customers reaching each step; the last
                row is the overall conversion) or ``"step_conversion"`` (from the previous
                step).

        Returns:
            The table of :func:`compare_funnels`, ``a`` in the ``_a`` columns.

        Raises:
            ValidationError: The funnel has no breakdown, or a value is not one of its values.
        """
        if self.breakdown is None:
            raise ValidationError(
                "breakdown", None, "the funnel has no breakdown; pass breakdown= or segment="
            )
        column = self.table[self.breakdown]
        tables = []
        for field, value in (("a", a), ("b", b)):
            rows = column.isna() if _is_missing(value) else column == value
            if not rows.any():
                known = [str(v) for v in pd.unique(column)[:20]]
                raise ValidationError(field, value, f"is not a breakdown value (values: {known})")
            tables.append(self.table[rows.to_numpy()])
        return _compare(tables[0], tables[1], rate, self.confidence, self.min_n)

    def __repr__(self) -> str:
        columns = ["step", "step_name", "customers", "conversion", "step_conversion"]
        if self.breakdown is not None:
            columns.insert(0, self.breakdown)
        return (
            f"FunnelResult(mode={self.mode!r}, window={self.window!r}, "
            f"customers={len(self.customers)}, excluded={self.excluded})\n"
            f"{self.table[columns].to_string(index=False)}"
        )

    def _repr_html_(self) -> str:
        window = "unlimited" if self.window is None else str(self.window)
        head = (
            f"<p><b>Funnel</b> ({self.mode}, window {window}): {len(self.customers)} customers "
            f"started, {self.excluded} excluded by exclusion steps</p>"
        )
        return head + self.table.to_html(index=False, float_format=lambda x: f"{x:.4g}")


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _compare(
    first: pd.DataFrame, second: pd.DataFrame, rate: str, confidence: float, min_n: int
) -> pd.DataFrame:
    if rate not in ("conversion", "step_conversion"):
        raise ValidationError("rate", rate, "must be 'conversion' or 'step_conversion'")
    if len(first) != len(second):
        raise ValidationError(
            "steps", (len(first), len(second)), "the funnels must have the same number of steps"
        )

    def counts(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        k = table["customers"].to_numpy(dtype=np.int64)
        if rate == "conversion":
            return k, table["n"].to_numpy(dtype=np.int64)
        return k, k + table["dropoff"].to_numpy(dtype=np.int64)

    k1, n1 = counts(first)
    k2, n2 = counts(second)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        difference = p1 - p2
        z = np.where(se > 0, difference / se, np.where(difference == 0, 0.0, np.nan))
    p_value = special.erfc(np.abs(z) / math.sqrt(2))
    low1, high1 = wilson_interval(k1, n1, confidence=confidence)
    low2, high2 = wilson_interval(k2, n2, confidence=confidence)
    # Newcombe's hybrid score interval: the difference's bounds from the two Wilson intervals.
    ci_low = difference - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    ci_high = difference + np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return pd.DataFrame(
        {
            "step": first["step"].to_numpy(),
            "step_name": first["step_name"].to_numpy(),
            "customers_a": k1,
            "n_a": n1,
            "rate_a": p1,
            "customers_b": k2,
            "n_b": n2,
            "rate_b": p2,
            "difference": difference,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "z": z,
            "p_value": p_value,
            "low_n": (n1 < min_n) | (n2 < min_n),
        }
    )


def compare_funnels(
    first: FunnelResult,
    second: FunnelResult,
    *,
    rate: Literal["conversion", "step_conversion"] = "conversion",
) -> pd.DataFrame:
    """Compare two funnels' conversion step by step: difference, its interval, z test.

    For two segments of one funnel, use :meth:`FunnelResult.compare` on a funnel with a
    breakdown; this function compares two funnels computed separately (two periods, two
    products' logs) that have no breakdown and the same number of steps.

    The test is the pooled two-proportion z test: with ``k`` customers of ``n`` in each,
    ``p = (k_a + k_b) / (n_a + n_b)``, ``z = (k_a / n_a - k_b / n_b) /
    sqrt(p (1 - p) (1 / n_a + 1 / n_b))`` and the two-sided p-value ``erfc(|z| / sqrt 2)``
    (Fleiss, Levin and Paik 2003, section 2.5). The interval of the difference is Newcombe's
    hybrid score interval built from the two Wilson intervals (Newcombe 1998, method 10):
    ``d - sqrt((p_a - l_a)^2 + (u_b - p_b)^2)`` to ``d + sqrt((u_a - p_a)^2 + (p_b - l_b)^2)``.

    Args:
        first: A funnel (the ``_a`` columns).
        second: Another funnel with as many steps (the ``_b`` columns).
        rate: ``"conversion"`` (share of step-1 customers reaching each step; the last row
            is the overall conversion) or ``"step_conversion"`` (share of the previous step's
            customers).

    Returns:
        One row per step with columns:

        - ``step`` (int64): Step number, 1-based.
        - ``step_name`` (object): The first funnel's step name.
        - ``customers_a``, ``customers_b`` (int64): Customers who reached the step.
        - ``n_a``, ``n_b`` (int64): The rate's denominators (step-1 customers, or the
            previous step's customers for ``rate="step_conversion"``).
        - ``rate_a``, ``rate_b`` (float64): The two rates.
        - ``difference`` (float64): ``rate_a - rate_b``.
        - ``ci_low``, ``ci_high`` (float64): Newcombe interval of the difference at the
            funnels' ``confidence``.
        - ``z`` (float64): The pooled z statistic (0 when both rates are 0 or both 1).
        - ``p_value`` (float64): Two-sided p-value of equal rates.
        - ``low_n`` (bool): Either denominator is below the funnels' ``min_n``.

    Raises:
        ValidationError: A funnel has a breakdown, or the step counts differ.

    References:
        Newcombe, R. G. (1998). Interval estimation for the difference between independent
        proportions: comparison of eleven methods. Statistics in Medicine, 17(8), 873-890.
        Fleiss, J. L., Levin, B., Paik, M. C. (2003). Statistical Methods for Rates and
        Proportions (3rd ed.). Wiley.
    """
    for field, result in (("first", first), ("second", second)):
        if result.breakdown is not None:
            raise ValidationError(
                field,
                result.breakdown,
                "has a breakdown; compare its segments with result.compare(a, b)",
            )
    return _compare(
        first.table, second.table, rate, first.confidence, min(first.min_n, second.min_n)
    )


# -- funnel ---------------------------------------------------------------------------------


def funnel(
    df: pd.DataFrame,
    steps: Sequence[Any],
    *,
    window: Any = "14D",
    mode: FunnelMode = "ordered",
    exclude: Any = None,
    breakdown: Hashable | None = None,
    segment: pd.Series | Mapping[Any, Any] | None = None,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
    confidence: float = 0.95,
    min_n: int = 30,
) -> FunnelResult:
    """Count the customers who reach each step of a funnel, with intervals and times.

    **Steps.** Each step is a value of the ``activity`` column (``"checkout"``), a mapping
    ``{column: value or list of values}`` that an event must satisfy on every column
    (``{"kind": "purchase"}``, ``{"touchpoint": ["web", "app"], "channel": "email"}``), or a
    ``(name, spec)`` pair naming it. Two steps may name the same event: the customer then has
    to do it twice.

    **Order of events.** A customer's events are ordered by time, then ``order``, then the
    activity label (:func:`cxm.journey._events.event_log`'s tie rule, so shuffled rows give the
    same funnel). "After" below means later in that order: an event at the same instant as the
    previous step's event counts when the tie rule puts it after (pass ``order=``, e.g. the
    interaction id, to say which came first; or give the activity column categories in funnel
    order); one event never fills two steps of an ordered or strict attempt.

    **Attempts and the window.** Every event of step 1 starts an attempt (in ``any_order``
    mode, every event of any step). The attempt's step-``k`` event must satisfy
    ``time - start <= window``: the edge is inclusive, an event exactly one window after the
    start still counts (PostHog's ``<=``).

    - ``ordered`` (PostHog's "sequential"): step ``k``'s event is the first event of step
      ``k`` after the attempt's step ``k - 1`` event; other events may happen in between. Taking
      the first one is never worse than any later one.
    - ``strict``: step ``k``'s event must be the very next event of the customer after the
      step ``k - 1`` event; any other event in between (any row of ``df`` for that customer)
      ends the attempt. Filter ``df`` first to the events that should count as interruptions.
    - ``any_order``: the attempt reaches ``k`` when ``k`` distinct steps have an event at or
      after its start within the window, in any order; row ``k`` of the table reads "any
      ``k`` of the steps". An event matching several steps' specifications counts for each.

    A customer's result is the furthest step over all their attempts. Customers who never did
    a step-1 event (any step, in ``any_order``) are not in the funnel.

    **Exclusion steps** (``exclude``: a step specification, a list of them, ``(spec,
    from_step, to_step)`` triples or :class:`Exclusion`; without bounds, the whole funnel). An
    attempt that reached ``from_step`` is disqualified when an exclusion event comes after its
    ``from_step`` event and before its ``to_step`` event, or, when it never reached
    ``to_step``, after its ``from_step`` event and within its window. As in PostHog, a
    customer whose furthest attempt is disqualified (every attempt reaching their furthest step)
    is dropped from the whole funnel, every step, and counted in ``excluded``; a qualified
    attempt reaching the same furthest step keeps them in. In ``any_order`` mode the bounds
    count completed steps (the attempt's ``from_step``-th and ``to_step``-th completed steps).

    **Which attempt's times.** Times to convert come from one attempt per customer: among
    those reaching the customer's furthest step (qualified ones first), the one whose
    furthest-step event comes first, and among those the latest start, so the shortest: a
    customer who opened the cart twice and then paid is timed from the second opening
    (PostHog's engine keeps the latest attempt at each step the same way).

    **Breakdown at first touch.** ``breakdown`` names a column; each customer is counted
    under its value on their first step-1 event (first event of any step in ``any_order``),
    PostHog's "first touchpoint" attribution, whichever attempt got furthest. ``segment``
    instead gives one value per customer (a Series or mapping from customer to segment, e.g. a
    CRM tier). Missing values form their own group (NaN), never dropped.

    Args:
        df: One row per event (``ws.interactions()`` or any event frame).
        steps: The steps, in order (see above).
        window: Conversion window from the attempt's start: a pandas duration string
            (``"14D"``, ``"36h"``), a ``pd.Timedelta``, a number for numeric time columns, or
            ``None`` for no limit.
        mode: ``"ordered"`` (default), ``"strict"`` or ``"any_order"``.
        exclude: Exclusion steps (see above).
        breakdown: Column whose first-touch value splits the funnel.
        segment: Per-customer segment (Series or mapping indexed by customer).
        case: Column naming the customer (or whatever a journey belongs to).
        activity: Column that plain step values refer to.
        time: Column of event times (datetimes or numbers).
        order: Optional column that orders events sharing a timestamp.
        confidence: Coverage of the Wilson intervals.
        min_n: Rows whose previous step has fewer customers are flagged ``low_n``.

    Returns:
        A :class:`FunnelResult`. Its ``table`` has one row per step (per breakdown value
        first, when there is one):

        - the breakdown column (object; named after ``breakdown``, or ``"segment"``), when
            given.
        - ``step`` (int64): Step number, 1-based.
        - ``step_name`` (object): The step's name (``"any k of n"`` in ``any_order`` mode).
        - ``customers`` (int64): Customers who reached the step.
        - ``n`` (int64): Customers who started the funnel (reached step 1), the denominator
            of ``conversion``.
        - ``conversion`` (float64): ``customers / n``.
        - ``ci_low``, ``ci_high`` (float64): Wilson interval of ``conversion``.
        - ``step_conversion`` (float64): ``customers`` over the previous step's customers
            (1 at step 1).
        - ``step_ci_low``, ``step_ci_high`` (float64): Wilson interval of ``step_conversion``.
        - ``dropoff`` (int64): Customers of the previous step who did not reach this one.
        - ``dropoff_rate`` (float64): ``dropoff`` over the previous step's customers.
        - ``time_to_convert_median``, ``time_to_convert_mean`` (timedelta64[ns], float64 for
            numeric times): From the previous step's event to this step's event of the
            customers who reached it (NaT at step 1).
        - ``excluded`` (int64): Customers of the group dropped by exclusion steps (the same
            on every row of the group; not in ``n``).
        - ``low_n`` (bool): The previous step (step 1: this step) has fewer than ``min_n``
            customers.

        Its ``customers`` has one row per customer who started the funnel: the ``case``
        column, the breakdown column when given, ``furthest_step`` (int64, 1..n),
        ``converted`` (bool, reached the last step), ``excluded`` (bool, dropped by an
        exclusion step; ``furthest_step`` and times are then those of the disqualified
        attempt) and ``step_1_at`` ... ``step_n_at`` (the reported attempt's step events'
        times, NaT beyond ``furthest_step``).

    Raises:
        ValidationError: A column is missing or has missing values; ``steps`` is empty or a
            step names a missing column or a value that never occurs; ``window``, ``mode``,
            ``exclude``, ``confidence`` or ``min_n`` is invalid.

    Examples:
        >>> events = pd.DataFrame({
        ...     "customer_id": ["a", "a", "a", "b", "b", "c"],
        ...     "touchpoint": ["visit", "cart", "pay", "visit", "cart", "visit"],
        ...     "occurred_at": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03",
        ...                                    "2025-01-01", "2025-02-01", "2025-01-05"]),
        ... })
        >>> result = funnel(events, ["visit", "cart", "pay"], window="14D")
        >>> result.table[["step", "step_name", "customers", "conversion"]]
           step step_name  customers  conversion
        0     1     visit          3    1.000000
        1     2      cart          1    0.333333
        2     3       pay          1    0.333333

    References:
        PostHog, Funnels (product analytics docs), https://posthog.com/docs/product-analytics/funnels,
        and its funnel engine ``funnel-udf/src/steps.rs`` (github.com/PostHog/posthog).
        Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
        inference. JASA, 22(158), 209-212.
    """
    parsed, exclusions = _validate(
        df,
        steps,
        exclude=exclude,
        mode=mode,
        breakdown=breakdown,
        segment=segment,
        case=case,
        activity=activity,
        time=time,
        confidence=confidence,
        min_n=min_n,
    )
    packed, bits = _packed_masks(
        df,
        [(step, f"steps[{i}]", steps[i]) for i, step in enumerate(parsed)]
        + [(step, f"exclude[{i}]", spec) for i, (step, _, _, spec) in enumerate(exclusions)],
    )
    log, source = _sorted_log(
        df,
        packed,
        mode=mode,
        case=case,
        activity=activity,
        time=time,
        order=order,
    )
    window_value = _window(window, log.is_datetime)
    packed = packed[source]  # one gather for all steps, in log order
    sorted_masks = [(packed & bit) != 0 for bit in bits]
    starts, positions = _attempts(log, sorted_masks[: len(parsed)], mode, window_value)
    bounds = [(low, high) for _, low, high, _ in exclusions]
    disqualified = _disqualified(
        log,
        starts,
        positions,
        [
            (np.flatnonzero(mask), low, high)
            for mask, (low, high) in zip(sorted_masks[len(parsed) :], bounds, strict=True)
        ],
        window_value,
    )
    cases, first, best = _best_attempts(log, starts, positions, disqualified)
    n_steps = len(parsed)
    if mode == "any_order":
        names = tuple(f"any {k} of {n_steps}" for k in range(1, n_steps + 1))
    else:
        names = tuple(step.name for step in parsed)
    group: pd.Series | None = None
    if breakdown is not None:
        group = df[breakdown].take(source[starts[first]]).reset_index(drop=True)
        group.name = str(breakdown)
    elif segment is not None:
        mapping = segment if isinstance(segment, pd.Series) else pd.Series(dict(segment))
        if not mapping.index.is_unique:
            raise ValidationError("segment", "...", "gives more than one segment to a customer")
        group = pd.Series(mapping.reindex(log.cases[cases]).to_numpy(), name="segment")
    best_positions = positions[best]
    excluded = disqualified[best]
    customers = _customers(log, cases, best_positions, excluded, case=case, group=group)
    table = _table(
        customers,
        group_name=None if group is None else str(group.name),
        step_times=np.where(best_positions >= 0, log.time[np.maximum(best_positions, 0)], 0),
        names=names,
        is_datetime=log.is_datetime,
        confidence=confidence,
        min_n=int(min_n),
    )
    shown_window = (
        None
        if window_value is None
        else (pd.Timedelta(window_value) if log.is_datetime else window)
    )
    return FunnelResult(
        table=table,
        customers=customers,
        steps=names,
        mode=mode,
        window=shown_window,
        breakdown=None if group is None else str(group.name),
        excluded=int(excluded.sum()),
        confidence=confidence,
        min_n=int(min_n),
    )


def _validate(
    df: pd.DataFrame,
    steps: Any,
    *,
    exclude: Any,
    mode: Any,
    breakdown: Hashable | None,
    segment: Any,
    case: Hashable,
    activity: Hashable,
    time: Hashable,
    confidence: float,
    min_n: Any,
) -> tuple[list[_Step], list[tuple[_Step, int, int, Any]]]:
    """Check every argument before any work; parse the steps and exclusion steps."""
    for column, field in ((case, "case"), (time, "time"), (activity, "activity")):
        _column(df, column, field)
    if mode not in _MODES:
        raise ValidationError("mode", mode, f"must be one of {list(_MODES)}")
    if isinstance(steps, str | bytes | Mapping) or not isinstance(steps, Sequence):
        raise ValidationError("steps", steps, "must be a list of steps")
    if len(steps) == 0:
        raise ValidationError("steps", steps, "needs at least one step")
    _z(confidence)
    if isinstance(min_n, bool) or not isinstance(min_n, int | np.integer) or min_n < 0:
        raise ValidationError("min_n", min_n, "must be a non-negative whole number")
    if breakdown is not None and segment is not None:
        raise ValidationError("segment", "...", "give breakdown= or segment=, not both")
    if breakdown is not None and breakdown not in df.columns:
        raise ValidationError(
            "breakdown",
            breakdown,
            f"is not a column of the frame (columns: {list(df.columns)[:20]})",
        )
    parsed = [_step(spec, activity, f"steps[{i}]", df) for i, spec in enumerate(steps)]
    return parsed, _exclusions(exclude, len(parsed), activity, df)


def _sorted_log(
    df: pd.DataFrame,
    packed: np.ndarray,
    *,
    mode: str,
    case: Hashable,
    activity: Hashable,
    time: Hashable,
    order: Hashable | None,
) -> tuple[EventLog, np.ndarray]:
    """The event log and, for each of its events, the row of ``df`` it came from."""
    # Only step and exclusion events matter to ordered and any-order funnels, so the log is
    # built from those rows alone (the tie rule orders them as in the full log); a strict
    # funnel needs every event, since any event in between breaks it.
    if mode != "strict":
        relevant = packed != 0
        if not relevant.all():
            rows = np.flatnonzero(relevant)
            columns = dict.fromkeys([case, time, activity, *([] if order is None else [order])])
            frame = pd.DataFrame({c: df[c].take(rows).reset_index(drop=True) for c in columns})
            log = event_log(frame, case=case, activity=activity, time=time, order=order)
            return log, rows[log.position]
    log = event_log(df, case=case, activity=activity, time=time, order=order)
    return log, log.position


def _customers(
    log: EventLog,
    cases: np.ndarray,
    best_positions: np.ndarray,
    excluded: np.ndarray,
    *,
    case: Hashable,
    group: pd.Series | None,
) -> pd.DataFrame:
    """One row per customer who started: group, furthest step, and the reported attempt."""
    n_steps = best_positions.shape[1]
    furthest = (best_positions >= 0).sum(axis=1).astype(np.int64)
    customers = pd.DataFrame({case: log.cases[cases]})
    if group is not None:
        customers[str(group.name)] = group.array
    customers["furthest_step"] = furthest
    customers["converted"] = (furthest == n_steps) & ~excluded
    customers["excluded"] = excluded
    step_times = np.where(best_positions >= 0, log.time[np.maximum(best_positions, 0)], 0)
    for k in range(n_steps):
        column = pd.Series(log.as_times(step_times[:, k]), index=customers.index)
        customers[f"step_{k + 1}_at"] = column.where(best_positions[:, k] >= 0)
    return customers


def _table(
    customers: pd.DataFrame,
    *,
    group_name: str | None,
    step_times: np.ndarray,
    names: tuple[str, ...],
    is_datetime: bool,
    confidence: float,
    min_n: int,
) -> pd.DataFrame:
    """The per-step table from the per-customer outcome, all groups at once."""
    furthest = customers["furthest_step"].to_numpy()
    excluded = customers["excluded"].to_numpy()
    n_steps = len(names)
    if group_name is None:
        codes = np.zeros(len(customers), dtype=np.int64)
        labels: pd.Index | None = None
        n_groups = 1
    else:
        raw, uniques = pd.factorize(customers[group_name], sort=True, use_na_sentinel=False)
        codes = raw.astype(np.int64)
        labels = pd.Index(uniques)
        n_groups = len(labels)
    kept = ~excluded
    counts = np.bincount(
        codes[kept] * (n_steps + 1) + furthest[kept], minlength=n_groups * (n_steps + 1)
    ).reshape(n_groups, n_steps + 1)
    reached = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1][:, 1:]  # reached[g, k-1]: >= k
    dropped = np.bincount(codes[excluded], minlength=n_groups)
    started = reached[:, :1]
    previous = np.concatenate([started, reached[:, :-1]], axis=1)
    low, high = wilson_interval(reached, started, confidence=confidence)
    step_low, step_high = wilson_interval(reached, previous, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        conversion = reached / started
        step_conversion = reached / previous
        dropoff_rate = (previous - reached) / previous

    median = np.full((n_groups, n_steps), np.nan)
    mean = np.full((n_groups, n_steps), np.nan)
    for k in range(1, n_steps):
        took = kept & (furthest > k)
        if not took.any():
            continue
        spans = pd.Series(
            (step_times[took, k] - step_times[took, k - 1]).astype(np.float64)
        ).groupby(codes[took])
        medians, means = spans.median(), spans.mean()
        median[medians.index.to_numpy(), k] = medians.to_numpy()
        mean[means.index.to_numpy(), k] = means.to_numpy()

    out = pd.DataFrame(
        {
            "step": np.tile(np.arange(1, n_steps + 1, dtype=np.int64), n_groups),
            "step_name": np.tile(np.array(names, dtype=object), n_groups),
            "customers": reached.ravel().astype(np.int64),
            "n": np.repeat(started[:, 0], n_steps).astype(np.int64),
            "conversion": conversion.ravel(),
            "ci_low": low.ravel(),
            "ci_high": high.ravel(),
            "step_conversion": step_conversion.ravel(),
            "step_ci_low": step_low.ravel(),
            "step_ci_high": step_high.ravel(),
            "dropoff": (previous - reached).ravel().astype(np.int64),
            "dropoff_rate": dropoff_rate.ravel(),
            "time_to_convert_median": _durations(median.ravel(), is_datetime),
            "time_to_convert_mean": _durations(mean.ravel(), is_datetime),
            "excluded": np.repeat(dropped, n_steps).astype(np.int64),
            "low_n": (previous < min_n).ravel(),
        }
    )
    if labels is not None and group_name is not None:
        out.insert(0, group_name, np.repeat(labels.to_numpy(dtype=object), n_steps))
    return out


def _durations(values: np.ndarray, is_datetime: bool) -> Any:
    if not is_datetime:
        return values
    return pd.to_timedelta(np.round(values), unit="ns")
