"""Sentiment: VADER against human ratings, the analyzer hook, scoring into the store, summaries."""

from __future__ import annotations

import gzip
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sqlalchemy import create_engine, inspect, select

import cxm
from cxm import connectors
from cxm.exceptions import ValidationError
from cxm.metrics import sentiment as sm
from cxm.metrics.sentiment import (
    VaderAnalyzer,
    analyzer_failures,
    analyzers,
    get_analyzer,
    label_scores,
    score_text,
    sentiment_summary,
    text_hash,
)
from cxm.store import schema
from tests.support import at, email

DATA = Path(__file__).resolve().parents[1] / "data" / "sentiment"


def ground_truth(name: str) -> pd.DataFrame:
    """Read one of VADER's ground-truth files: id, mean human rating, text."""
    with gzip.open(DATA / f"{name}_GroundTruth.txt.gz", "rt", encoding="utf-8", newline="") as f:
        rows = [line.rstrip("\r\n").split("\t", 2) for line in f]
    return pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "human": np.array([float(r[1]) for r in rows]),
            "text": [r[2] for r in rows],
        }
    )


# -- accuracy on the published ground truth (Hutto & Gilbert 2014) ---------------------------


@pytest.mark.parametrize(
    ("name", "rows", "floor", "expected"),
    [("amazonReviewSnippets", 3708, 0.56, 0.590), ("tweets", 4200, 0.85, 0.872)],
)
def test_vader_correlates_with_the_human_ratings(
    name: str, rows: int, floor: float, expected: float
) -> None:
    truth = ground_truth(name)
    assert len(truth) == rows
    assert truth["human"].between(-4, 4).all()

    scores = score_text(truth["text"])

    # Pearson r written out, not taken from a library.
    x = scores["compound"].to_numpy() - scores["compound"].mean()
    y = truth["human"].to_numpy() - truth["human"].mean()
    r = float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))
    assert r >= floor
    assert r == pytest.approx(expected, abs=0.005)  # vaderSentiment 3.3.2: 0.590 and 0.872
    assert r == pytest.approx(stats.pearsonr(scores["compound"], truth["human"])[0])


def test_the_labels_agree_with_the_raters_on_clear_cases() -> None:
    truth = ground_truth("tweets")
    scores = score_text(truth["text"])
    clear = truth["human"].abs() >= 2  # the raters agreed the tweet is clearly one way
    agreed = (scores.loc[clear, "compound"] > 0) == (truth.loc[clear, "human"] > 0)
    assert agreed.mean() > 0.9


# -- score_text and the VADER analyzer -------------------------------------------------------


def test_score_text_is_vaders_polarity_scores() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = [
        "The agent was GREAT!!! :)",
        "Not good at all, the parcel never came.",
        "Order 4411 shipped on Monday.",
        "I don't hate it, but the app is kinda slow",
    ]
    oracle = SentimentIntensityAnalyzer()
    scores = score_text(texts)
    expected = pd.DataFrame([oracle.polarity_scores(t) for t in texts])
    for column in ("compound", "pos", "neu", "neg"):
        np.testing.assert_allclose(scores[column], expected[column])
    assert list(scores.columns) == ["compound", "pos", "neu", "neg", "label"]
    assert scores["label"].tolist()[:3] == ["positive", "negative", "neutral"]
    by_hand = [
        "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"
        for c in expected["compound"]
    ]
    assert scores["label"].tolist() == by_hand
    np.testing.assert_allclose(scores[["pos", "neu", "neg"]].sum(axis=1), 1, atol=0.002)


def test_score_text_keeps_a_series_index_and_leaves_missing_texts_unscored() -> None:
    texts = pd.Series(["Lovely staff", None, np.nan, ""], index=[10, 11, 12, 13])
    scores = score_text(texts)
    assert list(scores.index) == [10, 11, 12, 13]
    assert scores["compound"].isna().tolist() == [False, True, True, False]
    assert scores["label"].tolist()[0] == "positive"
    assert pd.isna(scores["label"].iloc[1])
    assert scores["label"].iloc[3] == "neutral"  # an empty text has no sentiment
    assert len(score_text([])) == 0


def test_score_text_refuses_what_is_not_text() -> None:
    with pytest.raises(ValidationError, match="must be a string"):
        score_text(["fine", 3])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="not one text"):
        score_text("one text")
    with pytest.raises(ValidationError, match="registered: vader"):
        score_text(["x"], analyzer="nope")
    with pytest.raises(ValidationError, match="threshold"):
        score_text(["x"], threshold=1.5)


