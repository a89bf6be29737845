"""What a sweep trains: the task subsets and the experiment config of each. A subset run is
the full experiment restricted to some tasks (`mtl_core.data.subsets`): the same rows and
the same inputs, so another task's label column never becomes one of its inputs."""

from __future__ import annotations

import itertools

from mtl_core.config import ExperimentConfig
from mtl_core.data.prepare import PreparedData
from mtl_core.data.subsets import restricted_config
from mtl_core.errors import UserError

MAX_SUBSETS = 255  # every subset of 8 tasks


def sweep_subsets(task_names: list[str], mode: str) -> list[tuple[str, ...]]:
    """Singles first, then pairs, then larger subsets ("all" only), in task order."""
    if len(task_names) < 2:
        raise UserError("a sweep needs at least two tasks (analysis.sweep_tasks)")
    largest = 2 if mode == "pairs" else len(task_names)
    subsets = [
        combo
        for size in range(1, largest + 1)
        for combo in itertools.combinations(task_names, size)
    ]
    if len(subsets) > MAX_SUBSETS:
        raise UserError(
            f"{len(subsets)} subsets are too many to train: use analysis.sweep: "
            "pairs, or fewer tasks in analysis.sweep_tasks"
        )
    return subsets


def chosen_tasks(config: ExperimentConfig) -> list[str]:
    names = [t.name for t in config.data.tasks]
    chosen = config.analysis.sweep_tasks or names
    unknown = [t for t in chosen if t not in names]
    if unknown:
        raise UserError(
            f"config error at 'analysis.sweep_tasks': no task '{unknown[0]}' "
            f"(tasks: {', '.join(names)})"
        )
    return [n for n in names if n in chosen]


def subset_config(
    config: ExperimentConfig, subset: tuple[str, ...], data: PreparedData
) -> ExperimentConfig:
    """The experiment restricted to `subset` (`data`: the full experiment's prepared data),
    with the full experiment's inputs written out. It compares with the single-task
    baselines, which the full experiment's baselines share (same key, reused)."""
    return config.model_copy(
        update={
            "name": f"{config.name or 'sweep'} [{' + '.join(subset)}]",
            "data": restricted_config(config.data, data, subset),
            "train": config.train.model_copy(update={"baselines": True}),
        }
    )
