"""Figures and tables of the Affinity page, drawn so they cannot mislead: task × task
heatmaps with task names on both axes and the direction labelled, the diagonal (a task's
effect on itself) greyed rather than coloured by its value, the gradient cosine on its
fixed scale [−1, 1], signed measures on a diverging scale symmetric about 0 whose range
comes from the off-diagonal entries only; curves over epochs as small multiples beyond 3
tasks; measured transfer with its intervals, coloured by verdict; the compact pair table;
grouping candidates with their reasons; sweep results."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mtl_core.analysis.affinity import (
    CONTRADICTED,
    SIGNAL,
    UNLEARNABLE,
    UNMEASURED,
    WITHIN_NOISE,
    AffinityReport,
)
from mtl_core.analysis.measured import MeasuredTask
from mtl_core.analysis.verdicts import format_delta
from mtl_core.viz.colors import DIVERGING, task_colors

ROW_AXIS = "row: task affected"
COLUMN_AXIS = "column: task acting"
DIAGONAL_GREY = "#d9d9d9"
FIXED_RANGES = {
    "cosine": (-1.0, 1.0),
    "conflict_rate": (0.0, 1.0),
    "magnitude_similarity": (0.0, 1.0),
}
MAX_OVERLAID = 3  # beyond this many tasks, per-epoch curves become small multiples
VERDICT_COLORS = {
    "helped": "#0072B2",
    "hurt": "#D55E00",
    "no detectable difference": "#999999",
    "unlearnable": "#CCCCCC",
    "inconclusive": "#BBBBBB",
}


def _finite(values: list[list[float | None]]) -> list[float]:
    return [v for row in values for v in row if v is not None and math.isfinite(v)]


def task_heatmap(
    tasks: list[str],
    values: list[list[float | None]],
    title: str,
    signed: bool = True,
    colorbar: str = "",
    zrange: tuple[float, float] | None = None,
) -> go.Figure:
    """Entry [row][column] = effect of the column task on the row task; every cell shows its
    number. The colour range is `zrange` when given (a measure's fixed scale), else for
    signed measures symmetric about 0 and set by the off-diagonal entries, for unsigned ones
    [0, max(1, largest off-diagonal)]. The diagonal is grey: not part of the scale."""
    off = [[None if i == j else v for j, v in enumerate(row)] for i, row in enumerate(values)]
    text = [["–" if v is None else f"{v:.3g}" for v in row] for row in values]
    if zrange is not None:
        low, high = zrange
    elif signed:
        high = max((abs(v) for v in _finite(off)), default=0.0) or 1.0
        low = -high
    else:
        low, high = 0.0, max(1.0, max(_finite(off), default=1.0))
    scale: dict[str, Any] = {
        "colorscale": DIVERGING if signed else "Blues",
        "zmin": low,
        "zmax": high,
    }
    if signed:
        scale["zmid"] = (low + high) / 2
    figure = go.Figure(
        go.Heatmap(
            z=off,
            x=tasks,
            y=tasks,
            text=text,
            texttemplate="%{text}",
            xgap=2,
            ygap=2,
            hovertemplate="effect of %{x} on %{y}: %{z:.4g}<extra></extra>",
            colorbar={"title": {"text": colorbar}},
            **scale,
        )
    )
    diagonal = [[v if i == j else None for j, v in enumerate(row)] for i, row in enumerate(values)]
    figure.add_heatmap(
        z=[[0.0 if i == j else None for j in range(len(tasks))] for i in range(len(tasks))],
        x=tasks,
        y=tasks,
        text=[["" if v is None else f"{v:.3g}" for v in row] for row in diagonal],
        texttemplate="%{text}",
        xgap=2,
        ygap=2,
        showscale=False,
        zmin=0,
        zmax=1,
        colorscale=[[0, DIAGONAL_GREY], [1, DIAGONAL_GREY]],
        hovertemplate="%{y} on itself: %{text} (not on the colour scale)<extra></extra>",
    )
    figure.update_layout(
        title={"text": title, "font": {"size": 15}},
        height=360,
        margin={"t": 50, "b": 70, "l": 90, "r": 20},
        xaxis={"title": COLUMN_AXIS, "side": "bottom", "type": "category"},
        yaxis={"title": ROW_AXIS, "autorange": "reversed", "type": "category"},
    )
    return figure


def measure_heatmap(
    tasks: list[str], measure: str, values: list[list[float | None]], title: str, colorbar: str = ""
) -> go.Figure:
    """`task_heatmap` with the measure's own scale: cosine on [−1, 1], rates and
    similarities on [0, 1], lookahead (or any other) symmetric about 0."""
    return task_heatmap(
        tasks,
        values,
        title,
        signed=measure in ("lookahead", "cosine"),
        colorbar=colorbar,
        zrange=FIXED_RANGES.get(measure),
    )


def epoch_curves(report: AffinityReport, measure: str, title: str) -> go.Figure:
    """Per-epoch value of `measure`: one panel per affected task (lookahead: the effect of
    each other task on it; gradient measures: its relation to each other task), each line in
    the partner's colour. Up to 3 tasks the panels are overlaid in one chart."""
    tasks, colors = report.tasks, task_colors(report.tasks)
    symmetric = measure != "lookahead"
    panels = len(tasks) > MAX_OVERLAID
    columns = min(3, len(tasks))
    rows = math.ceil(len(tasks) / columns) if panels else 1
    titles = [f"{'with' if symmetric else 'onto'} {t}" for t in tasks] if panels else None
    figure = make_subplots(
        rows=rows,
        cols=columns if panels else 1,
        subplot_titles=titles,
        shared_xaxes=True,
        shared_yaxes=True,
        vertical_spacing=0.12,
    )
    shown: set[str] = set()
    for j, row in enumerate(tasks):
        for i, column in enumerate(tasks):
            if i == j or (symmetric and not panels and i > j):
                continue
            values = [report.per_epoch[e][measure].values[j][i] for e in report.epochs]
            if panels:
                name, where = column, {"row": j // columns + 1, "col": j % columns + 1}
            else:
                name = f"{column} – {row}" if symmetric else f"{column} → {row}"
                where = {"row": 1, "col": 1}
            legend = name not in shown
            shown.add(name)
            pair = f"{column} – {row}" if symmetric else f"{column} → {row}"
            figure.add_scatter(
                x=report.epochs,
                y=values,
                mode="lines+markers",
                name=name,
                legendgroup=name,
                showlegend=legend,
                # Overlaid, lines of one colour (the acting or first
                # task) differ by the dash (the other task).
                line={
                    "color": colors[column],
                    "dash": "solid" if panels else ["solid", "dash", "dot"][j % 3],
                },
                hovertemplate=f"{pair}, epoch %{{x}}: %{{y:.4g}}<extra></extra>",
                **where,
            )
    figure.add_hline(y=0, line={"color": "#888", "width": 1})
    figure.update_layout(
        title={"text": title, "font": {"size": 15}},
        height=340 if not panels else 80 + 220 * rows,
        margin={"t": 70 if panels else 50, "b": 40},
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -0.3 if not panels else -0.4 / rows,
            "title": {"text": "partner" if panels else ""},
        },
    )
    figure.update_xaxes(title_text="epoch", row=rows)
    if measure in FIXED_RANGES:  # the measure's own scale, as in its heatmap
        low, high = FIXED_RANGES[measure]
        figure.update_yaxes(range=[low - 0.05, high + 0.05])
    return figure


def transfer_bars(measured: dict[str, MeasuredTask]) -> go.Figure:
    """Per task: relative change of its primary metric, multi-task vs single-task, with its
    95% interval, coloured by verdict (not by the sign of the point estimate)."""
    tasks = [t for t in measured.values() if t.delta is not None]
    deltas = [t.delta or 0.0 for t in tasks]
    ranges = [t.delta_ci or (d, d) for t, d in zip(tasks, deltas, strict=True)]
    upper = [100 * (high - d) for (_, high), d in zip(ranges, deltas, strict=True)]
    lower = [100 * (d - low) for (low, _), d in zip(ranges, deltas, strict=True)]
    figure = go.Figure(
        go.Bar(
            x=[t.task for t in tasks],
            y=[100 * d for d in deltas],
            marker_color=[VERDICT_COLORS.get(t.verdict, "#BBBBBB") for t in tasks],
            error_y={
                "type": "data",
                "array": upper,
                "arrayminus": lower,
                "visible": True,
                "color": "#444",
            },
            text=[t.verdict for t in tasks],
            textposition="outside",
            customdata=[t.label for t in tasks],
            hovertemplate="%{x}: %{customdata}<extra></extra>",
        )
    )
    figure.add_hline(y=0, line={"color": "#444", "width": 1})
    figure.update_layout(
        title={"text": "Measured transfer: multi-task vs single-task", "font": {"size": 15}},
        yaxis_title="Δ of primary metric, % (positive = MTL better)",
        height=340,
        margin={"t": 50, "b": 40},
    )
    return figure


def transfer_table(measured: dict[str, MeasuredTask]) -> pd.DataFrame:
    """One row per task: verdict, Δ with interval, the data it rests on, the metric values."""
    return pd.DataFrame(
        [
            {
                "task": t.task,
                "verdict": t.verdict,
                "Δ [95% interval]": format_delta(t.delta, t.delta_ci),
                "data": t.data_text,
                "metric": t.metric,
                "multi-task": t.multi_task,
                "single-task": t.single_task,
                "why": t.verdict_reason,
            }
            for t in measured.values()
        ]
    )


def _pm(value: float | None, se: float | None, status: str | None = None) -> str:
    if value is None:
        return "–"
    text = f"{value:+.3g}" + (f" ± {se:.2g}" if se is not None else "")
    return text if status is None else f"{text} · {status}"


def pair_rows(pairs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The compact task × task table as text cells: per pair, mean ± SE and each status."""
    rows = []
    for p in pairs:
        a, b = p["first"], p["second"]
        statuses = [
            p["conflict_status"],
            p["lookahead_first_to_second_status"],
            p["lookahead_second_to_first_status"],
        ]
        reading = next(
            (s for s in (SIGNAL, CONTRADICTED, UNLEARNABLE, WITHIN_NOISE) if s in statuses),
            UNMEASURED,
        )
        rows.append(
            {
                "pair": f"{a} – {b}",
                "status": reading,
                "Z(first → second)": _pm(
                    p["lookahead_first_to_second"],
                    p["lookahead_first_to_second_se"],
                    p["lookahead_first_to_second_status"],
                ),
                "Z(second → first)": _pm(
                    p["lookahead_second_to_first"],
                    p["lookahead_second_to_first_se"],
                    p["lookahead_second_to_first_status"],
                ),
                "conflict rate": "–"
                if p["conflict_rate"] is None
                else f"{p['conflict_rate']:.0%} ± {p['conflict_rate_se'] or 0:.0%} · "
                f"{p['conflict_status']}",
                "gradient cosine": _pm(p["cosine"], p["cosine_se"]),
            }
        )
    return rows


def pair_frame(pairs: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(pair_rows(pairs))


def grouping_table(candidates: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per candidate grouping, best first, with its score, each task's score and the
    reason for each group."""
    rows = []
    for rank, candidate in enumerate(candidates, start=1):
        rows.append(
            {
                "rank": rank,
                "groups": "  |  ".join(" + ".join(g) for g in candidate["groups"]),
                "score": candidate["score"],
                **{f"{task}": value for task, value in candidate["per_task"].items()},
                "why": " · ".join(candidate.get("reasons") or []),
            }
        )
    return pd.DataFrame(rows)


def sweep_runs_table(report: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "tasks": " + ".join(r["subset"]),
                "status": r["status"],
                "run": r["run_id"],
                "error": r["error"] or "",
            }
            for r in report["runs"]
        ]
    )
