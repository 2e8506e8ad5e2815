"""Monitoring: published control-chart figures, tests against oracles, alerts and monitors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxm.exceptions import ValidationError
from cxm.metrics import compare_nps, nps
from cxm.metrics.monitoring import (
    Alert,
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

# Montgomery, D. C. (2009), Introduction to Statistical Quality Control, 6th ed., Example 7.1,
# Table 7.1: nonconforming orange-juice cans in 30 samples of n = 50. The same counts ship as
# the `orangejuice` data set (samples 1-30, trial = TRUE) of the R package qcc. Published:
# p_bar = 0.2313, UCL = 0.4102, LCL = 0.0524, samples 15 and 23 above the UCL; with those two
# removed, p_bar = 0.2150, UCL = 0.3893, LCL = 0.0407.
ORANGE_JUICE = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22,
                8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]  # fmt: skip

# Montgomery (2009), Table 9.1: 30 observations, mu_0 = 10, sigma = 1, the mean shifting to 11
# after observation 20. Example 9.1 charts them with a tabular CUSUM (k = 0.5, h = 5; Table
# 9.2 lists C+ for periods 1-29, which first exceeds h at period 29 with N+ = 7); Example 9.3
# with an EWMA (lambda = 0.1, L = 2.7: z1 = 9.945, z2 = 9.7495, limits 9.73-10.27 at period 1
# and 9.64-10.36 at period 2, steady state 9.38-10.62).
TABLE_9_1 = [9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34,
             9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84,
             10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52]  # fmt: skip
TABLE_9_2_UPPER = [0.0, 0.0, 0.0, 1.16, 2.82, 2.50, 0.04, 1.00, 0.0, 0.0,
                   0.0, 0.97, 0.98, 0.0, 0.0, 0.0, 0.12, 0.0, 0.0, 0.34,
                   0.74, 0.0, 1.79, 2.79, 2.89, 3.47, 3.35, 4.47, 5.28]  # fmt: skip


def orange_juice() -> pd.DataFrame:
    return pd.DataFrame({"period": range(1, 31), "successes": ORANGE_JUICE, "n": 50})


def individuals() -> pd.DataFrame:
    return pd.DataFrame({"period": range(1, 31), "value": TABLE_9_1})


def weekly_answers(
    rng: np.random.Generator,
    probabilities: dict[str, list[float]],
    *,
    weeks: int = 9,
    per_week: int = 200,
    shift: dict[str, list[float]] | None = None,
) -> pd.DataFrame:
    """NPS answers per touchpoint and week; ``shift`` replaces a touchpoint's last week."""
    frames = []
    start = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday
    for touchpoint, shares in probabilities.items():
        for week in range(weeks):
            use = (
                shift[touchpoint] if shift and touchpoint in shift and week == weeks - 1 else shares
            )
            kinds = rng.choice(3, size=per_week, p=use)  # promoter, passive, detractor
            scores = np.choose(kinds, [rng.integers(9, 11, per_week),
                                       rng.integers(7, 9, per_week),
                                       rng.integers(0, 7, per_week)])  # fmt: skip
            times = (
                start
                + pd.Timedelta(days=7 * week)
                + pd.to_timedelta(rng.integers(0, 7 * 24, per_week), unit="h")
            )
            frames.append(pd.DataFrame({
                "occurred_at": times, "touchpoint": touchpoint, "metric": "nps", "score": scores,
            }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


# -- p-chart: Montgomery Example 7.1 --------------------------------------------------------------


def test_orange_juice_p_chart_reproduces_montgomery_limits() -> None:
    chart = p_chart(orange_juice())
    assert round(chart["centre"].iloc[0], 4) == 0.2313
    assert round(chart["ucl"].iloc[0], 4) == 0.4102
    assert round(chart["lcl"].iloc[0], 4) == 0.0524
    assert chart.loc[chart["out_of_control"], "period"].tolist() == [15, 23]
    assert (chart["signal"][chart["out_of_control"]] == "1").all()


def test_orange_juice_revised_limits_without_samples_15_and_23() -> None:
    kept = orange_juice().query("period not in (15, 23)")
    chart = p_chart(kept)
    assert round(chart["centre"].iloc[0], 4) == 0.2150
    assert round(chart["ucl"].iloc[0], 4) == 0.3893
    assert round(chart["lcl"].iloc[0], 4) == 0.0407
    # Montgomery keeps sample 21 (p = 0.40) although it is just above the revised UCL.
    assert chart.loc[chart["out_of_control"], "period"].tolist() == [21]


def test_p_chart_limits_follow_each_periods_n() -> None:
    counts = pd.DataFrame({"period": [1, 2, 3, 4], "successes": [20, 5, 60, 3],
                           "n": [100, 40, 250, 10]})  # fmt: skip
    chart = p_chart(counts)
    p_bar = 88 / 400
    sigma = np.sqrt(p_bar * (1 - p_bar) / counts["n"].to_numpy())
    np.testing.assert_allclose(chart["centre"], p_bar)
    np.testing.assert_allclose(chart["ucl"], p_bar + 3 * sigma)
    np.testing.assert_allclose(chart["lcl"], np.clip(p_bar - 3 * sigma, 0, None))
    np.testing.assert_allclose(chart["z"], (counts["successes"] / counts["n"] - p_bar) / sigma)
    assert chart["lcl"].iloc[3] == 0  # clipped, never negative


def test_p_chart_baseline_and_known_centre_and_segments() -> None:
    frame = pd.concat([orange_juice().assign(line="a"), orange_juice().assign(line="b")])
    frame.loc[frame["line"] == "b", "successes"] //= 2
    chart = p_chart(frame.sample(frac=1, random_state=3), by="line", baseline=10)
    first_ten = sum(ORANGE_JUICE[:10])
    assert chart.loc[chart["line"] == "a", "centre"].iloc[0] == pytest.approx(first_ten / 500)
    assert chart["in_baseline"].sum() == 20
    assert chart.groupby("line")["period"].apply(list).tolist() == [list(range(1, 31))] * 2
    known = p_chart(orange_juice(), p_bar=0.2)
    np.testing.assert_allclose(known["centre"], 0.2)


def test_run_rules_fire_on_their_patterns_only() -> None:
    def chart_of(z_values: list[float], rules: tuple[int, ...]) -> list[str]:
        # n = 10,000 and p_bar = 0.5 known: sigma = 0.005, so z maps to successes exactly.
        successes = [round(10_000 * (0.5 + z * 0.005)) for z in z_values]
        frame = pd.DataFrame({"period": range(len(z_values)), "successes": successes,
                              "n": 10_000})  # fmt: skip
        return p_chart(frame, p_bar=0.5, rules=rules)["signal"].tolist()

    assert chart_of([0, 2.5, 0, 2.5], (2,)) == ["", "", "", "2"]
    assert chart_of([0, 2.5, 0, -2.5], (2,)) == ["", "", "", ""]
    assert chart_of([1.5, 1.5, 0, 1.5, 1.5], (3,)) == ["", "", "", "", "3"]
    assert chart_of([0.5] * 8, (4,)) == [""] * 7 + ["4"]
    assert chart_of([-0.5] * 7 + [0.5], (4,)) == [""] * 8
    assert chart_of([3.5] * 8, (1, 4)) == ["1"] * 7 + ["1,4"]


def test_run_rule_windows_do_not_span_segments() -> None:
    frame = pd.DataFrame({"period": list(range(4)) * 2, "segment": ["a"] * 4 + ["b"] * 4,
                          "successes": [5_050] * 4 + [5_050] * 4, "n": 10_000})  # fmt: skip
    chart = p_chart(frame, by="segment", p_bar=0.5, rules=(4,))
    assert not chart["out_of_control"].any()  # 8 points above centre, but 4 in each segment


# -- EWMA: Montgomery Example 9.3 -----------------------------------------------------------------


def test_ewma_reproduces_montgomery_example_9_3() -> None:
    chart = ewma_chart(individuals(), target=10, sigma=1, lam=0.1, nsigmas=2.7)
    assert chart["ewma"].iloc[0] == pytest.approx(9.945)
    assert chart["ewma"].iloc[1] == pytest.approx(9.7495)
    assert (round(chart["lcl"].iloc[0], 2), round(chart["ucl"].iloc[0], 2)) == (9.73, 10.27)
    assert (round(chart["lcl"].iloc[1], 2), round(chart["ucl"].iloc[1], 2)) == (9.64, 10.36)
    assert (round(chart["lcl"].iloc[-1], 2), round(chart["ucl"].iloc[-1], 2)) == (9.38, 10.62)
    assert chart.loc[chart["out_of_control"], "period"].tolist() == [29, 30]


def test_ewma_matches_the_recursion_with_varying_n() -> None:
    rng = np.random.default_rng(11)
    sizes = rng.integers(5, 60, 25)
    values = rng.normal(3.0, 1.2, 25)
    frame = pd.DataFrame({"period": range(25), "value": values, "n": sizes, "sd": 1.2})
    chart = ewma_chart(frame, lam=0.2, nsigmas=3, target=3.0, sigma=1.2)
    z, v = 3.0, 0.0
    for i in range(25):
        z = 0.2 * values[i] + 0.8 * z
        v = 0.04 * 1.2**2 / sizes[i] + 0.64 * v
        assert chart["ewma"].iloc[i] == pytest.approx(z)
        assert chart["ucl"].iloc[i] == pytest.approx(3.0 + 3 * np.sqrt(v))
    # With constant n the recursion is Montgomery's closed form.
    flat = ewma_chart(frame.assign(n=16), lam=0.2, nsigmas=3, target=3.0, sigma=1.2)
    t = np.arange(1, 26)
    closed = 3 * 1.2 / 4 * np.sqrt(0.2 / 1.8 * (1 - 0.8 ** (2 * t)))
    np.testing.assert_allclose(flat["ucl"] - 3.0, closed)


def test_ewma_estimates_target_and_sigma_from_the_baseline() -> None:
    frame = pd.DataFrame(
        {
            "period": range(6),
            "value": [4.0, 5.0, 6.0, 5.0, 9.0, 9.0],
            "n": [10, 30, 10, 20, 20, 20],
            "sd": [1.0, 2.0, 1.0, 2.0, 5.0, 5.0],
        }
    )
    chart = ewma_chart(frame, baseline=4)
    assert chart["centre"].iloc[0] == pytest.approx((40 + 150 + 60 + 100) / 70)
    pooled = np.sqrt((9 * 1 + 29 * 4 + 9 * 1 + 19 * 4) / (9 + 29 + 9 + 19))
    assert chart["sigma"].iloc[0] == pytest.approx(0.1 * pooled / np.sqrt(10))
    # Individuals without an sd column: mean moving range / 1.128.
    alone = ewma_chart(individuals(), baseline=20)
    ranges = np.abs(np.diff(TABLE_9_1[:20])).mean()
    assert alone["sigma"].iloc[0] == pytest.approx(0.1 * ranges / 1.128)
    assert alone["centre"].iloc[0] == pytest.approx(np.mean(TABLE_9_1[:20]))


def test_ewma_false_alarm_rate_matches_its_limits_under_the_null() -> None:
    # z_t is exactly normal with the variance the limits use, so at every period the share of
    # in-control series outside +-2 sigma must be 2 * (1 - Phi(2)) = 4.55%.
    rng = np.random.default_rng(2024)
    series, periods = 3000, 12
    frame = pd.DataFrame({
        "series": np.repeat(np.arange(series), periods),
        "period": np.tile(np.arange(periods), series),
        "n": 25,
    })  # fmt: skip
    frame["value"] = rng.normal(50, 8 / 5, len(frame))
    chart = ewma_chart(frame, by="series", target=50, sigma=8, lam=0.2, nsigmas=2)
    expected = 2 * stats.norm.sf(2)
    for period in (0, 5, 11):
        alarms = int(chart.loc[chart["period"] == period, "out_of_control"].sum())
        assert stats.binomtest(alarms, series, expected).pvalue > 0.001, (period, alarms)


def test_ewma_detects_a_one_sigma_shift() -> None:
    # Montgomery's design (lambda 0.1, L 2.7) has an in-control ARL near 500 and signals a
    # one-sigma shift after about ten periods on average.
    rng = np.random.default_rng(5)
    series, before, after = 300, 20, 30
    values = rng.normal(0, 1, (series, before + after))
    values[:, before:] += 1
    frame = pd.DataFrame({"series": np.repeat(np.arange(series), before + after),
                          "period": np.tile(np.arange(before + after), series),
                          "value": values.ravel()})  # fmt: skip
    chart = ewma_chart(frame, by="series", target=0, sigma=1)
    fired = chart.loc[chart["out_of_control"]]
    early = fired.loc[fired["period"] < before, "series"].nunique()
    caught = fired.loc[fired["period"] >= before].groupby("series")["period"].min() - before
    assert early / series < 0.15  # about 1 - (1 - 1/500)^20 = 4% of in-control series
    assert len(caught) / series > 0.95
    assert 5 < caught.median() < 16


# -- CUSUM: Montgomery Example 9.1 ----------------------------------------------------------------


def test_cusum_reproduces_montgomery_table_9_2() -> None:
    chart = cusum(individuals(), target=10, sigma=1, k=0.5, h=5)
    np.testing.assert_allclose(chart["upper"].iloc[:29].round(2), TABLE_9_2_UPPER, atol=1e-9)
    assert chart.loc[chart["out_of_control"], "period"].tolist() == [29, 30]
    assert chart["run_upper"].iloc[28] == 7  # the shift began after period 22
    assert chart["direction"].iloc[28] == "up"
    # Montgomery's estimate of the new mean: mu_0 + K + C+ / N+ = 11.25.
    assert round(10 + 0.5 + chart["upper"].iloc[28] / 7, 2) == 11.25


def test_cusum_lower_side_is_the_mirror_image() -> None:
    mirrored = individuals().assign(value=lambda f: 20 - f["value"])
    chart = cusum(mirrored, target=10, sigma=1)
    np.testing.assert_allclose(chart["lower"].iloc[:29].round(2), TABLE_9_2_UPPER, atol=1e-9)
    assert chart["direction"].iloc[28] == "down"


# -- metric series ------------------------------------------------------------------------------


def test_metric_series_nps_matches_nps_and_its_answer_sd() -> None:
    answers = weekly_answers(np.random.default_rng(1), {"web": [0.5, 0.3, 0.2]}, weeks=3)
    table = metric_series(answers, "nps", freq="W")
    reference = nps(answers, freq="W", method="wald")
    np.testing.assert_allclose(table["value"], reference["nps"])
    np.testing.assert_allclose(table["se"], reference["se"])
    week = answers.loc[answers["occurred_at"] < pd.Timestamp("2024-01-08", tz="UTC")]
    coded = np.select([week["score"] >= 9, week["score"] <= 6], [100, -100], 0)
    assert table["sd"].iloc[0] == pytest.approx(np.std(coded, ddof=1))
    assert set(table["kind"]) == {"nps"}
    assert (table["promoters"] + table["passives"] + table["detractors"] == table["n"]).all()


def test_metric_series_shares_and_callables() -> None:
    answers = weekly_answers(np.random.default_rng(2), {"web": [0.5, 0.3, 0.2]}, weeks=2)
    detractors = metric_series(answers, "detractors", freq="W")
    flagged = metric_series(answers, lambda f: f["score"].to_numpy() <= 6, freq="W",
                            name="detractors")  # fmt: skip
    pd.testing.assert_frame_equal(detractors, flagged)
    assert detractors["kind"].iloc[0] == "share"
    share = detractors["successes"] / detractors["n"]
    np.testing.assert_allclose(detractors["value"], share * 100)
    np.testing.assert_allclose(detractors["se"], np.sqrt(share * (1 - share) / 200) * 100)

    def sentiment(frame: pd.DataFrame) -> np.ndarray:
        values = frame["score"].to_numpy(float) / 10
        values[::50] = np.nan  # no comment, no sentiment: left out
        return values

    table = metric_series(answers, sentiment, freq="W", by="touchpoint")
    assert table["metric"].iloc[0] == "sentiment"
    assert table["kind"].iloc[0] == "mean"
    assert table["n"].tolist() == [196, 196]
    first = answers.loc[answers["occurred_at"] < pd.Timestamp("2024-01-08", tz="UTC"), "score"]
    kept = np.delete(first.to_numpy(float) / 10, np.arange(0, 200, 50))
    assert table["value"].iloc[0] == pytest.approx(kept.mean())
    assert table["sd"].iloc[0] == pytest.approx(kept.std(ddof=1))


# -- change detection ---------------------------------------------------------------------------


def test_benjamini_hochberg_by_hand() -> None:
    # Sorted: 0.005, 0.01, 0.03, 0.04 -> times 4/rank: 0.02, 0.02, 0.04, 0.04 (already monotone).
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.04, 0.03, 0.005]),
                               [0.02, 0.04, 0.04, 0.02])  # fmt: skip
    # Step-up: 0.04 * 3 / 2 = 0.06 is capped by the larger rank's 0.05 * 3 / 3 = 0.05.
    np.testing.assert_allclose(benjamini_hochberg([0.04, 0.05, 0.001]), [0.05, 0.05, 0.003])
    adjusted = benjamini_hochberg([0.5, np.nan, 0.9])  # NaN does not count towards m
    assert np.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], [0.9, 0.9])
    assert benjamini_hochberg([0.8]).tolist() == [0.8]
    with pytest.raises(ValidationError, match="p_values"):
        benjamini_hochberg([0.2, 1.5])


