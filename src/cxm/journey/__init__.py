"""Journey analysis: stages, journey maps, transitions, funnels, paths and attribution.

Every function is a pure function over a DataFrame of events (``ws.interactions()`` or a frame
loaded by hand), with the column names as keyword arguments. Functions over event logs
(:func:`transitions`, :func:`variants`, :func:`paths`, :func:`funnel`,
:func:`compare_journeys`) call the journey's owner the ``case`` (default ``customer_id``), what
happened the ``activity`` (default ``touchpoint``; any column such as ``stage`` or ``kind``
works) and its moment the ``time`` (default ``occurred_at``). They sort the events themselves by
case, time, an optional ``order`` column and then the activity, so their results never depend
on the frame's row order (see :func:`event_log`).

Examples:
    >>> import pandas as pd
    >>> import cxm
    >>> events = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "b"],
    ...     "touchpoint": ["Ad", "Web", "Checkout", "Web", "Checkout"],
    ...     "occurred_at": pd.to_datetime(
    ...         ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05", "2024-01-06"], utc=True
    ...     ),
    ... })
    >>> cxm.journey.transitions(events)[["source", "target", "count"]].values.tolist()
    [['Web', 'Checkout', 2], ['Ad', 'Web', 1]]
    >>> cxm.journey.funnel(events, ["Web", "Checkout"]).table["customers"].tolist()
    [2, 2]
"""

from __future__ import annotations

from cxm.journey._events import EventLog, event_log
from cxm.journey.attribution import (
    ATTRIBUTION_MODELS,
    MarkovChain,
    aggregate_paths,
    attribution,
    attribution_table,
    conversion_paths,
    markov_chain,
    removal_effects,
)
from cxm.journey.compare import NPS_SEGMENTS, compare_journeys, nps_response_times, nps_segments
from cxm.journey.funnel import Exclusion, FunnelResult, compare_funnels, funnel
from cxm.journey.map import NO_TOUCHPOINT, UNASSIGNED, journey_map, pain_points
from cxm.journey.paths import Paths, paths
from cxm.journey.stages import LIFECYCLE, StageRule, Stages, as_stages, assign_stages
from cxm.journey.transitions import (
    ProcessSummary,
    end_activities,
    process_summary,
    start_activities,
    transition_matrix,
    transitions,
    variants,
)

__all__ = [
    "ATTRIBUTION_MODELS",
    "LIFECYCLE",
    "NO_TOUCHPOINT",
    "NPS_SEGMENTS",
    "UNASSIGNED",
    "EventLog",
    "Exclusion",
    "FunnelResult",
    "MarkovChain",
    "Paths",
    "ProcessSummary",
    "StageRule",
    "Stages",
    "aggregate_paths",
    "as_stages",
    "assign_stages",
    "attribution",
    "attribution_table",
    "compare_funnels",
    "compare_journeys",
    "conversion_paths",
    "end_activities",
    "event_log",
    "funnel",
    "journey_map",
    "markov_chain",
    "nps_response_times",
    "nps_segments",
    "pain_points",
    "paths",
    "process_summary",
    "removal_effects",
    "start_activities",
    "transition_matrix",
    "transitions",
    "variants",
]
