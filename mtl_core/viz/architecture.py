"""Figures of the Model page: the architecture diagram (which blocks are shared and which
belong to which task) and heatmaps of learned mixing (cross-stitch α, gate weights)."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import plotly.graph_objects as go

from mtl_core.models.base import SHARED, Block, Mixing
from mtl_core.viz.colors import DIVERGING, task_colors

SHARED_COLOR = "#9E9E9E"
BOX_W, BOX_H = 0.84, 0.76


def _positions(blocks: list[Block]) -> dict[str, tuple[float, float]]:
    """Box centres: x = column, y = rank within the column, columns centred vertically."""
    columns: dict[int, list[Block]] = defaultdict(list)
    for block in blocks:
        columns[block.column].append(block)
    tallest = max(len(c) for c in columns.values())
    positions = {}
    for column, members in columns.items():
        offset = (tallest - len(members)) / 2
        for rank, block in enumerate(members):
            positions[block.key] = (float(column), -(offset + rank))
    return positions


def _wrapped(label: str, width: int = 11) -> str:
    """A long label on two lines, split at the space nearest its middle."""
    spaces = [i for i, ch in enumerate(label) if ch == " "]
    if len(label) <= width or not spaces:
        return label
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return f"{label[:cut]}<br>{label[cut + 1 :]}"


def architecture_diagram(blocks: list[Block], task_names: list[str]) -> go.Figure:
    """Boxes coloured by owner (grey = shared, a task's colour = that task's own block),
    arrows for the data flow, dotted links between tied blocks."""
    colors = {SHARED: SHARED_COLOR, **task_colors(task_names)}
    at = _positions(blocks)
    figure = go.Figure()
    for block in blocks:
        x, y = at[block.key]
        for source in block.inputs:
            sx, sy = at[source]
            figure.add_annotation(
                x=x - BOX_W / 2,
                y=y,
                ax=sx + BOX_W / 2,
                ay=sy,
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=2,
                arrowsize=1,
                arrowwidth=1,
                arrowcolor="#B0B0B0",
                text="",
            )
    groups: dict[str, list[Block]] = defaultdict(list)
    for block in blocks:
        if block.group:
            groups[block.group].append(block)
    for members in groups.values():  # tie links in the gaps between the tied boxes
        ys = sorted((at[b.key][1] for b in members), reverse=True)
        x = at[members[0].key][0]
        for upper, lower in itertools.pairwise(ys):
            figure.add_scatter(
                x=[x, x],
                y=[upper - BOX_H / 2, lower + BOX_H / 2],
                mode="lines",
                hoverinfo="skip",
                showlegend=False,
                line={"color": "#555555", "dash": "dot", "width": 2},
            )
    for block in blocks:
        x, y = at[block.key]
        figure.add_shape(
            type="rect",
            x0=x - BOX_W / 2,
            x1=x + BOX_W / 2,
            y0=y - BOX_H / 2,
            y1=y + BOX_H / 2,
            fillcolor=colors[block.owner],
            opacity=0.9,
            line={"color": "white", "width": 1},
            layer="below",
        )
        figure.add_annotation(
            x=x,
            y=y,
            text=f"{_wrapped(block.label)}<br><sup>{block.params:,} params</sup>",
            showarrow=False,
            font={"size": 10, "color": "white"},
        )
    figure.add_scatter(
        x=[at[b.key][0] for b in blocks],
        y=[at[b.key][1] for b in blocks],
        mode="markers",
        marker={"size": 30, "opacity": 0},
        showlegend=False,
        hovertext=[
            f"{b.label} — {'shared by all tasks' if b.owner == SHARED else b.owner}"
            f"<br>{b.params:,} parameters"
            for b in blocks
        ],
        hoverinfo="text",
    )
    owners = [SHARED, *task_names]
    if groups:
        figure.add_scatter(
            x=[None],
            y=[None],
            mode="lines",
            name="tied (L2 penalty)",
            line={"color": "#555555", "dash": "dot", "width": 2},
        )
    for owner in owners:
        figure.add_scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=("shared" if owner == SHARED else f"{owner}'s own"),
            marker={"color": colors[owner], "size": 12, "symbol": "square"},
        )
    rows = max(-y for _, y in at.values()) + 1
    columns = max(x for x, _ in at.values()) + 1
    figure.update_layout(
        height=int(120 + 66 * rows),
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        xaxis={"visible": False, "range": [-0.5, columns - 0.5]},
        yaxis={"visible": False, "range": [-rows + 0.5, 0.5]},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        plot_bgcolor="white",
    )
    return figure


def mixing_heatmap(mixing: Mixing, title: str) -> go.Figure:
    """Cross-stitch α (rows: the task mixed into, columns: the tower taken from), gate
    weights (rows: a gate, columns: experts; blank where a gate cannot see an expert) or
    distances between tied towers."""
    values = np.asarray(mixing.values, dtype=float)
    if mixing.kind == "gate":
        scale = {"colorscale": "Blues", "zmin": 0.0, "zmax": 1.0}
        x_title, y_title = "expert", "gate of"
    elif mixing.kind == "distance":
        scale = {"colorscale": "Greys", "zmin": 0.0, "zmax": max(1.5, float(np.nanmax(values)))}
        x_title, y_title = "tower", "tower"
    else:
        bound = max(1.0, float(np.nanmax(np.abs(values))))
        scale = {"colorscale": DIVERGING, "zmid": 0.0, "zmin": -bound, "zmax": bound}
        x_title, y_title = "taken from tower", "mixed into task"
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=mixing.columns,
            y=mixing.rows,
            texttemplate="%{z:.2f}",
            hovertemplate=f"{y_title} %{{y}}<br>{x_title} %{{x}}: %{{z:.3f}}<extra></extra>",
            **scale,
        )
    )
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        xaxis_title=x_title,
        yaxis_title=y_title,
        yaxis_autorange="reversed",
        height=int(140 + 42 * len(mixing.rows)),
        margin={"t": 40, "b": 40, "l": 10, "r": 10},
    )
    return figure
