"""Figures for cxm's results: every chart the library draws lives here.

Analysis functions return plain tables and result objects; this module turns them into
figures. Plotting libraries are optional (``pip install "cxm[plot]"``), so each function
imports plotly (or matplotlib) when it is called, never at import time: ``import cxm`` and
the analytics work without them. Functions take a result and keyword options, and return the
figure object for the caller to show, style further or save (``fig.write_html(...)``).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxm.exceptions import ValidationError

__all__ = ["funnel", "journey_map", "sankey"]

# A qualitative palette (Tableau 10, then 10 lighter tints) for activity nodes; grey is kept
# for the grouped "other" node and the "(start)"/"(end)" markers so they never look like an
# activity.
_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#17becf",
    "#a0cbe8",
    "#ffbe7d",
    "#ff9d9a",
    "#86bcb6",
    "#8cd17d",
    "#f1ce63",
    "#d4a6c8",
    "#fabfd2",
    "#d7b5a6",
    "#9edae5",
)
_OTHER_COLOUR = "#9d9d9d"
_MARKER_COLOUR = "#d3d3d3"
_LINK_ALPHA = 0.4
_DIVERGING = frozenset({"nps", "sentiment", "sentiment_mean", "compound", "compound_mean"})


def _require_plotly() -> Any:
    # importlib keeps mypy from needing plotly's (missing) type information.
    try:
        return importlib.import_module("plotly.graph_objects")
    except ImportError as error:  # pragma: no cover - plotly is in the test extras
        raise ImportError(
            'cxm.plotting needs plotly: pip install "cxm[plot]" (or pip install plotly)'
        ) from error


def _frame(value: Any, field: str, attributes: Sequence[str] = ()) -> pd.DataFrame:
    """The DataFrame itself, or the first DataFrame attribute of a result object."""
    if isinstance(value, pd.DataFrame):
        return value
    for name in attributes:
        inner = getattr(value, name, None)
        if isinstance(inner, pd.DataFrame):
            return inner
    wanted = "a pandas DataFrame" + (f" or a result with .{attributes[0]}" if attributes else "")
    raise ValidationError(field, type(value).__name__, f"must be {wanted}")


def _require_columns(frame: pd.DataFrame, field: str, columns: Sequence[Hashable]) -> None:
    missing = [str(c) for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            field,
            ", ".join(missing),
            f"column(s) missing; the table has {[str(c) for c in frame.columns][:30]}",
        )


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _label_colours(labels: Sequence[Any], kinds: Sequence[str] | None) -> list[str]:
    """One colour per node: an activity's colour is the same at every step."""
    kinds = list(kinds) if kinds is not None else ["activity"] * len(labels)
    activities = sorted(
        {str(label) for label, kind in zip(labels, kinds, strict=True) if kind == "activity"}
    )
    index = {label: i for i, label in enumerate(activities)}
    colours = []
    for label, kind in zip(labels, kinds, strict=True):
        if kind == "other":
            colours.append(_OTHER_COLOUR)
        elif kind in ("start", "end"):
            colours.append(_MARKER_COLOUR)
        else:
            colours.append(_PALETTE[index[str(label)] % len(_PALETTE)])
    return colours


def _duration_text(value: Any) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    if isinstance(value, pd.Timedelta | np.timedelta64):
        stamp = pd.Timedelta(value)
        if stamp >= pd.Timedelta(days=1):
            return f"{stamp / pd.Timedelta(days=1):.1f} days"
        if stamp >= pd.Timedelta(hours=1):
            return f"{stamp / pd.Timedelta(hours=1):.1f} hours"
        return f"{stamp / pd.Timedelta(minutes=1):.1f} minutes"
    return f"{float(value):.3g}"


