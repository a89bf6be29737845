"""Which tasks to train together: choose up to b groups that cover every task and maximise
the mean, over tasks, of each task's score in its best group (TAG's `select_groups`, Fifty et
al. 2021; groups may overlap). The search is exhaustive, for at most 9 tasks.

Where the per-group task scores come from:

- **TAG** (`pairwise_group_scores` on a lookahead affinity matrix): task j in group G scores
  mean_{i∈G, i≠j} Z(i→j).
- **HOA** (Standley et al. 2020, `pairwise_group_scores` on measured pair transfer): task i
  in G is predicted from pairs only, mean_{j∈G, j≠i} Δ_i({i, j}), where Δ_i({i, j}) is i's
  relative improvement trained with j over trained alone.
- **Measured** (an every-subset sweep): the Δ_i(G) each group's run achieved.

In every matrix given here, entry [row][column] is the effect of the column task on the row
task. A task alone scores `singleton_score` (default 0: no transfer, so a task is
proposed alone when all its partners hurt it; TAG's code uses −1e6, which never trains a
task alone).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtl_core.errors import UserError

MAX_TASKS = 9
MAX_COMBINATIONS = 30_000_000
GroupScores = dict[frozenset[str], dict[str, float]]


@dataclass
class Grouping:
    groups: list[list[str]]
    score: float  # mean over tasks of the task's score in its best group
    per_task: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"groups": self.groups, "score": self.score, "per_task": self.per_task}


def pairwise_group_scores(
    tasks: list[str], matrix: list[list[float | None]], singleton_score: float = 0.0
) -> GroupScores:
    """Score of every task in every group from pairwise effects: row task's score in G is the
    mean of matrix[row][partner] over its partners in G (unmeasured entries count as 0)."""
    _check_task_count(tasks)
    values = np.array([[0.0 if v is None or not math.isfinite(v) else v for v in row]
                       for row in matrix], dtype=np.float64)
    if values.shape != (len(tasks), len(tasks)):
        raise UserError(f"the affinity matrix is {values.shape}, not {len(tasks)}×{len(tasks)}")
    scores: GroupScores = {}
    for size in range(1, len(tasks) + 1):
        for members in itertools.combinations(range(len(tasks)), size):
            group = frozenset(tasks[m] for m in members)
            scores[group] = {
                tasks[j]: (singleton_score if size == 1 else
                           float(np.mean([values[j, i] for i in members if i != j])))
                for j in members
            }
    return scores


def select_groups(
    tasks: list[str], scores: GroupScores, max_groups: int = 3, top: int = 10
) -> list[Grouping]:
    """The `top` best covering sets of at most `max_groups` groups, best first."""
    _check_task_count(tasks)
    if max_groups < 1:
        raise UserError("the number of groups must be at least 1")
    groups = [g for g in scores if g and g <= set(tasks)]
    table = np.full((len(groups), len(tasks)), -np.inf, dtype=np.float64)
    for row, group in enumerate(groups):
        for task, value in scores[group].items():
            table[row, tasks.index(task)] = value
    combinations = sum(math.comb(len(groups), k) for k in range(1, max_groups + 1))
    if combinations > MAX_COMBINATIONS:
        raise UserError(f"{combinations:,} candidate groupings are too many to search: choose "
                        "fewer tasks or fewer groups")
    best: list[tuple[float, tuple[int, ...]]] = []
    for size in range(1, min(max_groups, len(groups)) + 1):
        found = [item for item in _search(table, size, 4 * top)
                 if not _has_idle_group(table, item[1])]
        best = _keep_top(best + found, top)
    return [_grouping(tasks, groups, table, combo) for _, combo in best]


def _has_idle_group(table: np.ndarray, combo: tuple[int, ...]) -> bool:
    """True when dropping one of the groups changes no task's best score (so the same
    grouping without it is also a candidate)."""
    rows = table[list(combo)]
    for k in range(len(combo) if len(combo) > 1 else 0):
        others = np.delete(rows, k, axis=0).max(axis=0)
        if np.all(others >= rows[k]):
            return True
    return False


def _check_task_count(tasks: list[str]) -> None:
    if len(tasks) > MAX_TASKS:
        raise UserError(f"grouping search is exhaustive and takes at most {MAX_TASKS} tasks; "
                        f"got {len(tasks)}: choose fewer tasks")
    if len(set(tasks)) != len(tasks):
        raise UserError("task names must be unique for grouping")


def _keep_top(items: list[tuple[float, tuple[int, ...]]], top: int):
    return sorted(items, key=lambda item: (-item[0], len(item[1]), item[1]))[:top]


def _search(table: np.ndarray, size: int, top: int) -> list[tuple[float, tuple[int, ...]]]:
    """Best covering sets of exactly `size` groups: prefixes are looped over, the last two
    groups are vectorised (N = 9, b = 3 takes seconds, not minutes)."""
    count, tasks = table.shape
    covers = np.isfinite(table)
    bits = (covers * (1 << np.arange(tasks))).sum(axis=1)
    full = (1 << tasks) - 1
    if size == 1:
        return [(float(table[r].mean()), (r,)) for r in np.flatnonzero(bits == full)]
    finite = np.where(covers, table, -1e30)
    found: list[tuple[float, tuple[int, ...]]] = []
    upper = np.triu(np.ones((count, count), dtype=bool), k=1)
    for prefix in itertools.combinations(range(count), size - 2):
        start = prefix[-1] + 1 if prefix else 0
        base = finite[list(prefix)].max(axis=0) if prefix else np.full(tasks, -1e30)
        base_bits = np.bitwise_or.reduce(bits[list(prefix)]) if prefix else 0
        seconds = np.arange(start, count)
        allowed = upper[seconds] & ((base_bits | bits[seconds][:, None] | bits[None, :]) == full)
        rows, thirds = np.nonzero(allowed)
        if not len(rows):
            continue
        pair = np.maximum(base, finite[seconds])  # [m, N]
        means = np.maximum(pair[rows], finite[thirds]).mean(axis=1)
        keep = np.argpartition(-means, min(top, len(means)) - 1)[:top]
        found = _keep_top(found + [(float(means[k]), (*prefix, int(seconds[rows[k]]),
                                                      int(thirds[k]))) for k in keep], top)
    return found


def _grouping(tasks, groups, table, combo) -> Grouping:
    rows = table[list(combo)]
    per_task = {task: float(rows[:, k].max()) for k, task in enumerate(tasks)}
    members = [sorted(groups[r], key=tasks.index) for r in combo]
    members.sort(key=lambda g: (tasks.index(g[0]), len(g)))
    return Grouping(members, float(np.mean(list(per_task.values()))), per_task)


def tag_grouping(
    tasks: list[str], lookahead: list[list[float | None]], max_groups: int = 3, top: int = 10,
    singleton_score: float = 0.0,
) -> list[Grouping]:
    """TAG: groups from a lookahead affinity matrix ([row j][column i] = Z(i→j))."""
    return select_groups(tasks, pairwise_group_scores(tasks, lookahead, singleton_score),
                         max_groups, top)


def hoa_scores(
    tasks: list[str], pair_delta: dict[tuple[str, str], float | None]
) -> list[list[float | None]]:
    """The HOA matrix from pair runs: [row i][column j] = Δ_i({i, j}), i's relative
    improvement (positive = better) when trained with j instead of alone."""
    return [[None if i == j else pair_delta.get((i, j)) for j in tasks] for i in tasks]
