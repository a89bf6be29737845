"""Figures and tables of an explanation: the tasks x units heatmap, the task x task profile
similarity, a unit's use by each task and the inputs that drive it, and the input
attributions per task (tabular bars side by side on one shared axis of shares, image
heatmaps side by side)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mtl_core.analysis.explain import Completeness, Explanation, UnitProfiles
from mtl_core.analysis.explain.experts import ExpertLevel
from mtl_core.viz.colors import DIVERGING, task_colors

# How many features the per-task bars show (the rest are listed in the JSON output).
MAX_BARS = 20


def unit_heatmap(units: UnitProfiles) -> go.Figure:
    """Rows: tasks (or task: class); columns: units in clustered order; colour: the share of
    the row's attribution that flows through the unit. Each cell can be clicked (selected)."""
    order = units.order
    labels = [f"u{u}" for u in order]
    share = units.share[:, order]
    figure = go.Figure(
        go.Heatmap(
            z=share,
            x=labels,
            y=units.rows,
            colorscale="Blues",
            zmin=0,
            colorbar={"title": "share"},
            hoverinfo="skip",
        )
    )
    # An invisible marker on every cell: a heatmap cannot be clicked to select (Streamlit
    # selections need points), these can, and they carry the cell's tooltip.
    figure.add_scatter(
        x=labels * len(units.rows),
        y=[row for row in units.rows for _ in labels],
        customdata=share.reshape(-1),
        mode="markers",
        marker={"opacity": 0, "size": 14},
        showlegend=False,
        hovertemplate="%{y}<br>unit %{x}<br>share of attribution %{customdata:.3f}<extra></extra>",
    )
    figure.update_layout(
        height=140 + 36 * len(units.rows),
        margin={"t": 30, "b": 40},
        xaxis={
            "title": "unit of the representation (clustered order)",
            "type": "category",
            "range": [-0.5, len(labels) - 0.5],
        },
        yaxis={"type": "category", "range": [len(units.rows) - 0.5, -0.5]},
    )
    return figure


def expert_heatmap(level: ExpertLevel) -> go.Figure:
    """Rows: tasks; columns: one level's experts; colour and text: the share of the task's
    attribution that comes through the expert (0 where the task's output does not reach it)."""
    figure = go.Figure(
        go.Heatmap(
            z=level.share,
            x=level.experts,
            y=level.tasks,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            text=np.round(level.share, 2),
            texttemplate="%{text}",
            colorbar={"title": "share"},
            hovertemplate="%{y} through %{x}: %{z:.3f} of its attribution<extra></extra>",
        )
    )
    figure.update_layout(
        height=140 + 40 * len(level.tasks),
        margin={"t": 30, "b": 40},
        xaxis={"title": f"expert ({level.title})", "type": "category"},
        yaxis={"autorange": "reversed"},
    )
    return figure


def similarity_heatmap(units: UnitProfiles) -> go.Figure:
    """Cosine similarity of the rows' unit profiles (1 = the same units, 0 = disjoint)."""
    figure = go.Figure(
        go.Heatmap(
            z=units.similarity,
            x=units.rows,
            y=units.rows,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            text=np.round(units.similarity, 2),
            texttemplate="%{text}",
            colorbar={"title": "cosine"},
            hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>",
        )
    )
    side = 160 + 60 * len(units.rows)
    figure.update_layout(
        height=side, width=side + 140, margin={"t": 30, "b": 40}, yaxis={"autorange": "reversed"}
    )
    return figure


