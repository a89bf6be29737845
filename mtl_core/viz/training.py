"""Figures, tables and text for a training run: per-task loss curves, the metrics table and
where its time went."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from mtl_core.analysis.verdicts import format_delta, verdict_of
from mtl_core.viz.colors import task_colors


def epoch_axis(last_epoch: int) -> dict[str, Any]:
    """An x axis of whole epochs (no 1.5), about ten ticks at most."""
    return {"title": "epoch", "tick0": 1, "dtick": max(1, -(-last_epoch // 10))}


def times_text(summary: dict[str, Any]) -> str:
    """ "completed in 14.2 s: 1.1 s data, 6.0 s multi-task (3 seeds), 6.5 s baselines, 0.2 s
    comparison": the run's wall time and its parts (baselines only when it trained some);
    for a run stored before the summary had `times`, the multi-task model's seconds."""
    status = summary["status"]
    times = summary.get("times")
    if not times:
        return f"{status} in {summary['seconds']:.1f} s (the multi-task model)"
    seeds = summary["noise"]["seeds"]
    parts = [
        f"{times['preparation']:.1f} s data",
        f"{times['multi_task']:.1f} s multi-task ({seeds} seed{'s' if seeds > 1 else ''})",
    ]
    if summary["noise"]["baseline_seeds"]:
        parts.append(f"{times['baselines']:.1f} s baselines")
    parts.append(f"{times['comparison']:.1f} s comparison")
    return f"{status} in {times['wall']:.1f} s: {', '.join(parts)}"


def loss_curves(history: list[dict[str, Any]], task_names: list[str]) -> go.Figure:
    """Train (dashed) and validation (solid) loss per task over epochs."""
    colors = task_colors(task_names)
    figure = go.Figure()
    epochs = [h["epoch"] for h in history]
    for name in task_names:
        figure.add_scatter(
            x=epochs,
            y=[h["train_loss"][name] for h in history],
            mode="lines",
            name=f"{name} (train)",
            line={"color": colors[name], "dash": "dash"},
        )
        figure.add_scatter(
            x=epochs,
            y=[h["val"][name]["loss"] for h in history],
            mode="lines",
            name=f"{name} (validation)",
            line={"color": colors[name]},
        )
    figure.update_layout(
        xaxis=epoch_axis(max(epochs, default=1)),
        yaxis_title="loss (per task, own scale)",
        yaxis_type="log",
        height=380,
        margin={"t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def metrics_table(summary: dict[str, Any]) -> pd.DataFrame:
    """One row per metric of each task: the multi-task value and, when single-task baselines
    were trained, the baseline's (no empty baseline column otherwise)."""
    rows = []
    for name, task in summary["tasks"].items():
        base = task.get("baseline_metrics") or {}
        for metric, value in task["metrics"].items():
            if metric == "loss":
                continue
            row = {"task": name, "kind": task["kind"], "metric": metric, "multi-task": value}
            if base:
                row["single-task"] = base.get(metric)
            if task.get("baseline_std") and len(task.get("baseline_seeds") or []) > 1:
                row["single-task std (seeds)"] = task["baseline_std"].get(metric)
            rows.append(row)
    return pd.DataFrame(rows)


def compare_curves(histories: dict[str, list[dict[str, Any]]]) -> go.Figure:
    """Validation loss per task over epochs, one line style per run, overlaid."""
    names = list(dict.fromkeys(t for h in histories.values() if h for t in h[-1]["val"]))
    colors = task_colors(names)
    dashes = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
    figure = go.Figure()
    for i, (run_id, history) in enumerate(histories.items()):
        for name in names:
            points = [(h["epoch"], h["val"][name]["loss"]) for h in history if name in h["val"]]
            if points:
                figure.add_scatter(
                    x=[p[0] for p in points],
                    y=[p[1] for p in points],
                    mode="lines",
                    name=f"{name} · {run_id}",
                    line={"color": colors[name], "dash": dashes[i % len(dashes)]},
                )
    last = max((row["epoch"] for history in histories.values() for row in history), default=1)
    figure.update_layout(
        xaxis=epoch_axis(last),
        yaxis_title="validation loss (per task)",
        yaxis_type="log",
        height=420,
        margin={"t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def compare_table(summaries: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Metrics side by side: one row per task and metric, one column per run; then Δm and
    what each run cost (training seconds, milliseconds per step: a weighting method's price
    on this data and machine)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for run_id, summary in summaries.items():
        summary = summary or {}
        for name, task in summary.get("tasks", {}).items():
            for metric, value in task["metrics"].items():
                rows.setdefault((name, metric), {"task": name, "metric": metric})[run_id] = value
        speed = summary.get("steps_per_second")
        low, high = summary.get("delta_m_ci") or (None, None)
        for metric, value in (
            ("Δm", summary.get("delta_m")),
            ("Δm 95% low", low),
            ("Δm 95% high", high),
            ("training seconds", summary.get("seconds")),
            ("ms per step, evaluation included", 1000 / speed if speed else None),
        ):
            rows.setdefault(("all", metric), {"task": "all", "metric": metric})[run_id] = value
    return pd.DataFrame(list(rows.values()))


def compare_verdicts(summaries: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Per task, each run's verdict and delta with its interval (text), then Δm's."""
    rows: dict[str, dict[str, Any]] = {}
    for run_id, summary in summaries.items():
        summary = summary or {}
        for name, task in summary.get("tasks", {}).items():
            rows.setdefault(name, {"task": name})[run_id] = (
                f"{verdict_of(task)} · {format_delta(task.get('delta'), task.get('delta_ci'))}"
            )
        rows.setdefault("Δm", {"task": "Δm"})[run_id] = format_delta(
            summary.get("delta_m"), summary.get("delta_m_ci")
        )
    return pd.DataFrame(list(rows.values()))