def sankey(paths_result: Any, *, title: str | None = None, value: str = "customers") -> Any:
    """Draw paths as a plotly Sankey diagram, one column per step.

    Nodes sit in their step's column (explicit ``x``), so paths of different lengths line up
    by step; within a column the largest node is on top. Every activity keeps one colour at
    all steps (colours follow the sorted activity labels, so the same labels get the same
    colours in every figure); ``other`` is grey and ``"(start)"``/``"(end)"`` light grey. A
    link takes its source's colour, translucent. Hovering a node shows its step, customers
    and share of all customers; hovering a link shows its customers, the share of the source
    node's customers and the median time between the two steps.

    Args:
        paths_result: The :class:`cxm.journey.paths.Paths` that
            :func:`cxm.journey.paths.paths` returned.
        title: The figure title; by default a description of the paths.
        value: The ``links`` column that sets each link's width (``"customers"``).

    Returns:
        A ``plotly.graph_objects.Figure`` holding one ``Sankey`` trace whose node labels,
        link sources, targets and values follow the rows of ``nodes`` and ``links``.

    Raises:
        ValidationError: The input is not a paths result or ``value`` is not a numeric
            column of its links.

    Examples:
        >>> import pandas as pd
        >>> from cxm.journey.paths import paths
        >>> events = pd.DataFrame({
        ...     "customer_id": ["a", "a", "b", "b"],
        ...     "touchpoint": ["Home", "Pricing", "Home", "Signup"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2),
        ... })
        >>> fig = sankey(paths(events, steps=2))
        >>> list(fig.data[0].node.label), list(fig.data[0].link.value)
        (['Home', 'Pricing', 'Signup'], [1, 1])

    References:
        Riehmann, P., Hanfler, M., & Froehlich, B. (2005). Interactive Sankey diagrams.
        IEEE Symposium on Information Visualization, 233-240.
    """
    nodes = getattr(paths_result, "nodes", None)
    links = getattr(paths_result, "links", None)
    if not isinstance(nodes, pd.DataFrame) or not isinstance(links, pd.DataFrame):
        raise ValidationError(
            "paths_result",
            type(paths_result).__name__,
            "must be the result of cxm.journey.paths (with .nodes and .links frames)",
        )
    _require_columns(nodes, "paths_result.nodes", ["node", "step", "label", "customers"])
    _require_columns(links, "paths_result.links", ["source", "target", value])
    if not pd.api.types.is_numeric_dtype(links[value]) or pd.api.types.is_bool_dtype(links[value]):
        raise ValidationError("value", value, "must be a numeric column of the links")
    go = _require_plotly()

    labels = [str(label) for label in nodes["label"]]
    kinds = list(nodes["kind"]) if "kind" in nodes.columns else None
    colours = _label_colours(labels, kinds)
    total = getattr(paths_result, "n_customers", None) or int(
        nodes.loc[nodes["step"] == nodes["step"].min(), "customers"].sum()
    )
    positions = getattr(paths_result, "node_positions", None)
    if callable(positions):
        x, y = positions()
    else:  # a bare nodes/links pair: let plotly lay it out
        x = y = None
    node_data = np.column_stack(
        [
            nodes["step"].to_numpy(),
            nodes["customers"].to_numpy(),
            nodes["customers"].to_numpy() / max(total, 1),
        ]
    )
    source = links["source"].to_numpy(dtype=np.int64)
    link_share = (
        links["share"].to_numpy(dtype=float)
        if "share" in links.columns
        else np.full(len(links), np.nan)
    )
    median = links["median_time"] if "median_time" in links.columns else [None] * len(links)
    link_text = [
        f"{labels[s]} (step {nodes['step'].iloc[s]}) → {labels[t]}<br>"
        f"{n:,} customers ({share:.1%} of {labels[s]})<br>median time {_duration_text(m)}"
        for s, t, n, share, m in zip(
            source,
            links["target"].to_numpy(dtype=np.int64),
            links["customers"].to_numpy(dtype=np.int64)
            if "customers" in links.columns
            else links[value].to_numpy(),
            link_share,
            median,
            strict=True,
        )
    ]
    node = {
        "label": labels,
        "color": colours,
        "customdata": node_data,
        "hovertemplate": "%{label}<br>step %{customdata[0]}<br>%{customdata[1]:,} customers"
        " (%{customdata[2]:.1%})<extra></extra>",
        "pad": 12,
        "thickness": 16,
    }
    if x is not None and y is not None and labels:
        node["x"] = np.asarray(x).tolist()
        node["y"] = np.asarray(y).tolist()
    trace = go.Sankey(
        arrangement="snap",
        node=node,
        link={
            "source": source.tolist(),
            "target": links["target"].to_numpy(dtype=np.int64).tolist(),
            "value": links[value].tolist(),
            "color": [_rgba(colours[s], _LINK_ALPHA) for s in source],
            "customdata": link_text,
            "hovertemplate": "%{customdata}<extra></extra>",
        },
    )
    if title is None:
        describe = getattr(paths_result, "_title", None)
        title = describe() if callable(describe) else "Customer paths"
    figure = go.Figure(data=[trace])
    figure.update_layout(title={"text": title}, font={"size": 12})
    return figure


