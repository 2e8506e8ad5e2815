"""Journey map and pain points: every column against a plain reference, invariants, input."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxm.exceptions import ValidationError
from cxm.journey.map import NO_TOUCHPOINT, UNASSIGNED, journey_map, pain_points
from cxm.journey.stages import LIFECYCLE, StageRule, Stages

T0 = pd.Timestamp("2024-01-01", tz="UTC")
Z = stats.norm.ppf(0.975)


def random_frames(seed: int, n: int = 160) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Interactions (with anonymous rows, missing stages and touchpoints, tied times),
    feedback (NPS and CSAT) and sentiment, linked by interaction_id."""
    rng = np.random.default_rng(seed)
    customers = rng.choice([f"c{i:02d}" for i in range(25)] + [None], size=n)
    touchpoints = rng.choice(
        ["Ads", "Web", "Shop", "Help", None], size=n, p=[0.2, 0.3, 0.2, 0.2, 0.1]
    )
    stages = rng.choice([*LIFECYCLE[:4], None], size=n)
    interactions = pd.DataFrame(
        {
            "interaction_id": rng.permutation(n) + 100,
            "customer_id": pd.Series(customers, dtype=object),
            "occurred_at": T0 + pd.to_timedelta(rng.integers(0, 40, n) * 3600, unit="s"),
            "touchpoint": pd.Categorical(touchpoints, categories=["Ads", "Help", "Shop", "Web"]),
            "stage": pd.Categorical(stages, categories=list(LIFECYCLE), ordered=True),
        }
    )
    answered = rng.choice(interactions["interaction_id"].to_numpy(), size=90)
    metric = rng.choice(["nps", "csat", "ces"], size=90)
    score = np.where(
        metric == "nps",
        rng.integers(0, 11, 90),
        np.where(metric == "csat", rng.integers(1, 6, 90), 4),
    )
    feedback = pd.DataFrame(
        {
            "interaction_id": answered,
            "metric": pd.Categorical(metric),
            "score": score.astype(float),
            "comment": rng.choice(["slow", "great", None, "lost my order"], size=90),
        }
    )
    scored = rng.choice(interactions["interaction_id"].to_numpy(), size=70, replace=False)
    sentiment = pd.DataFrame(
        {
            "interaction_id": np.r_[scored, [999_999]],  # one scores an interaction not in the map
            "compound": np.r_[rng.uniform(-1, 1, 70).round(3), 0.5],
        }
    )
    return interactions, feedback, sentiment


def wilson(k: float, n: float) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)


def median_interval(values: list[float]) -> tuple[float, float]:
    n = len(values)
    ordered = sorted(values)
    best = 0
    for j in range(1, n + 1):
        if stats.binom.cdf(j - 1, n, 0.5) <= 0.025:
            best = j
    if best == 0:
        return math.nan, math.nan
    return ordered[best - 1], ordered[n - best]