def test_detect_change_share_is_the_pooled_two_proportion_z() -> None:
    series = pd.DataFrame({"period": [1, 2, 3], "metric": "csat", "kind": "share",
                           "n": [200, 300, 250], "successes": [150, 210, 150],
                           "value": [75.0, 70.0, 60.0], "sd": 1.0})  # fmt: skip
    row = detect_change(series, baseline=2).iloc[0]
    p1, p0, pooled = 150 / 250, 360 / 500, 510 / 750
    z = (p1 - p0) / np.sqrt(pooled * (1 - pooled) * (1 / 250 + 1 / 500))
    assert row["statistic"] == pytest.approx(z)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert row["difference"] == pytest.approx(-12.0)
    assert (row["baseline_n"], row["baseline"], row["direction"]) == (
        500,
        pytest.approx(72),
        "down",
    )


def test_detect_change_mean_is_welch_against_all_baseline_answers() -> None:
    rng = np.random.default_rng(9)
    weeks = [rng.integers(1, 6, size) for size in (40, 55, 35, 60)]
    weeks[-1] = np.clip(weeks[-1] - 1, 1, 5)
    answers = pd.DataFrame({
        "score": np.concatenate(weeks),
        "occurred_at": pd.Timestamp("2024-01-01")
        + pd.to_timedelta(np.repeat(np.arange(4) * 7, [len(w) for w in weeks]), unit="D"),
        "metric": "rating",
    })  # fmt: skip
    series = metric_series(answers, "rating", freq="W")
    row = detect_change(series, baseline=3).iloc[0]
    oracle = stats.ttest_ind(weeks[-1], np.concatenate(weeks[:3]), equal_var=False)
    assert row["test"] == "welch_t"
    assert row["statistic"] == pytest.approx(oracle.statistic)
    assert row["p_value"] == pytest.approx(oracle.pvalue)
    assert row["baseline"] == pytest.approx(np.concatenate(weeks[:3]).mean())


