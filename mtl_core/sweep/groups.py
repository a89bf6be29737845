"""Train one group of an experiment's tasks on the full experiment's rows and inputs (sweeps
and Verify): a task alone is its single-task baselines (`train_baselines`, reused from the
store by key, so it is the same number `train` shows), a group of two or more a multi-task
run compared with those same baselines."""

from __future__ import annotations

from typing import Any

from mtl_core.config import ExperimentConfig
from mtl_core.data.prepare import PreparedData
from mtl_core.data.subsets import subset_data
from mtl_core.experiment import run_experiment, train_baselines
from mtl_core.experiment.baselines import baseline_json
from mtl_core.experiment.outputs import comparison_split
from mtl_core.experiment.seeds import initial_plan
from mtl_core.experiment.summary import mean_metrics
from mtl_core.runs import RunStore
from mtl_core.sweep.plan import subset_config
from mtl_core.train.loop import StopSignal


def baseline_seeds(config: ExperimentConfig, data: PreparedData) -> list[int]:
    """The baseline seeds the experiment's seed settings give before any interval is known
    (the seeds `train` starts its baselines with)."""
    plan = initial_plan(config.train, len(data.splits[comparison_split(data)]))
    return list(range(config.train.seed, config.train.seed + plan.baseline_seeds))


def train_single(
    config: ExperimentConfig,
    data: PreparedData,
    task: str,
    store: RunStore | None,
    stop: StopSignal | None = None,
) -> dict[str, Any]:
    """A task alone: its baselines at the experiment's seeds, summarised like a run (run_id:
    the first seed's baseline run)."""
    alone = subset_data(data, (task,))
    runs = train_baselines(config, alone, baseline_seeds(config, data), store, stop).get(task)
    if not runs:
        stopped = stop is not None and stop.is_set()
        return {"run_id": None, "status": "stopped" if stopped else "diverged", "tasks": {}}
    split = comparison_split(data)
    spec = alone.tasks[0]
    entry = {
        "kind": spec.kind,
        "primary_metric": spec.metric,
        "metrics": mean_metrics([run.metrics[split][task] for run in runs]),
        **baseline_json(runs, split),
    }
    return {"run_id": runs[0].run_id, "status": "completed", "split": split, "tasks": {task: entry}}


def train_group(
    config: ExperimentConfig,
    data: PreparedData,
    group: tuple[str, ...],
    store: RunStore | None,
    stop: StopSignal | None = None,
) -> dict[str, Any]:
    """One group (`data`: the full experiment's prepared data); returns its summary."""
    if len(group) == 1:
        return train_single(config, data, group[0], store, stop)
    return run_experiment(
        subset_config(config, group, data), store, stop=stop, data=subset_data(data, group)
    )