def reference(
    interactions: pd.DataFrame, feedback: pd.DataFrame, sentiment: pd.DataFrame
) -> dict[tuple[str, str], dict[str, float]]:
    stage_rank = {s: i for i, s in enumerate([*LIFECYCLE, UNASSIGNED])}
    tp_rank = {t: i for i, t in enumerate(["Ads", "Help", "Shop", "Web", NO_TOUCHPOINT])}
    rows = []
    for row in interactions.itertuples(index=False):
        stage = UNASSIGNED if pd.isna(row.stage) else row.stage
        touchpoint = NO_TOUCHPOINT if pd.isna(row.touchpoint) else row.touchpoint
        rows.append((row.interaction_id, row.customer_id, row.occurred_at, (stage, touchpoint)))
    cell_of = {iid: cell for iid, _, _, cell in rows}
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    journeys: dict[str, list[tuple[pd.Timestamp, int, int, tuple[str, str]]]] = defaultdict(list)
    for _, customer, when, cell in rows:
        out[cell]["interactions"] += 1
        if customer is None:
            out[cell]["anonymous"] += 1
        else:
            journeys[customer].append((when, stage_rank[cell[0]], tp_rank[cell[1]], cell))
    n_customers = len(journeys)
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for events in journeys.values():
        events.sort(key=lambda e: e[:3])  # time, then the cell's stage and touchpoint order
        for cell in {e[3] for e in events}:
            out[cell]["customers"] += 1
        out[events[-1][3]]["ends"] += 1
        starts = [i for i in range(len(events)) if i == 0 or events[i][3] != events[i - 1][3]]
        for a, b in itertools.pairwise(starts):
            waits[events[a][3]].append((events[b][0] - events[a][0]).value)
        for a in starts:
            out[events[a][3]]["visits"] += 1
    for cell, values in out.items():
        values["reach"] = values["customers"] / n_customers
        values["reach_ci_low"], values["reach_ci_high"] = wilson(values["customers"], n_customers)
        values["dropoff"] = (
            values["ends"] / values["customers"] if values["customers"] else math.nan
        )
        values["dropoff_ci_low"], values["dropoff_ci_high"] = wilson(
            values["ends"], values["customers"]
        )
        w = waits.get(cell, [])
        values["time_to_next_n"] = len(w)
        values["time_to_next_median"] = statistics.median(w) if w else math.nan
        values["time_to_next_ci_low"], values["time_to_next_ci_high"] = median_interval(w)
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in sentiment.itertuples(index=False):
        if row.interaction_id in cell_of:
            scores[cell_of[row.interaction_id]].append(row.compound)
    for cell, values in out.items():
        s = scores.get(cell, [])
        values["sentiment_n"] = len(s)
        values["sentiment_mean"] = statistics.mean(s) if s else math.nan
        sd = statistics.stdev(s) if len(s) > 1 else math.nan
        values["sentiment_sd"] = sd
        half = stats.t.ppf(0.975, len(s) - 1) * sd / math.sqrt(len(s)) if len(s) > 1 else math.nan
        values["sentiment_ci_low"] = max(values["sentiment_mean"] - half, -1)
        values["sentiment_ci_high"] = min(values["sentiment_mean"] + half, 1)
    answers: dict[tuple[tuple[str, str], str], list[float]] = defaultdict(list)
    for row in feedback.itertuples(index=False):
        answers[(cell_of[row.interaction_id], row.metric)].append(row.score)
    for cell, values in out.items():
        a = answers.get((cell, "nps"), [])
        p, d = sum(x >= 9 for x in a), sum(x <= 6 for x in a)
        values["nps_n"], values["nps_promoters"], values["nps_detractors"] = len(a), p, d
        values["nps"] = (p - d) / len(a) * 100 if a else math.nan
        # Adjusted Wald (Rocks 2016): 3 more answers, 3/4 more promoters and detractors.
        na, pa, da = len(a) + 3, (p + 0.75) / (len(a) + 3), (d + 0.75) / (len(a) + 3)
        se = math.sqrt((pa + da - (pa - da) ** 2) / na)
        values["nps_ci_low"] = max(pa - da - Z * se, -1) * 100 if a else math.nan
        values["nps_ci_high"] = min(pa - da + Z * se, 1) * 100 if a else math.nan
        c = answers.get((cell, "csat"), [])
        satisfied = sum(x >= 4 for x in c)
        values["csat_n"], values["csat_satisfied"] = len(c), satisfied
        values["csat"] = satisfied / len(c) * 100 if c else math.nan
        low, high = wilson(satisfied, len(c))
        values["csat_ci_low"], values["csat_ci_high"] = low * 100, high * 100
        values["low_n"] = values["customers"] < 5
    return out


def as_numbers(table: pd.DataFrame, column: str) -> np.ndarray:
    values = table[column]
    if pd.api.types.is_timedelta64_dtype(values):
        return (values / pd.Timedelta(1, "ns")).to_numpy(dtype=float)
    return values.to_numpy(dtype=float)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_column_matches_a_plain_reference(seed: int) -> None:
    interactions, feedback, sentiment = random_frames(seed)
    table = journey_map(interactions, feedback=feedback, sentiment=sentiment, min_n=5)
    expected = reference(interactions, feedback, sentiment)
    cells = list(zip(table["stage"].astype(str), table["touchpoint"], strict=True))
    assert sorted(cells) == sorted(expected)
    # Stage order (unassigned last), then touchpoint order.
    ranks = [
        ([*LIFECYCLE, UNASSIGNED].index(s), ["Ads", "Help", "Shop", "Web", NO_TOUCHPOINT].index(t))
        for s, t in cells
    ]
    assert ranks == sorted(ranks)
    # Every other column, times as nanoseconds.
    for column in [c for c in table.columns if c not in ("stage", "touchpoint")]:
        want = np.asarray([expected[cell].get(column, 0.0) for cell in cells], dtype=float)
        np.testing.assert_allclose(as_numbers(table, column), want, rtol=1e-9, err_msg=column)
    assert table["interactions"].sum() == len(interactions)  # no row lost
    assert table["ends"].sum() == table.attrs["customers"]  # every journey ends once
    assert table.attrs["unmatched"] == {"sentiment": 1, "feedback": 0}


