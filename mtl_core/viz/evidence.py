"""How a comparison is shown (pages and CLI alike): a delta with its interval, and one
row per task with its verdict, the numbers it rests on and how much data they come from."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mtl_core.analysis.verdicts import format_delta, verdict_of


def _value(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def verdict_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per task: verdict, primary metric multi-task vs single-task, delta with its 95%
    interval, seeds and labelled test rows."""
    rows = []
    for name, task in (summary.get("tasks") or {}).items():
        metric = task.get("primary_metric") or next(
            (m for m in task.get("metrics", {}) if m != "loss"), ""
        )
        noise = task.get("noise") or {}
        base = task.get("baseline_metrics") or {}
        rows.append(
            {
                "task": name,
                "verdict": verdict_of(task),
                "metric": metric,
                "multi-task": _value(task.get("metrics", {}).get(metric)),
                "single-task": _value(base.get(metric)),
                "delta [95% interval]": format_delta(task.get("delta"), task.get("delta_ci")),
                "seeds (multi / single)": f"{noise.get('seeds', 1)} / {noise.get('baseline_seeds', 0)}",
                "test rows": noise.get("test_rows"),
            }
        )
    return rows


def verdict_table(summary: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(verdict_rows(summary))


def delta_m_text(summary: dict[str, Any]) -> str:
    """'Δm +1.2% [−0.8%, +3.1%]' for a run, as every page prints it."""
    return f"Δm {format_delta(summary.get('delta_m'), summary.get('delta_m_ci'))}"