def test_detect_change_nps_uses_compare_nps_and_bh_across_segments() -> None:
    rng = np.random.default_rng(4)
    answers = weekly_answers(
        rng,
        {"web": [0.5, 0.3, 0.2], "store": [0.5, 0.3, 0.2], "app": [0.5, 0.3, 0.2]},
        shift={"web": [0.3, 0.3, 0.4]},
    )
    series = metric_series(answers, "nps", by="touchpoint")
    table = detect_change(series, by="touchpoint", baseline=8)
    assert table["touchpoint"].tolist() == ["app", "store", "web"]
    web = table.set_index("touchpoint").loc["web"]
    last = series.loc[series["touchpoint"] == "web"]
    counts = last[["promoters", "passives", "detractors"]].to_numpy()
    oracle = compare_nps(tuple(counts[-1]), tuple(counts[:-1].sum(axis=0)))
    assert web["p_value"] == pytest.approx(oracle.p_value)
    assert web["difference"] == pytest.approx(oracle.difference)
    np.testing.assert_allclose(table["p_adjusted"], benjamini_hochberg(table["p_value"]))
    assert web["significant"]
    assert web["direction"] == "down"


def test_detect_change_false_alarm_rate_is_alpha_under_the_null() -> None:
    rng = np.random.default_rng(77)
    segments, weeks, per_week = 2000, 5, 150
    satisfied = rng.binomial(per_week, 0.7, size=(segments, weeks))
    series = pd.DataFrame({
        "segment": np.repeat(np.arange(segments), weeks),
        "period": np.tile(np.arange(weeks), segments),
        "metric": "csat", "kind": "share", "n": per_week,
        "successes": satisfied.ravel(), "value": satisfied.ravel() / per_week * 100, "sd": 1.0,
    })  # fmt: skip
    raw = detect_change(series, by="segment", baseline=4, adjust="none")
    alarms = int(raw["significant"].sum())
    assert stats.binomtest(alarms, segments, 0.05).pvalue > 0.001, alarms
    # With BH over 2000 true nulls the chance of any discovery is at most alpha.
    adjusted = detect_change(series, by="segment", baseline=4)
    assert adjusted["significant"].sum() <= 2


