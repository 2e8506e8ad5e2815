"""RFM: hand-built scores, tie handling, the segment rule table, as_of, summaries, input."""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest

from cxm.exceptions import ValidationError
from cxm.metrics.rfm import RFM_SEGMENTS, _segments, rfm, rfm_segment_rules, rfm_segments


def purchases(rows: list[tuple[object, str, float]], tz: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "value"])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], format="ISO8601")
    if tz is not None:
        frame["occurred_at"] = frame["occurred_at"].dt.tz_localize(tz)
    return frame


def ten_customers() -> pd.DataFrame:
    """Customer c<i> (i = 0..9): last bought 10 * (10 - i) days before 2024-06-01, bought i + 1
    times, and spent 100 * (i + 1) in total: all three rise with i and no two are tied."""
    rows: list[tuple[object, str, float]] = []
    as_of = pd.Timestamp("2024-06-01")
    for i in range(10):
        last = as_of - pd.Timedelta(days=10 * (10 - i))
        for k in range(i + 1):
            when = last - pd.Timedelta(days=200 + k) if k else last
            rows.append((f"c{i}", str(when.date()), 100.0))
    return purchases(rows)


# -- hand-built scores ----------------------------------------------------------------------


def test_scores_on_a_hand_built_example() -> None:
    table = rfm(ten_customers(), as_of="2024-06-01")
    assert list(table["customer_id"]) == [f"c{i}" for i in range(10)]
    assert list(table["recency"]) == [100, 90, 80, 70, 60, 50, 40, 30, 20, 10]
    assert list(table["frequency"]) == list(range(1, 11))
    assert list(table["monetary"]) == [100.0 * k for k in range(1, 11)]
    expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # two customers per quintile
    assert list(table["r_score"]) == expected
    assert list(table["f_score"]) == expected
    assert list(table["m_score"]) == expected
    cells = ["111", "111", "222", "222", "333", "333", "444", "444", "555", "555"]
    assert list(table["rfm_cell"]) == cells
    assert list(table["segment"].astype(str)) == [
        "Lost",
        "Lost",
        "Hibernating",
        "Hibernating",
        "Need attention",
        "Need attention",
        "Champions",
        "Champions",
        "Champions",
        "Champions",
    ]
    assert table["last_purchase"].iloc[9] == pd.Timestamp("2024-05-22")


def test_distinct_values_fall_into_equal_count_quantile_bins() -> None:
    rng = np.random.default_rng(1)
    n = 237
    rows = [(i, "2024-01-01", float(v)) for i, v in enumerate(rng.permutation(n) + 1.5)]
    table = rfm(purchases(rows), bins=5)
    # Score = 1 + how many of the quintile cut points 0.2, 0.4, ... the share of customers
    # below the customer reaches.
    below = (table["monetary"].rank(method="min") - 1) / n
    oracle = 1 + sum((below >= k / 5 - 1e-12).astype(int) for k in range(1, 5))
    assert (table["m_score"].to_numpy() == oracle.to_numpy()).all()
    # 237 / 5 = 47.4: positions 0-47 score 1, 48-94 score 2, 95-142 score 3, ...
    assert np.bincount(table["m_score"])[1:].tolist() == [48, 47, 48, 47, 47]


def test_ties_share_the_score_of_their_first_position() -> None:
    # Frequencies 1 x6, 2 x2, 3, 5 over ten customers: min ranks 1, 7, 9, 10.
    counts = [1, 1, 1, 1, 1, 1, 2, 2, 3, 5]
    rows = [
        (f"c{i}", f"2024-01-{day + 1:02d}", 10.0)
        for i, count in enumerate(counts)
        for day in range(count)
    ]
    table = rfm(purchases(rows), as_of="2024-02-01")
    assert list(table["frequency"]) == counts
    assert list(table["f_score"]) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # Equal totals -> equal monetary scores; the six one-time buyers spent 10 each.
    assert table.loc[table["frequency"] == 1, "m_score"].nunique() == 1
    # Same last purchase date -> same recency score, whatever the customer.
    same_day = table.loc[table["recency"] == table["recency"].min(), "r_score"]
    assert same_day.nunique() == 1


def test_scores_are_monotone_in_the_values() -> None:
    rng = np.random.default_rng(7)
    rows = [
        (int(c), str(pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(d))), float(v))
        for c, d, v in zip(
            rng.integers(0, 300, 3000),
            rng.integers(0, 365, 3000),
            rng.gamma(2, 30, 3000).round(0),
            strict=True,
        )
    ]
    table = rfm(purchases(rows))
    for value, score, sign in (
        ("recency", "r_score", -1),
        ("frequency", "f_score", 1),
        ("monetary", "m_score", 1),
    ):
        ordered = table.assign(key=sign * table[value]).sort_values("key")
        assert ordered[score].is_monotonic_increasing
        assert (ordered.groupby("key")[score].nunique() == 1).all()
        assert ordered[score].min() == 1
    assert table["customer_id"].dtype.kind == "i"  # integer ids stay integers


