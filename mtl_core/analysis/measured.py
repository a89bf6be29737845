"""What a stored run measured per task, read off its summary for the affinity analysis:
the primary metric multi-task vs single-task, the delta with its interval, the verdict and
how much data it rests on (docs/evidence.md). Summaries stored before verdicts existed
still read: without a `verdict` a task is "inconclusive". A stored "helped" or "hurt" from
fewer than `MIN_SEEDS` seeds of either side is read as "inconclusive" too: one seed never
confirms a difference, whatever wrote the summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtl_core.analysis.verdicts import MIN_SEEDS, format_delta, verdict_of
from mtl_core.kinds import kind_names, primary_metric

OLD_SUMMARY = "stored before intervals and verdicts existed: train the run again to get an interval"


@dataclass(frozen=True)
class MeasuredTask:
    task: str
    metric: str
    multi_task: float | None
    single_task: float | None
    delta: float | None  # positive = multi-task better
    delta_ci: tuple[float, float] | None
    verdict: str
    verdict_reason: str
    seeds: int
    baseline_seeds: int
    test_rows: int | None

    @property
    def data_text(self) -> str:
        """'3 seeds, 52 test rows' (both sides' seeds when they differ)."""
        seeds = (
            f"{self.seeds} seed{'s' if self.seeds != 1 else ''}"
            if self.seeds == self.baseline_seeds
            else f"{self.seeds} multi-task / {self.baseline_seeds} single-task seeds"
        )
        rows = f", {self.test_rows} test rows" if self.test_rows is not None else ""
        return seeds + rows

    @property
    def label(self) -> str:
        """'+2.4% [-1.1%, +5.9%] · no detectable difference · 3 seeds, 52 test rows'."""
        return f"{format_delta(self.delta, self.delta_ci)} · {self.verdict} · {self.data_text}"

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "multi_task": self.multi_task,
            "single_task": self.single_task,
            "delta": self.delta,
            "delta_ci": list(self.delta_ci) if self.delta_ci else None,
            "verdict": self.verdict,
            "verdict_reason": self.verdict_reason,
            "seeds": self.seeds,
            "baseline_seeds": self.baseline_seeds,
            "test_rows": self.test_rows,
            "label": self.label,
        }


def _count(noise: dict[str, Any], key: str, task: dict[str, Any], default: int) -> int:
    if isinstance(noise.get(key), int):
        return noise[key]
    runs = task.get(key)
    return len(runs) if isinstance(runs, list) and runs else default


def _read(name: str, task: dict[str, Any]) -> MeasuredTask:
    kind = str(task.get("kind"))
    # (a summary stored before tasks named their metric: the kind's default)
    metric = task.get("primary_metric") or (primary_metric(kind)[0] if kind in kind_names() else "")
    noise = task.get("noise") or {}
    baseline = task.get("baseline_metrics") or {}
    seeds = _count(noise, "seeds", task, 1)
    baseline_seeds = _count(noise, "baseline_seeds", task, 1 if baseline else 0)
    ci = task.get("delta_ci")
    verdict, reason = verdict_of(task), str(task.get("verdict_reason") or "")
    if "verdict" not in task:
        reason = OLD_SUMMARY
    elif verdict in ("helped", "hurt") and min(seeds, baseline_seeds) < MIN_SEEDS:
        verdict, reason = (
            "inconclusive",
            (
                f"stored as '{task['verdict']}' from {min(seeds, baseline_seeds)} seed(s): fewer "
                f"than {MIN_SEEDS} seeds of both never confirm a difference"
            ),
        )
    return MeasuredTask(
        task=name,
        metric=metric,
        multi_task=(task.get("metrics") or {}).get(metric),
        single_task=baseline.get(metric),
        delta=task.get("delta"),
        delta_ci=(float(ci[0]), float(ci[1])) if ci else None,
        verdict=verdict,
        verdict_reason=reason,
        seeds=seeds,
        baseline_seeds=baseline_seeds,
        test_rows=noise.get("test_rows"),
    )


def measured_tasks(summary: dict[str, Any] | None) -> dict[str, MeasuredTask]:
    """Per task of a run summary (new or old), what was measured and its verdict."""
    return {name: _read(name, task) for name, task in ((summary or {}).get("tasks") or {}).items()}


def verdict_map(measured: dict[str, MeasuredTask]) -> dict[str, str]:
    """task -> verdict."""
    return {name: task.verdict for name, task in measured.items()}
