"""Multi-touch attribution: published figures, hand-computed models, brute-force references."""

from __future__ import annotations

import itertools
import math
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.exceptions import ValidationError
from cxm.journey.attribution import (
    ATTRIBUTION_MODELS,
    aggregate_paths,
    attribution,
    attribution_table,
    conversion_paths,
    markov_chain,
    removal_effects,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "mta" / "data.csv.gz"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(DATA)


def credit(result: pd.DataFrame) -> dict[str, float]:
    return dict(zip(result["channel"], result["conversions"], strict=True))


# --- published figures (the ChannelAttribution sample shipped in mta 0.0.9) -------------------


def test_sample_is_the_published_one(sample: pd.DataFrame) -> None:
    assert len(sample) == 10_000
    assert sample["total_conversions"].sum() == 19_785
    assert sample["total_null"].sum() == 68_602


def test_markov_reproduces_published_figures(sample: pd.DataFrame) -> None:
    result = attribution(sample, "markov")
    got = credit(result)
    assert round(got["alpha"], 1) == 5344.9
    assert round(got["iota"], 1) == 3884.6
    assert round(got["eta"], 1) == 3340.8
    assert list(result["channel"][:3]) == ["alpha", "iota", "eta"]
    assert result["conversions"].sum() == pytest.approx(19_785, abs=1e-6)
    assert result["share"].sum() == pytest.approx(1.0)


def test_markov_p_convert(sample: pd.DataFrame) -> None:
    chain = markov_chain(sample)
    assert round(chain.p_convert, 4) == 0.2238
    # A chain fitted to counts keeps the flow: P(convert) is the observed conversion rate.
    assert chain.p_convert == pytest.approx(19_785 / (19_785 + 68_602), rel=1e-12)
    assert chain.n_journeys == 88_387
    assert chain.ci_low < chain.p_convert < chain.ci_high
    assert chain.transitions.shape == (15, 15)
    np.testing.assert_allclose(chain.transitions.sum(axis=1), 1.0)


def test_shapley_reproduces_published_figures(sample: pd.DataFrame) -> None:
    result = attribution(sample, "shapley")
    assert round(credit(result)["alpha"], 1) == 7627.9
    assert result["conversions"].sum() == pytest.approx(19_785, abs=1e-6)


def test_every_model_sums_to_the_conversions(sample: pd.DataFrame) -> None:
    table = attribution_table(sample)
    assert list(table.columns) == ["channel", *ATTRIBUTION_MODELS]
    assert len(table) == 12
    for model in ATTRIBUTION_MODELS:
        assert table[model].sum() == pytest.approx(19_785, abs=1e-6), model
        assert (table[model] >= 0).all()


def test_markov_ignores_repeats_in_a_first_order_chain(sample: pd.DataFrame) -> None:
    # Merging consecutive repeats (ChannelAttribution's no-loop option) gives the same chain
    # up to self-loops, and self-loops do not move absorption probabilities.
    merged = sample.assign(
        path=sample["path"].str.replace(r"\b(\w+)(?: > \1\b)+", r"\1", regex=True)
    )
    assert (merged["path"] != sample["path"]).sum() > 1000
    np.testing.assert_allclose(
        removal_effects(merged)["removal_effect"],
        removal_effects(sample)["removal_effect"],
        rtol=1e-10,
    )


def test_value_is_split_like_the_conversions(sample: pd.DataFrame) -> None:
    total = sample["total_conversion_value"].sum()
    for model in ATTRIBUTION_MODELS:
        result = attribution(sample, model, value="total_conversion_value")
        assert result["value"].sum() == pytest.approx(total, rel=1e-9), model


# --- rule-based models by hand ---------------------------------------------------------------

THREE = pd.DataFrame(
    {
        "path": ["a > b > c", "b > a > b", "c"],
        "total_conversions": [2, 1, 1],
        "total_null": [1, 1, 2],
        "days": [[14, 7, 0], [7, 7, 0], [3]],
    }
)

HAND = {
    "first_touch": {"a": 2, "b": 1, "c": 1},
    "last_touch": {"a": 0, "b": 1, "c": 3},
    "linear": {"a": 1, "b": Fraction(4, 3), "c": Fraction(5, 3)},
    "position_based": {"a": 1.0, "b": 1.2, "c": 1.8},
    # half-life 1 touch: weights 1/4, 1/2, 1 back from the conversion
    "time_decay": {"a": Fraction(4, 7), "b": Fraction(9, 7), "c": Fraction(15, 7)},
    # distinct channels: {a, b, c} splits 2 in thirds, {a, b} splits 1 in halves
    "shapley": {"a": Fraction(7, 6), "b": Fraction(7, 6), "c": Fraction(5, 3)},
}


@pytest.mark.parametrize("model", sorted(HAND))
def test_models_by_hand(model: str) -> None:
    got = credit(attribution(THREE, model))
    assert got == pytest.approx({k: float(v) for k, v in HAND[model].items()})


def test_time_decay_with_touch_times_by_hand() -> None:
    got = credit(attribution(THREE, "time_decay", times="days"))
    # 7-day half-life: path 1 weights 1/4, 1/2, 1; path 2 (7, 7, 0 days) 1/2, 1/2, 1.
    expected = {"a": 2 / 7 + 1 / 4, "b": 4 / 7 + 3 / 4, "c": 8 / 7 + 1}
    assert got == pytest.approx(expected)
    as_timedeltas = THREE.assign(days=THREE["days"].map(lambda d: pd.to_timedelta(d, "D")))
    assert credit(attribution(as_timedeltas, "time_decay", times="days")) == pytest.approx(expected)
    # A half-life of 14 days on the same times: path 1 weights 1/2, 1/sqrt 2, 1.
    weights = np.array([0.5, 2**-0.5, 1.0])
    got = credit(attribution(THREE, "time_decay", times="days", half_life=14))
    second = 2**-0.5 / (2 * 2**-0.5 + 1)  # path 2: 7, 7 and 0 days back
    assert got["a"] == pytest.approx(2 * weights[0] / weights.sum() + second)


def test_position_based_weights() -> None:
    two = pd.DataFrame({"path": ["a > b"], "total_conversions": [1], "total_null": [0]})
    got = credit(attribution(two, "position_based", first_weight=0.3, last_weight=0.1))
    assert got == pytest.approx({"a": 0.75, "b": 0.25})
    four = pd.DataFrame({"path": ["a > b > c > d"], "total_conversions": [10], "total_null": [0]})
    got = credit(attribution(four, "position_based"))
    assert got == pytest.approx({"a": 4.0, "b": 1.0, "c": 1.0, "d": 4.0})


def test_single_channel_path_gets_everything() -> None:
    one = pd.DataFrame({"path": ["solo"], "total_conversions": [3], "total_null": [2]})
    for model in ATTRIBUTION_MODELS:
        result = attribution(one, model, times=None)
        assert credit(result) == pytest.approx({"solo": 3.0}), model
    effects = removal_effects(one)
    assert effects["removal_effect"].tolist() == [1.0]
    assert effects["p_convert_without"].tolist() == [0.0]


def test_list_paths_match_strings_and_aggregation() -> None:
    journeys = pd.DataFrame(
        {
            "path": [["a", "b", "c"], ["a", "b", "c"], ["b", "a", "b"], ["c"], ["c"], ["c"]],
            "total_conversions": [1, 1, 1, 1, 0, 0],
            "total_null": [0, 1, 1, 0, 1, 1],
        }
    )
    aggregated = aggregate_paths(journeys)
    assert aggregated["path"].tolist() == ["a > b > c", "b > a > b", "c"]
    assert aggregated["total_conversions"].tolist() == [2, 1, 1]
    assert aggregated["total_null"].tolist() == [1, 1, 2]
    for model in ATTRIBUTION_MODELS:
        pd.testing.assert_frame_equal(
            attribution(journeys, model), attribution(THREE, model), check_exact=False
        )


def test_sorted_pairs_path_matches_presence_mask(
    sample: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Beyond _DENSE_PAIRS (path rows x channels) the distinct touches come from np.unique.
    masked = attribution(sample, "shapley")
    # cxm.journey.attribution is the function; the module is reached through sys.modules.
    monkeypatch.setattr(sys.modules["cxm.journey.attribution"], "_DENSE_PAIRS", 0)
    pd.testing.assert_frame_equal(attribution(sample, "shapley"), masked)


def test_shuffled_rows_give_identical_results(sample: pd.DataFrame) -> None:
    shuffled = sample.sample(frac=1.0, random_state=7)
    for model in ("markov", "shapley", "time_decay"):
        pd.testing.assert_frame_equal(
            attribution(shuffled, model), attribution(sample, model), rtol=1e-12
        )


# --- Markov by hand and against a plain removal ------------------------------------------------


def test_markov_by_hand() -> None:
    paths = pd.DataFrame(
        {"path": ["a > b", "b"], "total_conversions": [1, 1], "total_null": [1, 1]}
    )
    # start -> a 1/2, start -> b 1/2, a -> b 1, b -> conversion 1/2: P(convert) = 1/2.
    # Without a: 1/2 * 1/2 = 1/4 (effect 1/2); without b: 0 (effect 1).
    result = attribution(paths, "markov")
    assert credit(result) == pytest.approx({"a": 2 / 3, "b": 4 / 3})
    assert dict(zip(result["channel"], result["removal_effect"], strict=True)) == pytest.approx(
        {"a": 0.5, "b": 1.0}
    )
    effects = removal_effects(paths).set_index("channel")
    assert effects.loc["a", "visit_probability"] == pytest.approx(0.5)
    assert effects.loc["b", "visit_probability"] == pytest.approx(1.0)


def test_channel_on_every_path_has_removal_effect_one() -> None:
    # hub ends every path: without it nothing reaches (conversion).
    paths = pd.DataFrame(
        {
            "path": ["x > hub", "hub", "y > x > hub", "hub > x > hub > hub"],
            "total_conversions": [3, 1, 0, 2],
            "total_null": [1, 4, 2, 2],
        }
    )
    effects = removal_effects(paths).set_index("channel")
    assert effects.loc["hub", "removal_effect"] == pytest.approx(1.0)
    assert effects.loc["hub", "p_convert_without"] == pytest.approx(0.0, abs=1e-15)
    assert effects.loc["hub", "visit_probability"] == pytest.approx(1.0)
    assert (effects["removal_effect"] <= 1.0).all()


def test_first_order_chain_can_bypass_a_channel_on_every_path() -> None:
    # hub is on every journey, but the chain mixes paths: start -> y (from "y > hub") then
    # y -> (conversion) (from "x > hub > y") converts without hub. Anderl et al.'s first-order
    # model gives hub less than 1; the plain removal agrees.
    frame = pd.DataFrame(
        {
            "path": ["x > hub > y", "hub", "y > hub", "hub > x > hub"],
            "total_conversions": [3, 1, 0, 2],
            "total_null": [1, 4, 2, 2],
        }
    )
    effects = removal_effects(frame).set_index("channel")["removal_effect"]
    assert effects["hub"] == pytest.approx(5 / 6)
    expected = plain_removal_effects(
        [p.split(" > ") for p in frame["path"]], [3, 1, 0, 2], [1, 4, 2, 2]
    )
    assert effects.to_dict() == pytest.approx(expected)


def plain_removal_effects(paths: list[list[str]], conv: list[int], null: list[int]) -> dict:
    """Redirect each channel to (null) and solve the absorbing chain again, from dicts."""
    channels = sorted({c for p in paths for c in p})
    states = ["(start)", *channels]
    index = {s: i for i, s in enumerate(states)}
    n = len(states)
    counts = np.zeros((n, n + 2))  # transient states, then conversion, null
    for p, c, u in zip(paths, conv, null, strict=True):
        chain = ["(start)", *p]
        for left, right in itertools.pairwise(chain):
            counts[index[left], index[right]] += c + u
        counts[index[chain[-1]], n] += c
        counts[index[chain[-1]], n + 1] += u
    out = counts.sum(axis=1, keepdims=True)
    prob = np.divide(counts, out, out=np.zeros_like(counts), where=out > 0)

    def p_convert(removed: str | None) -> float:
        q, r = prob[:, :n].copy(), prob[:, n].copy()
        if removed is not None:
            q[index[removed]] = 0.0
            r[index[removed]] = 0.0
        return float(np.linalg.solve(np.eye(n) - q, r)[0])

    base = p_convert(None)
    return {c: (1 - p_convert(c) / base) if base > 0 else 0.0 for c in channels}


path_sets = st.lists(
    st.tuples(
        st.lists(st.sampled_from("abcde"), min_size=1, max_size=5),
        st.integers(0, 6),
        st.integers(0, 6),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=40, deadline=None)
@given(path_sets)
def test_removal_effects_match_plain_removal(rows: list) -> None:
    paths = [r[0] for r in rows]
    conv = [r[1] for r in rows]
    null = [r[2] for r in rows]
    frame = pd.DataFrame({"path": paths, "total_conversions": conv, "total_null": null})
    got = removal_effects(frame)
    expected = plain_removal_effects(paths, conv, null)
    assert dict(zip(got["channel"], got["removal_effect"], strict=True)) == pytest.approx(
        expected, abs=1e-9
    )
    assert got["conversions"].sum() == pytest.approx(sum(conv), abs=1e-9)


# --- Shapley closed form against coalition enumeration ----------------------------------------


def brute_force_shapley(paths: list[list[str]], conv: list[int]) -> dict[str, float]:
    """phi_i = sum over coalitions S without i of |S|! (n - |S| - 1)! / n! (v(S + i) - v(S))."""
    players = sorted({c for p in paths for c in p})
    n = len(players)
    sets = [frozenset(p) for p in paths]

    def v(coalition: frozenset) -> float:
        return float(sum(c for s, c in zip(sets, conv, strict=True) if s <= coalition))

    phi = {}
    for player in players:
        others = [p for p in players if p != player]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for coalition in itertools.combinations(others, size):
                s = frozenset(coalition)
                total += weight * (v(s | {player}) - v(s))
        phi[player] = total
    return phi


@settings(max_examples=40, deadline=None)
@given(path_sets)
def test_shapley_closed_form_matches_coalition_enumeration(rows: list) -> None:
    paths = [r[0] for r in rows]
    conv = [r[1] for r in rows]
    frame = pd.DataFrame({"path": paths, "total_conversions": conv, "total_null": 0})
    got = credit(attribution(frame, "shapley"))
    assert got == pytest.approx(brute_force_shapley(paths, conv), abs=1e-9)


# --- conversion_paths by hand -----------------------------------------------------------------

DAY0 = pd.Timestamp("2025-03-01", tz="UTC")


def interactions() -> pd.DataFrame:
    rows = [
        ("a", 0, "search", "visit", None),
        ("a", 35, "email", "email", None),
        ("a", 40, "social", "visit", None),
        ("a", 41, "web", "purchase", 100.0),
        ("a", 41, "web", "visit", None),  # same moment as the purchase: counts before it
        ("a", 45, "store", "purchase", 50.0),  # no touch since the last purchase
        ("a", 50, "search", "visit", None),
        ("b", 10, "email", "email", None),
        ("b", 12, "email", "email", None),
        ("c", 5, None, "purchase", 20.0),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "channel", "kind", "value"])
    frame["occurred_at"] = DAY0 + pd.to_timedelta(frame["day"], unit="D")
    return frame


def test_conversion_paths_by_hand() -> None:
    got = conversion_paths(interactions(), value="value")
    assert got["customer_id"].tolist() == ["a", "a", "a", "b", "c"]
    assert got["journey"].tolist() == [0, 1, 2, 0, 0]
    assert got["path"].tolist() == [
        ["email", "social", "web"],
        [],
        ["search"],
        ["email", "email"],
        [],
    ]
    assert got["time_before"].tolist() == [[6.0, 1.0, 0.0], [], [0.0], [2.0, 0.0], []]
    assert got["n_touches"].tolist() == [3, 0, 1, 2, 0]
    assert got["n_expired"].tolist() == [1, 0, 0, 0, 0]  # the day-0 search, 41 days back
    assert got["converted"].tolist() == [True, True, False, False, True]
    assert got["total_conversions"].tolist() == [1, 1, 0, 0, 1]
    assert got["total_null"].tolist() == [0, 0, 1, 1, 0]
    assert got["conversion_value"].tolist() == [100.0, 50.0, 0.0, 0.0, 20.0]
    assert got["ended_at"].tolist() == [DAY0 + pd.Timedelta(days=d) for d in (41, 45, 50, 12, 5)]
    assert got["started_at"][0] == DAY0 + pd.Timedelta(days=35)
    assert got["started_at"][[1, 4]].isna().all()


def test_conversion_paths_options_agree() -> None:
    frame = interactions()
    base = conversion_paths(frame)
    pd.testing.assert_frame_equal(conversion_paths(frame, conversion={"kind": "purchase"}), base)
    pd.testing.assert_frame_equal(
        conversion_paths(frame, conversion=frame["kind"].eq("purchase")), base
    )
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(conversion_paths(shuffled), base)
    unlimited = conversion_paths(frame, lookback=None)
    assert unlimited["path"][0] == ["search", "email", "social", "web"]
    assert unlimited["n_expired"].sum() == 0
    numeric = conversion_paths(frame, time="day", lookback=30)
    assert numeric["path"].tolist() == base["path"].tolist()
    assert numeric["time_before"].tolist() == base["time_before"].tolist()
    assert numeric["ended_at"].tolist() == [41.0, 45.0, 50.0, 12.0, 5.0]


def test_conversion_paths_feed_attribution() -> None:
    journeys = conversion_paths(interactions())
    touched = journeys[journeys["path"].str.len() > 0]
    result = attribution(touched, "time_decay", times="time_before")
    # Only customer a's first journey converted with touches 6, 1 and 0 days back.
    weights = 2.0 ** (-np.array([6.0, 1.0, 0.0]) / 7)
    assert credit(result) == pytest.approx(
        dict(zip(["email", "social", "web"], weights / weights.sum(), strict=True)) | {"search": 0}
    )
    aggregated = aggregate_paths(touched)
    assert aggregated["total_conversions"].sum() + aggregated["total_null"].sum() == len(touched)
    with pytest.raises(ValidationError, match="empty path"):
        attribution(journeys, "linear")


# --- validation -------------------------------------------------------------------------------


def test_validation_errors() -> None:
    with pytest.raises(ValidationError, match="model='best'"):
        attribution(THREE, "best")
    with pytest.raises(ValidationError, match="models='best'"):
        attribution_table(THREE, ["linear", "best"])
    with pytest.raises(ValidationError, match=r"conversions='conv'.*not a column"):
        attribution(THREE, "linear", conversions="conv")
    with pytest.raises(ValidationError, match=r"path='journey'.*not a column"):
        markov_chain(THREE, path="journey")
    negative = THREE.assign(total_null=[1, -1, 2])
    with pytest.raises(ValidationError, match=r"nulls='total_null'.*1 rows are negative"):
        attribution(negative, "markov")
    missing = THREE.assign(total_conversions=[2.0, np.nan, 1.0])
    with pytest.raises(ValidationError, match="no finite value"):
        attribution(missing, "linear")
    with pytest.raises(ValidationError, match="empty path"):
        attribution(pd.DataFrame({"path": [[]], "total_conversions": [1], "total_null": [0]}))
    with pytest.raises(ValidationError, match="no channel"):
        attribution(THREE.assign(path=["a >  > b", "b", "c"]), separator=" > ")
    with pytest.raises(ValidationError, match="different number of times"):
        attribution(THREE.assign(days=[[1], [1, 2, 3], [0]]), "time_decay", times="days")
    with pytest.raises(ValidationError, match="negative"):
        attribution(THREE.assign(days=[[1, 0, -1], [1, 2, 3], [0]]), "time_decay", times="days")
    with pytest.raises(ValidationError, match="first_weight"):
        attribution(THREE, "position_based", first_weight=1.5)
    with pytest.raises(ValidationError, match="at most 1"):
        attribution(THREE, "position_based", first_weight=0.6, last_weight=0.6)
    with pytest.raises(ValidationError, match="half_life"):
        attribution(THREE, "time_decay", half_life=0)
    with pytest.raises(ValidationError, match="reserved"):
        attribution(THREE.assign(path=["(null) > a", "b", "c"]))
    with pytest.raises(ValidationError, match="paths"):
        attribution([("a", 1)])  # type: ignore[arg-type]


def test_conversion_paths_validation() -> None:
    frame = interactions()
    anonymous = frame.assign(customer_id=frame["customer_id"].where(frame["day"] != 35))
    with pytest.raises(ValidationError, match=r"customer='customer_id'.*1 rows have no value"):
        conversion_paths(anonymous)
    no_channel = frame.assign(channel=frame["channel"].where(frame["day"] != 10))
    with pytest.raises(ValidationError, match=r"channel='channel'.*first at index 7"):
        conversion_paths(no_channel)
    with pytest.raises(ValidationError, match=r"value='value'.*conversions have no value"):
        conversion_paths(frame.assign(value=np.nan), value="value")
    with pytest.raises(ValidationError, match="lookback"):
        conversion_paths(frame, lookback="soon")
    with pytest.raises(ValidationError, match="lookback"):
        conversion_paths(frame, lookback="-1D")
    with pytest.raises(ValidationError, match=r"conversion='stage'.*not a column"):
        conversion_paths(frame, conversion={"stage": "buy"})
