"""Measured transfer: per-task relative delta of the MTL model against its single-task
baseline, and Δm (Vandenhende et al., TPAMI 2021). Sign: positive = MTL better."""

from __future__ import annotations

from mtl_core.data.tasks import TaskSpec
from mtl_core.train.metrics import PRIMARY


def task_delta(kind: str, mtl: dict[str, float], baseline: dict[str, float]) -> float | None:
    """(-1)^l (M_mtl - M_base) / |M_base| on the kind's primary metric; None if unknown."""
    metric, higher_is_better = PRIMARY[kind]
    if metric not in mtl or metric not in baseline or baseline[metric] == 0:
        return None
    relative = (mtl[metric] - baseline[metric]) / abs(baseline[metric])
    return relative if higher_is_better else -relative


def delta_m(deltas: list[float | None]) -> float | None:
    """Mean of the per-task deltas (positive = MTL better on average)."""
    known = [d for d in deltas if d is not None]
    return sum(known) / len(known) if known else None


def transfer_warnings(tasks: list[TaskSpec], deltas: dict[str, float | None]) -> list[str]:
    """Negative transfer measured against the baseline (one seed: worse, not yet confirmed
    beyond seed noise)."""
    warnings = []
    for task in tasks:
        delta = deltas.get(task.name)
        if delta is not None and delta < 0:
            metric = PRIMARY[task.kind][0]
            warnings.append(
                f"negative transfer on '{task.name}': its test {metric} is {abs(delta):.1%} worse "
                "than its single-task baseline. Try a lower weight for it, another weighting "
                "method, soft sharing or MMoE, or train it apart"
            )
    return warnings