# -- alerts and monitors ------------------------------------------------------------------------


def test_alert_severity_rules() -> None:
    assert alert_severity(0.0005, out_of_limits=True) == "critical"
    assert alert_severity(0.0005, out_of_limits=False) == "warning"
    assert alert_severity(0.005, out_of_limits=True) == "warning"
    assert alert_severity(None, out_of_limits=True) == "warning"
    assert alert_severity(0.005, out_of_limits=False) == "warning"
    assert alert_severity(0.03, out_of_limits=False) == "info"
    assert alert_severity(np.nan, out_of_limits=False) == "info"
    assert alert_severity(1e-9, out_of_limits=True, low_n=True) == "info"
    assert alert_severity(0.004, out_of_limits=True, critical=0.005) == "critical"


def test_alert_reads_as_one_line_and_serialises() -> None:
    alert = Alert(metric="nps", segment={"touchpoint": np.str_("checkout")},
                  period=pd.Timestamp("2024-03-10"), direction="down", size=-12.34,
                  baseline=45.1, current=32.76, p_value=0.00031, severity="critical",
                  rule="change:nps_z", n=412)  # fmt: skip
    text = str(alert)
    assert "\n" not in text
    assert text == ("CRITICAL nps touchpoint=checkout 2024-03-10: down 12.3 "
                    "(45.1 -> 32.8, n=412, p=0.00031) [change:nps_z]")  # fmt: skip
    data = alert.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["period"] == "2024-03-10T00:00:00"
    assert type(data["segment"]["touchpoint"]) is str
    with pytest.raises(ValidationError, match=r"Alert\.direction"):
        Alert(metric="nps", direction="sideways", size=1, baseline=0, current=1, p_value=None,
              severity="info", rule="x", n=1)  # fmt: skip
    with pytest.raises(ValidationError, match=r"Alert\.severity"):
        Alert(metric="nps", direction="up", size=1, baseline=0, current=1, p_value=None,
              severity="urgent", rule="x", n=1)  # fmt: skip