# -- segment rules --------------------------------------------------------------------------


def test_rule_table_maps_every_score_combination_to_exactly_one_segment() -> None:
    rules = rfm_segment_rules()
    assert set(rules["segment"]) == set(RFM_SEGMENTS)
    for r, f, m in product(range(1, 6), repeat=3):
        fm = (f + m) / 2
        hits = rules[
            (rules["r_min"] <= r)
            & (r <= rules["r_max"])
            & (rules["fm_min"] <= fm)
            & (fm <= rules["fm_max"])
        ]
        assert len(hits) == 1, (r, f, m, list(hits["segment"]))
        got = _segments(np.array([r]), np.array([f]), np.array([m]), 5)
        assert str(got[0]) == hits["segment"].iloc[0]


def test_every_segment_is_reachable_and_the_corners_are_named() -> None:
    r, f, m = (np.array(x) for x in zip(*product(range(1, 6), repeat=3), strict=True))
    named = pd.Series(
        _segments(r, f, m, 5).astype(str),
        index=[f"{a}{b}{c}" for a, b, c in zip(r, f, m, strict=True)],
    )
    assert set(named) == set(RFM_SEGMENTS)
    assert named["555"] == "Champions"
    assert named["111"] == "Lost"
    assert named["155"] == "Cannot lose them"
    assert named["511"] == "New customers"
    assert named["411"] == "Promising"
    assert named["255"] == "At risk"


@pytest.mark.parametrize("bins", range(2, 10))
def test_other_bin_counts_map_onto_the_five_point_table(bins: int) -> None:
    scores = np.array(list(product(range(1, bins + 1), repeat=3)))
    segment = _segments(scores[:, 0], scores[:, 1], scores[:, 2], bins)
    assert not pd.isna(segment).any()
    top = _segments(np.array([bins]), np.array([bins]), np.array([bins]), bins)
    bottom = _segments(np.array([1]), np.array([1]), np.array([1]), bins)
    assert str(top[0]) == "Champions"
    assert str(bottom[0]) == "Lost"


# -- as_of and time zones -------------------------------------------------------------------


def test_as_of_defaults_to_the_day_after_the_last_purchase() -> None:
    frame = purchases(
        [("a", "2024-03-10 18:30", 5.0), ("b", "2024-03-01 09:00", 5.0), ("a", "2024-01-01", 5.0)]
    )
    default = rfm(frame)
    explicit = rfm(frame, as_of="2024-03-11")
    pd.testing.assert_frame_equal(default, explicit)
    assert list(default["recency"]) == [1, 10]
    later = rfm(frame, as_of=pd.Timestamp("2024-04-10 23:59"))
    assert list(later["recency"]) == [31, 40]


def test_purchases_after_as_of_are_refused() -> None:
    frame = purchases([("a", "2024-03-10", 5.0), ("b", "2024-03-01", 5.0)])
    with pytest.raises(ValidationError, match="fall after it") as info:
        rfm(frame, as_of="2024-03-05")
    assert info.value.field == "as_of"
    assert list(rfm(frame, as_of="2024-03-10")["recency"]) == [0, 9]


def test_days_follow_the_time_columns_own_time_zone() -> None:
    # 23:30 in Berlin on 1 March is 22:30 UTC the same day; 00:30 on 2 March is 23:30 UTC
    # on 1 March: calendar days are those of the wall clock.
    frame = purchases(
        [("a", "2024-03-01 23:30", 1.0), ("b", "2024-03-02 00:30", 1.0)], "Europe/Berlin"
    )
    table = rfm(frame)
    assert list(table["recency"]) == [2, 1]
    aware = rfm(frame, as_of=pd.Timestamp("2024-03-05 00:30", tz="Europe/Berlin"))
    assert list(aware["recency"]) == [4, 3]
    utc = rfm(frame, as_of=pd.Timestamp("2024-03-04 23:30", tz="UTC"))  # 5 March in Berlin
    assert list(utc["recency"]) == [4, 3]
    assert str(table["last_purchase"].dt.tz) == "Europe/Berlin"


def test_row_order_does_not_matter() -> None:
    frame = ten_customers()
    shuffled = frame.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(rfm(frame), rfm(shuffled))


def test_monetary_mean_is_spend_per_purchase() -> None:
    frame = purchases(
        [("a", "2024-01-01", 10.0), ("a", "2024-01-02", 30.0), ("b", "2024-01-03", 25.0)]
    )
    assert list(rfm(frame, monetary="mean")["monetary"]) == [20.0, 25.0]
    assert list(rfm(frame)["monetary"]) == [40.0, 25.0]


