"""Paths: the routes customers take, step by step, as the nodes and links of a Sankey diagram.

A path diagram answers "after touchpoint X, where do customers go next, and then?". Each
customer's events are put in time order (see :mod:`cxm.journey._events` for the tie rule),
consecutive repeats are collapsed (``A A B`` becomes ``A B``: a customer reloading the same
page has not moved), and the first ``steps`` events become steps 0, 1, 2, ... A node is a
(step, label) pair, so the same touchpoint at step 1 and at step 3 are two nodes and the graph
has no cycles: every link goes from step k to step k + 1. Paths can be anchored: ``start``
makes every path begin at the customer's first (or last) event with that activity, ``end``
makes it finish there, looking back ``steps`` events. At each step only the ``top`` most
frequent labels keep their own node; the rest are grouped into one ``"other"`` node per step
so the picture stays readable while every customer is still counted.

Everything is computed on the integer codes of the sorted event log: a mask collapses repeats,
the step is the position within the customer's events (offset to the anchor), and
``np.bincount`` / ``np.unique`` over (step, code) and (node, next node) pairs give the nodes and
links, with one sort for the median time along each link.
"""

from __future__ import annotations

import html
from collections.abc import Hashable
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd

from cxm.exceptions import ValidationError
from cxm.journey._events import EventLog, event_log
from cxm.metrics.feedback import DEFAULT_MIN_N, wilson_interval

__all__ = ["END_LABEL", "START_LABEL", "Paths", "paths"]

END_LABEL = "(end)"
"""Label of the node a path goes to when it stops before the last step (``ends=True``)."""

START_LABEL = "(start)"
"""Label of the node an ``end``-anchored path comes from when it begins after the first step."""

# Node kinds, in the order nodes are listed within a step.
_KINDS = ("activity", "other", "start", "end")
_HTML_ROWS = 40