def test_change_monitor_alerts_on_the_shifted_segment_only() -> None:
    answers = weekly_answers(
        np.random.default_rng(8),
        {"web": [0.5, 0.3, 0.2], "store": [0.45, 0.35, 0.2]},
        shift={"web": [0.3, 0.3, 0.4]},
    )
    alerts = Monitor(metric="nps", by="touchpoint", method="change").run(answers)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.segment, alert.direction, alert.rule) == ({"touchpoint": "web"}, "down",
                                                            "change:nps_z")  # fmt: skip
    assert alert.size == pytest.approx(alert.current - alert.baseline)
    assert alert.size < -20
    assert alert.severity == "critical"
    assert alert.period == pd.Timestamp("2024-03-03", tz="UTC")  # the last week's label
    assert alert.n == 200


def test_chart_monitors_detect_a_shift_and_stay_quiet_without_one() -> None:
    rng = np.random.default_rng(21)
    shifted = weekly_answers(rng, {"web": [0.5, 0.3, 0.2]}, weeks=12,
                             shift={"web": [0.35, 0.3, 0.35]})  # fmt: skip
    steady = weekly_answers(rng, {"web": [0.5, 0.3, 0.2]}, weeks=12)
    monitors = [
        Monitor(metric="detractors", method="p_chart", baseline=11),
        Monitor(metric="nps", method="ewma", baseline=11, options={"lam": 0.3, "nsigmas": 3}),
        Monitor(metric="nps", method="cusum", baseline=11, options={"k": 0.5, "h": 4}),
    ]
    alerts = check_monitors(shifted, monitors)
    assert sorted(alert.rule for alert in alerts) == ["cusum", "ewma", "p_chart:1"]
    by_rule = {alert.rule: alert for alert in alerts}
    assert by_rule["p_chart:1"].direction == "up"  # more detractors
    assert by_rule["ewma"].direction == "down"
    assert by_rule["cusum"].direction == "down"
    assert by_rule["cusum"].p_value is None
    assert check_monitors(steady, monitors) == []


