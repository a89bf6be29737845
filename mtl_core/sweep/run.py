"""Run a sweep: plan the subsets, hand them to an engine (the singles first: they are the
single-task baselines the larger subsets compare with), collect each finished run as it
arrives (progress callback with partial results), and keep what finished when stopped."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_core.config import ExperimentConfig, to_dict
from mtl_core.errors import UserError
from mtl_core.runs import RunStore
from mtl_core.sweep.engines import Job, run_local, run_ray
from mtl_core.sweep.plan import chosen_tasks, sweep_subsets
from mtl_core.sweep.worker import StopFlag

ENGINES = ("local", "ray")
# What a subset run's summary says of each task's comparison with its baselines.
TASK_EVIDENCE = ("primary_metric", "delta", "delta_ci", "verdict", "verdict_reason")


@dataclass
class SubsetRun:
    subset: tuple[str, ...]
    status: str  # "completed", "stopped" (by the user, partly trained), "diverged", "failed"
    run_id: str | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The run's metrics per task and, for a group of two or more, each task's delta
        against its single-task baselines, with the interval and verdict."""
        tasks = (self.summary or {}).get("tasks") or {}
        compared = (
            {name: {key: t.get(key) for key in TASK_EVIDENCE} for name, t in tasks.items()}
            if len(self.subset) > 1
            else {}
        )
        return {
            "subset": list(self.subset),
            "status": self.status,
            "run_id": self.run_id,
            "metrics": {name: t["metrics"] for name, t in tasks.items()},
            "baseline_runs": {name: t.get("baseline_runs") for name, t in tasks.items()},
            "tasks": compared,
            "delta_m": (self.summary or {}).get("delta_m"),
            "delta_m_ci": (self.summary or {}).get("delta_m_ci"),
            "error": self.error,
        }


@dataclass
class SweepResult:
    tasks: list[str]
    mode: str
    engine: str
    total: int
    runs: list[SubsetRun] = field(default_factory=list)
    stopped: bool = False

    @property
    def done(self) -> int:
        return len(self.runs)

    def completed(self) -> dict[tuple[str, ...], SubsetRun]:
        return {r.subset: r for r in self.runs if r.status == "completed"}


ProgressHandler = Callable[[SweepResult], None]


def run_sweep(
    config: ExperimentConfig,
    store: RunStore,
    engine: str = "local",
    address: str | None = None,
    on_progress: ProgressHandler | None = None,
    stop: threading.Event | None = None,
) -> SweepResult:
    """Train every planned subset on the full experiment's rows and inputs, each stored as
    its own run in `store` (a single: its baselines, shared with `train`). Returns when all
    finished or, after `stop`, when the running ones have stopped."""
    if engine not in ENGINES:
        raise UserError(f"unknown engine '{engine}' (choose one of: {', '.join(ENGINES)})")
    if address and engine != "ray":
        raise UserError("--address is a Ray cluster address: use it with --engine ray")
    tasks = chosen_tasks(config)
    subsets = sweep_subsets(tasks, config.analysis.sweep)
    full = to_dict(config)
    waves: list[list[Job]] = [
        [(s, full) for s in subsets if len(s) == 1],
        [(s, full) for s in subsets if len(s) > 1],
    ]
    result = SweepResult(tasks, config.analysis.sweep, engine, len(subsets))
    stop = stop or threading.Event()
    with tempfile.TemporaryDirectory(prefix="mtl-sweep-") as folder:
        flag = StopFlag(str(Path(folder) / "stop"))
        workers = config.analysis.sweep_workers
        outcomes = (
            run_ray(waves, str(store.root), flag, stop, workers, address)
            if engine == "ray"
            else run_local(waves, str(store.root), flag, stop, workers)
        )
        for subset, summary, error in outcomes:
            status = "failed" if error or summary is None else summary["status"]
            if status == "skipped":  # reached a worker after the stop: never trained
                continue
            result.runs.append(
                SubsetRun(subset, status, (summary or {}).get("run_id"), summary, error)
            )
            if on_progress:
                on_progress(result)
    result.stopped = stop.is_set()
    return result