def _axis_order(series: pd.Series, keep_all: bool) -> list[Any]:
    """Category order (all categories, or those present), else order of first appearance."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = list(series.cat.categories)
        if keep_all:
            return categories
        present = set(series.dropna())
        return [c for c in categories if c in present]
    return list(pd.unique(series.dropna()))


def _number_text(value: float) -> str:
    if not math.isfinite(value):
        return ""
    if float(value).is_integer() and abs(value) < 1e6:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _grid(
    frame: pd.DataFrame,
    *,
    stage: str,
    touchpoint: str,
    value: str,
    text: str | None,
    stages: list[Any],
    touchpoints: list[Any],
) -> dict[str, np.ndarray]:
    """The table's columns laid out as stage x touchpoint matrices (NaN where no row)."""
    row = {s: i for i, s in enumerate(stages)}
    column = {t: j for j, t in enumerate(touchpoints)}
    i = frame[stage].map(row).to_numpy()
    j = frame[touchpoint].map(column).to_numpy()
    placed = ~(pd.isna(i) | pd.isna(j))
    i, j = i[placed].astype(np.int64), j[placed].astype(np.int64)
    rows = frame.loc[placed]
    low_column = f"{value}_low_n" if f"{value}_low_n" in frame.columns else "low_n"
    sources = {
        "z": value,
        "counts": text,
        "low": f"{value}_ci_low",
        "high": f"{value}_ci_high",
        "flagged": low_column,
    }
    grid = {}
    for name, source in sources.items():
        matrix = np.full((len(stages), len(touchpoints)), 0.0 if name == "flagged" else np.nan)
        if source is not None and source in frame.columns:
            values = pd.to_numeric(rows[source], errors="coerce").astype(float)
            matrix[i, j] = values.fillna(0.0 if name == "flagged" else np.nan).to_numpy()
        grid[name] = matrix
    return grid


def _cell_texts(
    grid: dict[str, np.ndarray],
    stages: list[Any],
    touchpoints: list[Any],
    value: str,
    text: str | None,
) -> tuple[list[list[str]], list[list[str]]]:
    """The annotation and the hover text of every cell (a loop over the few cells)."""
    z, counts, low, high = grid["z"], grid["counts"], grid["low"], grid["high"]
    flagged = grid["flagged"].astype(bool)
    cell_text: list[list[str]] = []
    hover: list[list[str]] = []
    for r, stage_name in enumerate(stages):
        text_row, hover_row = [], []
        for c, touchpoint_name in enumerate(touchpoints):
            shown = _number_text(z[r, c])
            counted = math.isfinite(counts[r, c])
            if shown and counted:
                shown += f"<br>n={_number_text(counts[r, c])}"
            if shown and flagged[r, c]:
                shown = f"<span style='color:#7f7f7f'><i>{shown}*</i></span>"
            text_row.append(shown)
            lines = [f"{stage_name} · {touchpoint_name}", f"{value}: {_number_text(z[r, c])}"]
            if math.isfinite(low[r, c]) and math.isfinite(high[r, c]):
                lines.append(f"CI {_number_text(low[r, c])} to {_number_text(high[r, c])}")
            if counted:
                lines.append(f"{text}: {_number_text(counts[r, c])}")
            if flagged[r, c]:
                lines.append("low n: read with care")
            hover_row.append("<br>".join(lines))
        cell_text.append(text_row)
        hover.append(hover_row)
    return cell_text, hover


