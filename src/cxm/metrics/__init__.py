"""Experience metrics: pure functions over DataFrames (NPS, CSAT, CES, retention, value).

Every function takes a DataFrame (``ws.feedback()``, ``ws.interactions()`` or a frame loaded by
hand), with the canonical column names as keyword defaults, and returns a DataFrame whose
columns its docstring lists: every rate or mean with its ``n``, ``ci_low``/``ci_high`` and a
``low_n`` flag.
"""

from __future__ import annotations

from cxm.metrics.drivers import KeyDriverResult, key_drivers, relative_weights, shapley_r2
from cxm.metrics.feedback import (
    NPSComparison,
    ces,
    compare_nps,
    csat,
    nps,
    nps_interval,
    rating,
    wilson_interval,
)
from cxm.metrics.monitoring import (
    Alert,
    DeliveryFailure,
    Monitor,
    alert_severity,
    benjamini_hochberg,
    check_monitors,
    cusum,
    deliver_alerts,
    detect_change,
    ewma_chart,
    metric_series,
    p_chart,
)
from cxm.metrics.rfm import RFM_SEGMENTS, rfm, rfm_segment_rules, rfm_segments

__all__ = [
    "RFM_SEGMENTS",
    "Alert",
    "DeliveryFailure",
    "KeyDriverResult",
    "Monitor",
    "NPSComparison",
    "alert_severity",
    "benjamini_hochberg",
    "ces",
    "check_monitors",
    "compare_nps",
    "csat",
    "cusum",
    "deliver_alerts",
    "detect_change",
    "ewma_chart",
    "key_drivers",
    "metric_series",
    "nps",
    "nps_interval",
    "p_chart",
    "rating",
    "relative_weights",
    "rfm",
    "rfm_segment_rules",
    "rfm_segments",
    "shapley_r2",
    "wilson_interval",
]
