"""Transitions and variants: the helpdesk log's published figures, pm4py as an optional oracle,
a brute-force reference on random logs, invariants and bad input."""

from __future__ import annotations

import io
import itertools
import statistics
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.datasets.xes import read_xes
from cxm.exceptions import ValidationError
from cxm.journey._events import event_log
from cxm.journey.transitions import (
    END_STATE,
    START_STATE,
    ProcessSummary,
    end_activities,
    process_summary,
    start_activities,
    transition_matrix,
    transitions,
    variants,
)

HELPDESK = Path(__file__).resolve().parents[1] / "data" / "helpdesk.xes.gz"
COLUMNS = {"case": "case_id", "activity": "activity", "time": "timestamp"}


@pytest.fixture(scope="module")
def helpdesk() -> pd.DataFrame:
    frame = read_xes(HELPDESK)
    # The file's event index: the order pm4py keeps for events sharing a timestamp.
    frame["event_index"] = np.arange(len(frame))
    return frame


# -- the helpdesk log (Verenich 2016) ------------------------------------------------------------


def test_helpdesk_figures(helpdesk: pd.DataFrame) -> None:
    log = event_log(helpdesk, **COLUMNS)
    assert (log.n_events, log.n_cases, len(log.activities)) == (21_348, 4_580, 14)
    table = transitions(log)
    assert len(table) == 55
    assert table["count"].sum() == log.n_events - log.n_cases == 16_768
    top = table.iloc[0]
    assert (top["source"], top["target"], top["count"]) == ("Resolve ticket", "Closed", 4_558)
    assert top["cases"] == 4_557  # one ticket was resolved and closed twice
    assert top["outgoing"] == table.loc[table["source"] == "Resolve ticket", "count"].sum()
    assert (table["count"].diff().dropna() <= 0).all()
    # Shares out of every source sum to 1.
    assert np.allclose(table.groupby("source", observed=True)["share_of_source"].sum(), 1.0)
    assert start_activities(log)["cases"].sum() == end_activities(log)["cases"].sum() == 4_580


def test_helpdesk_ties_and_the_tie_rule(helpdesk: pd.DataFrame) -> None:
    """Three tickets log two different activities at the same second. By default the tie is
    broken by the activity label (sorted), so the result does not depend on the file; with
    ``order=`` the file's event index breaks it, which is pm4py's (stable sort) order."""
    tied = helpdesk.groupby(["case_id", "timestamp"])["activity"].nunique()
    assert sorted(tied[tied > 1].index.get_level_values(0)) == [
        "Case 1345",
        "Case 3897",
        "Case 732",
    ]
    default = variants(helpdesk, **COLUMNS)
    file_order = variants(helpdesk, **COLUMNS, order="event_index")
    assert len(default) == len(file_order) == 226
    # Only the three tied tickets move: at most three variants lose a case, three gain one.
    moved = default.set_index("path")["cases"].sub(
        file_order.set_index("path")["cases"], fill_value=0
    )
    assert moved.abs().sum() == 6
    by_default = transitions(helpdesk, **COLUMNS)
    by_file = transitions(helpdesk, **COLUMNS, order="event_index")
    assert len(by_default) == len(by_file) == 55
    assert by_default["count"].sum() == by_file["count"].sum() == 16_768
    assert by_file.iloc[0]["count"] == 4_558
    # pm4py's figures on the file order (pm4py 2.7 get_start_activities / get_end_activities).
    starts = start_activities(helpdesk, **COLUMNS, order="event_index")
    assert dict(zip(starts["activity"], starts["cases"], strict=True)) == {
        "Assign seriousness": 4384,
        "Insert ticket": 118,
        "Take in charge ticket": 74,
        "Resolve ticket": 2,
        "Create SW anomaly": 1,
        "Wait": 1,
    }
    ends = end_activities(helpdesk, **COLUMNS, order="event_index")
    assert dict(zip(ends["activity"], ends["cases"], strict=True)) == {
        "Closed": 4557,
        "Resolve ticket": 10,
        "Wait": 8,
        "Require upgrade": 3,
        "Take in charge ticket": 1,
        "VERIFIED": 1,
    }