@attrs.frozen(eq=False)
class Paths:
    """Sankey-ready paths: nodes keyed by step and the links between consecutive steps.

    Attributes:
        nodes: One row per node (see :func:`paths` for the columns).
        links: One row per link between a node at step k and a node at step k + 1.
        n_customers: Customers whose paths are drawn (the sum of the first step's nodes).
        excluded: Customers left out because they never had the ``start`` / ``end``
            activity (0 without anchoring).
        truncated: Drawn customers whose events go on beyond the steps shown.
        steps: How many steps were asked for.
        start: The ``start`` anchor activity, or ``None``.
        end: The ``end`` anchor activity, or ``None``.
        occurrence: Which occurrence of the anchor was used, ``"first"`` or ``"last"``.
        other: The label of the grouped nodes.
        activity: The name of the activity column.
    """

    nodes: pd.DataFrame
    links: pd.DataFrame
    n_customers: int
    excluded: int
    truncated: int
    steps: int
    start: Hashable | None = None
    end: Hashable | None = None
    occurrence: str = "first"
    other: str = "other"
    activity: str = "touchpoint"

    @property
    def summary(self) -> pd.DataFrame:
        """The links table (the same as :attr:`links`)."""
        return self.links

    def to_plotly(self) -> dict[str, Any]:
        """Return a plotly ``sankey`` trace as a plain dict (no plotly needed).

        Pass it as ``plotly.graph_objects.Figure(data=[paths.to_plotly()])`` or serialise
        it for plotly.js. :func:`cxm.plotting.sankey` builds a styled figure from the same
        data.

        Returns:
            ``{"type": "sankey", "arrangement": "snap", "node": {"label", "x", "y"},
            "link": {"source", "target", "value"}}`` with Python lists; ``x`` places each
            node in its step's column and ``y`` stacks a step's nodes by size, so paths of
            different lengths line up by step.
        """
        x, y = self.node_positions()
        return {
            "type": "sankey",
            "arrangement": "snap",
            "node": {
                "label": [str(label) for label in self.nodes["label"]],
                "x": x.tolist(),
                "y": y.tolist(),
            },
            "link": {
                "source": self.links["source"].astype(int).tolist(),
                "target": self.links["target"].astype(int).tolist(),
                "value": self.links["customers"].astype(int).tolist(),
            },
        }

    def node_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Return every node's centre as fractions of the plot (x by step, y stacked by size).

        Returns:
            ``(x, y)`` float arrays aligned with :attr:`nodes`, each inside ``(0, 1)``.
        """
        step = self.nodes["step"].to_numpy(dtype=np.int64)
        customers = self.nodes["customers"].to_numpy(dtype=float)
        if step.size == 0:
            return np.zeros(0), np.zeros(0)
        low, high = int(step.min()), int(step.max())
        x = (step - low) / (high - low) if high > low else np.full(step.size, 0.5)
        x = 0.01 + 0.98 * x
        # Nodes are listed by step, so a step's nodes are contiguous: stack them top-down.
        starts = np.flatnonzero(np.r_[True, step[1:] != step[:-1]])
        totals = np.add.reduceat(customers, starts)
        counts = np.diff(np.r_[starts, step.size])
        before = np.cumsum(customers) - customers
        before -= np.repeat(before[starts], counts)
        total = np.repeat(totals, counts)
        y = (before + customers / 2) / np.where(total > 0, total, 1)
        return x, 0.01 + 0.98 * y

    def _title(self) -> str:
        anchor = ""
        if self.start is not None:
            anchor = f", starting at the {self.occurrence} {self.start!r}"
        elif self.end is not None:
            anchor = f", ending at the {self.occurrence} {self.end!r}"
        return (
            f"Paths of {self.n_customers} customers over {self.steps} steps{anchor} "
            f"({self.excluded} excluded, {self.truncated} go on beyond the last step): "
            f"{len(self.nodes)} nodes, {len(self.links)} links"
        )

    def __str__(self) -> str:
        return (
            f"{self._title()}\nNodes:\n{self.nodes.to_string(index=False)}\n"
            f"Links:\n{self.links.to_string(index=False)}"
        )

    def _repr_html_(self) -> str:
        def table(frame: pd.DataFrame, what: str) -> str:
            shown = frame.head(_HTML_ROWS).to_html(index=False, float_format=lambda x: f"{x:.4g}")
            more = len(frame) - _HTML_ROWS
            note = f"<p>... {more} more {what}</p>" if more > 0 else ""
            return f"<p><em>{what.capitalize()}</em></p>{shown}{note}"

        return (
            f"<p><strong>{html.escape(self._title())}</strong></p>"
            f"{table(self.nodes, 'nodes')}{table(self.links, 'links')}"
        )


def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(name, value, "must be a whole number")
    if value < minimum:
        raise ValidationError(name, value, f"must be at least {minimum}")
    return int(value)


def _anchor_code(log: EventLog, field: str, label: Hashable) -> int:
    matches = np.flatnonzero(np.asarray(log.activities == label, dtype=bool))
    if len(matches) == 0:
        shown = [str(a) for a in log.activities[:20]]
        raise ValidationError(
            field, label, f"is not an activity of the frame (activities: {shown})"
        )
    return int(matches[0])


def _validate(
    *,
    steps: object,
    top: object,
    start: Hashable | None,
    end: Hashable | None,
    occurrence: object,
    other: object,
    min_n: object,
) -> tuple[int, int | None]:
    n_steps = _whole("steps", steps, 1)
    n_top = None if top is None else _whole("top", top, 1)
    if start is not None and end is not None:
        raise ValidationError(
            "end", end, "give start or end, not both (a path is anchored at one end)"
        )
    if occurrence not in ("first", "last"):
        raise ValidationError("occurrence", occurrence, "must be 'first' or 'last'")
    if not isinstance(other, str) or other in (END_LABEL, START_LABEL):
        raise ValidationError(
            "other", other, f"must be a string other than {END_LABEL!r} and {START_LABEL!r}"
        )
    _whole("min_n", min_n, 0)
    return n_steps, n_top


def paths(
    df: pd.DataFrame,
    *,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
    steps: int = 5,
    top: int | None = 8,
    start: Hashable | None = None,
    end: Hashable | None = None,
    occurrence: Literal["first", "last"] = "first",
    collapse_repeats: bool = True,
    ends: bool = False,
    other: str = "other",
    min_n: int = DEFAULT_MIN_N,
) -> Paths:
    """Count the paths customers take over their first (or anchored) ``steps`` events.

    Each customer's events are sorted (by time, then ``order``, then activity; see
    :mod:`cxm.journey._events`), and with ``collapse_repeats`` a run of the same activity
    becomes one step that begins at the run's first event. Then:

    - without an anchor, the customer's events 0, 1, ..., ``steps - 1`` are steps 0 ..
      ``steps - 1``;
    - with ``start``, the path begins at the customer's first (``occurrence="last"``: last)
      event with that activity, which is step 0, and goes on for ``steps`` events; earlier
      events are not drawn;
    - with ``end``, the path finishes at the customer's first (or last) event with that
      activity, which is step 0, and the ``steps - 1`` events before it are steps -1, -2,
      ...; later events are not drawn.

    Customers without the anchor activity are left out and counted in ``excluded``. A path
    shorter than ``steps`` simply stops (it has no node at the later steps); with
    ``ends=True`` it goes to an ``"(end)"`` node at the next step instead (and an
    ``end``-anchored path that begins late comes from a ``"(start)"`` node), which shows
    where customers drop off.

    At each step the ``top`` activities with the most customers keep their own node, ties
    going to the activity listed first (category order for a categorical column, else
    sorted order); the others at that step are merged into one node labelled ``other``, so
    counts are conserved. ``"(end)"`` and ``"(start)"`` nodes are never merged.

    Since a customer is at exactly one node per step, a node's ``customers`` is also its
    number of events, the nodes of any step sum to at most ``n_customers`` (exactly, at the
    anchor's step), and the links out of a node sum to at most its customers (the rest
    stopped there).

    Args:
        df: One row per event, e.g. ``ws.interactions()`` with anonymous rows filtered out.
        case: Column naming the customer (or ticket, session) whose path it is.
        activity: Column naming what happened (touchpoint, stage, page).
        time: Column of event times (datetimes or numbers).
        order: Optional column ordering events that share a time (e.g. ``interaction_id``).
        steps: How many steps to draw, at least 1.
        top: Activities kept per step before the rest become ``other``; ``None`` keeps all.
        start: Anchor every path's first step at this activity.
        end: Anchor every path's last step at this activity (not with ``start``).
        occurrence: Anchor at the customer's ``"first"`` or ``"last"`` event with the
            anchor activity.
        collapse_repeats: Collapse consecutive events with the same activity into one step.
        ends: Add ``"(end)"`` (and ``"(start)"``) nodes where paths stop early.
        other: Label of the grouped nodes; must not be an activity that gets grouped.
        min_n: Links whose source node has fewer customers are flagged ``low_n``.

    Returns:
        A :class:`Paths` whose ``nodes`` frame has one row per node, sorted by step, then
        activities before ``other`` before ``"(start)"``/``"(end)"``, then most customers
        first, then activity order; columns:

        - ``node`` (int64): the node id, 0 .. n - 1, the row number;
        - ``step`` (int64): 0-based step (-``steps`` + 1 .. 0 with ``end``);
        - ``label`` (object): the activity, ``other``, ``"(start)"`` or ``"(end)"``;
        - ``kind`` (object): ``"activity"``, ``"other"``, ``"start"`` or ``"end"``;
        - ``customers`` (int64): customers at this node;
        - ``share`` (float64): of ``n_customers``, 0..1;
        - ``ci_low``, ``ci_high`` (float64): Wilson 95% interval of ``share``.

        and whose ``links`` frame has one row per link, sorted by source then target node;
        columns:

        - ``source``, ``target`` (int64): node ids, the target at the next step;
        - ``source_label``, ``target_label`` (object): their labels;
        - ``step`` (int64): the source's step;
        - ``customers`` (int64): customers who went from source to target;
        - ``share`` (float64): of the source node's customers, 0..1;
        - ``ci_low``, ``ci_high`` (float64): Wilson 95% interval of ``share``;
        - ``low_n`` (bool): the source node has fewer than ``min_n`` customers;
        - ``median_time`` (timedelta64[ns], float64 for numeric times): median time from
            the source step's first event to the target step's first event (NaT into an
            ``"(end)"`` or out of a ``"(start)"`` node).

    Raises:
        ValidationError: A column is missing or has missing values, the anchor is not an
            activity of the frame, ``start`` and ``end`` are both given, ``other`` equals an
            activity that would be grouped, or an option is out of range.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({
        ...     "customer_id": ["a", "a", "a", "b", "b", "c"],
        ...     "touchpoint": ["Home", "Home", "Pricing", "Home", "Signup", "Pricing"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
        ...                                    "2024-01-01", "2024-01-05", "2024-01-02"]),
        ... })
        >>> result = paths(events, steps=2)
        >>> result.nodes[["node", "step", "label", "customers"]]
           node  step    label  customers
        0     0     0     Home          2
        1     1     0  Pricing          1
        2     2     1  Pricing          1
        3     3     1   Signup          1
        >>> result.links[["source_label", "target_label", "customers", "share", "median_time"]]
          source_label target_label  customers  share median_time
        0         Home      Pricing          1    0.5      2 days
        1         Home       Signup          1    0.5      4 days

    References:
        Riehmann, P., Hanfler, M., & Froehlich, B. (2005). Interactive Sankey diagrams.
        IEEE Symposium on Information Visualization, 233-240. Path ("flow") analysis as
        in Google Analytics' behaviour flow and Amplitude's Journeys: nodes per step,
        top-N per step with the rest grouped.
    """
    n_steps, n_top = _validate(
        steps=steps, top=top, start=start, end=end, occurrence=occurrence, other=other, min_n=min_n
    )
    log = event_log(df, case=case, activity=activity, time=time, order=order)
    anchor_field, anchor = ("start", start) if start is not None else ("end", end)
    anchor_code = _anchor_code(log, anchor_field, anchor) if anchor is not None else -1

    cases, codes, times = log.case, log.activity, log.time
    if collapse_repeats and cases.size > 1:
        keep = np.r_[True, (cases[1:] != cases[:-1]) | (codes[1:] != codes[:-1])]
        cases, codes, times = cases[keep], codes[keep], times[keep]
    n_cases = log.n_cases
    first_event = np.searchsorted(cases, np.arange(n_cases))
    position = np.arange(cases.size) - first_event[cases]

    # Step of every event relative to its case's anchor; included cases have an anchor.
    if anchor is None:
        anchor_position = np.zeros(n_cases, dtype=np.int64)
    else:
        hits = np.flatnonzero(codes == anchor_code)
        hit_cases = cases[hits]
        if occurrence == "first":
            chosen = np.r_[True, hit_cases[1:] != hit_cases[:-1]]
        else:
            chosen = np.r_[hit_cases[1:] != hit_cases[:-1], True]
        chosen = chosen[: hits.size]
        anchor_position = np.full(n_cases, -1, dtype=np.int64)
        anchor_position[hit_cases[chosen]] = position[hits[chosen]]
    included = anchor_position >= 0
    step = position - anchor_position[cases]
    in_case = included[cases]
    if end is not None:
        low_step, high_step = -(n_steps - 1), 0
        beyond = in_case & (step < low_step)
    else:
        low_step, high_step = 0, n_steps - 1
        beyond = in_case & (step > high_step)
    drawn = in_case & (step >= low_step) & (step <= high_step)
    n_customers = int(included.sum())
    truncated = int(np.unique(cases[beyond]).size)

    cases, codes, times, step = cases[drawn], codes[drawn], times[drawn], step[drawn]
    real = np.ones(cases.size, dtype=bool)
    n_activities = len(log.activities)
    start_code, end_code = n_activities + 1, n_activities + 2
    if ends and cases.size:
        cases, codes, times, step, real = _add_ends(
            cases=cases,
            codes=codes,
            times=times,
            step=step,
            backwards=end is not None,
            low_step=low_step,
            high_step=high_step,
            start_code=start_code,
            end_code=end_code,
        )

    codes = _group_other(
        codes,
        offset=step - low_step,
        n_steps=n_steps,
        n_top=n_top,
        n_activities=n_activities,
        log=log,
        other=other,
    )
    return _tables(
        log=log,
        cases=cases,
        codes=codes,
        times=times,
        step=step,
        real=real,
        low_step=low_step,
        n_steps=n_steps,
        n_customers=n_customers,
        excluded=int(n_cases - n_customers),
        truncated=truncated,
        other=other,
        min_n=min_n,
        settings={
            "steps": n_steps,
            "start": start,
            "end": end,
            "occurrence": occurrence,
            "other": other,
            "activity": str(activity),
        },
    )


def _add_ends(
    *,
    cases: np.ndarray,
    codes: np.ndarray,
    times: np.ndarray,
    step: np.ndarray,
    backwards: bool,
    low_step: int,
    high_step: int,
    start_code: int,
    end_code: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add a ``(end)`` event after paths that stop early (``(start)`` before, if backwards)."""
    boundary = np.r_[cases[1:] != cases[:-1], True]
    if backwards:
        boundary = np.r_[True, cases[1:] != cases[:-1]]
        early = boundary & (step > low_step)
        extra_step, extra_code = step[early] - 1, start_code
    else:
        early = boundary & (step < high_step)
        extra_step, extra_code = step[early] + 1, end_code
    k = int(early.sum())
    cases = np.r_[cases, cases[early]]
    codes = np.r_[codes, np.full(k, extra_code, dtype=np.int64)]
    times = np.r_[times, times[early]]
    step = np.r_[step, extra_step]
    real = np.r_[np.ones(cases.size - k, dtype=bool), np.zeros(k, dtype=bool)]
    again = np.lexsort((step, cases))
    return cases[again], codes[again], times[again], step[again], real[again]