def unit_usage_bars(units: UnitProfiles, unit: int) -> go.Figure:
    """How much of each row's attribution goes through this one unit."""
    colors = task_colors(list(dict.fromkeys(units.row_tasks)))
    figure = go.Figure(
        go.Bar(
            x=units.rows,
            y=units.share[:, unit],
            marker_color=[colors[t] for t in units.row_tasks],
            hovertemplate="%{x}: %{y:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        height=300,
        margin={"t": 30, "b": 40},
        showlegend=False,
        yaxis_title=f"share through unit {unit}",
    )
    return figure


def _side_by_side_bars(
    values: dict[str, np.ndarray], feature_names: list[str], title: str
) -> go.Figure:
    """One horizontal bar chart per task, all on one shared axis: each feature's share of
    the task's total (tasks' outputs live on different scales, so raw attributions are not
    comparable across tasks; the total is in each panel's title, the raw value in the
    hover). Same features in the same order on a shared y axis."""
    tasks = list(values)
    colors = task_colors(tasks)
    totals = {t: float(np.abs(v).sum()) for t, v in values.items()}
    shares = {t: np.abs(v) / max(totals[t], 1e-30) for t, v in values.items()}
    keep = np.argsort(-np.sum(list(shares.values()), axis=0), kind="stable")[:MAX_BARS][::-1]
    names = [feature_names[i] for i in keep]
    figure = make_subplots(
        rows=1,
        cols=len(tasks),
        shared_yaxes=True,
        shared_xaxes="all",
        subplot_titles=[f"{t} (total {totals[t]:.3g})" for t in tasks],
        horizontal_spacing=0.02,
    )
    for col, task in enumerate(tasks, start=1):
        figure.add_bar(
            x=shares[task][keep],
            y=names,
            orientation="h",
            name=task,
            customdata=values[task][keep],
            marker_color=colors[task],
            row=1,
            col=col,
            hovertemplate="%{y}: %{customdata:.4f} (%{x:.1%} of the total)<extra>"
            + task
            + "</extra>",
        )
        figure.update_xaxes(
            title_text=f"share of {title}" if col == 1 else None, tickformat=".0%", row=1, col=col
        )
    top = max((float(s[keep].max()) for s in shares.values() if len(keep)), default=1.0)
    figure.update_xaxes(range=[0, 1.05 * top])
    figure.update_layout(height=120 + 22 * len(names), showlegend=False, margin={"t": 40, "b": 40})
    return figure


def input_bars(explanation: Explanation) -> go.Figure:
    """Tabular: mean |Integrated Gradients| of each feature, per task, side by side."""
    values = {t: a.mean_abs() for t, a in explanation.inputs.items()}
    return _side_by_side_bars(values, explanation.feature_names, "mean |attribution|")


def driver_bars(explanation: Explanation, unit: int) -> go.Figure:
    """Tabular: mean |NeuronConductance| of each feature through one unit, per task."""
    values = {t: np.abs(v).mean(axis=0) for t, v in explanation.drivers[unit].items()}
    return _side_by_side_bars(values, explanation.feature_names, f"via unit {unit}")


def _image(values: np.ndarray) -> np.ndarray:
    """[C, H, W] -> [H, W]: attributions add up over channels; images show their mean."""
    return values.sum(axis=0) if values.ndim == 3 else values


def image_maps(
    per_task: dict[str, np.ndarray], image: np.ndarray | None = None, signed: bool = True
) -> go.Figure:
    """Per-task [C, H, W] maps side by side (after the input image when given): signed on a
    diverging scale centred at 0, or magnitudes on a sequential one; each relative to its
    own largest |value|."""
    titles = (["input"] if image is not None else []) + list(per_task)
    figure = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.02)
    col = 1
    if image is not None:
        figure.add_heatmap(
            z=image.mean(axis=0),
            colorscale="gray",
            showscale=False,
            row=1,
            col=1,
            hovertemplate="%{z:.2f}<extra></extra>",
        )
        col = 2
    # Tasks' outputs live on different scales: each map is shown relative to its own
    # largest |value| (the hover gives the attribution itself).
    maps = [_image(v) for v in per_task.values()]
    scale = (
        {"colorscale": DIVERGING, "zmid": 0, "zmin": -1, "zmax": 1, "reversescale": True}
        if signed
        else {"colorscale": "Blues", "zmin": 0, "zmax": 1}
    )
    for i, values in enumerate(maps):
        bound = float(np.abs(values).max()) or 1.0
        figure.add_heatmap(
            z=values / bound,
            customdata=values,
            row=1,
            col=col + i,
            showscale=i == len(maps) - 1,
            colorbar={"title": "of the task's max"},
            hovertemplate="%{customdata:.4f}<extra></extra>",
            **scale,
        )
    figure.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor=None)
    figure.update_xaxes(showticklabels=False)
    figure.update_layout(height=300, margin={"t": 40, "b": 10})
    return figure