def test_low_n_periods_alert_as_info_only() -> None:
    answers = weekly_answers(np.random.default_rng(8), {"web": [0.5, 0.3, 0.2]},
                             shift={"web": [0.2, 0.2, 0.6]})  # fmt: skip
    alerts = Monitor(metric="nps", min_n=500).run(answers)
    assert [(alert.severity, alert.low_n) for alert in alerts] == [("info", True)]


def test_check_monitors_orders_by_severity_and_handles_empty_frames() -> None:
    answers = weekly_answers(np.random.default_rng(8), {"web": [0.5, 0.3, 0.2]},
                             shift={"web": [0.2, 0.2, 0.6]})  # fmt: skip
    monitors = [Monitor(metric="nps", min_n=500), Monitor(metric="nps")]
    alerts = check_monitors(answers, monitors)
    assert [alert.severity for alert in alerts] == ["critical", "info"]
    assert check_monitors(answers.iloc[:0], Monitor()) == []
    assert check_monitors(answers, []) == []


def test_deliver_alerts_guards_each_receiver() -> None:
    alert = Alert(metric="csat", direction="up", size=3.0, baseline=80.0, current=83.0,
                  p_value=0.02, severity="info", rule="change:two_proportion_z", n=900)  # fmt: skip
    seen: list[Alert] = []

    def broken(received: Alert) -> None:
        raise ConnectionError("webhook refused")

    failures = deliver_alerts([alert, alert], [("slack", broken), ("log", seen.append)])
    assert seen == [alert, alert]
    assert [(f.receiver, f.error) for f in failures] == [
        ("slack", "ConnectionError: webhook refused")
    ] * 2


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Monitor(method="shewhart"), "Monitor.method"),
        (lambda: Monitor(metric="loyalty"), "Monitor.metric"),
        (lambda: Monitor(baseline=0), "Monitor.baseline"),
        (lambda: Monitor(min_n=-1), "Monitor.min_n"),
        (lambda: Monitor(thresholds={"beta": 0.1}), "Monitor.thresholds"),
        (lambda: Monitor(thresholds={"alpha": 1.5}), "Monitor.thresholds['alpha']"),
        (lambda: Monitor(method="ewma", options={"k": 0.5}), "Monitor.options"),
        (lambda: p_chart(orange_juice(), nsigmas=-1), "nsigmas"),
        (lambda: p_chart(orange_juice(), rules=(5,)), "rules"),
        (lambda: p_chart(orange_juice(), p_bar=1.2), "p_bar"),
        (lambda: p_chart(orange_juice(), baseline=0), "baseline"),
        (lambda: p_chart(orange_juice().assign(successes=60), baseline=3), "successes"),
        (lambda: p_chart(orange_juice().drop(columns="n")), "series"),
        (lambda: p_chart(pd.concat([orange_juice()] * 2)), "series"),
        (lambda: p_chart([1, 2, 3]), "series"),
        (lambda: ewma_chart(individuals(), lam=0), "lam"),
        (lambda: ewma_chart(individuals(), lam=1.5), "lam"),
        (lambda: ewma_chart(individuals(), sigma=0), "sigma"),
        (lambda: ewma_chart(individuals().assign(value=np.nan)), "value"),
        (lambda: cusum(individuals(), h=0), "h"),
        (lambda: cusum(individuals(), target="10"), "target"),
        (lambda: metric_series(pd.DataFrame({"score": [1]}), "loyalty"), "metric"),
        (lambda: metric_series(pd.DataFrame({"score": [1]}), freq=""), "freq"),
        (lambda: detect_change(individuals()), "series"),
        (
            lambda: detect_change(
                orange_juice().assign(kind="share", metric="x", value=1.0, sd=1.0), period=99
            ),
            "period",
        ),
        (
            lambda: detect_change(
                orange_juice().assign(kind="share", metric="x", value=1.0, sd=1.0), period=1
            ),
            "period",
        ),
        (
            lambda: detect_change(
                orange_juice().assign(kind="share", metric="x", value=1.0, sd=1.0), adjust="holm"
            ),
            "adjust",
        ),
    ],
)
def test_bad_input_names_the_field(make: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.field == field


def test_bad_scores_and_callables_are_refused() -> None:
    answers = pd.DataFrame({"score": [12], "occurred_at": pd.to_datetime(["2024-01-01"]),
                            "metric": "nps"})  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        metric_series(answers, "nps")
    assert caught.value.field == "score"
    with pytest.raises(ValidationError, match="one value per row"):
        metric_series(answers, lambda f: [1.0, 2.0])
    with pytest.raises(ValidationError, match="numbers or booleans"):
        metric_series(answers, lambda f: np.array(["good"]))


def test_p_chart_monitor_refuses_nps() -> None:
    answers = weekly_answers(np.random.default_rng(3), {"web": [0.5, 0.3, 0.2]}, weeks=3)
    with pytest.raises(ValidationError) as caught:
        Monitor(metric="nps", method="p_chart").run(answers)
    assert caught.value.field == "Monitor.method"
