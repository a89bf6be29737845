"""What a sweep says: per task, the relative change of its primary metric when trained with
each partner set instead of alone (Δ, positive = the partners help), with the interval and
verdict of the subset run's own comparison against the task's single-task baselines (the
same baselines `train` uses), and the grouping that follows: measured for a finished
every-subset sweep, else from the measured pairs by Standley et al.'s higher-order
approximation. Works on partial results: only finished runs count."""

from __future__ import annotations

import math
from typing import Any

from mtl_core.analysis.grouping import (
    GroupScores,
    hoa_scores,
    pairwise_group_scores,
    select_groups,
)
from mtl_core.sweep.run import SweepResult

Evidence = dict[str, Any]  # delta, delta_ci, verdict, verdict_reason, run_id
HOA_METHOD = (
    "from measured pairs (higher-order approximation, Standley et al. 2020): a "
    "task's Δ in a group is the mean of its measured pair Δs with the group's other "
    "tasks; a Δ whose 95% interval contains 0, and a pair not finished, count as 0"
)
MEASURED_METHOD = (
    "measured: every subset was trained; a task alone scores 0, and so does "
    "a Δ whose 95% interval contains 0"
)


def subset_evidence(result: SweepResult) -> dict[str, dict[tuple[str, ...], Evidence]]:
    """Per task i, for every finished group G ∋ i with |G| ≥ 2: Δ_i(G) with its interval
    and verdict, as the group's run compared i with its single-task baselines."""
    found: dict[str, dict[tuple[str, ...], Evidence]] = {t: {} for t in result.tasks}
    for subset, run in result.completed().items():
        if len(subset) < 2 or run.summary is None:
            continue
        for name in subset:
            task = run.summary["tasks"][name]
            found[name][subset] = {
                "delta": task.get("delta"),
                "delta_ci": task.get("delta_ci"),
                "verdict": task.get("verdict", "inconclusive"),
                "verdict_reason": task.get("verdict_reason"),
                "run_id": run.run_id,
            }
    return found


def _pair(result: SweepResult, i: str, j: str) -> tuple[str, ...]:
    return tuple(t for t in result.tasks if t in (i, j))


def beyond_noise(found: Evidence | None) -> float | None:
    """A measured Δ where its interval excludes 0, else 0 (within noise); None if unknown:
    what grouping scores, so that noise never decides a group."""
    if not found or found.get("delta") is None:
        return None
    low, high = found.get("delta_ci") or (-math.inf, math.inf)
    return 0.0 if low <= 0 <= high else float(found["delta"])


def _scored_pairs(result: SweepResult) -> list[list[float | None]]:
    evidence = subset_evidence(result)
    pairs = {
        (i, j): beyond_noise(evidence[i].get(_pair(result, i, j)))
        for i in result.tasks
        for j in result.tasks
        if i != j
    }
    return hoa_scores(result.tasks, pairs)


def pair_matrix(result: SweepResult, field: str = "delta") -> list[list[Any]]:
    """[row i][column j] = Δ_i({i, j}) (or its `field`: "delta_ci", "verdict"): the effect
    of partner j (column) on task i (row); None where that pair has not finished."""
    evidence = subset_evidence(result)
    pairs = {
        (i, j): (evidence[i].get(_pair(result, i, j)) or {}).get(field)
        for i in result.tasks
        for j in result.tasks
        if i != j
    }
    return hoa_scores(result.tasks, pairs)


def _unlearnable(evidence: dict[str, dict[tuple[str, ...], Evidence]]) -> list[str]:
    """Tasks that every finished run with them found unlearnable."""
    return [
        task
        for task, by_subset in evidence.items()
        if by_subset and all(e["verdict"] == "unlearnable" for e in by_subset.values())
    ]


def _grouping(result: SweepResult, max_groups: int | None) -> dict[str, Any] | None:
    evidence = subset_evidence(result)
    if not any(evidence.values()):
        return None
    if result.mode == "all" and result.done == result.total and not result.stopped:
        scores: GroupScores = {frozenset((t,)): {t: 0.0} for t in result.tasks}
        for task, by_subset in evidence.items():
            for subset, found in by_subset.items():
                delta = beyond_noise(found)
                scores.setdefault(frozenset(subset), {})[task] = 0.0 if delta is None else delta
        method = MEASURED_METHOD
    else:
        scores = pairwise_group_scores(result.tasks, _scored_pairs(result))
        method = HOA_METHOD
    candidates = select_groups(
        result.tasks, scores, max_groups, top=10, unlearnable=_unlearnable(evidence)
    )
    return {"method": method, "candidates": [c.to_json() for c in candidates]}


def transfer_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per task and partner set of a sweep report: Δ, its interval, the verdict."""

    def interval(ci: list[float] | None) -> str:
        return f"[{ci[0]:+.1%}, {ci[1]:+.1%}]" if ci else "none"

    return [
        {
            "task": task,
            "partners": " + ".join(row["partners"]),
            "delta": row["delta"],
            "delta_ci": interval(row["delta_ci"]),
            "verdict": row["verdict"],
        }
        for task, rows in report["transfer"].items()
        for row in rows
    ]


def sweep_report(result: SweepResult, max_groups: int | None = 3) -> dict[str, Any]:
    """The `sweep --json` document (also valid for a stopped or running sweep)."""
    evidence = subset_evidence(result)
    verdicts = pair_matrix(result, "verdict")

    def partners(row: list[Any], verdict: str) -> list[str]:
        return [p for p, found in zip(result.tasks, row, strict=True) if found == verdict]

    return {
        "tasks": result.tasks,
        "mode": result.mode,
        "engine": result.engine,
        "total": result.total,
        "done": result.done,
        "stopped": result.stopped,
        "runs": [r.to_json() for r in result.runs],
        "delta_sign": "positive = the task is better with these partners than alone",
        "transfer": {
            task: sorted(
                (
                    {"partners": [t for t in subset if t != task], **found}
                    for subset, found in by_subset.items()
                ),
                key=lambda row: -(row["delta"] if row["delta"] is not None else -1e9),
            )
            for task, by_subset in evidence.items()
        },
        "pair_matrix": {
            "rows": result.tasks,
            "columns": result.tasks,
            "direction": "effect of column task on row task",
            "values": pair_matrix(result),
            "intervals": pair_matrix(result, "delta_ci"),
            "verdicts": verdicts,
        },
        "helped_by": {
            task: partners(row, "helped") for task, row in zip(result.tasks, verdicts, strict=True)
        },
        "hurt_by": {
            task: partners(row, "hurt") for task, row in zip(result.tasks, verdicts, strict=True)
        },
        "grouping": _grouping(result, max_groups),
    }