def test_shuffled_rows_give_the_same_map() -> None:
    interactions, feedback, sentiment = random_frames(4)
    table = journey_map(interactions, feedback=feedback, sentiment=sentiment)
    shuffled = journey_map(
        interactions.sample(frac=1.0, random_state=7),
        feedback=feedback.sample(frac=1.0, random_state=8),
        sentiment=sentiment.sample(frac=1.0, random_state=9),
    )
    pd.testing.assert_frame_equal(table, shuffled)


def test_a_small_map_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "b", "c", None],
            "occurred_at": pd.to_datetime(
                [
                    "2024-01-01 10:00",
                    "2024-01-01 11:00",  # a stays on Web: one visit of two interactions
                    "2024-01-01 14:00",
                    "2024-01-02 14:00",
                    "2024-01-01 09:00",
                    "2024-01-01 10:00",
                    "2024-01-03 00:00",
                    "2024-01-03 00:00",
                ]
            ),
            "touchpoint": ["Web", "Web", "Shop", "Help", "Web", "Shop", "Web", "Shop"],
            "stage": [
                "evaluation",
                "evaluation",
                "purchase",
                "post_purchase",
                "evaluation",
                "purchase",
                "evaluation",
                "purchase",
            ],
        }
    )
    table = journey_map(frame, min_n=2).set_index("touchpoint")
    assert table.loc["Web", "interactions"] == 4
    assert table.loc["Shop", "anonymous"] == 1
    assert table["customers"].to_dict() == {"Web": 3, "Shop": 2, "Help": 1}
    assert table["reach"].to_dict() == {"Web": 1.0, "Shop": 2 / 3, "Help": 1 / 3}
    assert table["visits"].to_dict() == {"Web": 3, "Shop": 2, "Help": 1}
    # Web -> Shop: a waited 4 h (from the first of its two Web interactions), b 1 h.
    assert table.loc["Web", "time_to_next_median"] == pd.Timedelta("2h30min")
    assert table.loc["Shop", "time_to_next_median"] == pd.Timedelta("24h")  # only a moved on
    assert table["ends"].to_dict() == {"Web": 1, "Shop": 1, "Help": 1}
    assert table["dropoff"].to_dict() == {"Web": 1 / 3, "Shop": 0.5, "Help": 1.0}
    assert table["low_n"].to_dict() == {"Web": False, "Shop": False, "Help": True}
    assert table["nps_n"].sum() == 0
    assert table["nps"].isna().all()
    # A journey is over only when quiet for 10 h by the end of the data (2024-01-03 00:00).
    quiet = journey_map(frame, inactive="10h").set_index("touchpoint")
    assert quiet["ends"].to_dict() == {"Web": 0, "Shop": 1, "Help": 1}


def test_median_interval_is_the_order_statistic_interval() -> None:
    # Ten visits from Web to Shop waiting 1..10 hours: median 5.5 h, 95% interval (x2, x9).
    frame = pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(10), 2),
            "occurred_at": T0 + pd.to_timedelta(np.ravel([[0, h] for h in range(1, 11)]), unit="h"),
            "touchpoint": ["Web", "Shop"] * 10,
            "stage": ["evaluation", "purchase"] * 10,
        }
    )
    web = journey_map(frame).iloc[0]
    assert web["time_to_next_median"] == pd.Timedelta("5h30min")
    assert (web["time_to_next_ci_low"], web["time_to_next_ci_high"]) == (
        pd.Timedelta("2h"),
        pd.Timedelta("9h"),
    )
    numeric = journey_map(frame.assign(occurred_at=np.ravel([[0, h] for h in range(1, 11)])))
    assert numeric["time_to_next_median"].iloc[0] == 5.5