def test_helpdesk_against_pm4py(helpdesk: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm4py = pytest.importorskip("pm4py")
    formatted = pm4py.format_dataframe(
        helpdesk.drop(columns="event_index"),
        case_id="case_id",
        activity_key="activity",
        timestamp_key="timestamp",
    )
    dfg, starts, ends = pm4py.discover_dfg(formatted)
    found = process_summary(helpdesk, **COLUMNS, order="event_index")
    edges = found.transitions
    assert (
        dict(zip(zip(edges["source"], edges["target"], strict=True), edges["count"], strict=True))
        == dfg
    )
    assert (
        dict(zip(found.start_activities["activity"], found.start_activities["cases"], strict=True))
        == starts
    )
    assert (
        dict(zip(found.end_activities["activity"], found.end_activities["cases"], strict=True))
        == ends
    )
    paths = found.variants
    assert dict(zip(paths["variant"], paths["cases"], strict=True)) == pm4py.get_variants(formatted)


# -- brute force ----------------------------------------------------------------------------------


def reference(frame: pd.DataFrame) -> dict[str, Any]:
    """Everything computed plainly: a Python sort, loops over cases and events."""
    labels = sorted(set(frame["touchpoint"]))
    rank = {label: i for i, label in enumerate(labels)}
    rows = sorted(
        zip(frame["customer_id"], frame["occurred_at"], frame["touchpoint"], strict=True),
        key=lambda row: (row[0], row[1], rank[row[2]]),
    )
    journeys: dict[Any, list[tuple[Any, str]]] = defaultdict(list)
    for customer, when, touchpoint in rows:
        journeys[customer].append((when, touchpoint))
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    cases: dict[tuple[str, str], set[Any]] = defaultdict(set)
    for customer, events in journeys.items():
        for (t0, a), (t1, b) in itertools.pairwise(events):
            durations[(a, b)].append(t1 - t0)
            cases[(a, b)].add(customer)
    outgoing = Counter()
    for (a, _), values in durations.items():
        outgoing[a] += len(values)
    edges = sorted(durations, key=lambda e: (-len(durations[e]), rank[e[0]], rank[e[1]]))
    table = [
        (
            a,
            b,
            len(durations[(a, b)]),
            len(cases[(a, b)]),
            outgoing[a],
            len(durations[(a, b)]) / outgoing[a],
            float(np.quantile(durations[(a, b)], 0.5)),
            statistics.fmean(durations[(a, b)]),
            float(np.quantile(durations[(a, b)], 0.9)),
        )
        for a, b in edges
    ]
    paths: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for events in journeys.values():
        paths[tuple(t for _, t in events)].append(events[-1][0] - events[0][0])
    ordered = sorted(paths, key=lambda p: (-len(paths[p]), len(p), [rank[t] for t in p]))
    variant_rows = [(p, len(p), len(paths[p]), float(np.median(paths[p]))) for p in ordered]
    first = Counter(events[0][1] for events in journeys.values())
    last = Counter(events[-1][1] for events in journeys.values())
    return {
        "transitions": table,
        "variants": variant_rows,
        "starts": first,
        "ends": last,
        "labels": labels,
        "durations": durations,
    }


def random_log(
    seed: int, n: int, n_customers: int, n_touchpoints: int, n_times: int
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n),
            "touchpoint": [f"t{k}" for k in rng.integers(0, n_touchpoints, n)],
            "occurred_at": rng.integers(0, n_times, n).astype(np.float64) / 2,
        }
    )


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(1, 60),
    n_customers=st.integers(1, 8),
    n_touchpoints=st.integers(1, 5),
    n_times=st.integers(1, 12),
)
def test_matches_a_brute_force_reference(
    seed: int, n: int, n_customers: int, n_touchpoints: int, n_times: int
) -> None:
    frame = random_log(seed, n, n_customers, n_touchpoints, n_times)
    expected = reference(frame)
    found = process_summary(frame)
    table = found.transitions
    got = list(
        zip(
            table["source"],
            table["target"],
            table["count"],
            table["cases"],
            table["outgoing"],
            table["share_of_source"],
            table["duration_median"],
            table["duration_mean"],
            table["duration_p90"],
            strict=True,
        )
    )
    assert len(got) == len(expected["transitions"])
    for mine, theirs in zip(got, expected["transitions"], strict=True):
        assert mine[:5] == theirs[:5]
        assert np.allclose(mine[5:], theirs[5:])
    assert table["count"].sum() == n - frame["customer_id"].nunique()
    variant_rows = list(
        zip(
            found.variants["variant"],
            found.variants["length"],
            found.variants["cases"],
            found.variants["duration_median"],
            strict=True,
        )
    )
    assert [row[:3] for row in variant_rows] == [row[:3] for row in expected["variants"]]
    assert np.allclose([r[3] for r in variant_rows], [r[3] for r in expected["variants"]])
    assert found.variants["path"].tolist() == [" > ".join(p) for p, *_ in expected["variants"]]
    assert found.variants["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert dict(
        zip(found.start_activities["activity"], found.start_activities["cases"], strict=True)
    ) == dict(expected["starts"])
    assert dict(
        zip(found.end_activities["activity"], found.end_activities["cases"], strict=True)
    ) == dict(expected["ends"])
    matrix = transition_matrix(frame)
    for a in expected["labels"]:
        out = sum(len(v) for (s, _), v in expected["durations"].items() if s == a)
        for b in expected["labels"]:
            want = len(expected["durations"].get((a, b), [])) / out if out else np.nan
            assert matrix.loc[a, b] == pytest.approx(want, nan_ok=True)