def journey_map(
    table: Any,
    *,
    value: str = "nps",
    text: str | None = None,
    title: str | None = None,
    diverging: bool | None = None,
    stage: str = "stage",
    touchpoint: str = "touchpoint",
) -> Any:
    """Draw a journey map as a heat map: stages as rows, touchpoints as columns.

    Rows follow the stage column's category order from the top (every category, so a stage
    with no touchpoints still shows as an empty row; a non-categorical column keeps its
    order of first appearance); columns follow the touchpoints' category order (those
    present) or first appearance. Each cell is coloured by ``value`` and annotated with it
    and, on a second line, the ``text`` column (by default the value's own count column
    ``<value>_n``, else ``n``, ``responses`` or ``customers``, whichever exists). Cells
    flagged ``low_n`` (or ``<value>_low_n``) are written in grey italics with an asterisk,
    and a note under the map explains the mark; hovering shows the value with its
    ``<value>_ci_low`` .. ``<value>_ci_high`` interval where the table has one. Scores
    that can be negative (NPS, sentiment, or any column holding both signs) use a
    red-white-blue scale centred at 0; others a sequential blue scale.

    Args:
        table: The table of :func:`cxm.journey.map.journey_map` (one row per stage and
            touchpoint), or any frame with stage, touchpoint and value columns.
        value: The metric column that colours the cells (``"nps"``, ``"csat"``,
            ``"sentiment_mean"``, ``"customers"``, ``"dropoff"``...).
        text: The column written under each value; ``None`` picks the count column.
        title: The figure title; by default the value's name.
        diverging: Force (``True``) or refuse (``False``) the scale centred at 0; ``None``
            decides from the metric.
        stage: The stage column.
        touchpoint: The touchpoint column.

    Returns:
        A ``plotly.graph_objects.Figure`` with one ``Heatmap`` trace whose ``z[i][j]`` is
        the value of stage ``y[i]`` at touchpoint ``x[j]`` (NaN where the table has no such
        row), with the first stage drawn at the top.

    Raises:
        ValidationError: ``table`` is not a DataFrame, a column is missing, ``value`` is
            not numeric, or a stage and touchpoint pair appears twice.

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({
        ...     "stage": pd.Categorical(["Buy", "Aware", "Buy"], categories=["Aware", "Buy"]),
        ...     "touchpoint": ["Web", "Ad", "Store"],
        ...     "nps": [30.0, -5.0, 12.0],
        ...     "n": [120, 40, 80],
        ... })
        >>> fig = journey_map(table)
        >>> list(fig.data[0].y), list(fig.data[0].x)
        (['Aware', 'Buy'], ['Web', 'Ad', 'Store'])
        >>> fig.data[0].zmid
        0.0
    """
    frame = _frame(table, "table", ("table",))
    _require_columns(frame, "table", [stage, touchpoint])
    if value not in frame.columns:
        raise ValidationError(
            "value", value, f"is not a column of the table (columns: {list(frame.columns)[:30]})"
        )
    metric = frame[value]
    if not pd.api.types.is_numeric_dtype(metric) or pd.api.types.is_bool_dtype(metric):
        raise ValidationError("value", value, f"must be a numeric column, not {metric.dtype}")
    if text is None:
        candidates = (f"{value}_n", "n", "responses", "customers")
        text = next((c for c in candidates if c in frame.columns and c != value), None)
    elif text not in frame.columns:
        raise ValidationError("text", text, "is not a column of the table")
    duplicated = frame.duplicated([stage, touchpoint])
    if duplicated.any():
        first = frame.loc[duplicated, [stage, touchpoint]].iloc[0].tolist()
        raise ValidationError(
            "table", first, "has this stage and touchpoint twice; one row per cell expected"
        )
    go = _require_plotly()

    stages = _axis_order(frame[stage], keep_all=True)
    touchpoints = _axis_order(frame[touchpoint], keep_all=False)
    grid = _grid(
        frame,
        stage=stage,
        touchpoint=touchpoint,
        value=value,
        text=text,
        stages=stages,
        touchpoints=touchpoints,
    )
    cell_text, hover = _cell_texts(grid, stages, touchpoints, value, text)
    z, flagged = grid["z"], grid["flagged"].astype(bool)

    finite = z[np.isfinite(z)]
    if diverging is None:
        diverging = (
            value in _DIVERGING
            or value.startswith("sentiment")
            or (finite.size > 0 and finite.min() < 0 < finite.max())
        )
    colours: dict[str, Any] = (
        {"colorscale": "RdBu", "zmid": 0.0} if diverging else {"colorscale": "Blues"}
    )
    trace = go.Heatmap(
        z=z,
        x=[str(t) for t in touchpoints],
        y=[str(s) for s in stages],
        text=cell_text,
        texttemplate="%{text}",
        hovertext=hover,
        hoverinfo="text",
        colorbar={"title": {"text": value}},
        xgap=2,
        ygap=2,
        **colours,
    )
    figure = go.Figure(data=[trace])
    figure.update_layout(
        title={"text": title if title is not None else f"Journey map: {value}"},
        yaxis={"autorange": "reversed", "title": {"text": str(stage)}},
        xaxis={"side": "top", "title": {"text": str(touchpoint)}},
    )
    if flagged.any():
        figure.add_annotation(
            text="* grey, italic: fewer responses than the minimum (low_n); read with care",
            xref="paper",
            yref="paper",
            x=0,
            y=-0.08,
            showarrow=False,
            xanchor="left",
            font={"size": 11, "color": "#7f7f7f"},
        )
    return figure


