"""Paths: a brute-force reference, invariants, collapse, top-N, anchoring, ends, input."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.exceptions import ValidationError
from cxm.journey.paths import END_LABEL, START_LABEL, Paths, paths

BASE = pd.Timestamp("2024-01-01", tz="UTC")


def events(rows: list[tuple[object, str, int]]) -> pd.DataFrame:
    """(customer, touchpoint, minutes after BASE) rows as an interactions-like frame."""
    frame = pd.DataFrame(rows, columns=["customer_id", "touchpoint", "minute"])
    frame["occurred_at"] = BASE + pd.to_timedelta(frame.pop("minute"), unit="min")
    return frame


# -- the reference: plain Python over a small frame -----------------------------------------


def reference(
    df: pd.DataFrame,
    *,
    steps: int = 5,
    top: int | None = 8,
    start: str | None = None,
    end: str | None = None,
    occurrence: str = "first",
    collapse: bool = True,
    ends: bool = False,
    other: str = "other",
) -> dict[str, Any]:
    by_customer: dict[object, list[tuple[pd.Timestamp, str]]] = defaultdict(list)
    for customer, touchpoint, when in zip(
        df["customer_id"], df["touchpoint"], df["occurred_at"], strict=True
    ):
        by_customer[customer].append((when, touchpoint))
    walks: list[list[tuple[int, str, pd.Timestamp | None]]] = []
    excluded = truncated = 0
    for unsorted in by_customer.values():
        history = sorted(unsorted)  # time, then touchpoint in sorted order: the documented tie rule
        if collapse:
            history = [e for i, e in enumerate(history) if i == 0 or e[1] != history[i - 1][1]]
        anchor = start if start is not None else end
        if anchor is None:
            k = 0
        else:
            hits = [i for i, (_, label) in enumerate(history) if label == anchor]
            if not hits:
                excluded += 1
                continue
            k = hits[0] if occurrence == "first" else hits[-1]
        if end is not None:
            chosen = [s for s in range(-(steps - 1), 1) if k + s >= 0]
            truncated += k - (steps - 1) > 0
        else:
            chosen = [s for s in range(steps) if k + s < len(history)]
            truncated += k + steps < len(history)
        walk = [(s, history[k + s][1], history[k + s][0]) for s in chosen]
        if ends and end is None and walk[-1][0] < steps - 1:
            walk.append((walk[-1][0] + 1, END_LABEL, None))
        if ends and end is not None and walk[0][0] > -(steps - 1):
            walk.insert(0, (walk[0][0] - 1, START_LABEL, None))
        walks.append(walk)
    if top is not None:
        per_step: dict[int, Counter[str]] = defaultdict(Counter)
        for walk in walks:
            for s, label, _ in walk:
                if label not in (END_LABEL, START_LABEL):
                    per_step[s][label] += 1
        kept = {
            s: {label for label, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top]}
            for s, c in per_step.items()
        }
        walks = [
            [
                (
                    s,
                    label
                    if label in kept.get(s, ()) or label in (END_LABEL, START_LABEL)
                    else other,
                    t,
                )
                for s, label, t in walk
            ]
            for walk in walks
        ]
    nodes: Counter[tuple[int, str]] = Counter()
    links: Counter[tuple[int, str, str]] = Counter()
    gaps: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for walk in walks:
        for s, label, _ in walk:
            nodes[(s, label)] += 1
        for (s, a, ta), (s2, b, tb) in pairwise(walk):
            assert s2 == s + 1
            links[(s, a, b)] += 1
            if ta is not None and tb is not None:
                gaps[(s, a, b)].append((tb - ta).value)
    medians = {k: statistics.median(v) for k, v in gaps.items()}
    return {
        "nodes": dict(nodes),
        "links": dict(links),
        "medians": medians,
        "customers": len(walks),
        "excluded": excluded,
        "truncated": truncated,
    }


def observed(result: Paths) -> dict[str, Any]:
    nodes = {
        (int(s), label): int(n)
        for s, label, n in result.nodes[["step", "label", "customers"]].itertuples(index=False)
    }
    links = {
        (int(s), a, b): int(n)
        for s, a, b, n in result.links[
            ["step", "source_label", "target_label", "customers"]
        ].itertuples(index=False)
    }
    medians = {
        (int(s), a, b): m.value
        for s, a, b, m in result.links[
            ["step", "source_label", "target_label", "median_time"]
        ].itertuples(index=False)
        if not pd.isna(m)
    }
    return {
        "nodes": nodes,
        "links": links,
        "medians": medians,
        "customers": result.n_customers,
        "excluded": result.excluded,
        "truncated": result.truncated,
    }


def assert_matches_reference(df: pd.DataFrame, **options: Any) -> Paths:
    result = paths(df, **options)
    expected = reference(
        df,
        **{("collapse" if k == "collapse_repeats" else k): v for k, v in options.items()},
    )
    got = observed(result)
    assert got["nodes"] == expected["nodes"]
    assert got["links"] == expected["links"]
    assert got["medians"].keys() == expected["medians"].keys()
    for key, value in expected["medians"].items():
        assert got["medians"][key] == pytest.approx(value, abs=1)
    for key in ("customers", "excluded", "truncated"):
        assert got[key] == expected[key], key
    return result


SHOP = events(
    [
        ("ann", "Home", 0),
        ("ann", "Home", 5),
        ("ann", "Pricing", 10),
        ("ann", "Signup", 30),
        ("ann", "Pricing", 40),
        ("bob", "Home", 0),
        ("bob", "Pricing", 20),
        ("bob", "Support", 25),
        ("cat", "Ad", 0),
        ("cat", "Pricing", 3),
        ("cat", "Signup", 4),
        ("dan", "Home", 1),
        ("eve", "Pricing", 7),
        ("eve", "Home", 9),
        ("eve", "Pricing", 12),
        ("eve", "Signup", 50),
    ]
)


def test_a_hand_built_example() -> None:
    result = paths(SHOP, steps=3)
    nodes = result.nodes
    assert list(nodes["node"]) == list(range(len(nodes)))
    # Step 0: Home (ann, bob, dan), Ad (cat), Pricing (eve); Ad before Pricing by name.
    step0 = nodes[nodes["step"] == 0]
    assert list(step0["label"]) == ["Home", "Ad", "Pricing"]
    assert list(step0["customers"]) == [3, 1, 1]
    assert step0["share"].tolist() == pytest.approx([0.6, 0.2, 0.2])
    links = result.links.set_index(["step", "source_label", "target_label"])
    assert links.loc[(0, "Home", "Pricing"), "customers"] == 2  # ann's Home Home collapsed
    assert links.loc[(0, "Home", "Pricing"), "share"] == pytest.approx(2 / 3)
    # ann: Home 0 -> Pricing 10; bob: Home 0 -> Pricing 20 (collapsed run starts at its first).
    assert links.loc[(0, "Home", "Pricing"), "median_time"] == pd.Timedelta(minutes=15)
    assert links.loc[(1, "Pricing", "Signup"), "customers"] == 2  # ann, cat
    assert links.loc[(1, "Home", "Pricing"), "customers"] == 1  # eve
    assert result.n_customers == 5
    assert result.excluded == 0
    assert result.truncated == 2  # ann and eve have a fourth step
    assert_matches_reference(SHOP, steps=3)


def test_without_collapse_repeats_count_as_steps() -> None:
    result = assert_matches_reference(SHOP, steps=3, collapse_repeats=False)
    links = result.links.set_index(["step", "source_label", "target_label"])
    assert links.loc[(0, "Home", "Home"), "customers"] == 1
    assert links.loc[(0, "Home", "Home"), "median_time"] == pd.Timedelta(minutes=5)


def test_start_anchoring() -> None:
    result = assert_matches_reference(SHOP, steps=3, start="Pricing")
    assert result.excluded == 1  # dan never saw Pricing
    assert result.n_customers == 4
    step0 = result.nodes[result.nodes["step"] == 0]
    assert list(step0["label"]) == ["Pricing"]
    assert int(step0["customers"].iloc[0]) == 4
    # eve's first Pricing is her first event; with the last, her path is Pricing, Signup.
    last = assert_matches_reference(SHOP, steps=3, start="Pricing", occurrence="last")
    eve_first = result.links.query("step == 0 and target_label == 'Home'")["customers"]
    assert list(eve_first) == [1]
    assert last.links.query("step == 0 and target_label == 'Home'").empty


def test_end_anchoring_counts_steps_backwards() -> None:
    result = assert_matches_reference(SHOP, steps=3, end="Signup")
    assert sorted(result.nodes["step"].unique()) == [-2, -1, 0]
    final = result.nodes[result.nodes["step"] == 0]
    assert list(final["label"]) == ["Signup"]
    assert int(final["customers"].iloc[0]) == 3  # ann, cat, eve
    assert (result.links["step"] < 0).all()
    assert_matches_reference(SHOP, steps=2, end="Pricing", occurrence="last")
    assert_matches_reference(SHOP, steps=4, end="Pricing", occurrence="first")


def test_ends_add_end_and_start_nodes() -> None:
    result = assert_matches_reference(SHOP, steps=4, ends=True)
    end_nodes = result.nodes[result.nodes["label"] == END_LABEL]
    assert set(end_nodes["kind"]) == {"end"}
    # dan stops after step 0, bob and cat after step 2, eve after 3 (no (end) at the last step).
    assert dict(zip(end_nodes["step"], end_nodes["customers"], strict=True)) == {1: 1, 3: 2}
    into_end = result.links[result.links["target_label"] == END_LABEL]
    assert into_end["median_time"].isna().all()
    backwards = assert_matches_reference(SHOP, steps=4, end="Signup", ends=True)
    start_nodes = backwards.nodes[backwards.nodes["label"] == START_LABEL]
    assert set(start_nodes["kind"]) == {"start"}
    assert int(start_nodes["customers"].sum()) == 2  # cat (3 events) and eve (first signup)


def test_top_groups_the_rest_into_other_per_step() -> None:
    result = assert_matches_reference(SHOP, steps=3, top=1)
    step0 = result.nodes[result.nodes["step"] == 0]
    assert list(step0["label"]) == ["Home", "other"]
    assert list(step0["customers"]) == [3, 2]
    assert list(step0["kind"]) == ["activity", "other"]
    ungrouped = paths(SHOP, steps=3, top=None)
    for step in range(3):
        assert (
            result.nodes.loc[result.nodes["step"] == step, "customers"].sum()
            == ungrouped.nodes.loc[ungrouped.nodes["step"] == step, "customers"].sum()
        )
    assert result.links["customers"].sum() == ungrouped.links["customers"].sum()
    renamed = paths(SHOP, steps=3, top=1, other="Everything else")
    assert "Everything else" in set(renamed.nodes["label"])


def test_ties_in_top_go_to_the_first_label_in_order() -> None:
    frame = events([("a", "Zoo", 0), ("b", "Ant", 0), ("c", "Mid", 0)])
    result = paths(frame, steps=1, top=2)
    assert list(result.nodes["label"]) == ["Ant", "Mid", "other"]
    categorical = frame.assign(
        touchpoint=pd.Categorical(frame["touchpoint"], categories=["Zoo", "Mid", "Ant"])
    )
    result = paths(categorical, steps=1, top=2)
    assert list(result.nodes["label"]) == ["Zoo", "Mid", "other"]


def test_other_must_not_hide_a_real_activity() -> None:
    frame = events([("a", "other", 0), ("b", "Ant", 0), ("c", "Mid", 0), ("d", "Mid", 0)])
    with pytest.raises(ValidationError, match="other"):
        paths(frame, steps=1, top=1)
    paths(frame, steps=1, top=3)  # nothing grouped, no clash
    paths(frame, steps=1, top=1, other="(other)")


# -- invariants -----------------------------------------------------------------------------

event_rows = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.sampled_from(["A", "B", "C", "D", "E"]),
        st.integers(0, 8),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=event_rows,
    steps=st.integers(1, 4),
    top=st.one_of(st.none(), st.integers(1, 3)),
    anchor=st.sampled_from([None, ("start", "A"), ("end", "B")]),
    occurrence=st.sampled_from(["first", "last"]),
    collapse=st.booleans(),
    ends=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_properties_against_the_reference(
    *,
    rows: list[tuple[int, str, int]],
    steps: int,
    top: int | None,
    anchor: tuple[str, str] | None,
    occurrence: str,
    collapse: bool,
    ends: bool,
    seed: int,
) -> None:
    frame = events([(f"c{c}", t, m) for c, t, m in rows])
    options: dict[str, Any] = {
        "steps": steps,
        "top": top,
        "occurrence": occurrence,
        "collapse_repeats": collapse,
        "ends": ends,
    }
    if anchor is not None and anchor[1] in set(frame["touchpoint"]):
        options[anchor[0]] = anchor[1]
    result = assert_matches_reference(frame, **options)
    nodes, links = result.nodes, result.links
    step_of = nodes.set_index("node")["step"]
    # Acyclic: every link goes from step k to step k + 1.
    assert (step_of[links["target"]].to_numpy() == step_of[links["source"]].to_numpy() + 1).all()
    assert (links["step"].to_numpy() == step_of[links["source"]].to_numpy()).all()
    # Links out of a node never exceed its customers; shares are 0..1.
    out = links.groupby("source")["customers"].sum()
    assert (out <= nodes.set_index("node")["customers"][out.index]).all()
    into = links.groupby("target")["customers"].sum()
    assert (into <= nodes.set_index("node")["customers"][into.index]).all()
    assert ((links["share"] > 0) & (links["share"] <= 1)).all()
    # The anchor step (first step, or step 0 for end) holds every drawn customer once.
    first_step = 0 if "end" in options else nodes["step"].min()
    if len(nodes):
        anchor_nodes = nodes[(nodes["step"] == first_step) & (nodes["kind"] != "start")]
        assert anchor_nodes["customers"].sum() == result.n_customers
    assert result.n_customers + result.excluded == frame["customer_id"].nunique()
    assert (nodes.groupby("step")["customers"].sum() <= result.n_customers).all()
    # Shuffled rows give identical tables.
    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    again = paths(shuffled, **options)
    pd.testing.assert_frame_equal(again.nodes, nodes)
    pd.testing.assert_frame_equal(again.links, links)


def test_node_and_link_columns_and_dtypes() -> None:
    result = paths(SHOP, steps=3)
    assert list(result.nodes.columns) == [
        "node",
        "step",
        "label",
        "kind",
        "customers",
        "share",
        "ci_low",
        "ci_high",
    ]
    assert list(result.links.columns) == [
        "source",
        "target",
        "source_label",
        "target_label",
        "step",
        "customers",
        "share",
        "ci_low",
        "ci_high",
        "low_n",
        "median_time",
    ]
    assert result.nodes["node"].dtype == np.int64
    assert result.links["median_time"].dtype == "timedelta64[ns]"
    assert result.links["low_n"].all()  # every source below the default 30
    assert not paths(SHOP, steps=3, min_n=0).links["low_n"].any()
    assert (result.links["ci_low"] <= result.links["share"]).all()
    assert (result.links["share"] <= result.links["ci_high"]).all()
    ordered = result.links.sort_values(["source", "target"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ordered, result.links)


def test_numeric_times_give_numeric_medians() -> None:
    frame = pd.DataFrame(
        {"customer_id": [1, 1, 2, 2], "touchpoint": ["A", "B", "A", "B"], "t": [0, 4, 10, 20]}
    )
    result = paths(frame, time="t")
    assert result.links["median_time"].tolist() == [7.0]


def test_to_plotly_and_reprs() -> None:
    result = paths(SHOP, steps=3, top=2)
    trace = result.to_plotly()
    assert trace["type"] == "sankey"
    assert trace["node"]["label"] == [str(x) for x in result.nodes["label"]]
    assert trace["link"]["source"] == result.links["source"].tolist()
    assert trace["link"]["value"] == result.links["customers"].tolist()
    x = np.array(trace["node"]["x"])
    assert (np.diff(x[np.argsort(result.nodes["step"], kind="stable")]) >= 0).all()
    assert ((x > 0) & (x < 1)).all()
    assert "5 customers" in str(result)
    assert "<table" in result._repr_html_()
    assert result.summary is result.links


def test_empty_anchor_population_and_single_step() -> None:
    result = paths(SHOP, steps=1)
    assert result.links.empty
    assert result.nodes["customers"].sum() == 5
    frame = events([("a", "Home", 0)])
    none = paths(frame, steps=3, start="Home", ends=True)
    assert list(none.nodes["label"]) == ["Home", END_LABEL]


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"top": 0}, "top"),
        ({"top": True}, "top"),
        ({"start": "Nowhere"}, "start"),
        ({"end": "Nowhere"}, "end"),
        ({"start": "Home", "end": "Signup"}, "end"),
        ({"occurrence": "middle"}, "occurrence"),
        ({"other": END_LABEL}, "other"),
        ({"min_n": -1}, "min_n"),
        ({"activity": "page"}, "activity"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        paths(SHOP, **options)
    assert caught.value.field == field


def test_missing_customers_raise_rather_than_vanish() -> None:
    frame = SHOP.copy()
    frame.loc[3, "customer_id"] = None
    with pytest.raises(ValidationError, match="customer_id"):
        paths(frame)
