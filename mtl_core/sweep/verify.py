"""Verify a suggested grouping: train it against all tasks together and each task alone,
with at least 3 seeds, on the full experiment's rows and inputs, and compare the three on
the same test rows (paired bootstrap and seed noise, `mtl_core.analysis.bootstrap`). All
separate are the single-task baselines (`train_baselines`, reused from the store), all
together is the multi-task run of every task, the suggestion one run per group (a group of
one is that task's baselines). A winner is named only when the interval of the difference
between the suggestion and all together excludes 0."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_core.analysis.bootstrap import RunEvidence, compare
from mtl_core.analysis.verdicts import MIN_SEEDS, task_verdict
from mtl_core.config import ExperimentConfig
from mtl_core.data.prepare import PreparedData, prepare_data
from mtl_core.data.subsets import subset_data
from mtl_core.errors import UserError
from mtl_core.experiment import run_experiment, train_baselines
from mtl_core.experiment.baselines import BaselineRun
from mtl_core.experiment.outputs import Outputs, comparison_split, task_outputs
from mtl_core.runs import RunStore
from mtl_core.sweep.plan import subset_config

Groups = list[list[str]]
ProgressHandler = Callable[[int, int, str], None]  # (steps done, steps in all, what now)
NO_DIFFERENCE = "no detectable difference between the suggestion and training all together"


def parse_groups(text: str) -> Groups:
    """ "a+b,c" -> [["a", "b"], ["c"]]."""
    groups = [[t.strip() for t in group.split("+") if t.strip()] for group in text.split(",")]
    return [g for g in groups if g]


def check_groups(config: ExperimentConfig, groups: Groups) -> list[str]:
    """The grouped tasks in the experiment's order; UserError unless the groups are disjoint
    groups of the experiment's tasks, two tasks or more in all."""
    names = [t.name for t in config.data.tasks]
    listed = [t for g in groups for t in g]
    unknown = [t for t in listed if t not in names]
    if unknown:
        raise UserError(
            f"--groups: no task '{unknown[0]}' in the experiment (tasks: {', '.join(names)})"
        )
    repeated = sorted({t for t in listed if listed.count(t) > 1})
    if repeated:
        raise UserError(
            f"--groups: task '{repeated[0]}' is in more than one group: "
            "a grouping puts each task in one group"
        )
    if len(listed) < 2:
        raise UserError('--groups: a grouping needs at least two tasks, e.g. "a+b,c"')
    return [n for n in names if n in listed]


def verify_seeds(config: ExperimentConfig) -> int:
    """The experiment's seed setting, at least MIN_SEEDS (verdicts need them)."""
    seeds = config.train.seeds
    return max(MIN_SEEDS, seeds if isinstance(seeds, int) else MIN_SEEDS)


@dataclass
class Arrangement:
    """One way to train the tasks, compared with all separate (Δm > 0: better)."""

    name: str  # "all separate", "all together" or "suggestion"
    groups: Groups
    runs: list[str | None]
    evidence: RunEvidence | None  # None for all separate, the reference

    def to_json(self) -> dict[str, Any]:
        found = self.evidence
        return {
            "name": self.name,
            "groups": self.groups,
            "runs": self.runs,
            "delta_m": found.delta_m if found else 0.0,
            "delta_m_ci": _interval(found.delta_m_ci) if found else None,
            "tasks": _tasks_json(found) if found else {},
        }


def _interval(ci: tuple[float, float] | None) -> list[float] | None:
    return [ci[0], ci[1]] if ci else None


def _tasks_json(evidence: RunEvidence) -> dict[str, Any]:
    return {
        name: {
            "delta": e.delta,
            "delta_ci": _interval(e.delta_ci),
            "verdict": task_verdict(e).verdict,
        }
        for name, e in evidence.tasks.items()
    }


@dataclass
class VerifyResult:
    tasks: list[str]
    groups: Groups
    seeds: int
    split: str
    test_rows: int
    arrangements: list[Arrangement] = field(default_factory=list)
    versus_together: RunEvidence | None = None  # the suggestion with all together as base

    @property
    def winner(self) -> str | None:
        """ "suggestion" or "all together" when the interval of their difference excludes
        0, else None."""
        ci = self.versus_together.delta_m_ci if self.versus_together else None
        if ci is None or ci[0] <= 0 <= ci[1]:
            return None
        return "suggestion" if ci[0] > 0 else "all together"

    @property
    def conclusion(self) -> str:
        versus = self.versus_together
        if versus is None or versus.delta_m_ci is None:
            return (
                "inconclusive: no interval for the difference between the suggestion and "
                "training all together (a metric undefined on the test rows)"
            )
        low, high = versus.delta_m_ci
        where = (
            f"Δm of the suggestion against all together {versus.delta_m:+.1%}, 95% "
            f"interval [{low:+.1%}, {high:+.1%}] over {self.test_rows} test rows and "
            f"{self.seeds} seeds"
        )
        text = f"{self.winner} wins" if self.winner else NO_DIFFERENCE
        trained = [a.evidence for a in self.arrangements if a.evidence is not None]
        if trained and all(e.delta_m_ci and e.delta_m_ci[1] < 0 for e in trained):
            text += "; training each task alone beats both (every Δm interval is below 0)"
        return f"{text} ({where})"

    def to_json(self) -> dict[str, Any]:
        versus = self.versus_together
        return {
            "tasks": self.tasks,
            "groups": self.groups,
            "seeds": self.seeds,
            "split": self.split,
            "test_rows": self.test_rows,
            "delta_sign": "positive = better than the reference (all separate; for "
            "suggestion_vs_together, all together)",
            "arrangements": [a.to_json() for a in self.arrangements],
            "suggestion_vs_together": {
                "delta_m": versus.delta_m if versus else None,
                "delta_m_ci": _interval(versus.delta_m_ci) if versus else None,
                "tasks": _tasks_json(versus) if versus else {},
            },
            "winner": self.winner,
            "conclusion": self.conclusion,
        }


