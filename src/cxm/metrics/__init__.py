"""Experience metrics: pure functions over DataFrames (NPS, CSAT, CES, retention, value)."""
