"""What a sweep says: per task, the relative change of its metric when trained with each
partner set instead of alone (Δ, positive = the partners help), and the grouping that
follows — measured for every-subset sweeps, predicted from pairs (HOA, Standley et al.
2020) for pairs sweeps. Works on partial results: only finished runs count."""

from __future__ import annotations

from typing import Any

from mtl_core.analysis.grouping import (
    GroupScores,
    hoa_scores,
    pairwise_group_scores,
    select_groups,
)
from mtl_core.analysis.transfer import task_delta
from mtl_core.sweep.run import SweepResult


def _task(run, name: str) -> dict[str, Any]:
    return run.summary["tasks"][name]


def subset_deltas(result: SweepResult) -> dict[str, dict[tuple[str, ...], float | None]]:
    """Δ_i(G) for every finished group G ∋ i with |G| ≥ 2 whose single run also finished."""
    finished = result.completed()
    deltas: dict[str, dict[tuple[str, ...], float | None]] = {t: {} for t in result.tasks}
    for subset, run in finished.items():
        if len(subset) < 2:
            continue
        for name in subset:
            single = finished.get((name,))
            if single is None:
                continue
            task = _task(run, name)
            deltas[name][subset] = task_delta(task["kind"], task["metrics"],
                                              _task(single, name)["metrics"])
    return deltas


def pair_matrix(result: SweepResult) -> list[list[float | None]]:
    """[row i][column j] = Δ_i({i, j}): the effect of partner j (column) on task i (row)."""
    deltas = subset_deltas(result)
    pairs = {(i, j): deltas[i].get(tuple(t for t in result.tasks if t in (i, j)))
             for i in result.tasks for j in result.tasks if i != j}
    return hoa_scores(result.tasks, pairs)


def _grouping(result: SweepResult, max_groups: int) -> dict[str, Any] | None:
    deltas = subset_deltas(result)
    singles_done = all((t,) in result.completed() for t in result.tasks)
    if not singles_done:
        return None
    if result.mode == "all" and result.done == result.total and not result.stopped:
        scores: GroupScores = {frozenset((t,)): {t: 0.0} for t in result.tasks}
        for task, by_subset in deltas.items():
            for subset, delta in by_subset.items():
                scores.setdefault(frozenset(subset), {})[task] = delta if delta is not None \
                    else 0.0
        method = "measured: every subset was trained; a task alone scores 0"
    else:
        scores = pairwise_group_scores(result.tasks, pair_matrix(result))
        method = ("higher-order approximation (HOA): a task's Δ in a group is the mean of its "
                  "pair Δs with the group's other tasks; unfinished pairs count as 0")
    candidates = select_groups(result.tasks, scores, max_groups, top=10)
    return {"method": method, "candidates": [c.to_json() for c in candidates]}


def sweep_report(result: SweepResult, max_groups: int = 3) -> dict[str, Any]:
    """The `sweep --json` document (also valid for a stopped or running sweep)."""
    deltas = subset_deltas(result)
    matrix = pair_matrix(result)
    helps = {
        task: [partner for partner, delta in zip(result.tasks, row, strict=True)
               if delta is not None and delta > 0]
        for task, row in zip(result.tasks, matrix, strict=True)
    }
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
            task: sorted(({"partners": [t for t in subset if t != task], "delta": delta}
                          for subset, delta in by_subset.items()),
                         key=lambda row: -(row["delta"] if row["delta"] is not None else -1e9))
            for task, by_subset in deltas.items()
        },
        "pair_matrix": {"rows": result.tasks, "columns": result.tasks,
                        "direction": "effect of column task on row task", "values": matrix},
        "helped_by": helps,
        "grouping": _grouping(result, max_groups),
    }