def test_feedback_without_ids_matches_by_stage_and_touchpoint() -> None:
    interactions, feedback, _ = random_frames(5)
    by_id = journey_map(interactions, feedback=feedback)
    context = interactions.set_index("interaction_id").loc[
        feedback["interaction_id"], ["stage", "touchpoint"]
    ]
    by_columns = journey_map(
        interactions,
        feedback=feedback.drop(columns="interaction_id").assign(
            stage=context["stage"].to_numpy(), touchpoint=context["touchpoint"].to_numpy()
        ),
    )
    for column in ("nps_n", "nps", "csat_n", "csat"):
        pd.testing.assert_series_equal(by_id[column], by_columns[column])


def test_stages_given_here_are_applied_to_interactions_and_matched_feedback() -> None:
    interactions, feedback, _ = random_frames(6)
    interactions["kind"] = np.where(interactions["touchpoint"] == "Shop", "purchase", "view")
    # An empty catalog: the frames' own stages are not used, the default takes the rest.
    stages = Stages(rules=[StageRule("purchase", kind="purchase")], catalog={}, default="awareness")
    table = journey_map(interactions, feedback=feedback, stages=stages)
    assert set(table["stage"].astype(str)) == {"awareness", "purchase"}
    assert (table.loc[table["touchpoint"] == "Shop", "stage"] == "purchase").all()
    assert table["nps_n"].sum() == (feedback["metric"] == "nps").sum()


def planted(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """400 customers go Ads -> Web -> Checkout -> Delivery; 40% of those reaching Checkout
    stop there and Checkout's NPS is poor. One Chat cell has three furious answers."""
    rng = np.random.default_rng(seed)
    rows, answers = [], []
    steps = [("awareness", "Ads"), ("evaluation", "Web"), ("purchase", "Checkout")]
    for c in range(400):
        path = [*steps] if rng.random() < 0.4 else [*steps, ("post_purchase", "Delivery")]
        if c < 3:
            path.insert(2, ("evaluation", "Chat"))
        for k, (stage, touchpoint) in enumerate(path):
            iid = len(rows)
            rows.append((iid, f"c{c}", T0 + pd.Timedelta(hours=24 * k + c % 7), touchpoint, stage))
            good = {"Checkout": 0.5, "Chat": 0.0}.get(touchpoint, 0.85)
            if touchpoint == "Chat" or rng.random() < 0.5:
                score = rng.integers(9, 11) if rng.random() < good else rng.integers(0, 7)
                note = f"payment failed ({score})" if touchpoint == "Checkout" else "ok"
                answers.append((iid, "nps", float(score), note))
    interactions = pd.DataFrame(
        rows, columns=["interaction_id", "customer_id", "occurred_at", "touchpoint", "stage"]
    )
    feedback = pd.DataFrame(answers, columns=["interaction_id", "metric", "score", "comment"])
    return interactions, feedback


def test_the_planted_pain_point_is_found_first_with_its_evidence() -> None:
    interactions, feedback = planted()
    pain = pain_points(interactions, feedback=feedback, expected_ends=["post_purchase"])
    first = pain.iloc[0]
    assert (first["stage"], first["touchpoint"]) == ("purchase", "Checkout")
    assert first["worst_metric"] == "nps"
    assert first["dropoff"] == pytest.approx(first["ends"] / first["customers"])
    assert first["dropoff_excess"] > 0
    assert first["experience_gap"] > 0
    assert first["evidence"].startswith(f"NPS {first['nps']:+.0f} (")
    assert "of its customers' journeys end here" in first["evidence"]
    # Detractors' comments only, worst answers first, each quoted once.
    assert first["examples"] == ["payment failed (0)", "payment failed (1)", "payment failed (2)"]
    # Three furious Chat answers are noise: shrunk, they do not top the list.
    chat = pain.loc[pain["touchpoint"] == "Chat"]
    assert chat.empty or chat["rank"].iloc[0] > 1
    assert bool(chat["low_n"].all())
    # The same ranking from a map built first.
    table = journey_map(interactions, feedback=feedback)
    again = pain_points(table, expected_ends=["post_purchase"])
    pd.testing.assert_frame_equal(again, pain.drop(columns="examples"))
    # Ranked by score, overall values shared.
    assert (np.diff(pain["score"]) <= 0).all()
    assert pain["overall_nps"].nunique() == 1


def test_the_score_follows_its_formula() -> None:
    interactions, feedback = planted()
    table = journey_map(interactions, feedback=feedback)
    pain = pain_points(table, top=50, min_n=30, expected_ends=())
    nps_n = table["nps_n"].to_numpy(float)
    mu = np.nansum(table["nps"] * nps_n) / nps_n.sum()
    p = table["nps_promoters"].sum() / nps_n.sum()
    d = table["nps_detractors"].sum() / nps_n.sum()
    sigma = 100 * math.sqrt(p + d - (p - d) ** 2)
    base = table["ends"].sum() / table["customers"].sum()
    for row in pain.itertuples():
        cell = table.loc[(table["stage"] == row.stage) & (table["touchpoint"] == row.touchpoint)]
        n, x = float(cell["nps_n"].iloc[0]), float(cell["nps"].iloc[0])
        gap = max(0.0, (mu - (n * x + 30 * mu) / (n + 30)) / sigma)
        ends, customers = float(cell["ends"].iloc[0]), float(cell["customers"].iloc[0])
        shrunk = (ends + 30 * base) / (customers + 30)
        excess = max(0.0, (shrunk - base) / math.sqrt(base * (1 - base)))
        assert row.score == pytest.approx(float(cell["reach"].iloc[0]) * (gap + excess))


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda f: journey_map(f.drop(columns="touchpoint")), "interactions"),
        (lambda f: journey_map(f, min_n=-1), "min_n"),
        (lambda f: journey_map(f, confidence=1.5), "confidence"),
        (lambda f: journey_map(f, inactive="soon"), "inactive"),
        (
            lambda f: journey_map(
                f.assign(interaction_id=1),
                feedback=pd.DataFrame({"interaction_id": [1], "metric": ["nps"], "score": [9]}),
            ),
            "interaction_id",
        ),
        (
            lambda f: journey_map(
                f, sentiment=pd.DataFrame({"interaction_id": [100], "compound": [1.5]})
            ),
            "compound",
        ),
        (
            lambda f: journey_map(
                f,
                sentiment=pd.DataFrame(
                    {"interaction_id": [100, 100], "compound": [0.1, 0.2], "analyzer": ["a", "b"]}
                ),
            ),
            "sentiment",
        ),
        (
            lambda f: journey_map(
                f,
                feedback=pd.DataFrame({"interaction_id": [100], "metric": ["nps"], "score": [11]}),
            ),
            "score",
        ),
        (lambda f: journey_map(f, feedback=pd.DataFrame({"score": [1]})), "feedback"),
        (lambda f: journey_map(f, stages={"rules": [{"stage": "nowhere"}]}), "rules[0].stage"),
        (lambda f: pain_points(f, top=0), "top"),
        (lambda f: pain_points(journey_map(f), feedback=f), "data"),
        (lambda f: pain_points(f, expected_ends="purchase"), "expected_ends"),
    ],
)
def test_bad_input_names_the_field(call: object, field: str) -> None:
    interactions, _, _ = random_frames(7, n=80)
    with pytest.raises(ValidationError) as error:
        call(interactions)  # type: ignore[operator]
    assert error.value.field == field