# -- invariants and kinds of input ----------------------------------------------------------------


def journeys(seed: int = 2, n: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    minutes = rng.integers(0, 50_000, n)
    minutes[::5] = minutes[0]  # ties
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in rng.integers(0, 300, n)],
            "touchpoint": pd.Categorical(
                rng.choice(["web", "app", "call", "shop"], n),
                categories=["web", "app", "call", "shop", "email"],
            ),
            "occurred_at": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(minutes, unit="min"),
        }
    )


def test_shuffled_rows_give_identical_results() -> None:
    frame = journeys()
    shuffled = frame.sample(frac=1, random_state=3).reset_index(drop=True)
    for function in (transitions, start_activities, end_activities, variants, transition_matrix):
        pd.testing.assert_frame_equal(function(frame), function(shuffled))


def test_event_log_serves_every_call() -> None:
    frame = journeys()
    log = event_log(frame)
    pd.testing.assert_frame_equal(transitions(log), transitions(frame))
    pd.testing.assert_frame_equal(variants(log), variants(frame))
    summary = process_summary(log)
    assert isinstance(summary, ProcessSummary)
    pd.testing.assert_frame_equal(summary.transitions, transitions(frame))
    assert (summary.n_events, summary.n_cases, summary.n_activities) == (3_000, 300, 4)
    assert "3,000 events" in repr(summary)


def test_result_types_for_datetimes() -> None:
    table = transitions(journeys())
    assert isinstance(table["source"].dtype, pd.CategoricalDtype)
    assert list(table["source"].cat.categories) == ["web", "app", "call", "shop", "email"]
    for column in ("duration_median", "duration_mean", "duration_p90"):
        assert table[column].dtype == "timedelta64[ns]"
    assert (table["duration_median"] <= table["duration_p90"]).all()
    assert table["ci_low"].le(table["share_of_source"]).all()
    assert table["ci_high"].ge(table["share_of_source"]).all()
    assert table["low_n"].tolist() == (table["count"] < 30).tolist()
    assert not transitions(journeys(), min_n=0)["low_n"].any()
    # Ties in count are broken by source, then target, in category order.
    order = table[["source", "target"]].apply(lambda c: c.cat.codes)
    same = table["count"].diff().eq(0).to_numpy()
    keys = list(zip(order["source"], order["target"], strict=True))
    assert all(keys[i - 1] < keys[i] for i in np.flatnonzero(same))
    assert variants(journeys())["duration_median"].dtype == "timedelta64[ns]"


