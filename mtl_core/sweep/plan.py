"""What a sweep trains: the task subsets and the experiment config of each."""

from __future__ import annotations

import itertools

from mtl_core.config import ExperimentConfig
from mtl_core.errors import UserError
from mtl_core.train.experiment import baseline_config

MAX_SUBSETS = 255  # every subset of 8 tasks


def sweep_subsets(task_names: list[str], mode: str) -> list[tuple[str, ...]]:
    """Singles first, then pairs, then larger subsets ("all" only), in task order."""
    if len(task_names) < 2:
        raise UserError("a sweep needs at least two tasks (analysis.sweep_tasks)")
    largest = 2 if mode == "pairs" else len(task_names)
    subsets = [combo for size in range(1, largest + 1)
               for combo in itertools.combinations(task_names, size)]
    if len(subsets) > MAX_SUBSETS:
        raise UserError(f"{len(subsets)} subsets are too many to train: use analysis.sweep: "
                        "pairs, or fewer tasks in analysis.sweep_tasks")
    return subsets


def chosen_tasks(config: ExperimentConfig) -> list[str]:
    names = [t.name for t in config.data.tasks]
    chosen = config.analysis.sweep_tasks or names
    unknown = [t for t in chosen if t not in names]
    if unknown:
        raise UserError(f"config error at 'analysis.sweep_tasks': no task '{unknown[0]}' "
                        f"(tasks: {', '.join(names)})")
    return [n for n in names if n in chosen]


def subset_config(config: ExperimentConfig, subset: tuple[str, ...]) -> ExperimentConfig:
    """The experiment restricted to `subset`; a single task trains as its single-task
    baseline would, and no run trains extra baselines (the singles are the baselines)."""
    base = baseline_config(config) if len(subset) == 1 else config
    data = config.data.model_copy(update={
        "tasks": [t for t in config.data.tasks if t.name in subset]})
    return base.model_copy(update={
        "name": f"{config.name or 'sweep'} [{' + '.join(subset)}]",
        "data": data,
        "train": base.train.model_copy(update={"baselines": False}),
    })
