"""Experience metrics: pure functions over DataFrames (NPS, CSAT, CES, retention, value).

Every function takes a DataFrame (``ws.feedback()``, ``ws.interactions()`` or a frame loaded by
hand), with the canonical column names as keyword defaults, and returns a DataFrame whose
columns its docstring lists: every rate or mean with its ``n``, ``ci_low``/``ci_high`` and a
``low_n`` flag.
"""

from __future__ import annotations

from cxm.metrics.clv import (
    BetaGeo,
    GammaGamma,
    ParetoNBD,
    customer_lifetime_value,
    summary_from_transactions,
)
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
from cxm.metrics.retention import (
    CohortRetention,
    KaplanMeier,
    SBGFit,
    churn_rate,
    churned,
    cohort_retention,
    customer_lifetimes,
    customer_survival,
    fit_sbg,
    kaplan_meier,
)
from cxm.metrics.rfm import RFM_SEGMENTS, rfm, rfm_segment_rules, rfm_segments
from cxm.metrics.sentiment import (
    SentimentAnalyzer,
    analyzers,
    get_analyzer,
    label_scores,
    score_text,
    sentiment_summary,
)
from cxm.metrics.themes import (
    distinguishing_themes,
    nps_segment,
    nps_themes,
    themes,
    weighted_log_odds,
)

__all__ = [
    "RFM_SEGMENTS",
    "Alert",
    "BetaGeo",
    "CohortRetention",
    "DeliveryFailure",
    "GammaGamma",
    "KaplanMeier",
    "KeyDriverResult",
    "Monitor",
    "NPSComparison",
    "ParetoNBD",
    "SBGFit",
    "SentimentAnalyzer",
    "alert_severity",
    "analyzers",
    "benjamini_hochberg",
    "ces",
    "check_monitors",
    "churn_rate",
    "churned",
    "cohort_retention",
    "compare_nps",
    "csat",
    "customer_lifetime_value",
    "customer_lifetimes",
    "customer_survival",
    "cusum",
    "deliver_alerts",
    "detect_change",
    "distinguishing_themes",
    "ewma_chart",
    "fit_sbg",
    "get_analyzer",
    "kaplan_meier",
    "key_drivers",
    "label_scores",
    "metric_series",
    "nps",
    "nps_interval",
    "nps_segment",
    "nps_themes",
    "p_chart",
    "rating",
    "relative_weights",
    "rfm",
    "rfm_segment_rules",
    "rfm_segments",
    "score_text",
    "sentiment_summary",
    "shapley_r2",
    "summary_from_transactions",
    "themes",
    "weighted_log_odds",
    "wilson_interval",
]