def test_many_activities_give_the_same_transitions() -> None:
    # 2,000 distinct pages: edges are numbered as they occur instead of pages squared.
    rng = np.random.default_rng(5)
    n = 4_000
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 400, n),
            "touchpoint": [f"/page/{k}" for k in rng.integers(0, 2_000, n)],
            "occurred_at": rng.integers(0, 10**6, n),
        }
    )
    table = transitions(frame)
    expected = reference(frame)["transitions"]
    assert [tuple(row[:4]) for row in expected] == list(
        zip(table["source"], table["target"], table["count"], table["cases"], strict=True)
    )
    assert np.allclose(table["duration_median"], [row[6] for row in expected])


def test_numeric_times_give_float_durations() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "touchpoint": ["a", "b", "a", "a", "b"],
            "occurred_at": [0.0, 1.5, 2.0, 10, 11],
        }
    )
    table = transitions(frame)
    assert table["duration_median"].dtype == np.float64
    row = table.iloc[0]
    assert (row["source"], row["target"], row["count"]) == ("a", "b", 2)
    assert row["duration_median"] == pytest.approx(1.25)
    assert row["duration_p90"] == pytest.approx(1.45)


def test_single_event_cases() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["x", "y", "z", "z"],
            "touchpoint": ["a", "b", "a", "c"],
            "occurred_at": [5, 6, 1, 2],
        }
    )
    table = transitions(frame)
    assert table[["source", "target", "count"]].values.tolist() == [["a", "c", 1]]
    found = variants(frame)
    assert found["variant"].tolist() == [("a",), ("b",), ("a", "c")]
    assert found["length"].tolist() == [1, 1, 2]
    assert found["duration_median"].tolist() == [0.0, 0.0, 1.0]
    starts = start_activities(frame)
    assert dict(zip(starts["activity"], starts["cases"], strict=True)) == {"a": 2, "b": 1}
    matrix = transition_matrix(frame, start_end=True)
    assert list(matrix.index) == [START_STATE, "a", "b", "c", END_STATE]
    assert np.allclose(matrix.sum(axis=1), 1.0)
    assert matrix.loc["a", END_STATE] == pytest.approx(0.5)
    only_singles = frame.iloc[:2]
    assert transitions(only_singles).empty
    assert transition_matrix(only_singles).isna().all().all()


def test_variants_only_group_equal_sequences() -> None:
    # Same activities, different order or repeats: different variants.
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 3, 3, 3],
            "touchpoint": list("abbaabb"),
            "occurred_at": [1, 2, 1, 2, 1, 2, 3],
        }
    )
    found = variants(frame)
    assert sorted(found["path"]) == ["a > b", "a > b > b", "b > a"]
    assert found["cases"].tolist() == [1, 1, 1]
    assert found["path"].tolist() == ["a > b", "b > a", "a > b > b"]


def test_empty_log() -> None:
    frame = pd.DataFrame({"customer_id": [], "touchpoint": [], "occurred_at": []})
    assert transitions(frame).empty
    assert variants(frame).empty
    assert start_activities(frame).empty