def test_labels_follow_vaders_thresholds_inclusively() -> None:
    labels = label_scores(np.array([-1, -0.05, -0.0499, 0, 0.0499, 0.05, 1, np.nan]))
    assert labels.tolist()[:7] == [
        "negative",
        "negative",
        "neutral",
        "neutral",
        "neutral",
        "positive",
        "positive",
    ]
    assert pd.isna(labels[7])
    assert label_scores([0.3], threshold=0.5).tolist() == ["neutral"]
    assert labels.ordered


def test_vader_version_names_the_package_version() -> None:
    import importlib.metadata

    assert VaderAnalyzer.version == "vaderSentiment-" + importlib.metadata.version("vaderSentiment")
    assert get_analyzer("vader") is get_analyzer()  # one instance per process


# -- analyzers registered through the hook ---------------------------------------------------


class ToyAnalyzer:
    """Counts good and bad words."""

    name = "toy"
    version = "1"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def score(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        good = np.array([t.lower().count("good") for t in texts], dtype=float)
        bad = np.array([t.lower().count("bad") for t in texts], dtype=float)
        return (good - bad) / (good + bad + 1)


class ToyPlugin:
    @staticmethod
    @connectors.hookimpl
    def cxm_register_sentiment_analyzers(register: Any) -> None:
        register(ToyAnalyzer)


@pytest.fixture
def toy() -> Iterator[None]:
    connectors.register(ToyPlugin, name="toy-sentiment")
    try:
        yield
    finally:
        connectors.unregister("toy-sentiment")


def test_a_plugin_adds_an_analyzer_used_by_name(toy: None) -> None:
    listed = {info.name: info for info in analyzers()}
    assert set(listed) == {"toy", "vader"}
    assert listed["toy"].distribution is None
    assert listed["toy"].version == "1"
    assert listed["toy"].summary == "Counts good and bad words."
    assert listed["vader"].distribution == "cxm"
    scores = score_text(["good good", "bad", "meh"], analyzer="toy")
    np.testing.assert_allclose(scores["compound"], [2 / 3, -0.5, 0.0])
    assert scores["pos"].isna().all()  # the toy gives only compound
    assert scores["label"].tolist() == ["positive", "negative", "neutral"]
    assert analyzer_failures() == []


def test_unregistering_the_plugin_removes_its_analyzer(toy: None) -> None:
    assert "toy" in [info.name for info in analyzers()]
    connectors.unregister("toy-sentiment")
    assert [info.name for info in analyzers()] == ["vader"]
    with pytest.raises(ValidationError, match="no sentiment analyzer"):
        get_analyzer("toy")


def test_duplicates_are_refused_and_broken_hooks_isolated() -> None:
    class Copycat(ToyAnalyzer):
        """Another vader."""

        name = "vader"

    class Duplicates:
        @staticmethod
        @connectors.hookimpl
        def cxm_register_sentiment_analyzers(register: Any) -> None:
            register(Copycat())
            register(ToyAnalyzer)

    class HalfWay:
        @staticmethod
        @connectors.hookimpl
        def cxm_register_sentiment_analyzers(register: Any) -> None:
            register(ToyAnalyzer)
            raise RuntimeError("the model file is missing")

    class NotAnAnalyzer:
        @staticmethod
        @connectors.hookimpl
        def cxm_register_sentiment_analyzers(register: Any) -> None:
            register(dict)

    connectors.register(Duplicates, name="dupes")
    connectors.register(HalfWay, name="half-way")
    connectors.register(NotAnAnalyzer, name="not-one")
    try:
        failures = {f.entry_point: f.error for f in analyzer_failures()}
        assert failures["dupes"] == (
            "sentiment analyzer 'vader' refused: the name is already registered by cxm"
        )
        assert failures["half-way"] == "RuntimeError: the model file is missing"
        assert failures["not-one"].startswith("TypeError: dict.name must be")
        assert isinstance(get_analyzer("vader"), VaderAnalyzer)  # the built-in kept its name
        # The half-way plugin added nothing; the duplicates plugin kept its other analyzer.
        assert [i.name for i in analyzers()] == ["toy", "vader"]
        assert next(i for i in analyzers() if i.name == "toy").distribution is None
        assert connectors.plugin_failures() == []  # the connector registry is not affected
    finally:
        for name in ("dupes", "half-way", "not-one"):
            connectors.unregister(name)
    assert analyzer_failures() == []


def test_an_installed_plugin_is_found_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "cxm_lexicon_plugin.py").write_text(
        textwrap.dedent(
            '''
            from cxm.connectors import hookimpl


            class Lexicon:
                """A one-word lexicon."""

                name = "lexicon"
                version = "0.1"

                def score(self, texts):
                    return [1.0 if "love" in t else 0.0 for t in texts]


            @hookimpl
            def cxm_register_sentiment_analyzers(register):
                register(Lexicon())
            '''
        )
    )
    info = site / "cxm_lexicon-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cxm-lexicon\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[cxm]\nlexicon = cxm_lexicon_plugin\n")
    monkeypatch.syspath_prepend(str(site))

    assert "lexicon" not in [i.name for i in analyzers()]  # CXM_LOAD_PLUGINS="" in tests
    monkeypatch.setenv("CXM_LOAD_PLUGINS", "cxm-lexicon")
    (found,) = [i for i in analyzers() if i.name == "lexicon"]
    assert (found.distribution, found.version) == ("cxm-lexicon", "0.1")
    assert score_text(["I love it", "ok"], analyzer="lexicon")["compound"].tolist() == [1, 0]


