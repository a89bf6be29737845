"""The run summary: DESIGN.md's `train --json` document, with each task's delta, its
interval and its verdict (docs/evidence.md)."""

from __future__ import annotations

import statistics
from typing import Any

from mtl_core.analysis.bootstrap import RunEvidence, TaskEvidence
from mtl_core.analysis.verdicts import task_verdict
from mtl_core.data.prepare import PreparedData
from mtl_core.experiment.baselines import BaselineRun, baseline_json
from mtl_core.train.loop import TrainResult

Metrics = dict[str, dict[str, dict[str, float]]]


def mean_metrics(per_seed: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over seeds (the metrics every seed has)."""
    names = [m for m in per_seed[0] if all(m in seed for seed in per_seed)]
    return {m: statistics.fmean(seed[m] for seed in per_seed) for m in names}


def _interval(ci: tuple[float, float] | None) -> list[float] | None:
    return [ci[0], ci[1]] if ci else None


def _noise_json(evidence: TaskEvidence, resamples: int) -> dict[str, Any]:
    return {
        "seeds": evidence.seeds,
        "baseline_seeds": evidence.baseline_seeds,
        "test_rows": evidence.test_rows,
        "bootstrap": resamples,
        "bootstrap_ci": _interval(evidence.bootstrap_ci),
        "seed_ci": _interval(evidence.seed_ci),
    }


def task_json(
    task: Any,
    split: str,
    seeds: list[Metrics],
    baselines: list[BaselineRun],
    evidence: TaskEvidence,
    resamples: int,
) -> dict[str, Any]:
    """One task's entry: metrics (means over seeds), baseline, delta, interval, verdict."""
    per_seed = [metrics[split][task.name] for metrics in seeds]
    entry: dict[str, Any] = {
        "kind": task.kind,
        "definition": task.definition,
        "primary_metric": task.metric,
        "metrics": mean_metrics(per_seed),
        "baseline_metrics": (
            mean_metrics([b.metrics[split][task.name] for b in baselines]) if baselines else None
        ),
        "delta": evidence.delta,
        "delta_ci": _interval(evidence.delta_ci),
        "seeds": per_seed,
        "noise": _noise_json(evidence, resamples),
    }
    verdict = task_verdict(evidence)
    entry.update(verdict=verdict.verdict, verdict_reason=verdict.reason)
    if baselines:
        entry.update(baseline_json(baselines, split))
    return entry


def summarise(
    run_id: str | None,
    data: PreparedData,
    result: TrainResult,
    split: str,
    seeds: list[Metrics],
    baselines: dict[str, list[BaselineRun]],
    evidence: RunEvidence,
    seeds_reason: str,
    times: dict[str, float],
) -> dict[str, Any]:
    """The JSON document of DESIGN.md's `train --json` contract. `times`: the seconds of the
    run's parts and its `wall` time (`experiment.run.TIME_PARTS`)."""
    tasks = {
        task.name: task_json(
            task,
            split,
            seeds,
            baselines.get(task.name, []),
            evidence.tasks[task.name],
            evidence.resamples,
        )
        for task in data.tasks
    }
    return {
        "run_id": run_id,
        "status": result.status,
        "device": result.device,
        "seconds": round(result.seconds, 3),
        "wall_seconds": times["wall"],
        "times": times,
        "steps_per_second": round(result.steps_per_second, 2),
        "threads": result.threads,
        "split": split,
        "tasks": tasks,
        "delta_m": evidence.delta_m,
        "delta_m_ci": _interval(evidence.delta_m_ci),
        "noise": {
            "seeds": len(seeds),
            "baseline_seeds": max((len(b) for b in baselines.values()), default=0),
            "test_rows": len(data.splits[split]),
            "bootstrap": evidence.resamples,
            "bootstrap_ci": _interval(evidence.bootstrap_ci),
            "seed_ci": _interval(evidence.seed_ci),
            "seeds_reason": seeds_reason,
        },
        "warnings": [],
        "message": result.message,
    }