def _group_other(
    codes: np.ndarray,
    *,
    offset: np.ndarray,
    n_steps: int,
    n_top: int | None,
    n_activities: int,
    log: EventLog,
    other: str,
) -> np.ndarray:
    """Replace the activities outside each step's top ``n_top`` by the ``other`` code."""
    if n_top is None or n_top >= n_activities or codes.size == 0:
        return codes
    width = n_activities + 3
    counts = np.bincount(offset * width + codes, minlength=n_steps * width)
    counts = counts.reshape(n_steps, width)[:, :n_activities]
    # Most customers first; a stable sort keeps ties in activity order.
    ranking = np.argsort(-counts, axis=1, kind="stable")
    rank = np.empty_like(ranking)
    np.put_along_axis(rank, ranking, np.arange(n_activities)[None, :], axis=1)
    is_activity = codes < n_activities
    safe = np.where(is_activity, codes, 0)
    grouped = is_activity & (rank[offset, safe] >= n_top)
    if grouped.any() and other in log.activities:
        raise ValidationError(
            "other",
            other,
            "is also an activity of the frame; pass another label, e.g. other='(other)'",
        )
    return np.where(grouped, n_activities, codes)


def _tables(
    *,
    log: EventLog,
    cases: np.ndarray,
    codes: np.ndarray,
    times: np.ndarray,
    step: np.ndarray,
    real: np.ndarray,
    low_step: int,
    n_steps: int,
    n_customers: int,
    excluded: int,
    truncated: int,
    other: str,
    min_n: int,
    settings: dict[str, Any],
) -> Paths:
    n_activities = len(log.activities)
    width = n_activities + 3
    key = (step - low_step) * width + codes
    unique_keys, inverse, customers = np.unique(key, return_inverse=True, return_counts=True)
    node_step = unique_keys // width + low_step
    node_code = unique_keys % width
    kind = np.minimum(node_code - n_activities + 1, 3).clip(0)  # activity, other, start, end
    # List nodes by step, kind, most customers first, then activity order.
    order = np.lexsort((node_code, -customers, kind, node_step))
    node_id = np.empty(order.size, dtype=np.int64)
    node_id[order] = np.arange(order.size)
    extra = np.array([other, START_LABEL, END_LABEL], dtype=object)
    labels = np.empty(width, dtype=object)
    labels[:n_activities] = np.asarray(log.activities, dtype=object)
    labels[n_activities:] = extra
    ordered_customers = customers[order].astype(np.int64)
    low, high = wilson_interval(ordered_customers, n_customers)
    nodes = pd.DataFrame(
        {
            "node": np.arange(order.size, dtype=np.int64),
            "step": node_step[order].astype(np.int64),
            "label": pd.Series(labels[node_code[order]], dtype=object),
            "kind": pd.Series(np.array(_KINDS, dtype=object)[kind[order]], dtype=object),
            "customers": ordered_customers,
            "share": ordered_customers / n_customers if n_customers else np.zeros(order.size),
            "ci_low": low,
            "ci_high": high,
        }
    )

    event_node = node_id[inverse.reshape(-1)]
    follows = np.flatnonzero(cases[1:] == cases[:-1]) if cases.size > 1 else np.zeros(0, int)
    source, target = event_node[follows], event_node[follows + 1]
    timed = real[follows] & real[follows + 1]
    gap = (times[follows + 1] - times[follows]).astype(np.float64)
    gap[~timed] = np.nan
    n_nodes = order.size
    link_key = source * max(n_nodes, 1) + target
    link_keys, link_inverse, link_customers = np.unique(
        link_key, return_inverse=True, return_counts=True
    )
    link_source = link_keys // max(n_nodes, 1)
    link_target = link_keys % max(n_nodes, 1)
    median = _group_median(link_inverse.reshape(-1), gap, link_keys.size)
    source_customers = nodes["customers"].to_numpy()[link_source]
    link_customers = link_customers.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = link_customers / source_customers
    link_low, link_high = wilson_interval(link_customers, source_customers)
    node_labels = nodes["label"].to_numpy()
    links = pd.DataFrame(
        {
            "source": link_source.astype(np.int64),
            "target": link_target.astype(np.int64),
            "source_label": pd.Series(node_labels[link_source], dtype=object),
            "target_label": pd.Series(node_labels[link_target], dtype=object),
            "step": nodes["step"].to_numpy()[link_source].astype(np.int64),
            "customers": link_customers,
            "share": share.astype(np.float64),
            "ci_low": link_low,
            "ci_high": link_high,
            "low_n": source_customers < min_n,
            "median_time": _as_durations(log, median),
        }
    )
    return Paths(
        nodes=nodes,
        links=links,
        n_customers=n_customers,
        excluded=excluded,
        truncated=truncated,
        **settings,
    )


def _group_median(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` (NaN ignored) within each group, by one sort."""
    result = np.full(n_groups, np.nan)
    present = ~np.isnan(values)
    group, values = group[present], values[present]
    if group.size == 0:
        return result
    ordered = np.lexsort((values, group))
    group, values = group[ordered], values[ordered]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    counts = np.diff(np.r_[starts, group.size])
    middle = (values[starts + (counts - 1) // 2] + values[starts + counts // 2]) / 2
    result[group[starts]] = middle
    return result


def _as_durations(log: EventLog, median: np.ndarray) -> Any:
    if not log.is_datetime:
        return median
    whole = np.where(np.isnan(median), 0, np.round(median)).astype(np.int64)
    durations = whole.astype("timedelta64[ns]")
    durations[np.isnan(median)] = np.timedelta64("NaT")
    return durations
