"""Themes: n-gram counts, Monroe et al.'s weighted log-odds, examples, grouping, validation."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from cxm.exceptions import ValidationError
from cxm.metrics.themes import (
    ENGLISH_STOP_WORDS,
    NEGATIONS,
    distinguishing_themes,
    nps_segment,
    nps_themes,
    themes,
    weighted_log_odds,
)

# -- the published figures: tidylo's documented bind_log_odds() example ---------------------
# tidylo 0.2.0 (Schnoebelen, Silge & Hayes; MIT), reference page of bind_log_odds(): the
# counts of mtcars by engine shape vs and gears, and the printed weighted log odds. tidylo
# compares each set with the pooled pseudo-counted corpus, which is Monroe et al.'s formula
# with side b = all counts plus the other sets' prior, so weighted_log_odds() reproduces it.

GEARS = (3, 4, 5)
VS0 = np.array([12.0, 2.0, 4.0])
VS1 = np.array([3.0, 10.0, 1.0])


def tidylo_side(own: np.ndarray, alpha: np.ndarray, prior_weight: float | None) -> pd.DataFrame:
    pooled = VS0 + VS1
    rest = pooled + (2 - 1) * alpha  # the pooled counts plus the other set's pseudo-counts
    return weighted_log_odds(own, rest, prior=alpha, alpha0=prior_weight)


def test_tidylo_informative_prior_example() -> None:
    pooled = VS0 + VS1  # tidylo's empirical Bayes prior: each feature's total count
    published = {
        0: [1.1728347, -1.3767516, 0.4033125],
        1: [-1.1354777, 1.5661168, -0.4362340],
    }
    for vs, own in ((0, VS0), (1, VS1)):
        table = tidylo_side(own, pooled, None)
        assert table["z"].round(7).tolist() == published[vs]


def test_tidylo_uninformative_prior_example() -> None:
    ones = np.ones(3)
    published_log_odds = {
        0: [0.6968169, -1.2527630, 0.3249262],
        1: [-0.9673459, 1.1451323, -0.5268260],
    }
    published_z = {
        0: [1.8912729, -1.9691060, 0.5549172],
        1: [-1.7407107, 2.8421436, -0.6570674],
    }
    for vs, own in ((0, VS0), (1, VS1)):
        table = tidylo_side(own, ones, None)
        assert table["log_odds"].round(7).tolist() == published_log_odds[vs]
        assert table["z"].round(7).tolist() == published_z[vs]


# -- the formula by hand ----------------------------------------------------------------------


SIDE_A = ["late late delivery", "late refund", "rude driver"]
SIDE_B = ["fast delivery", "fast refund", "great driver", "great"]


def monroe_by_hand(
    alpha_of: dict[str, float], alpha0: float
) -> dict[str, tuple[float, float, float]]:
    a = Counter(w for c in SIDE_A for w in c.split())
    b = Counter(w for c in SIDE_B for w in c.split())
    n_a, n_b = sum(a.values()), sum(b.values())
    out = {}
    for word in set(a) | set(b):
        aw = alpha_of[word]
        delta = math.log((a[word] + aw) / (n_a + alpha0 - a[word] - aw)) - math.log(
            (b[word] + aw) / (n_b + alpha0 - b[word] - aw)
        )
        variance = 1 / (a[word] + aw) + 1 / (b[word] + aw)
        out[word] = (delta, variance, delta / math.sqrt(variance))
    return out


def tiny_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"text": SIDE_A + SIDE_B, "side": ["a"] * len(SIDE_A) + ["b"] * len(SIDE_B)}
    )


def test_informative_prior_matches_the_formula_computed_by_hand() -> None:
    pooled = Counter(w for c in SIDE_A + SIDE_B for w in c.split())
    total = sum(pooled.values())  # 14 words: a_0 is all of them, a_w the pooled count
    expected = monroe_by_hand({w: c * total / total for w, c in pooled.items()}, total)
    table = distinguishing_themes(
        tiny_frame(), "side", ngram_range=(1, 1), min_count=1, top=10, stop_words=None
    )
    assert len(table) == len(expected) == 7
    for row in table.itertuples():
        delta, variance, z = expected[row.theme]
        assert row.log_odds == pytest.approx(delta, rel=1e-12, abs=1e-15)
        assert row.z == pytest.approx(z, rel=1e-12, abs=1e-15)
        assert row.se == pytest.approx(math.sqrt(variance), rel=1e-12)
        assert row.leans_to == ("a" if z > 0 else "b")
    late = table.set_index("theme").loc["late"]
    assert (late["count_a"], late["documents_a"], late["count_b"]) == (3, 2, 0)
    assert (late["n_a"], late["n_b"]) == (3, 4)


def test_alpha0_scales_the_informative_prior() -> None:
    pooled = Counter(w for c in SIDE_A + SIDE_B for w in c.split())
    total = sum(pooled.values())
    expected = monroe_by_hand({w: 3.5 * c / total for w, c in pooled.items()}, 3.5)
    table = distinguishing_themes(
        tiny_frame(), "side", ngram_range=(1, 1), min_count=1, stop_words=None, alpha0=3.5
    )
    for row in table.itertuples():
        assert row.z == pytest.approx(expected[row.theme][2], rel=1e-12)


def test_uninformative_prior_is_one_pseudo_count_per_ngram() -> None:
    vocabulary = {w for c in SIDE_A + SIDE_B for w in c.split()}
    expected = monroe_by_hand(dict.fromkeys(vocabulary, 1.0), float(len(vocabulary)))
    table = distinguishing_themes(
        tiny_frame(),
        "side",
        ngram_range=(1, 1),
        min_count=1,
        stop_words=None,
        prior="uninformative",
    )
    for row in table.itertuples():
        assert row.z == pytest.approx(expected[row.theme][2], rel=1e-12)


def test_weighted_log_odds_keeps_the_index_and_checks_its_interval() -> None:
    a = pd.Series({"late": 30, "refund": 10, "friendly": 2})
    b = pd.Series({"late": 5, "refund": 9, "friendly": 40})
    table = weighted_log_odds(a, b, confidence=0.90)
    assert table.index.tolist() == ["late", "refund", "friendly"]
    assert table.loc["late", "z"] > 0 > table.loc["friendly", "z"]
    half = 1.6448536269514722 * table["se"]
    assert np.allclose(table["ci_high"] - table["log_odds"], half)
    assert np.allclose(table["variance"], 1 / (a + table["prior"]) + 1 / (b + table["prior"]))


# -- invariants -------------------------------------------------------------------------------


def reviews() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    detractor = ["long wait on hold", "rude agent", "refund never arrived", "app crashed"]
    promoter = ["friendly agent", "quick delivery", "easy app", "great price"]
    shared = ["the delivery", "customer service"]
    rows = []
    for side, phrases, n in (("detractor", detractor, 120), ("promoter", promoter, 200)):
        for _ in range(n):
            picked = rng.choice(phrases + shared, size=2, replace=False)
            rows.append({"text": f"{picked[0].capitalize()}. And {picked[1]}!", "segment": side})
    return pd.DataFrame(rows)


def test_swapping_the_sides_negates_z() -> None:
    frame = reviews()
    one = distinguishing_themes(frame, "segment", top=100, min_count=1)
    two = distinguishing_themes(
        frame, "segment", labels=("promoter", "detractor"), top=100, min_count=1
    )
    assert one.attrs["labels"] == ("detractor", "promoter")
    merged = one.merge(two, on="theme", suffixes=("_1", "_2"))
    assert len(merged) == len(one) == len(two)
    assert np.allclose(merged["z_1"], -merged["z_2"])
    assert np.allclose(merged["log_odds_1"], -merged["log_odds_2"])
    assert (merged["count_a_1"] == merged["count_b_2"]).all()
    assert (merged["leans_to_1"] == merged["leans_to_2"]).all()


def test_a_word_used_equally_on_both_sides_has_z_near_zero() -> None:
    frame = pd.DataFrame(
        {
            "text": ["service slow"] * 10 + ["service fast"] * 10 + ["service"] * 30,
            "side": ["a"] * 10 + ["b"] * 10 + ["a"] * 15 + ["b"] * 15,
        }
    )
    table = distinguishing_themes(frame, "side", ngram_range=(1, 1), min_count=1)
    z = table.set_index("theme")["z"]
    assert abs(z["service"]) < 1e-12  # same count, same side sizes: exactly zero
    assert z["slow"] > 1.96 > -1.96 > z["fast"]
    # Same rate on sides of different sizes: close to zero, far from the real differences.
    bigger = pd.concat([frame, frame[frame["side"] == "b"]], ignore_index=True)
    z2 = distinguishing_themes(bigger, "side", ngram_range=(1, 1), min_count=1).set_index("theme")
    assert abs(z2.loc["service", "z"]) < 0.5


def test_the_prior_shrinks_rare_words_toward_zero() -> None:
    # A word seen twice, on side a only; a common word at 2:1; a frequent near-neutral word.
    a = np.array([2.0, 60.0, 500.0])
    b = np.array([0.0, 30.0, 520.0])
    informative = weighted_log_odds(a, b)
    plain = weighted_log_odds(a, b, prior="uninformative", alpha0=1.5)  # a_w = 0.5 (Haldane)
    # The plain log-odds ratio puts the two-mention word first ...
    assert plain["log_odds"][0] > plain["log_odds"][1] > 0
    # ... the prior pulls every estimate toward 0, and its z ranks the rare word below.
    assert (informative["log_odds"].abs() < plain["log_odds"].abs()).all()
    assert abs(informative["z"][0]) < abs(plain["z"][0])
    assert informative["z"][0] < informative["z"][1]
    assert informative["z"][0] < 1.0


def test_distinguishing_a_rare_fluke_does_not_outrank_a_frequent_difference() -> None:
    frame = reviews()
    extra = pd.DataFrame({"text": ["Zebra sighting"] * 2, "segment": ["detractor"] * 2})
    table = distinguishing_themes(pd.concat([frame, extra]), "segment", top=50, min_count=1)
    ranked = table[table["leans_to"] == "detractor"]["theme"].tolist()
    assert ranked.index("zebra") > ranked.index("rude agent")


# -- tokenising, stop words and counts --------------------------------------------------------


def test_stop_words_neither_stand_alone_nor_begin_or_end_a_theme() -> None:
    frame = pd.DataFrame(
        {"text": ["The agent was not helpful and the wait was long"] * 5 + ["Waited on hold"] * 5}
    )
    table = themes(frame, ngram_range=(1, 3), top=100)
    found = set(table["theme"])
    for theme in found:
        words = theme.split()
        assert words[0] not in ENGLISH_STOP_WORDS
        assert words[-1] not in ENGLISH_STOP_WORDS
        assert words[-1] not in NEGATIONS
    assert {"agent", "helpful", "not helpful", "wait", "waited on hold"} <= found
    assert not found & {"the", "was", "and", "not", "the agent", "waited on", "on hold"}
    raw = set(themes(frame, ngram_range=(1, 2), stop_words=None, top=100)["theme"])
    assert {"the", "not", "the agent", "waited on"} <= raw
    mine = set(themes(frame, stop_words=["Agent", "wait"], top=100)["theme"])
    assert "agent" not in mine
    assert "wait" not in mine
    assert "the" in mine


def test_ngrams_do_not_cross_punctuation_and_keep_contractions() -> None:
    frame = pd.DataFrame({"text": ["Late. Delivery didn't come; CAFÉ staff's attitude"] * 5})
    found = set(themes(frame, ngram_range=(1, 2), top=100)["theme"])
    assert "late delivery" not in found  # a full stop lies between them
    assert "didn't come" in found  # negation + word, apostrophe kept
    assert "café staff" in found  # lower-cased, accents kept, possessive folded into "staff"
    assert "staff attitude" in found
    assert "come café" not in found


def python_ngrams(text: str, n: int) -> list[str]:
    """An independent, slow tokeniser with the documented rules (for the oracle test)."""
    text = text.lower().replace("\u2019", "'")
    grams = []
    for clause in re.split(r"[^\w \t'\-]+", text):
        words = [
            w[:-2] if w.endswith("'s") else w for w in re.findall(r"[^\W_]+(?:'[^\W_]+)*", clause)
        ]
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]

            def ok(w: str) -> bool:
                return w not in ENGLISH_STOP_WORDS and any(c.isalpha() for c in w)

            if ok(gram[0]) and ok(gram[-1]) and gram[-1] not in NEGATIONS:
                grams.append(" ".join(gram))
    return grams


def test_counts_match_a_brute_force_count() -> None:
    rng = np.random.default_rng(3)
    vocab = ["the", "agent", "was", "not", "rude", "slow", "refund", "app", "2", "on", "hold"]
    texts = []
    for _ in range(400):
        words = rng.choice(vocab, size=rng.integers(1, 9))
        marks = rng.choice(["", "", "", ",", ".", "!"], size=len(words))
        texts.append(" ".join(w + m for w, m in zip(words, marks, strict=True)))
    frame = pd.DataFrame({"text": texts, "touchpoint": rng.choice(["web", "app"], len(texts))})
    table = themes(frame, by="touchpoint", ngram_range=(1, 3), min_count=1, top=10_000)
    for touchpoint, rows in table.groupby("touchpoint"):
        docs = frame.loc[frame["touchpoint"] == touchpoint, "text"]
        count: Counter[str] = Counter()
        documents: Counter[str] = Counter()
        for text in docs:
            grams = [g for n in (1, 2, 3) for g in python_ngrams(text, n)]
            count.update(grams)
            documents.update(set(grams))
        got = rows.set_index("theme")
        assert dict(got["count"]) == dict(count)
        assert dict(got["documents"]) == dict(documents)
        assert (got["n"] == len(docs)).all()


def test_documents_count_each_comment_once_and_ranking_uses_them() -> None:
    frame = pd.DataFrame({"text": ["refund refund refund refund"] + ["slow app"] * 2})
    table = themes(frame, min_count=1, ngram_range=(1, 1))
    assert table["theme"].tolist() == ["app", "slow", "refund"]  # 2 comments beat 1 rant
    refund = table.set_index("theme").loc["refund"]
    assert (refund["count"], refund["documents"], refund["n"]) == (4, 1, 3)
    assert refund["share"] == pytest.approx(100 / 3)
    assert refund["ci_low"] < refund["share"] < refund["ci_high"]


def test_themes_columns_order_and_row_order_invariance() -> None:
    frame = reviews().assign(touchpoint=lambda f: np.where(np.arange(len(f)) % 3, "web", "app"))
    table = themes(frame, by="touchpoint", top=5, min_n=150)
    assert list(table.columns) == [
        "touchpoint",
        "theme",
        "n_words",
        "n",
        "documents",
        "count",
        "share",
        "ci_low",
        "ci_high",
        "low_n",
        "examples",
    ]
    assert table["touchpoint"].tolist() == ["app"] * 5 + ["web"] * 5
    assert table["low_n"].tolist() == [True] * 5 + [False] * 5  # 107 app comments, 213 web
    shuffled = themes(frame.sample(frac=1, random_state=2), by="touchpoint", top=5, min_n=150)
    pd.testing.assert_frame_equal(table.drop(columns="examples"), shuffled.drop(columns="examples"))


def test_per_touchpoint_themes_equal_themes_of_each_touchpoint_alone() -> None:
    frame = reviews().assign(touchpoint=lambda f: np.where(np.arange(len(f)) % 3, "web", "app"))
    table = themes(frame, by="touchpoint", top=8)
    for touchpoint in ("app", "web"):
        alone = themes(frame[frame["touchpoint"] == touchpoint], top=8)
        part = table[table["touchpoint"] == touchpoint].drop(columns="touchpoint")
        pd.testing.assert_frame_equal(part.reset_index(drop=True), alone)


def test_distinguishing_per_touchpoint_counts_each_touchpoint_apart() -> None:
    frame = reviews().assign(touchpoint=lambda f: np.where(np.arange(len(f)) % 2, "web", "app"))
    table = distinguishing_themes(frame, "segment", by="touchpoint", top=3)
    assert list(table.columns[:4]) == ["touchpoint", "theme", "n_words", "leans_to"]
    for (touchpoint, theme), row in table.set_index(["touchpoint", "theme"]).iterrows():
        part = frame[frame["touchpoint"] == touchpoint]
        side_a = part.loc[part["segment"] == "detractor", "text"].str.lower()
        assert row["documents_a"] == side_a.str.contains(theme, regex=False).sum()
        assert row["n_a"] == len(side_a)
    leaning = table.groupby(["touchpoint", "leans_to"]).size()
    assert (leaning == 3).all()
    # A frame with one touchpoint gives the same table with or without by=.
    web = frame[frame["touchpoint"] == "web"]
    with_by = distinguishing_themes(web, "segment", by="touchpoint").drop(columns="touchpoint")
    pd.testing.assert_frame_equal(with_by, distinguishing_themes(web, "segment"))


# -- examples ---------------------------------------------------------------------------------


def contains(comment: str, theme: str) -> bool:
    pattern = r"(?<!\w)" + r"[\s\-]+".join(map(re.escape, theme.split())) + r"(?!\w)"
    return re.search(pattern, comment.lower().replace("'s", "")) is not None


def test_examples_are_real_comments_of_the_group_containing_the_theme() -> None:
    frame = reviews().assign(touchpoint=lambda f: np.where(np.arange(len(f)) % 2, "web", "app"))
    table = themes(frame, by="touchpoint", examples=4)
    for row in table.itertuples():
        texts = set(frame.loc[frame["touchpoint"] == row.touchpoint, "text"])
        assert 1 <= len(row.examples) <= 4
        assert len(set(row.examples)) == len(row.examples)  # distinct
        for example in row.examples:
            assert example in texts
            assert contains(example, row.theme)
        assert [len(e) for e in row.examples] == sorted(len(e) for e in row.examples)
    compared = distinguishing_themes(frame, "segment", by="touchpoint")
    for row in compared.itertuples():
        part = frame[frame["touchpoint"] == row.touchpoint]
        for side, examples in (("detractor", row.examples_a), ("promoter", row.examples_b)):
            side_texts = set(part.loc[part["segment"] == side, "text"])
            assert all(e in side_texts and contains(e, row.theme) for e in examples)
        assert len(row.examples_a) == min(3, row.documents_a) or row.documents_a > 3
        assert (len(row.examples_a) > 0) == (row.documents_a > 0)


def test_no_examples_when_asked_for_none() -> None:
    table = themes(reviews(), examples=0, top=3)
    assert table["examples"].map(len).eq(0).all()


# -- NPS and groups given as values -----------------------------------------------------------


def test_nps_segment_labels_the_scale() -> None:
    segments = nps_segment(pd.Series([0, 6, 7, 8, 9, 10], index=list("abcdef")))
    assert segments.tolist() == ["detractor"] * 2 + ["passive"] * 2 + ["promoter"] * 2
    assert segments.index.tolist() == list("abcdef")
    assert segments.cat.categories.tolist() == ["detractor", "passive", "promoter"]


def test_nps_themes_compares_detractors_with_promoters_and_skips_passives() -> None:
    frame = pd.DataFrame(
        {
            "score": [1] * 6 + [10] * 6 + [7] * 20 + [5],
            "comment": ["Slow refund"] * 6 + ["Fast refund"] * 6 + ["Passive words"] * 20 + ["x"],
            "metric": ["nps"] * 32 + ["csat"],
        }
    )
    table = nps_themes(frame, text="comment", top=5)
    assert table.attrs["labels"] == ("detractor", "promoter")
    assert not {"passive", "words", "x"} & set(table["theme"])
    refund = table.set_index("theme")
    assert set(refund.loc["slow", ["n_a", "n_b"]]) == {6}
    assert refund.loc["slow", "leans_to"] == "detractor"
    assert refund.loc["fast refund", "leans_to"] == "promoter"
    expected = distinguishing_themes(
        frame[frame["score"] != 7].iloc[:12].assign(side=["d"] * 6 + ["p"] * 6),
        "side",
        labels=("d", "p"),
        text="comment",
        top=5,
    )
    assert np.allclose(table["z"], expected["z"])


def test_group_as_a_mask_and_as_values_with_labels() -> None:
    frame = reviews()
    by_column = distinguishing_themes(frame, "segment")
    mask = distinguishing_themes(frame, frame["segment"] == "detractor", labels=("d", "p"))
    assert np.allclose(by_column["z"], mask["z"])
    assert set(mask["leans_to"]) == {"d", "p"}
    values = distinguishing_themes(frame, frame["segment"].to_numpy())
    assert np.allclose(by_column["z"], values["z"])
    rest = distinguishing_themes(frame, "segment", labels=("detractor", None))
    assert np.allclose(by_column["z"], rest["z"])
    assert rest.attrs["labels"] == ("detractor", "not detractor")


def test_no_comments_give_an_empty_table_with_the_columns() -> None:
    frame = pd.DataFrame({"text": [None, "   ", np.nan], "touchpoint": ["a", "b", "c"]})
    table = themes(frame, by="touchpoint")
    assert table.empty
    assert {"theme", "examples"} <= set(table.columns)


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda f: themes(f, text="body"), "df"),
        (lambda f: themes(f.assign(text=1.5)), "text"),
        (lambda f: themes(f, ngram_range=(2, 1)), "ngram_range"),
        (lambda f: themes(f, ngram_range=3), "ngram_range"),
        (lambda f: themes(f, min_count=0), "min_count"),
        (lambda f: themes(f, top=1.5), "top"),
        (lambda f: themes(f, stop_words="french"), "stop_words"),
        (lambda f: themes(f, stop_words=[1, 2]), "stop_words"),
        (lambda f: themes(f, confidence=1.5), "confidence"),
        (lambda f: themes(f, by="touchpoint"), "df"),
        (lambda f: themes(f["text"]), "df"),
        (lambda f: distinguishing_themes(f, "nope"), "group"),
        (lambda f: distinguishing_themes(f.assign(segment="x"), "segment"), "group"),
        (lambda f: distinguishing_themes(f, "segment", labels=("detractor", "lurker")), "labels"),
        (lambda f: distinguishing_themes(f, "segment", labels="detractor"), "labels"),
        (lambda f: distinguishing_themes(f, [True, False]), "group"),
        (lambda f: distinguishing_themes(f, "segment", prior="flat"), "prior"),
        (lambda f: distinguishing_themes(f, "segment", alpha0=-1), "alpha0"),
        (lambda f: nps_themes(f.assign(score=11)), "score"),
        (lambda f: nps_themes(f.assign(score=9)), "labels"),
    ],
)
def test_bad_input_names_the_field(call: object, field: str) -> None:
    frame = reviews().assign(score=np.where(reviews()["segment"] == "detractor", 3, 10))
    with pytest.raises(ValidationError) as raised:
        call(frame)  # type: ignore[operator]
    assert raised.value.field == field


def test_missing_text_column_hints_at_the_feedback_frame() -> None:
    with pytest.raises(ValidationError, match="text='comment'"):
        themes(pd.DataFrame({"comment": ["a"]}))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"count_a": [1, -1], "count_b": [1, 1]}, "count_a"),
        ({"count_a": [1, 2], "count_b": [1]}, "count_b"),
        ({"count_a": [1, 2], "count_b": [1, 1], "prior": [1, 0]}, "prior"),
        ({"count_a": [1, 2], "count_b": [1, 1], "total_a": 2}, "total_a"),
        ({"count_a": [1, 2], "count_b": [1, 1], "prior": "flat"}, "prior"),
    ],
)
def test_weighted_log_odds_refuses_bad_counts(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        weighted_log_odds(**kwargs)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_numbers_are_no_theme_and_other_scripts_are_words() -> None:
    frame = pd.DataFrame({"text": ["Waited 45 minutes", "Lieferung verspätet", "Waited 5 minutes"]})
    found = set(themes(frame, ngram_range=(1, 3), min_count=1, top=50)["theme"])
    assert {"waited", "minutes", "waited 45 minutes", "lieferung verspätet"} <= found
    assert not found & {"45", "5", "waited 45", "45 minutes"}


def test_distinguishing_ignores_row_order() -> None:
    frame = reviews().assign(touchpoint=lambda f: np.where(np.arange(len(f)) % 2, "web", "app"))
    one = distinguishing_themes(frame, "segment", by="touchpoint", top=4)
    two = distinguishing_themes(
        frame.sample(frac=1, random_state=9), "segment", by="touchpoint", top=4
    )
    pd.testing.assert_frame_equal(one, two)
