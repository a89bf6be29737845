"""Figures and tables for a training run: per-task loss curves and the metrics table."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from mtl_core.viz.colors import task_colors


def loss_curves(history: list[dict[str, Any]], task_names: list[str]) -> go.Figure:
    """Train (dashed) and validation (solid) loss per task over epochs."""
    colors = task_colors(task_names)
    figure = go.Figure()
    epochs = [h["epoch"] for h in history]
    for name in task_names:
        figure.add_scatter(x=epochs, y=[h["train_loss"][name] for h in history], mode="lines",
                           name=f"{name} (train)", line={"color": colors[name], "dash": "dash"})
        figure.add_scatter(x=epochs, y=[h["val"][name]["loss"] for h in history], mode="lines",
                           name=f"{name} (validation)", line={"color": colors[name]})
    figure.update_layout(xaxis_title="epoch", yaxis_title="loss (per task, own scale)",
                         yaxis_type="log", height=380, margin={"t": 30, "b": 40},
                         legend={"orientation": "h", "y": -0.25})
    return figure


def metrics_table(summary: dict[str, Any]) -> pd.DataFrame:
    """One row per task: MTL metrics, baseline metrics and the relative delta."""
    rows = []
    for name, task in summary["tasks"].items():
        base = task.get("baseline_metrics") or {}
        for metric, value in task["metrics"].items():
            if metric == "loss":
                continue
            rows.append({"task": name, "kind": task["kind"], "metric": metric,
                         "multi-task": value, "single-task": base.get(metric)})
    return pd.DataFrame(rows)
