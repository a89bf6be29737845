"""Figures for the Data page: label distribution per task and the task-to-task label
association heatmap (diverging scale centred at 0: correlations are signed, Cramér's V and
the correlation ratio are 0..1)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from mtl_core.kinds import get_kind
from mtl_core.viz.colors import DIVERGING


def label_distribution(stats: dict[str, Any], color: str) -> go.Figure:
    """Class counts of a classification task, or a histogram of a regression target."""
    distribution, kind = stats["distribution"], get_kind(stats["kind"])
    figure = go.Figure()
    if not kind.is_classification and "histogram" in distribution:
        edges = distribution["histogram"]["edges"]
        centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        figure.add_bar(
            x=centres,
            y=distribution["histogram"]["counts"],
            marker_color=color,
            width=edges[1] - edges[0] if len(edges) > 1 else None,
        )
        figure.update_layout(xaxis_title=stats["column"])
    else:
        figure.add_bar(
            x=[str(k) for k in distribution], y=list(distribution.values()), marker_color=color
        )
        figure.update_layout(xaxis_title="class", xaxis_type="category")
    figure.update_layout(
        title=f"{stats['task']} ({kind.label}, {stats['labelled']:,} labelled)",
        yaxis_title="rows",
        height=280,
        margin={"t": 40, "b": 40, "l": 50, "r": 10},
        showlegend=False,
    )
    return figure


def association_heatmap(association: dict[str, Any]) -> go.Figure:
    """Task x task association; empty cells have too few rows labelled for both tasks."""
    names = association["tasks"]
    values = [[float("nan") if v is None else v for v in row] for row in association["values"]]
    text = [["" if v is None else f"{v:.2f}" for v in row] for row in association["values"]]
    hover = [
        [
            f"{a} vs {b}<br>{method}<br>{n:,} rows labelled for both"
            for b, method, n in zip(names, methods, shared, strict=True)
        ]
        for a, methods, shared in zip(
            names, association["methods"], association["shared_rows"], strict=True
        )
    ]
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=names,
            y=names,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=DIVERGING,
            zmid=0.0,
            zmin=-1.0,
            zmax=1.0,
            colorbar={"title": "association"},
        )
    )
    side = max(300, 60 * len(names) + 120)
    figure.update_layout(
        height=side, margin={"t": 30, "b": 40, "l": 40, "r": 10}, yaxis_autorange="reversed"
    )
    return figure