def test_anonymous_purchases_are_left_out() -> None:
    frame = purchases([("a", "2024-01-01", 10.0), (None, "2024-01-09", 99.0)])
    table = rfm(frame)
    assert list(table["customer_id"]) == ["a"]
    assert list(table["recency"]) == [1]  # as_of from the scored purchases only


def test_result_columns() -> None:
    table = rfm(ten_customers())
    assert list(table.columns) == [
        "customer_id",
        "last_purchase",
        "recency",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_cell",
        "segment",
    ]
    assert list(table["segment"].cat.categories) == list(RFM_SEGMENTS)
    for column in ("recency", "frequency", "r_score", "f_score", "m_score"):
        assert table[column].dtype == np.int64


# -- segment summary ------------------------------------------------------------------------


def test_segment_summary_matches_a_pandas_group_by() -> None:
    rng = np.random.default_rng(2)
    rows = [
        (int(c), str(pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(d))), float(v))
        for c, d, v in zip(
            rng.integers(0, 500, 4000),
            rng.integers(0, 365, 4000),
            rng.gamma(2, 30, 4000),
            strict=True,
        )
    ]
    frame = purchases(rows)
    table = rfm(frame)
    summary = rfm_segments(frame)
    pd.testing.assert_frame_equal(summary, rfm_segments(table))
    assert list(summary["segment"].astype(str)) == list(RFM_SEGMENTS)
    assert summary["n"].sum() == len(table)
    assert summary["share"].sum() == pytest.approx(1.0)
    assert summary["monetary_share"].sum() == pytest.approx(1.0)
    oracle = table.groupby("segment", observed=False).agg(
        n=("customer_id", "size"),
        monetary_total=("monetary", "sum"),
        recency_mean=("recency", "mean"),
        frequency_mean=("frequency", "mean"),
        monetary_mean=("monetary", "mean"),
        r_score_mean=("r_score", "mean"),
        f_score_mean=("f_score", "mean"),
        m_score_mean=("m_score", "mean"),
    )
    got = summary.set_index("segment")
    for column in oracle.columns:
        np.testing.assert_allclose(
            got[column].to_numpy(float), oracle[column].to_numpy(float), rtol=1e-12
        )


def test_empty_segments_are_listed_with_zero_customers() -> None:
    summary = rfm_segments(ten_customers(), as_of="2024-06-01")
    got = summary.set_index(summary["segment"].astype(str))
    assert got.loc["Champions", "n"] == 4
    assert got.loc["Champions", "share"] == pytest.approx(0.4)
    assert got.loc["Cannot lose them", "n"] == 0
    assert np.isnan(got.loc["Cannot lose them", "recency_mean"])
    assert got.loc["Lost", "recency_mean"] == pytest.approx(95.0)
    assert got.loc["Lost", "r_score_mean"] == pytest.approx(1.0)


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "kwargs", "field"),
    [
        (lambda f: f.drop(columns="value"), {}, "df"),
        (lambda f: f.assign(occurred_at=f["occurred_at"].astype(str)), {}, "occurred_at"),
        (lambda f: f.assign(value=f["value"].astype(str)), {}, "value"),
        (lambda f: f.assign(value=[1.0, np.nan, 2.0]), {}, "value"),
        (
            lambda f: f.assign(occurred_at=[f["occurred_at"][0], pd.NaT, f["occurred_at"][2]]),
            {},
            "occurred_at",
        ),
        (lambda f: f, {"bins": 1}, "bins"),
        (lambda f: f, {"bins": 10}, "bins"),
        (lambda f: f, {"bins": True}, "bins"),
        (lambda f: f, {"monetary": "max"}, "monetary"),
        (lambda f: f, {"as_of": "not a date"}, "as_of"),
    ],
)
def test_bad_input_raises_naming_the_field(
    change: object, kwargs: dict[str, object], field: str
) -> None:
    frame = purchases(
        [("a", "2024-01-01", 1.0), ("b", "2024-01-02", 2.0), ("a", "2024-01-03", 3.0)]
    )
    with pytest.raises(ValidationError) as info:
        rfm(change(frame), **kwargs)  # type: ignore[operator, arg-type]
    assert info.value.field == field


def test_no_identified_purchases_give_empty_tables() -> None:
    frame = purchases([(None, "2024-01-01", 1.0)])
    assert rfm(frame).empty
    summary = rfm_segments(frame)
    assert len(summary) == len(RFM_SEGMENTS)
    assert summary["n"].sum() == 0


def test_not_a_dataframe() -> None:
    with pytest.raises(ValidationError):
        rfm([("a", "2024-01-01", 1.0)])  # type: ignore[arg-type]