def test_an_empty_frame_gives_an_empty_map() -> None:
    interactions, _, _ = random_frames(8)
    table = journey_map(interactions.iloc[:0])
    assert table.empty
    assert "dropoff" in table.columns
    assert pain_points(table).empty


def test_negative_texts_are_quoted_and_sentiment_can_drive_the_gap() -> None:
    interactions, _ = planted()
    checkout = interactions["touchpoint"] == "Checkout"
    sentiment = pd.DataFrame(
        {
            "interaction_id": interactions["interaction_id"],
            "compound": np.where(checkout, -0.6, 0.4) + np.tile([-0.1, 0.1], 1000)[: len(checkout)],
            "text": np.where(checkout, "the form kept failing", "fine"),
        }
    )
    sentiment.loc[sentiment.index[checkout.to_numpy()][0], "text"] = "worst checkout ever"
    sentiment.loc[sentiment.index[checkout.to_numpy()][0], "compound"] = -0.95
    pain = pain_points(interactions, sentiment=sentiment, examples=2)
    first = pain.iloc[0]
    assert first["touchpoint"] == "Checkout"
    assert first["worst_metric"] == "sentiment"
    assert first["examples"] == ["worst checkout ever", "the form kept failing"]
    assert first["evidence"].startswith(f"sentiment {first['sentiment_mean']:+.2f} (")