def mean_image_maps(explanation: Explanation) -> go.Figure:
    """Images: where each task looks, on average (mean |attribution| per pixel)."""
    return image_maps({t: a.mean_abs() for t, a in explanation.inputs.items()}, signed=False)


def example_image_maps(explanation: Explanation, index: int) -> go.Figure:
    """Images: one example and each task's signed attribution over it."""
    return image_maps(
        {t: a.values[index] for t, a in explanation.inputs.items()}, image=explanation.x[index]
    )


def completeness_table(explanation: Explanation) -> pd.DataFrame:
    """Per attribution: mean |delta| against mean |F(x) - F(baseline)|; large asks for more
    steps."""
    rows = []
    units = explanation.units
    for row, completeness in zip(units.rows, units.completeness, strict=True):
        rows.append({"attribution": f"units → {row}", **_completeness_cells(completeness)})
    for task, attribution in explanation.inputs.items():
        rows.append(
            {"attribution": f"inputs → {task}", **_completeness_cells(attribution.completeness)}
        )
    for level in explanation.experts:
        for task, completeness in zip(level.tasks, level.completeness, strict=True):
            rows.append(
                {
                    "attribution": f"experts ({level.title}) → {task}",
                    **_completeness_cells(completeness),
                }
            )
    return pd.DataFrame(rows)


def _completeness_cells(completeness: Completeness) -> dict[str, object]:
    return {
        "mean |delta|": completeness.mean_abs_delta,
        "max |delta|": completeness.max_abs_delta,
        "mean |F(x) − F(baseline)|": completeness.mean_abs_change,
        "relative": completeness.relative,
        "more steps?": "yes" if completeness.needs_more_steps else "no",
    }


def token_heatmap(explanation: Explanation, index: int) -> go.Figure:
    """Text: one example's signed attribution per token position, labelled with its n-gram
    (word n-grams as words, character n-grams in brackets), per task, on a diverging scale
    centred at 0; padding positions are left out."""
    ids = explanation.x[index]
    keep = np.flatnonzero(ids != 0)
    labels = [f"{p}: {explanation.token_texts.get(int(ids[p]), f'#{ids[p]}')}" for p in keep]
    tasks = list(explanation.inputs)
    z = np.stack([explanation.inputs[t].values[index][keep] for t in tasks])
    # Each task relative to its own largest |attribution| (tasks' outputs differ in scale).
    bounds = np.abs(z).max(axis=1, keepdims=True)
    relative = np.divide(z, bounds, out=np.zeros_like(z), where=bounds > 0)
    figure = go.Figure(
        go.Heatmap(
            z=relative,
            customdata=z,
            x=labels,
            y=tasks,
            colorscale=DIVERGING,
            reversescale=True,
            zmid=0,
            zmin=-1,
            zmax=1,
            colorbar={"title": "of the task's max", "tickvals": [-1, 0, 1]},
            hovertemplate="%{y}<br>position: n-gram %{x}<br>%{customdata:.4f}<extra></extra>",
        )
    )
    figure.update_layout(
        height=200 + 40 * len(tasks),
        margin={"t": 30, "b": 40},
        xaxis={"title": "token position: n-gram", "type": "category", "tickangle": -45},
        yaxis={"autorange": "reversed"},
    )
    return figure