class Faulty:
    name = "faulty"
    version = "1"

    def __init__(self, result: Any) -> None:
        self.result = result

    def score(self, texts: Sequence[str]) -> Any:
        return self.result


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (np.array([0.5]), "returned 1 scores for 2 texts"),
        (np.array([0.5, 1.5]), "outside \\[-1, 1\\]"),
        (np.array([0.5, np.nan]), "missing or outside"),
        (np.zeros((2, 2)), "1-D array"),
        (pd.DataFrame({"score": [0.1, 0.2]}), "no 'compound' column"),
        (pd.DataFrame({"compound": [0.1, 0.2], "pos": [0.5, 2.0]}), "pos shares"),
    ],
)
def test_an_analyzers_bad_output_is_refused(result: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        score_text(["a", "b"], analyzer=Faulty(result))


def test_what_is_not_an_analyzer_is_refused() -> None:
    with pytest.raises(ValidationError, match="instance"):
        score_text(["a"], analyzer=ToyAnalyzer)  # type: ignore[arg-type]
    bad = Faulty(np.zeros(1))
    bad.name = "Not A Name"
    with pytest.raises(ValidationError, match="lower-case"):
        score_text(["a"], analyzer=bad)


# -- sentiment_summary -----------------------------------------------------------------------


def scored_frame(seed: int = 7, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    compound = np.clip(rng.normal(0.1, 0.5, n), -1, 1)
    compound[:20] = 0.05  # on the threshold: positive
    compound[20:40] = -0.05  # on the threshold: negative
    return pd.DataFrame(
        {
            "touchpoint": rng.choice(["chat", "email", "phone"], n),
            "channel": rng.choice(["support", "web"], n),
            "occurred_at": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h"),
            "compound": compound,
        }
    ).sample(frac=1, random_state=seed)  # order must not matter


def wilson(k: float, n: float, z: float) -> tuple[float, float]:
    """Wilson (1927), the textbook form."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def test_summary_matches_a_hand_computed_groupby() -> None:
    frame = scored_frame()
    table = sentiment_summary(frame, by="touchpoint", freq="MS", confidence=0.9)
    z = stats.norm.ppf(0.95)
    frame["period"] = frame["occurred_at"].dt.tz_localize(None).dt.to_period("M").dt.start_time
    expected = frame.groupby(["touchpoint", "period"])
    assert len(table) == expected.ngroups == 9
    for row in table.itertuples():
        group = expected.get_group((row.touchpoint, row.period.tz_localize(None)))["compound"]
        values = group.to_numpy()
        n = len(values)
        assert row.n == n
        assert row.mean == pytest.approx(values.mean())
        assert row.sd == pytest.approx(values.std(ddof=1))
        low, high = stats.t.interval(0.9, n - 1, loc=values.mean(), scale=stats.sem(values))
        low, high = max(low, -1.0), min(high, 1.0)
        assert (row.ci_low, row.ci_high) == (pytest.approx(low), pytest.approx(high))
        counts = {
            "positive": int((values >= 0.05).sum()),
            "negative": int((values <= -0.05).sum()),
        }
        counts["neutral"] = n - counts["positive"] - counts["negative"]
        for label, k in counts.items():
            assert getattr(row, label) == k
            assert getattr(row, f"{label}_share") == pytest.approx(100 * k / n)
            w_low, w_high = wilson(k, n, z)
            assert getattr(row, f"{label}_ci_low") == pytest.approx(100 * w_low)
            assert getattr(row, f"{label}_ci_high") == pytest.approx(100 * w_high)
        assert row.net == pytest.approx(100 * (counts["positive"] - counts["negative"]) / n)
        assert row.net_ci_low < row.net < row.net_ci_high
        assert row.low_n == (n < 30)


def test_summary_columns_and_threshold_counts() -> None:
    frame = scored_frame()
    table = sentiment_summary(frame, by=["channel"])
    assert list(table.columns) == [
        "channel",
        "n",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "positive",
        "neutral",
        "negative",
        "positive_share",
        "positive_ci_low",
        "positive_ci_high",
        "neutral_share",
        "neutral_ci_low",
        "neutral_ci_high",
        "negative_share",
        "negative_ci_low",
        "negative_ci_high",
        "net",
        "net_ci_low",
        "net_ci_high",
        "low_n",
    ]
    assert table["n"].sum() == len(frame)
    overall = sentiment_summary(frame).iloc[0]
    assert overall["positive"] + overall["neutral"] + overall["negative"] == len(frame)
    assert overall["positive"] == int((frame["compound"] >= 0.05).sum())
    wider = sentiment_summary(frame, threshold=0.5).iloc[0]
    assert wider["neutral"] > overall["neutral"]
    assert wider["mean"] == overall["mean"]


def test_summary_of_a_small_group_is_flagged_not_hidden() -> None:
    frame = pd.DataFrame({"touchpoint": ["a", "a", "b"], "compound": [0.9, 0.7, -0.4]})
    table = sentiment_summary(frame, by="touchpoint", min_n=3)
    assert table["low_n"].tolist() == [True, True]
    single = table.iloc[1]
    assert single["n"] == 1
    assert np.isnan(single["ci_low"])  # one text has no t interval
    assert table.iloc[0]["ci_high"] == 1.0  # clipped: t for n = 2 reaches far past the scale
    assert single["negative_ci_low"] < 100 <= single["negative_ci_high"] + 1e-9


def test_summary_over_ws_sentiment_frames_and_by_hand_frames_alike() -> None:
    empty = sentiment_summary(pd.DataFrame({"compound": pd.Series([], dtype=float)}))
    assert empty["n"].tolist() == [0]
    assert np.isnan(empty["mean"].iloc[0])
    by_hand = pd.DataFrame({"score": [0.2, -0.9]})
    assert sentiment_summary(by_hand, score="score")["net"].iloc[0] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("frame", "options", "field"),
    [
        (pd.DataFrame({"compound": [0.1, 1.2]}), {}, "compound"),
        (pd.DataFrame({"compound": [0.1, np.nan]}), {}, "compound"),
        (pd.DataFrame({"compound": ["good"]}), {}, "compound"),
        (pd.DataFrame({"x": [0.1]}), {}, "df"),
        (pd.DataFrame({"compound": [0.1]}), {"by": "touchpoint"}, "df"),
        (pd.DataFrame({"compound": [0.1]}), {"threshold": -0.1}, "threshold"),
        (pd.DataFrame({"compound": [0.1]}), {"confidence": 1.0}, "confidence"),
        (pd.DataFrame({"compound": [0.1]}), {"min_n": -1}, "min_n"),
        (pd.DataFrame({"compound": [0.1], "occurred_at": ["x"]}), {"freq": "MS"}, "occurred_at"),
    ],
)
def test_summary_refuses_bad_input_by_name(
    frame: pd.DataFrame, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        sentiment_summary(frame, **options)
    assert caught.value.field == field


# -- scoring into the store ------------------------------------------------------------------


def ticket(source_id: str, text: str | None, minutes: float, who: str = "ann") -> cxm.Interaction:
    return cxm.Interaction(
        source="desk",
        source_id=source_id,
        occurred_at=at(minutes),
        channel="support",
        touchpoint="Help centre" if int(source_id) % 2 else "Live chat",
        kind="ticket",
        text=text,
        identities=[email(f"{who}@example.com")],
    )


TICKETS = [
    ("1", "Good service, good people", 0),
    ("2", "Bad, bad, bad experience", 60),
    ("3", None, 120),
    ("4", "   ", 180),
    ("5", "The refund was good", 240),
    ("6", "", 300),
    ("7", "It arrived", 24 * 60 * 40),
]


@pytest.fixture
def tickets(workspace: cxm.Workspace) -> cxm.Workspace:
    workspace.ingest([ticket(i, text, minutes) for i, text, minutes in TICKETS])
    workspace.ingest([ticket("8", "bad wait, good fix", 500, who="bo")])
    return workspace


def test_scoring_is_idempotent_and_notices_changed_text(tickets: cxm.Workspace, toy: None) -> None:
    ws = tickets
    model = get_analyzer("toy")
    model.calls.clear()  # type: ignore[attr-defined]  # one instance per process
    first = ws.score_sentiment("toy", batch_size=2)
    assert first == {"new": 5, "rescored": 0, "unchanged": 0, "removed": 0}
    assert ws.score_sentiment("toy") == {"new": 0, "rescored": 0, "unchanged": 5, "removed": 0}
    calls = model.calls  # type: ignore[attr-defined]
    assert sum(calls) == 5  # each text scored once, in pages of at most 2 interactions
    assert max(calls) <= 2
    assert len(calls) >= 3

    frame = ws.sentiment("toy")
    assert frame["interaction_id"].is_unique
    by_id = frame.set_index(frame["interaction_id"].map(_source_ids(ws)))
    assert sorted(by_id.index) == ["1", "2", "5", "7", "8"]
    assert by_id.loc["1", "compound"] == pytest.approx(2 / 3)
    assert by_id.loc["2", "label"] == "negative"
    assert by_id.loc["7", "label"] == "neutral"
    assert by_id["pos"].isna().all()
    assert set(by_id["version"]) == {"1"}

    # Re-ingesting a ticket with edited text keeps its id and gets it rescored.
    before = by_id.loc["2", "interaction_id"]
    ws.ingest([ticket("2", "Bad start, good ending, good", 60)])
    assert ws.score_sentiment("toy") == {"new": 0, "rescored": 1, "unchanged": 4, "removed": 0}
    after = ws.sentiment("toy").set_index("interaction_id").loc[before]
    assert after["compound"] == pytest.approx(1 / 4)
    assert after["text"] == "Bad start, good ending, good"

    # A text that became empty loses its score; whitespace counts as empty.
    ws.ingest([ticket("5", None, 240), ticket("7", "  ", 24 * 60 * 40)])
    assert ws.score_sentiment("toy") == {"new": 0, "rescored": 0, "unchanged": 3, "removed": 2}
    assert len(ws.sentiment("toy")) == 3


def test_a_new_version_or_rescore_scores_everything_again(
    tickets: cxm.Workspace, toy: None
) -> None:
    ws = tickets
    ws.score_sentiment("toy")
    upgraded = ToyAnalyzer()
    upgraded.version = "2"
    assert ws.score_sentiment(upgraded) == {"new": 0, "rescored": 5, "unchanged": 0, "removed": 0}
    assert set(ws.sentiment("toy")["version"]) == {"2"}
    assert ws.score_sentiment(upgraded, rescore=True)["rescored"] == 5
    assert ws.score_sentiment(upgraded)["unchanged"] == 5


def test_two_analyzers_coexist(tickets: cxm.Workspace, toy: None) -> None:
    ws = tickets
    assert ws.score_sentiment("toy")["new"] == 5
    assert ws.score_sentiment()["new"] == 5  # vader, the default
    both = ws.sentiment(None)
    assert len(both) == 10
    assert both.groupby("analyzer", observed=True).size().to_dict() == {"toy": 5, "vader": 5}
    vader = ws.sentiment()
    assert set(vader["analyzer"]) == {"vader"}
    expected = score_text(vader["text"].tolist())
    np.testing.assert_allclose(vader["compound"], expected["compound"])
    np.testing.assert_allclose(vader["neu"], expected["neu"])
    assert vader["label"].tolist() == expected["label"].tolist()
    assert vader["version"].iloc[0] == VaderAnalyzer.version
    assert ws.score_sentiment("toy")["unchanged"] == 5  # the other analyzer did not disturb it


def test_sentiment_frame_types_filters_and_summary(tickets: cxm.Workspace) -> None:
    ws = tickets
    ws.score_sentiment()
    frame = ws.sentiment()
    assert list(frame.columns) == [
        "interaction_id",
        "customer_id",
        "occurred_at",
        "source",
        "channel",
        "touchpoint",
        "stage",
        "kind",
        "text",
        "analyzer",
        "version",
        "compound",
        "pos",
        "neu",
        "neg",
        "label",
        "scored_at",
    ]
    assert str(frame["occurred_at"].dtype) == "datetime64[us, UTC]"
    assert str(frame["scored_at"].dtype) == "datetime64[us, UTC]"
    assert frame["label"].cat.ordered
    assert frame["occurred_at"].is_monotonic_increasing
    assert len(ws.sentiment(touchpoint="Live chat")) == 2
    assert len(ws.sentiment(start=at(100), end=at(1000))) == 2
    assert len(ws.sentiment(customer=ws.customer("bo@example.com").customer_id)) == 1
    assert len(ws.sentiment("nobody")) == 0
    table = sentiment_summary(frame, by="touchpoint", freq="MS")
    assert table["n"].sum() == 5
    assert list(table["touchpoint"].astype(str)) == ["Help centre", "Help centre", "Live chat"]


def test_erase_deletes_the_scores_and_export_lists_them(tickets: cxm.Workspace) -> None:
    ws = tickets
    ws.score_sentiment()
    exported = ws.export("ann@example.com")
    assert list(exported)[-2:] == ["sentiment", "exported_at"]
    assert [s["source_id"] for s in exported["sentiment"]] == ["1", "2", "5", "7"]
    first = exported["sentiment"][0]
    assert sorted(first) == [
        "analyzer",
        "compound",
        "label",
        "neg",
        "neu",
        "pos",
        "scored_at",
        "source",
        "source_id",
        "version",
    ]
    assert (first["analyzer"], first["label"]) == ("vader", "positive")

    counts = ws.erase("ann@example.com")
    assert counts["sentiment"] == 4
    assert counts["interactions"] == 7
    with ws.store.read() as connection:
        left = connection.execute(select(schema.sentiment.c.interaction_id)).all()
    assert len(left) == 1  # bo's
    assert ws.export("bo@example.com")["sentiment"][0]["source_id"] == "8"


def test_an_interaction_erased_while_scoring_is_not_scored_back(
    tickets: cxm.Workspace,
) -> None:
    ws = tickets

    class Eraser(ToyAnalyzer):
        name = "eraser"

        def score(self, texts: Sequence[str]) -> np.ndarray:
            ws.erase("bo@example.com")  # between the read and the write
            return super().score(texts)

    assert ws.score_sentiment(Eraser()) == {"new": 4, "rescored": 0, "unchanged": 0, "removed": 0}
    assert len(ws.sentiment("eraser")) == 4


def test_score_sentiment_refuses_bad_options(workspace: cxm.Workspace) -> None:
    with pytest.raises(ValidationError, match="no sentiment analyzer"):
        workspace.score_sentiment("nope")
    with pytest.raises(ValidationError) as caught:
        workspace.score_sentiment(batch_size=0)
    assert caught.value.field == "batch_size"
    assert workspace.score_sentiment() == {"new": 0, "rescored": 0, "unchanged": 0, "removed": 0}


def _source_ids(ws: cxm.Workspace) -> dict[int, str]:
    frame = ws.interactions()
    return dict(zip(frame["interaction_id"], frame["source_id"], strict=True))


# -- the migration ---------------------------------------------------------------------------


def test_0003_adds_the_table_to_a_populated_database_and_reverts(db_url: str) -> None:
    from alembic import command

    from cxm.store.migrate import _config

    engine = create_engine(db_url)
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    assert "sentiment" not in inspect(engine).get_table_names()
    engine.dispose()

    with cxm.Workspace.open(db_url) as ws:  # migrates to head
        ws.ingest([ticket("1", "good", 0)])
        assert ws.score_sentiment()["new"] == 1

    engine = create_engine(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert "sentiment" not in inspect(engine).get_table_names()
    engine.dispose()
    with cxm.Workspace.open(db_url) as ws:
        assert len(ws.sentiment()) == 0
        assert ws.score_sentiment()["new"] == 1


def test_module_lists_what_it_exports() -> None:
    assert set(sm.__all__) <= set(dir(sm))
    assert text_hash("Thanks!") != text_hash("Thanks")
