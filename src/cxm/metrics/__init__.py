"""Experience metrics: pure functions over DataFrames (NPS, CSAT, CES, retention, value).

Every function takes a DataFrame (``ws.feedback()``, ``ws.interactions()`` or a frame loaded by
hand), with the canonical column names as keyword defaults, and returns a DataFrame whose
columns its docstring lists: every rate or mean with its ``n``, ``ci_low``/``ci_high`` and a
``low_n`` flag.
"""

from __future__ import annotations

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