def funnel(result: Any, *, title: str | None = None) -> Any:
    """Draw a funnel: customers reaching each step, with conversion and its interval.

    Args:
        result: A funnel result (an object with a ``steps`` frame) or the frame itself,
            with columns ``step_name``, ``customers``, ``conversion``, ``ci_low`` and
            ``ci_high`` (conversion as a share 0..1).
        title: The figure title; by default "Funnel".

    Returns:
        A ``plotly.graph_objects.Figure`` with one ``Funnel`` trace: ``y`` the step names in
        the table's order, ``x`` the customers, each bar labelled with its customers and
        conversion (95% interval).

    Raises:
        ValidationError: The input is not a frame or result with those columns.

    Examples:
        >>> import pandas as pd
        >>> steps = pd.DataFrame({
        ...     "step_name": ["Visit", "Signup"], "customers": [100, 40],
        ...     "conversion": [1.0, 0.4], "ci_low": [0.96, 0.31], "ci_high": [1.0, 0.5],
        ... })
        >>> list(funnel(steps).data[0].x)
        [100, 40]
    """
    frame = _frame(result, "result", ("steps", "table"))
    _require_columns(frame, "result", ["step_name", "customers", "conversion", "ci_low", "ci_high"])
    go = _require_plotly()
    labels = [
        f"{int(n):,} ({share:.1%}, {low:.1%} to {high:.1%})"
        for n, share, low, high in zip(
            frame["customers"],
            frame["conversion"].astype(float),
            frame["ci_low"].astype(float),
            frame["ci_high"].astype(float),
            strict=True,
        )
    ]
    trace = go.Funnel(
        y=[str(s) for s in frame["step_name"]],
        x=frame["customers"].tolist(),
        text=labels,
        textinfo="text",
        hovertemplate="%{y}<br>%{text}<extra></extra>",
    )
    figure = go.Figure(data=[trace])
    figure.update_layout(title={"text": title if title is not None else "Funnel"})
    return figure
