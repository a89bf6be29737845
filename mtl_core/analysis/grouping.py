"""Which tasks to train together. A suggestion is by default a **partition** (each task in
exactly one group, one network per group), found by exhaustive search over the set
partitions of at most `max_groups` groups (default: as many as there are tasks, Bell(9) =
21,147 partitions for 9 tasks). TAG's covering sets (Fifty et al. 2021, `select_groups`:
groups may overlap, each task takes its best group) are an option (`overlap=True`).
Candidates are ranked by the mean, over tasks, of each task's score in its (best) group.

What may be suggested:

- **"each alone" is always a candidate**, even beyond the group limit: it is what training
  without multi-task learning gives, the reference every grouping must beat;
- a task joins a group of two or more only if its score there is at least what it scores
  alone (`singleton_score`, default 0), and the group must gain: its mean score is above
  that. So with the default no group with a negative score is ever suggested: the task goes
  alone. (TAG's code scores a task alone −1e6, which puts every task in some group.)
- a task in `unlearnable` (its measured verdict) is always alone.

Where the per-group task scores come from:

- **TAG** (`pairwise_group_scores` on a lookahead affinity matrix): task j in group G scores
  mean_{i∈G, i≠j} Z(i→j); `tag_grouping` given the standard errors first sets every entry
  within noise (`mtl_core.analysis.affinity.lookahead_is_signal`) to 0 and says for each
  group why, with the numbers.
- **HOA** (Standley et al. 2020, `pairwise_group_scores` on measured pair transfer): task i
  in G is predicted from pairs only, mean_{j∈G, j≠i} Δ_i({i, j}), where Δ_i({i, j}) is i's
  relative improvement trained with j over trained alone.
- **Measured** (an every-subset sweep): the Δ_i(G) each group's run achieved.

In every matrix given here, entry [row][column] is the effect of the column task on the row
task.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_core.analysis.affinity import MIN_PROBES, significant_lookahead
from mtl_core.errors import UserError

MAX_TASKS = 9
MAX_COMBINATIONS = 30_000_000
GroupScores = dict[frozenset[str], dict[str, float]]


@dataclass
class Grouping:
    groups: list[list[str]]
    score: float  # mean over tasks of the task's score in its (best) group
    per_task: dict[str, float]
    reasons: list[str] = field(default_factory=list)  # one per group, in plain language

    @property
    def each_alone(self) -> bool:
        return all(len(g) == 1 for g in self.groups)

    def to_json(self) -> dict[str, Any]:
        return {
            "groups": self.groups,
            "score": self.score,
            "per_task": self.per_task,
            "reasons": self.reasons,
            "each_alone": self.each_alone,
        }


def pairwise_group_scores(
    tasks: list[str], matrix: list[list[float | None]], singleton_score: float = 0.0
) -> GroupScores:
    """Score of every task in every group from pairwise effects: row task's score in G is the
    mean of matrix[row][partner] over its partners in G (unmeasured entries count as 0)."""
    _check_task_count(tasks)
    values = np.array(
        [[0.0 if v is None or not math.isfinite(v) else v for v in row] for row in matrix],
        dtype=np.float64,
    )
    if values.shape != (len(tasks), len(tasks)):
        raise UserError(f"the affinity matrix is {values.shape}, not {len(tasks)}×{len(tasks)}")
    scores: GroupScores = {}
    for size in range(1, len(tasks) + 1):
        for members in itertools.combinations(range(len(tasks)), size):
            group = frozenset(tasks[m] for m in members)
            scores[group] = {
                tasks[j]: (
                    singleton_score
                    if size == 1
                    else float(np.mean([values[j, i] for i in members if i != j]))
                )
                for j in members
            }
    return scores


def _alone_scores(
    tasks: list[str], scores: GroupScores, singleton_score: float
) -> dict[str, float]:
    return {t: scores.get(frozenset((t,)), {}).get(t, singleton_score) for t in tasks}


def _admissible(
    group: frozenset[str],
    values: dict[str, float],
    alone: dict[str, float],
    unlearnable: Collection[str],
) -> bool:
    """A group of two or more that may be suggested (module docstring)."""
    if set(values) != group or any(t in unlearnable for t in group):
        return False
    if any(not math.isfinite(v) or v < alone[t] for t, v in values.items()):
        return False
    return sum(values.values()) > sum(alone[t] for t in group)


def select_groups(
    tasks: list[str],
    scores: GroupScores,
    max_groups: int | None = None,
    top: int = 10,
    *,
    overlap: bool = False,
    unlearnable: Collection[str] = (),
    singleton_score: float = 0.0,
) -> list[Grouping]:
    """The `top` best groupings of at most `max_groups` groups (None: one per task), best
    first; "each alone" is always among them. A partition unless `overlap`. A task missing
    from `scores` alone scores `singleton_score`."""
    _check_task_count(tasks)
    limit = len(tasks) if max_groups is None else max_groups
    if limit < 1:
        raise UserError("the number of groups must be at least 1")
    alone = _alone_scores(tasks, scores, singleton_score)
    groups = [frozenset((t,)) for t in tasks] + [
        g
        for g in scores
        if len(g) > 1 and g <= set(tasks) and _admissible(g, scores[g], alone, unlearnable)
    ]
    table = np.full((len(groups), len(tasks)), -np.inf, dtype=np.float64)
    for row, group in enumerate(groups):
        for task in group:
            table[row, tasks.index(task)] = alone[task] if len(group) == 1 else scores[group][task]
    if overlap:
        best = _covering_sets(table, limit, top)
    else:
        best = _keep_top(list(_partitions(tasks, groups, table, limit)), top)
    each_alone = tuple(range(len(tasks)))
    if each_alone not in [combo for _, combo in best]:
        best = _keep_top(
            best[: top - 1] + [(float(np.mean(list(alone.values()))), each_alone)], top
        )
    return [_grouping(tasks, groups, table, combo, scores) for _, combo in best]


def _partitions(
    tasks: list[str], groups: list[frozenset[str]], table: np.ndarray, limit: int
) -> Iterator[tuple[float, tuple[int, ...]]]:
    """Every partition of the tasks into admissible groups, at most `limit` of them."""
    index = {g: r for r, g in enumerate(groups)}
    count = len(tasks)

    def extend(k: int, blocks: list[list[str]]) -> Iterator[list[list[str]]]:
        if k == count:
            yield blocks
            return
        for block in blocks:
            block.append(tasks[k])
            yield from extend(k + 1, blocks)
            block.pop()
        if len(blocks) < limit:
            blocks.append([tasks[k]])
            yield from extend(k + 1, blocks)
            blocks.pop()

    for blocks in extend(0, []):
        keys = [frozenset(b) for b in blocks]
        if all(key in index for key in keys):
            combo = tuple(sorted(index[key] for key in keys))
            yield float(table[list(combo)].max(axis=0).mean()), combo


def _covering_sets(table: np.ndarray, limit: int, top: int) -> list[tuple[float, tuple[int, ...]]]:
    """TAG's selection: the best covering sets of at most `limit` (possibly overlapping)
    groups, without a group that adds nothing."""
    count = len(table)
    combinations = sum(math.comb(count, k) for k in range(1, min(limit, count) + 1))
    if combinations > MAX_COMBINATIONS:
        raise UserError(
            f"{combinations:,} candidate overlapping groupings are too many to "
            "search: choose fewer tasks or fewer groups, or a partition"
        )
    best: list[tuple[float, tuple[int, ...]]] = []
    for size in range(1, min(limit, count) + 1):
        found = [
            item for item in _search(table, size, 4 * top) if not _has_idle_group(table, item[1])
        ]
        best = _keep_top(best + found, top)
    return best


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
        raise UserError(
            f"grouping search is exhaustive and takes at most {MAX_TASKS} tasks; "
            f"got {len(tasks)}: choose fewer tasks"
        )
    if len(set(tasks)) != len(tasks):
        raise UserError("task names must be unique for grouping")


def _keep_top(
    items: list[tuple[float, tuple[int, ...]]], top: int
) -> list[tuple[float, tuple[int, ...]]]:
    # Ties: fewer groups first (fewer networks to train), then a fixed order.
    return sorted(items, key=lambda item: (-round(item[0], 12), len(item[1]), item[1]))[:top]


def _search(table: np.ndarray, size: int, top: int) -> list[tuple[float, tuple[int, ...]]]:
    """Best covering sets of exactly `size` groups: prefixes are looped over, the last two
    groups are vectorised (N = 9, b = 3 takes seconds, not minutes)."""
    count, tasks = table.shape
    covers = np.isfinite(table)
    bits = (covers * (1 << np.arange(tasks))).sum(axis=1)
    full = (1 << tasks) - 1
    if size == 1:
        return [(float(table[r].mean()), (int(r),)) for r in np.flatnonzero(bits == full)]
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
        found = _keep_top(
            found
            + [(float(means[k]), (*prefix, int(seconds[rows[k]]), int(thirds[k]))) for k in keep],
            top,
        )
    return found


def _grouping(
    tasks: list[str],
    groups: list[frozenset[str]],
    table: np.ndarray,
    combo: tuple[int, ...],
    scores: GroupScores,
) -> Grouping:
    rows = table[list(combo)]
    per_task = {task: float(rows[:, k].max()) for k, task in enumerate(tasks)}
    members = [sorted(groups[r], key=tasks.index) for r in combo]
    members.sort(key=lambda g: (tasks.index(g[0]), len(g)))
    reasons = [_score_reason(group, per_task) for group in members]
    return Grouping(members, float(np.mean(list(per_task.values()))), per_task, reasons)


def _names(group: list[str]) -> str:
    return group[0] if len(group) == 1 else ", ".join(group[:-1]) + " and " + group[-1]


def _score_reason(group: list[str], per_task: dict[str, float]) -> str:
    if len(group) == 1:
        return f"{group[0]} alone: no group scores higher for it and its partners"
    shown = ", ".join(f"{t} {per_task[t]:+.3g}" for t in group)
    return f"{_names(group)}: each scores at least as well as alone, together more ({shown})"


def _pm(value: float | None, se: float | None) -> str:
    if value is None:
        return "not measured"
    return f"{value:+.3g}" + (f" ± {se:.2g}" if se is not None else "")


def _lookahead_reason(
    group: list[str],
    tasks: list[str],
    raw: list[list[float | None]],
    kept: list[list[float | None]],
    se: list[list[float | None]] | None,
    unlearnable: Collection[str],
    partners: dict[str, list[str]],
    per_task: dict[str, float],
    probes: int,
) -> str:
    """Why this group: the lookahead numbers behind it (kept = entries beyond noise)."""

    def z(source: str, target: str, mark: bool = True) -> str:
        j, i = tasks.index(target), tasks.index(source)
        noise = " (within noise)" if mark and kept[j][i] == 0 and raw[j][i] else ""
        return f"Z({source}→{target}) = {_pm(raw[j][i], se[j][i] if se else None)}{noise}"

    def helps(source: str, target: str) -> bool:
        value = kept[tasks.index(target)][tasks.index(source)]
        return value is not None and value > 0

    few = (
        f" ({probes} probes: fewer than {MIN_PROBES} never tell a signal from noise)"
        if se is not None and probes < MIN_PROBES
        else ""
    )
    if len(group) == 1:
        task = group[0]
        if task in unlearnable:
            return (
                f"{task} alone: it is unlearnable from these inputs (neither model beats "
                "the trivial predictor), so no partner can help it"
            )
        helpers = [t for t in tasks if t != task and helps(t, task)]
        if not helpers:
            return f"{task} alone: no partner helps it beyond noise" + few
        best = max(helpers, key=lambda t: kept[tasks.index(task)][tasks.index(t)] or 0.0)
        cost = kept[tasks.index(best)][tasks.index(task)]
        if best in unlearnable:
            why = f"{best} is unlearnable and kept alone"
        elif cost is not None and cost < 0:
            why = f"a step on {task} raised {best}'s loss ({z(task, best)})"
        elif partners[best]:
            why = f"{best} gains more with {_names(partners[best])}"
        else:
            why = "this candidate keeps them apart"
        return f"{task} alone: {best} helps it ({z(best, task)}), but {why}"
    if len(group) == 2 and (helps(*group) or helps(*group[::-1])):
        a, b = group
        if helps(a, b) and helps(b, a):
            return f"{a} and {b}: each step on one lowered the other's loss ({z(a, b)}, {z(b, a)})"
        source, target = (a, b) if helps(a, b) else (b, a)
        return (
            f"{a} and {b}: a step on {source} lowered {target}'s loss ({z(source, target)}); "
            f"the other way is within noise ({z(target, source, mark=False)})"
        )
    if len(group) > 2 and all(per_task[t] > 0 for t in group):
        onto = "; ".join(f"onto {t}: " + ", ".join(z(s, t) for s in group if s != t) for t in group)
        return (
            f"{_names(group)}: steps on the partners lowered each task's loss on average ({onto})"
        )
    return _score_reason(group, per_task)


def tag_grouping(
    tasks: list[str],
    lookahead: list[list[float | None]],
    max_groups: int | None = None,
    top: int = 10,
    singleton_score: float = 0.0,
    *,
    standard_errors: list[list[float | None]] | None = None,
    probes: int = MIN_PROBES,
    unlearnable: Collection[str] = (),
    overlap: bool = False,
) -> list[Grouping]:
    """TAG: groups from a lookahead affinity matrix ([row j][column i] = Z(i→j)). Given the
    standard errors (over `probes` probes), entries within noise count as 0; every
    grouping says why, per group, with the numbers."""
    kept = (
        significant_lookahead(tasks, lookahead, standard_errors, probes)
        if standard_errors is not None
        else lookahead
    )
    groupings = select_groups(
        tasks,
        pairwise_group_scores(tasks, kept, singleton_score),
        max_groups,
        top,
        overlap=overlap,
        unlearnable=unlearnable,
        singleton_score=singleton_score,
    )
    for grouping in groupings:
        partners = {t: [p for g in grouping.groups if t in g for p in g if p != t] for t in tasks}
        grouping.reasons = [
            _lookahead_reason(
                g,
                tasks,
                lookahead,
                kept,
                standard_errors,
                unlearnable,
                partners,
                grouping.per_task,
                probes,
            )
            for g in grouping.groups
        ]
    return groupings


def hoa_scores(
    tasks: list[str], pair_delta: dict[tuple[str, str], float | None]
) -> list[list[float | None]]:
    """The HOA matrix from pair runs: [row i][column j] = Δ_i({i, j}), i's relative
    improvement (positive = better) when trained with j instead of alone."""
    return [[None if i == j else pair_delta.get((i, j)) for j in tasks] for i in tasks]
