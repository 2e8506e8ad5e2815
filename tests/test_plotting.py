"""Plotting: figures carry the right data (labels, links, matrix orientation), lazy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cxm.exceptions import ValidationError
from cxm.journey.paths import paths
from cxm.plotting import funnel, journey_map, sankey

pytest.importorskip("plotly")

BASE = pd.Timestamp("2024-01-01", tz="UTC")


def shop() -> pd.DataFrame:
    rows = [
        ("ann", "Home", 0),
        ("ann", "Pricing", 10),
        ("ann", "Signup", 30),
        ("bob", "Home", 0),
        ("bob", "Pricing", 20),
        ("bob", "Support", 25),
        ("cat", "Ad", 0),
        ("cat", "Pricing", 3),
        ("cat", "Signup", 4),
        ("dan", "Home", 1),
        ("dan", "Support", 1440 * 2),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "touchpoint", "minute"])
    frame["occurred_at"] = BASE + pd.to_timedelta(frame.pop("minute"), unit="min")
    return frame


def test_importing_plotting_does_not_import_plotly() -> None:
    code = (
        "import sys, cxm, cxm.plotting, cxm.journey.paths\n"
        "bad = [m for m in ('plotly', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


# -- sankey ---------------------------------------------------------------------------------


def test_sankey_follows_the_nodes_and_links() -> None:
    result = paths(shop(), steps=3, top=2)
    fig = sankey(result)
    trace = fig.data[0]
    assert trace.type == "sankey"
    assert list(trace.node.label) == [str(x) for x in result.nodes["label"]]
    assert list(trace.link.source) == result.links["source"].tolist()
    assert list(trace.link.target) == result.links["target"].tolist()
    assert list(trace.link.value) == result.links["customers"].tolist()
    # Columns by step: x rises with the step.
    x = np.asarray(trace.node.x)
    steps = result.nodes["step"].to_numpy()
    assert (x[steps == 0] < x[steps == 1].min()).all()
    assert "4 customers" in fig.layout.title.text
    assert sankey(result, title="Paths").layout.title.text == "Paths"


def test_sankey_colours_are_stable_per_label_and_grey_for_other() -> None:
    result = paths(shop(), steps=3, top=None)
    assert result.nodes["label"].duplicated().any()  # some labels recur at several steps
    trace = sankey(result).data[0]
    colours = dict.fromkeys(result.nodes["label"])
    for label, colour in zip(result.nodes["label"], trace.node.color, strict=True):
        if colours[label] is None:
            colours[label] = colour
        assert colours[label] == colour  # the same label, the same colour at every step
    assert len(set(colours.values())) == len(colours)
    grouped = paths(shop(), steps=3, top=1)
    grouped_colours = sankey(grouped).data[0].node.color
    assert {
        colour
        for kind, colour in zip(grouped.nodes["kind"], grouped_colours, strict=True)
        if kind == "other"
    } == {"#9d9d9d"}
    # Links take their source's colour, translucent.
    for source, link_colour in zip(trace.link.source, trace.link.color, strict=True):
        node_colour = trace.node.color[source]
        rgb = ", ".join(str(int(node_colour[i : i + 2], 16)) for i in (1, 3, 5))
        assert link_colour == f"rgba({rgb}, 0.4)"
    assert len(set(trace.link.color)) > 1


def test_sankey_hover_carries_counts_share_and_time() -> None:
    result = paths(shop(), steps=2)
    trace = sankey(result).data[0]
    links = result.links
    row = links.index[(links["source_label"] == "Home") & (links["target_label"] == "Support")][0]
    text = trace.link.customdata[row]
    assert "1 customers (33.3% of Home)" in text
    assert "2.0 days" in text
    node_data = np.asarray(trace.node.customdata)
    home = int(result.nodes.index[result.nodes["label"] == "Home"][0])
    assert node_data[home].tolist() == pytest.approx([0, 3, 0.75])


def test_sankey_value_column_and_bad_input() -> None:
    result = paths(shop(), steps=3)
    fig = sankey(result, value="share")
    assert list(fig.data[0].link.value) == pytest.approx(result.links["share"].tolist())
    with pytest.raises(ValidationError) as caught:
        sankey(result, value="nope")
    assert caught.value.field == "paths_result.links"
    with pytest.raises(ValidationError):
        sankey(result, value="low_n")
    with pytest.raises(ValidationError) as caught:
        sankey(result.links)
    assert caught.value.field == "paths_result"


def test_sankey_of_an_end_anchored_result_puts_step_zero_last() -> None:
    result = paths(shop(), steps=4, end="Signup", ends=True)
    trace = sankey(result).data[0]
    x = np.asarray(trace.node.x)
    last = result.nodes["step"].to_numpy() == 0
    assert x[last].min() == x.max()
    assert "(start)" in list(trace.node.label)


# -- journey map ----------------------------------------------------------------------------


def map_table() -> pd.DataFrame:
    stages = ["Aware", "Consider", "Buy", "Use"]
    return pd.DataFrame(
        {
            # Rows deliberately out of stage order; "Use" has no row at all.
            "stage": pd.Categorical(
                ["Buy", "Aware", "Consider", "Aware", "Buy"], categories=stages, ordered=True
            ),
            "touchpoint": pd.Categorical(
                ["Store", "Ad", "Web", "Web", "Web"], categories=["Ad", "Web", "Store"]
            ),
            "nps": [40.0, -12.5, 5.0, 20.0, 33.3],
            "nps_ci_low": [30.0, -30.0, -10.0, 5.0, 20.0],
            "nps_ci_high": [50.0, 5.0, 20.0, 35.0, 45.0],
            "n": [200, 12, 90, 150, 60],
            "customers": [180, 12, 85, 140, 55],
            "low_n": [False, True, False, False, False],
        }
    )


def test_journey_map_matrix_orientation_and_stage_order() -> None:
    fig = journey_map(map_table())
    trace = fig.data[0]
    assert trace.type == "heatmap"
    assert list(trace.y) == ["Aware", "Consider", "Buy", "Use"]  # category order, all stages
    assert list(trace.x) == ["Ad", "Web", "Store"]
    z = np.asarray(trace.z, dtype=float)
    assert z.shape == (4, 3)
    assert z[0, 0] == -12.5  # Aware x Ad
    assert z[0, 1] == 20.0  # Aware x Web
    assert z[2, 2] == 40.0  # Buy x Store
    assert z[1, 1] == 5.0  # Consider x Web
    assert np.isnan(z[3]).all()  # Use: no touchpoints
    assert np.isnan(z[1, 0])
    assert fig.layout.yaxis.autorange == "reversed"  # first stage on top
    assert trace.zmid == 0.0
    assert trace.colorscale[0][1] != trace.colorscale[-1][1]


def test_journey_map_annotates_value_n_and_low_n() -> None:
    trace_text = journey_map(map_table()).data[0].text
    assert trace_text[2][2] == "40<br>n=200"
    assert trace_text[0][0].endswith("</i></span>")
    assert "-12.5<br>n=12*" in trace_text[0][0]
    assert trace_text[3][0] == ""
    fig = journey_map(map_table(), text="customers")
    assert fig.data[0].text[2][2] == "40<br>n=180"
    hover = fig.data[0].hovertext[2][2]
    assert "CI 30 to 50" in hover
    annotations = [a.text for a in journey_map(map_table()).layout.annotations]
    assert any("low_n" in a for a in annotations)
    clean = map_table().assign(low_n=False)
    assert not journey_map(clean).layout.annotations


def test_journey_map_sequential_scale_for_counts() -> None:
    trace = journey_map(map_table(), value="customers", text="n").data[0]
    assert trace.zmid is None
    assert np.asarray(trace.z, dtype=float)[2, 2] == 180
    assert journey_map(map_table(), value="customers", diverging=True).data[0].zmid == 0.0
    # A plain (non-categorical) stage column keeps its order of first appearance.
    plain = map_table().assign(stage=lambda f: f["stage"].astype(str))
    assert list(journey_map(plain).data[0].y) == ["Buy", "Aware", "Consider"]


def test_journey_map_validation() -> None:
    with pytest.raises(ValidationError) as caught:
        journey_map(map_table(), value="csat")
    assert caught.value.field == "value"
    with pytest.raises(ValidationError) as caught:
        journey_map(map_table(), value="low_n")
    assert caught.value.field == "value"
    with pytest.raises(ValidationError) as caught:
        journey_map(map_table(), text="responses")
    assert caught.value.field == "text"
    with pytest.raises(ValidationError) as caught:
        journey_map(map_table().drop(columns="touchpoint"))
    assert caught.value.field == "table"
    with pytest.raises(ValidationError):
        journey_map(pd.concat([map_table(), map_table().head(1)]))
    with pytest.raises(ValidationError):
        journey_map([1, 2, 3])


# -- funnel ---------------------------------------------------------------------------------


def test_funnel_figure() -> None:
    steps = pd.DataFrame(
        {
            "step_name": ["Visit", "Pricing", "Signup"],
            "customers": [1000, 400, 120],
            "conversion": [1.0, 0.4, 0.12],
            "ci_low": [0.996, 0.37, 0.10],
            "ci_high": [1.0, 0.43, 0.14],
        }
    )
    trace = funnel(steps).data[0]
    assert list(trace.y) == ["Visit", "Pricing", "Signup"]
    assert list(trace.x) == [1000, 400, 120]
    assert trace.text[1] == "400 (40.0%, 37.0% to 43.0%)"

    class Result:
        def __init__(self, frame: pd.DataFrame) -> None:
            self.steps = frame

    assert list(funnel(Result(steps)).data[0].x) == [1000, 400, 120]
    with pytest.raises(ValidationError):
        funnel(steps.drop(columns="ci_low"))