def _shown(ci: list[float] | None) -> str:
    return f"[{ci[0]:+.1%}, {ci[1]:+.1%}]" if ci else "none"


def verify_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The table of a `VerifyResult.to_json()`: each arrangement's Δm against all separate,
    then the suggestion's against all together, with 95% intervals."""
    rows = [
        {
            "arrangement": a["name"],
            "groups": " | ".join(" + ".join(g) for g in a["groups"]),
            "against": "all separate",
            "delta_m": a["delta_m"],
            "interval": _shown(a["delta_m_ci"]) if a["name"] != "all separate" else "the reference",
        }
        for a in result["arrangements"]
    ]
    versus = result["suggestion_vs_together"]
    suggestion = result["arrangements"][-1]["groups"]
    return rows + [
        {
            "arrangement": "suggestion",
            "groups": " | ".join(" + ".join(g) for g in suggestion),
            "against": "all together",
            "delta_m": versus["delta_m"],
            "interval": _shown(versus["delta_m_ci"]),
        }
    ]


def _seed_outputs(outputs: dict[str, np.ndarray], tasks: list[str], seeds: int) -> list[Outputs]:
    """A stored run's multi-task outputs per seed ("mtl/{seed}/{task}")."""
    return [{t: outputs[f"mtl/{s}/{t}"] for t in tasks} for s in range(seeds)]


@dataclass
class _Verification:
    config: ExperimentConfig
    data: PreparedData  # the grouped tasks, on the full experiment's rows and inputs
    store: RunStore
    steps: int
    on_progress: ProgressHandler | None
    stop: threading.Event | None
    done: int = 0

    def step(self, what: str) -> None:
        if self.stop is not None and self.stop.is_set():
            raise UserError("verify stopped; the runs it finished are kept in the store")
        if self.on_progress:
            self.on_progress(self.done, self.steps, what)
        self.done += 1

    def group_run(self, group: list[str], full: PreparedData) -> tuple[str, list[Outputs]]:
        """Train one group of two or more; its run id and per-seed outputs."""
        summary = run_experiment(
            subset_config(self.config, tuple(group), full),
            self.store,
            stop=self.stop,
            data=subset_data(full, group),
        )
        if summary["status"] != "completed":
            raise UserError(
                f"the run of {' + '.join(group)} did not complete "
                f"({summary['status']}): {summary.get('message') or 'see the run'}"
            )
        stored = self.store.read_test_outputs(summary["run_id"]) or {}
        return summary["run_id"], _seed_outputs(stored, group, verify_seeds(self.config))

    def separate(self) -> dict[str, list[BaselineRun]]:
        seeds = verify_seeds(self.config)
        self.step("training each task alone (single-task baselines)")
        first = self.config.train.seed
        baselines = train_baselines(
            self.config, self.data, list(range(first, first + seeds)), self.store, self.stop
        )
        if not baselines:
            raise UserError("a single-task baseline did not complete (stopped or diverged)")
        return baselines


def verify_grouping(
    config: ExperimentConfig,
    groups: Groups,
    store: RunStore,
    on_progress: ProgressHandler | None = None,
    stop: threading.Event | None = None,
) -> VerifyResult:
    """Train and compare all separate, all together and the grouping `groups` (disjoint
    groups of the experiment's tasks); every run is stored in `store`."""
    tasks = check_groups(config, groups)
    groups = [[t for t in tasks if t in g] for g in groups]
    seeds = verify_seeds(config)
    fixed = config.model_copy(
        update={
            "train": config.train.model_copy(
                update={"seeds": seeds, "baseline_seeds": seeds, "baselines": True}
            )
        }
    )
    full = prepare_data(config.data)
    data = subset_data(full, tasks)
    multi = [g for g in groups if 1 < len(g) < len(tasks)]
    work = _Verification(fixed, data, store, 2 + len(multi), on_progress, stop)
    baselines = work.separate()
    reference = {t: [run.test_outputs for run in baselines[t]] for t in tasks}
    work.step("training all tasks together")
    together_id, together = work.group_run(tasks, full)
    suggestion: list[Outputs] = [{} for _ in range(seeds)]
    runs: list[str | None] = []
    for group in groups:
        if len(group) == 1:
            runs.append(baselines[group[0]][0].run_id)
            for s in range(seeds):
                suggestion[s][group[0]] = baselines[group[0]][s].test_outputs
            continue
        if len(group) == len(tasks):
            run_id, outputs = together_id, together
        else:
            work.step(f"training {' + '.join(group)}")
            run_id, outputs = work.group_run(group, full)
        runs.append(run_id)
        for s in range(seeds):
            suggestion[s].update(outputs[s])
    if on_progress:
        on_progress(work.steps, work.steps, "comparing")

    def versus(mtl: list[Outputs], base: dict[str, list[np.ndarray]]) -> RunEvidence:
        return compare(task_outputs(data, mtl, base), seed=config.train.seed)

    split = comparison_split(data)
    return VerifyResult(
        tasks,
        groups,
        seeds,
        split,
        len(data.splits[split]),
        [
            Arrangement(
                "all separate", [[t] for t in tasks], [baselines[t][0].run_id for t in tasks], None
            ),
            Arrangement("all together", [tasks], [together_id], versus(together, reference)),
            Arrangement("suggestion", groups, runs, versus(suggestion, reference)),
        ],
        versus(suggestion, {t: [seed[t] for seed in together] for t in tasks}),
    )
