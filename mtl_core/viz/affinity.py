"""Figures and tables of the Affinity page: task × task heatmaps (diverging scale centred at
0 for signed measures, task names on both axes, direction labelled), curves over epochs,
measured transfer per task, grouping candidates and sweep results."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from mtl_core.analysis.affinity import AffinityReport
from mtl_core.viz.colors import DIVERGING, task_colors

ROW_AXIS = "row: task affected"
DASHES = ["solid", "dash", "dot", "dashdot", "longdash"]
COLUMN_AXIS = "column: task acting"


def _finite(values: list[list[float | None]]) -> list[float]:
    return [v for row in values for v in row if v is not None and math.isfinite(v)]


def task_heatmap(
    tasks: list[str],
    values: list[list[float | None]],
    title: str,
    signed: bool = True,
    colorbar: str = "",
) -> go.Figure:
    """Entry [row][column] = effect of the column task on the row task. Signed measures use
    the diverging scale centred at 0, its range set by the off-diagonal entries (the
    diagonal, a task's effect on itself, may saturate; every cell shows its number)."""
    off_diagonal = _finite([[v for j, v in enumerate(row) if j != i]
                            for i, row in enumerate(values)]) or _finite(values) or [1.0]
    text = [["–" if v is None else f"{v:.3g}" for v in row] for row in values]
    z = [[None if v is None else v for v in row] for row in values]
    if signed:
        bound = max(abs(v) for v in off_diagonal) or 1.0
        scale = {"colorscale": DIVERGING, "zmid": 0.0, "zmin": -bound, "zmax": bound}
    else:
        scale = {"colorscale": "Blues", "zmin": 0.0, "zmax": max(1.0, max(_finite(values) or [1]))}
    figure = go.Figure(go.Heatmap(
        z=z, x=tasks, y=tasks, text=text, texttemplate="%{text}", xgap=2, ygap=2,
        hovertemplate="effect of %{x} on %{y}: %{z:.4g}<extra></extra>",
        colorbar={"title": {"text": colorbar}}, **scale))
    figure.update_layout(
        title={"text": title, "font": {"size": 15}}, height=360,
        margin={"t": 50, "b": 70, "l": 90, "r": 20},
        xaxis={"title": COLUMN_AXIS, "side": "bottom", "type": "category"},
        yaxis={"title": ROW_AXIS, "autorange": "reversed", "type": "category"},
    )
    return figure


def epoch_curves(report: AffinityReport, measure: str, title: str) -> go.Figure:
    """Per-epoch value of `measure` for every ordered pair (column task → row task); for the
    symmetric gradient measures, every unordered pair once."""
    colors = task_colors(report.tasks)
    figure = go.Figure()
    symmetric = measure != "lookahead"
    for j, row in enumerate(report.tasks):
        for i, column in enumerate(report.tasks):
            if i == j or (symmetric and i > j):
                continue
            values = [report.per_epoch[e][measure].values[j][i] for e in report.epochs]
            name = f"{column} – {row}" if symmetric else f"{column} → {row}"
            # Colour: the acting task (lookahead) or the second task of the pair; the dash
            # tells apart lines of the same colour.
            figure.add_scatter(x=report.epochs, y=values, mode="lines+markers", name=name,
                               line={"color": colors[row if symmetric else column],
                                     "dash": DASHES[(j if not symmetric else i) % len(DASHES)]})
    figure.add_hline(y=0, line={"color": "#888", "width": 1})
    figure.update_layout(title={"text": title, "font": {"size": 15}}, height=320,
                         xaxis_title="epoch", margin={"t": 50, "b": 40},
                         legend={"orientation": "h", "y": -0.25})
    return figure


def transfer_bars(transfer: dict[str, dict[str, Any]]) -> go.Figure:
    """Per task: relative change of its primary metric, multi-task vs single-task."""
    names = [t for t, v in transfer.items() if v.get("delta") is not None]
    deltas = [transfer[t]["delta"] for t in names]
    figure = go.Figure(go.Bar(
        x=names, y=[100 * d for d in deltas],
        marker_color=["#0072B2" if d >= 0 else "#D55E00" for d in deltas],
        text=[f"{100 * d:+.1f}%" for d in deltas], textposition="outside",
        hovertemplate="%{x}: %{y:+.2f}%<extra></extra>"))
    figure.add_hline(y=0, line={"color": "#444", "width": 1})
    figure.update_layout(title={"text": "Measured transfer: multi-task vs single-task",
                                "font": {"size": 15}},
                         yaxis_title="Δ of primary metric, % (positive = MTL better)",
                         height=320, margin={"t": 50, "b": 40})
    return figure


def transfer_table(transfer: dict[str, dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{"task": t, "metric": v["metric"], "multi-task": v["multi_task"],
                          "single-task": v["single_task"], "Δ (positive = MTL better)":
                          v["delta"]} for t, v in transfer.items()])


def grouping_table(candidates: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per candidate grouping, best first, with its score and each task's score."""
    rows = []
    for rank, candidate in enumerate(candidates, start=1):
        rows.append({"rank": rank,
                     "groups": "  |  ".join(" + ".join(g) for g in candidate["groups"]),
                     "score": candidate["score"],
                     **{f"{task}": value for task, value in candidate["per_task"].items()}})
    return pd.DataFrame(rows)


def sweep_runs_table(report: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"tasks": " + ".join(r["subset"]), "status": r["status"],
                          "run": r["run_id"], "error": r["error"] or ""}
                         for r in report["runs"]])
