"""Figures of what a weighting method did during a run: the weight each task got over the
steps, and the cosine between task gradients over the steps (from the recorded Gramians)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import torch

from mtl_core.analysis.gradients import conflict, cosine_matrix
from mtl_core.viz.colors import OKABE_ITO, task_colors

SMOOTH_ABOVE = 200  # steps; beyond this a centred moving average is drawn over the raw weights


def _moving_average(values: list[float], window: int) -> list[float]:
    half = window // 2
    windows = [values[max(0, i - half) : i + half + 1] for i in range(len(values))]
    return [sum(window) / len(window) for window in windows]


def task_weights_figure(task_weights: dict[str, Any]) -> go.Figure:
    """One line per task: its weight at every recorded step (extras["task_weights"]). Long,
    noisy runs (random weights, PCGrad) get a moving average over faint raw points."""
    names, rows = task_weights["tasks"], task_weights["steps"]
    colors = task_colors(names)
    steps = [row["step"] for row in rows]
    figure = go.Figure()
    smooth = len(rows) > SMOOTH_ABOVE
    for index, name in enumerate(names):
        values = [row["weights"][index] for row in rows]
        if smooth:
            figure.add_scatter(
                x=steps,
                y=values,
                mode="markers",
                showlegend=False,
                marker={"color": colors[name], "size": 2, "opacity": 0.25},
                hoverinfo="skip",
            )
            values = _moving_average(values, max(3, len(values) // 50))
        figure.add_scatter(
            x=steps, y=values, mode="lines", name=name, line={"color": colors[name], "width": 2}
        )
    figure.update_layout(
        title="weight each task got",
        xaxis_title="training step",
        yaxis_title="weight" + (" (moving average)" if smooth else ""),
        height=360,
        margin={"t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def gradient_cosine_figure(gramians: list[dict[str, Any]], task_names: list[str]) -> go.Figure:
    """One line per task pair: cos φ_ij of their gradients on the shared parameters at every
    recorded step; below 0 (shaded) the two tasks' gradients conflict."""
    steps = [g["step"] for g in gramians]
    cosines = [cosine_matrix(torch.tensor(g["matrix"], dtype=torch.float64)) for g in gramians]
    figure = go.Figure()
    figure.add_hrect(
        y0=-1,
        y1=0,
        fillcolor="#D55E00",
        opacity=0.07,
        line_width=0,
        annotation_text="conflict",
        annotation_position="bottom left",
    )
    pairs = [(i, j) for i in range(len(task_names)) for j in range(i + 1, len(task_names))]
    for number, (i, j) in enumerate(pairs):
        figure.add_scatter(
            x=steps,
            y=[float(c[i, j]) for c in cosines],
            mode="lines",
            name=f"{task_names[i]} · {task_names[j]}",
            line={"color": OKABE_ITO[number % len(OKABE_ITO)], "width": 1.5},
        )
    figure.add_hline(y=0, line={"color": "#555", "width": 1})
    figure.update_layout(
        title="gradient cosine between tasks",
        xaxis_title="training step",
        yaxis_title="cos φ (shared parameters)",
        yaxis_range=[-1.05, 1.05],
        height=360,
        margin={"t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def conflict_share(gramians: list[dict[str, Any]], task_names: list[str]) -> dict[str, float]:
    """Per task pair, the share of recorded steps whose gradients conflicted (cos < 0)."""
    if not gramians:
        return {}
    conflicts = torch.stack(
        [conflict(torch.tensor(g["matrix"], dtype=torch.float64)) for g in gramians]
    ).double()
    return {
        f"{task_names[i]} · {task_names[j]}": float(conflicts[:, i, j].mean())
        for i in range(len(task_names))
        for j in range(i + 1, len(task_names))
    }