def test_validation_errors() -> None:
    frame = journeys(n=50)
    with pytest.raises(ValidationError, match="min_n"):
        transitions(frame, min_n=-1)
    with pytest.raises(ValidationError, match="min_n"):
        process_summary(frame, min_n=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="case"):
        variants(frame, case="ticket")
    broken = frame.astype({"touchpoint": object})
    broken.loc[4, "touchpoint"] = None
    with pytest.raises(ValidationError, match="touchpoint"):
        transitions(broken)
    reserved = frame.astype({"touchpoint": object})
    reserved.loc[0, "touchpoint"] = END_STATE
    with pytest.raises(ValidationError, match="reserved"):
        transition_matrix(reserved, start_end=True)


# -- read_xes --------------------------------------------------------------------------------------

SMALL_XES = b"""<?xml version="1.0" encoding="utf-8" ?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <string key="origin" value="test"/>
  <global scope="event"><string key="concept:name" value="?"/></global>
  <trace>
    <string key="concept:name" value="A"/>
    <int key="priority" value="2"/>
    <event>
      <string key="concept:name" value="open"/>
      <date key="time:timestamp" value="2024-03-01T10:00:00.500+02:00"/>
      <int key="cost" value="3"/>
      <boolean key="urgent" value="true"/>
      <list key="tags"><values><string key="x" value="y"/></values></list>
    </event>
    <event>
      <string key="concept:name" value="close"/>
      <date key="time:timestamp" value="2024-03-01T12:00:00Z"/>
      <float key="score" value="0.5"/>
    </event>
  </trace>
  <trace>
    <event>
      <string key="concept:name" value="open"/>
      <date key="time:timestamp" value="2024-03-02T08:00:00+00:00"/>
      <int key="cost" value="4"/>
      <boolean key="urgent" value="false"/>
    </event>
  </trace>
</log>
"""


def test_read_xes_types_and_columns() -> None:
    frame = read_xes(io.BytesIO(SMALL_XES))
    assert list(frame.columns) == [
        "case_id",
        "activity",
        "timestamp",
        "cost",
        "urgent",
        "score",
        "case:priority",
    ]
    assert frame["case_id"].tolist() == ["A", "A", "1"]
    assert frame["timestamp"].dtype == "datetime64[ns, UTC]"
    assert frame["timestamp"][0] == pd.Timestamp("2024-03-01 08:00:00.5", tz="UTC")
    assert frame["cost"].dtype == "Int64"
    assert frame["cost"].tolist()[0] == 3
    assert pd.isna(frame["cost"][1])
    assert frame["urgent"].dtype == "boolean"
    assert frame["score"].dtype == np.float64
    assert np.isnan(frame["score"][0])
    assert frame["case:priority"].tolist()[:2] == [2, 2]
    assert pd.isna(frame["case:priority"][2])


def test_read_xes_gzip_and_path(tmp_path: Path) -> None:
    import gzip

    plain = tmp_path / "log.xes"
    plain.write_bytes(SMALL_XES)
    packed = tmp_path / "log.xes.gz"
    packed.write_bytes(gzip.compress(SMALL_XES))
    pd.testing.assert_frame_equal(read_xes(plain), read_xes(packed))
    assert len(read_xes(str(packed))) == 3


def test_read_xes_helpdesk_columns(helpdesk: pd.DataFrame) -> None:
    assert helpdesk["case_id"].iloc[0] == "Case 1"
    assert {"org:resource", "customer", "service_level", "workgroup"} <= set(helpdesk.columns)
    assert helpdesk["timestamp"].min() == pd.Timestamp("2010-01-13 08:40:25", tz="UTC")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<log><trace><event>", "not valid XML"),
        (b"<trace/>", "not <log>"),
        (
            b"<log><trace><event><string key='concept:name' value='a'/></event></trace></log>",
            "time:timestamp",
        ),
        (
            b"<log><trace><event><date key='time:timestamp' value='2024-01-01'/><string "
            b"key='concept:name' value='a'/><int key='cost' value='x'/></event></trace></log>",
            "not a valid int",
        ),
    ],
)
def test_read_xes_bad_files(content: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        read_xes(io.BytesIO(content))


def test_read_xes_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no such file"):
        read_xes(tmp_path / "absent.xes")
