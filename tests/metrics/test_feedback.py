"""NPS, CSAT, CES and ratings: published figures, intervals, grouping and validation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxm
from cxm.exceptions import ValidationError
from cxm.metrics import ces, compare_nps, csat, nps, nps_interval, rating, wilson_interval


def answers(promoters: int, passives: int, detractors: int) -> pd.DataFrame:
    scores = [9, 10] * (promoters // 2) + [10] * (promoters % 2)
    scores += [7, 8] * (passives // 2) + [7] * (passives % 2)
    scores += list(range(7)) * (detractors // 7) + [0] * (detractors % 7)
    return pd.DataFrame({"score": scores})


# -- the acceptance figures (Rocks 2016 worked example) --------------------------------------


def test_nps_of_100_60_40_is_30_with_wald_se_5_52_and_margin_10_8() -> None:
    row = nps(answers(100, 60, 40), method="wald").iloc[0]
    assert (row["n"], row["promoters"], row["passives"], row["detractors"]) == (200, 100, 60, 40)
    assert row["nps"] == pytest.approx(30.0)
    assert round(row["se"], 2) == 5.52
    assert round((row["ci_high"] - row["ci_low"]) / 2, 1) == 10.8
    assert row["ci_low"] + row["ci_high"] == pytest.approx(60.0)  # symmetric about 30


def test_adjusted_wald_interval_is_18_8_to_40_3() -> None:
    row = nps(answers(100, 60, 40)).iloc[0]  # the default method
    assert row["nps"] == pytest.approx(30.0)  # the estimate stays the plain NPS
    assert (round(row["ci_low"], 1), round(row["ci_high"], 1)) == (18.8, 40.3)


def test_adjusted_wald_by_hand() -> None:
    # n + 3 answers, 3/4 added to promoters and detractors, then Wald.
    n, p, d = 23 + 3, (12 + 0.75) / 26, (5 + 0.75) / 26
    se = np.sqrt((p + d - (p - d) ** 2) / n)
    z = stats.norm.ppf(0.95)
    se_got, low, high = nps_interval(12, 6, 5, confidence=0.90)
    assert float(se_got) == pytest.approx(se * 100)
    assert float(low) == pytest.approx((p - d - z * se) * 100)
    assert float(high) == pytest.approx((p - d + z * se) * 100)


def test_compare_nps_difference_18_z_2_382_p_0_0172() -> None:
    result = compare_nps((100, 60, 40), (100, 80, 70))
    assert round(result.difference, 1) == 18.0
    assert round(result.z, 3) == 2.382
    assert round(result.p_value, 4) == 0.0172
    assert (result.n_a, result.n_b) == (200, 250)
    assert result.ci_low < 18.0 < result.ci_high
    assert result.ci_low > 0  # significant at 5 %, so the interval excludes 0
    assert "z = 2.382" in str(result)


def test_compare_nps_accepts_rows_mappings_and_answer_frames() -> None:
    expected = compare_nps((100, 60, 40), (100, 80, 70))
    a, b = answers(100, 60, 40), answers(100, 80, 70)
    assert compare_nps(a, b).z == pytest.approx(expected.z)
    assert compare_nps(nps(a).iloc[0], nps(b)).z == pytest.approx(expected.z)
    counts = {"promoters": 100, "passives": 60, "detractors": 40}
    assert compare_nps(counts, a["score"].iloc[::-1]).z == pytest.approx(0.0)
    assert compare_nps(b, a).difference == pytest.approx(-18.0)


@pytest.mark.parametrize("bad", [(1, 2), (0, 0, 0), (-1, 5, 5), "many"])
def test_compare_nps_refuses_what_is_not_counts(bad: object) -> None:
    with pytest.raises(ValidationError, match=r"^a="):
        compare_nps(bad, (1, 1, 1))


# -- interval behaviour ----------------------------------------------------------------------


def test_adjusted_wald_keeps_its_coverage_at_small_n() -> None:
    """At n = 30 the adjusted Wald interval covers the true NPS about 95 % of the time."""
    rng = np.random.default_rng(7)
    shares = np.array([0.55, 0.30, 0.15])  # true NPS 40
    draws = rng.multinomial(30, shares, size=40_000)
    for method, floor in (("adjusted_wald", 0.935), ("wald", 0.90)):
        _, low, high = nps_interval(draws[:, 0], draws[:, 1], draws[:, 2], method=method)
        coverage = np.mean((low <= 40) & (high >= 40))
        assert floor < coverage < 0.97, (method, coverage)
    _, low, high = nps_interval(draws[:, 0], draws[:, 1], draws[:, 2], method="wald")
    wald = np.mean((low <= 40) & (high >= 40))
    _, low, high = nps_interval(draws[:, 0], draws[:, 1], draws[:, 2])
    adjusted = np.mean((low <= 40) & (high >= 40))
    assert adjusted > wald  # the point of the adjustment


def test_all_promoters_gets_a_real_interval_not_zero_width() -> None:
    row = nps(pd.DataFrame({"score": [10] * 12})).iloc[0]
    assert row["nps"] == 100.0
    assert row["ci_high"] == pytest.approx(100.0)
    assert row["ci_low"] < 85  # plain Wald would claim [100, 100]
    wald = nps(pd.DataFrame({"score": [10] * 12}), method="wald").iloc[0]
    assert wald["ci_low"] == wald["ci_high"] == 100.0


def test_bootstrap_is_seeded_and_agrees_with_wald_at_large_n() -> None:
    frame = answers(1000, 600, 400)
    one = nps(frame, method="bootstrap", seed=3).iloc[0]
    two = nps(frame, method="bootstrap", seed=3).iloc[0]
    assert (one["ci_low"], one["ci_high"]) == (two["ci_low"], two["ci_high"])
    wald = nps(frame, method="wald").iloc[0]
    assert one["ci_low"] == pytest.approx(wald["ci_low"], abs=0.6)
    assert one["ci_high"] == pytest.approx(wald["ci_high"], abs=0.6)
    assert one["se"] == pytest.approx(wald["se"], rel=0.1)


def test_wilson_interval_reproduces_newcombe_1998() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I: 81/263 -> 0.2553, 0.3662.
    low, high = wilson_interval(81, 263)
    assert (round(float(low), 4), round(float(high), 4)) == (0.2553, 0.3662)
    low, high = wilson_interval(0, 10)
    assert float(low) == 0.0
    assert round(float(high), 4) == 0.2775  # Newcombe's 0/10 example


# -- grouping --------------------------------------------------------------------------------


def grouped_frame() -> pd.DataFrame:
    rows = []
    for month, touchpoint, scores in [
        (1, "Checkout", [10, 9, 3]),
        (1, "Support", [0, 5, 8, 10]),
        (2, "Checkout", [9]),
        (2, "Support", [6, 6]),
        (3, "Checkout", [7, 10, 10, 2]),
    ]:
        for day, value in enumerate(scores, start=1):
            rows.append(
                {
                    "occurred_at": datetime(2026, month, day * 3, 12, tzinfo=UTC),
                    "touchpoint": touchpoint,
                    "score": value,
                }
            )
    frame = pd.DataFrame(rows).sample(frac=1, random_state=1)  # order must not matter
    frame["touchpoint"] = frame["touchpoint"].astype("category")
    return frame


def test_grouped_by_touchpoint_and_month() -> None:
    table = nps(grouped_frame(), by="touchpoint", freq="MS", min_n=3)
    assert list(table.columns) == [
        "touchpoint",
        "period",
        "n",
        "promoters",
        "passives",
        "detractors",
        "nps",
        "se",
        "ci_low",
        "ci_high",
        "low_n",
    ]
    got = {
        (row.touchpoint, row.period.month): (row.n, row.promoters, row.detractors, row.nps)
        for row in table.itertuples()
    }
    assert got == {
        ("Checkout", 1): (3, 2, 1, pytest.approx(100 / 3)),
        ("Checkout", 2): (1, 1, 0, 100.0),
        ("Checkout", 3): (4, 2, 1, 25.0),
        ("Support", 1): (4, 1, 2, -25.0),
        ("Support", 2): (2, 0, 2, -100.0),
    }
    assert table["period"].iloc[0] == pd.Timestamp("2026-01-01", tz="UTC")
    assert table["low_n"].tolist() == [False, True, False, False, True]


def test_grouping_matches_a_hand_written_groupby() -> None:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "score": rng.integers(0, 11, 5000),
            "channel": rng.choice(["email", "web", "app"], 5000),
            "occurred_at": pd.to_datetime(
                rng.integers(1_700_000_000, 1_730_000_000, 5000), unit="s", utc=True
            ),
        }
    )
    table = nps(frame, by=["channel"], freq="QS")
    frame["quarter"] = frame["occurred_at"].dt.tz_localize(None).dt.to_period("Q")
    expected = frame.groupby(["channel", "quarter"])["score"].agg(
        n="size",
        promoters=lambda s: (s >= 9).sum(),
        detractors=lambda s: (s <= 6).sum(),
    )
    assert table["n"].tolist() == expected["n"].tolist()
    assert table["promoters"].tolist() == expected["promoters"].tolist()
    assert table["detractors"].tolist() == expected["detractors"].tolist()
    assert table["n"].sum() == 5000


def test_only_the_metrics_rows_are_used() -> None:
    frame = pd.DataFrame(
        {
            "metric": ["nps", "nps", "csat", "csat", "nps"],
            "score": [10, 0, 5, 4, 9],
            "scale_min": [0, 0, 1, 1, 0],
            "scale_max": [10, 10, 5, 5, 10],
        }
    )
    assert nps(frame).iloc[0]["n"] == 3
    assert csat(frame).iloc[0]["n"] == 2
    with pytest.raises(ValidationError):
        nps(frame, metric=None)  # the CSAT rows are on another scale


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [11, -1, 7.5, np.nan])
def test_an_off_scale_score_is_refused_naming_it(bad: float) -> None:
    frame = pd.DataFrame({"score": [10, 9, bad, 3]})
    with pytest.raises(ValidationError) as raised:
        nps(frame)
    assert raised.value.field == "score"
    assert "0 to 10" in str(raised.value)
    assert "row 2" in str(raised.value)


def test_text_scores_are_refused() -> None:
    with pytest.raises(ValidationError, match="numbers"):
        nps(pd.DataFrame({"score": [10, "nine"]}))


def test_missing_columns_and_bad_options_are_named() -> None:
    frame = answers(3, 2, 1)
    with pytest.raises(ValidationError, match="touchpoint"):
        nps(frame, by="touchpoint")
    with pytest.raises(ValidationError, match="method"):
        nps(frame, method="exact")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="confidence"):
        nps(frame, confidence=95)
    with pytest.raises(ValidationError, match="occurred_at"):
        nps(frame, freq="MS")
    with pytest.raises(ValidationError, match="top_box"):
        csat(pd.DataFrame({"score": [5]}), top_box=5)
    with pytest.raises(ValidationError, match="min_n"):
        nps(frame, min_n=-1)


def test_bad_freq_is_named() -> None:
    frame = grouped_frame()
    with pytest.raises(ValidationError) as raised:
        nps(frame, freq="fortnightly")
    assert raised.value.field == "freq"


# -- CSAT, CES, ratings ----------------------------------------------------------------------


def test_csat_top_two_box_with_wilson_interval() -> None:
    frame = pd.DataFrame({"score": [5] * 40 + [4] * 41 + [3] * 10 + [2] * 5 + [1] * 4})
    row = csat(frame).iloc[0]
    assert (row["n"], row["satisfied"], row["csat"]) == (100, 81, 81.0)
    low, high = wilson_interval(81, 100)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low * 100), pytest.approx(high * 100))
    assert row["mean"] == pytest.approx((200 + 164 + 30 + 10 + 4) / 100)
    top_one = csat(frame, top_box=1).iloc[0]
    assert top_one["satisfied"] == 40
    ten_point = csat(pd.DataFrame({"score": [10, 9, 8, 1]}), scale=(1, 10)).iloc[0]
    assert ten_point["satisfied"] == 2  # 9 and 10
    with pytest.raises(ValidationError, match="1 to 5"):
        csat(pd.DataFrame({"score": [0, 5]}))


def test_csat_takes_the_scale_from_the_frame() -> None:
    # Zendesk's good/bad ratings are stored as 1/0 on a 0..1 scale: the top answer is good.
    binary = pd.DataFrame({"score": [1, 1, 0, 1], "scale_min": 0.0, "scale_max": 1.0})
    row = csat(binary).iloc[0]
    assert (row["satisfied"], row["csat"]) == (3, 75.0)
    three = pd.DataFrame({"score": [3, 2, 1, 3], "scale_min": 1.0, "scale_max": 3.0})
    assert csat(three).iloc[0]["satisfied"] == 2
    mixed = pd.concat([binary, three])
    with pytest.raises(ValidationError, match="several scales"):
        csat(mixed)
    assert csat(mixed.iloc[:4], scale=(0, 1)).iloc[0]["n"] == 4


def test_ces_mean_with_t_interval_and_easy_share() -> None:
    scores = [7, 6, 6, 5, 5, 4, 3, 2, 7, 1]
    row = ces(pd.DataFrame({"score": scores}), min_n=5).iloc[0]
    low, high = stats.t.interval(0.95, len(scores) - 1, np.mean(scores), stats.sem(scores))
    assert row["mean"] == pytest.approx(np.mean(scores))
    assert row["sd"] == pytest.approx(np.std(scores, ddof=1))
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert (row["easy"], row["easy_share"]) == (6, 60.0)
    assert not row["low_n"]
    with pytest.raises(ValidationError, match="1 to 7"):
        ces(pd.DataFrame({"score": [8]}))


def test_rating_counts_each_star_and_takes_the_scale_from_the_frame() -> None:
    frame = pd.DataFrame(
        {"score": [1, 2, 2, 5, 5, 5], "scale_min": 1.0, "scale_max": 5.0, "metric": "rating"}
    )
    row = rating(frame).iloc[0]
    assert [row[f"n_{star}"] for star in range(1, 6)] == [1, 2, 0, 0, 3]
    assert row["mean"] == pytest.approx(20 / 6)
    ten = pd.DataFrame({"score": [2.5, 9.5], "scale_min": 0.0, "scale_max": 10.0})
    row = rating(ten, metric=None).iloc[0]
    assert row["mean"] == 6.0
    assert "n_1" not in row.index  # half points: no per-star counts
    mixed = pd.concat([frame, ten.assign(metric="rating")])
    with pytest.raises(ValidationError, match="several scales"):
        rating(mixed)


def test_variance_is_stable_far_from_zero() -> None:
    # Large means with a tiny spread: a naive sum-of-squares formula loses every digit.
    frame = pd.DataFrame(
        {"score": 1e7 + np.array([0.1, 0.2, 0.3, 0.4] * 2), "group": ["a"] * 4 + ["b"] * 4}
    )
    expected = np.std([0.1, 0.2, 0.3, 0.4], ddof=1)
    row = rating(frame, scale=(0, 1e8)).iloc[0]
    assert row["sd"] == pytest.approx(np.std(frame["score"], ddof=1), rel=1e-6)
    by_group = rating(frame, scale=(0, 1e8), by="group")
    assert by_group["sd"].tolist() == [pytest.approx(expected, rel=1e-6)] * 2


# -- against the store -----------------------------------------------------------------------


def test_metrics_over_ws_feedback(tmp_path: Path) -> None:
    ws = cxm.Workspace.open(tmp_path / "cx.db")
    try:
        records = []
        for i, (touchpoint, score) in enumerate(
            [("Checkout", 10), ("Checkout", 9), ("Checkout", 2), ("Support", 6), ("Support", 8)]
        ):
            records.append(
                cxm.Interaction(
                    source="survey",
                    source_id=f"r{i}",
                    occurred_at=datetime(2026, 1 + i % 2, 5, tzinfo=UTC),
                    channel="survey",
                    touchpoint=touchpoint,
                    kind="survey_response",
                    feedback=[
                        cxm.Feedback(metric="nps", score=score),
                        cxm.Feedback(metric="csat", score=min(5, score // 2 + 1)),
                    ],
                )
            )
        ws.ingest(records)
        table = nps(ws.feedback(), by="touchpoint")
        assert table["touchpoint"].tolist() == ["Checkout", "Support"]
        assert table["nps"].tolist() == [pytest.approx(100 / 3), -50.0]
        monthly = csat(ws.feedback(), freq="MS")
        assert monthly["n"].tolist() == [3, 2]
    finally:
        ws.close()


def test_no_answers_gives_an_empty_table_per_period() -> None:
    empty = pd.DataFrame(
        {
            "score": pd.Series([], dtype=float),
            "occurred_at": pd.Series([], dtype="datetime64[us, UTC]"),
        }
    )
    table = nps(empty, freq="W")
    assert len(table) == 0
    assert "nps" in table.columns
