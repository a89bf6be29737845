"""One experiment end to end: prepare the data, train the multi-task model, train a
single-task baseline per task, compare them, and store the run. The CLI's `train` and the
app's Train page both call `run_experiment`."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from mtl_core.analysis.transfer import delta_m, task_delta, transfer_warnings
from mtl_core.config import ExperimentConfig, to_dict
from mtl_core.data.prepare import PreparedData, SplitTensors, prepare_data
from mtl_core.runs import RunStore
from mtl_core.train.loop import EventHandler, TrainResult, train_model


def single_task_data(data: PreparedData, task_name: str) -> PreparedData:
    """The same rows and inputs, with only one task."""
    def keep(split: SplitTensors) -> SplitTensors:
        return SplitTensors(split.x, {task_name: split.targets[task_name]},
                            {task_name: split.masks[task_name]})

    return replace(
        data,
        tasks=[t for t in data.tasks if t.name == task_name],
        splits={name: keep(split) for name, split in data.splits.items()},
    )


def baseline_config(config: ExperimentConfig) -> ExperimentConfig:
    """Same encoder, widths, optimizer and budget; one independent network, equal weight."""
    return config.model_copy(update={
        "model": config.model.model_copy(update={"architecture": "single_task", "params": {}}),
        "weighting": config.weighting.model_copy(update={"method": "equal", "params": {}}),
        "train": config.train.model_copy(update={"baselines": False}),
    })


def train_baselines(
    config: ExperimentConfig, data: PreparedData, stop: threading.Event | None = None
) -> dict[str, TrainResult]:
    single = baseline_config(config)
    return {
        task.name: train_model(single, single_task_data(data, task.name), stop=stop)
        for task in data.tasks
    }


def summarise(
    run_id: str | None,
    data: PreparedData,
    result: TrainResult,
    baselines: dict[str, TrainResult],
) -> dict[str, Any]:
    """The JSON document of DESIGN.md's `train --json` contract."""
    split = "test" if "test" in result.metrics else "validation"
    tasks, deltas = {}, {}
    for task in data.tasks:
        metrics = result.metrics[split][task.name]
        baseline = baselines[task.name].metrics[split][task.name] if task.name in baselines else None
        deltas[task.name] = task_delta(task.kind, metrics, baseline) if baseline else None
        tasks[task.name] = {
            "kind": task.kind,
            "metrics": metrics,
            "baseline_metrics": baseline,
            "delta": deltas[task.name],
        }
    warnings = [result.message] if result.status == "diverged" and result.message else []
    warnings += transfer_warnings(data.tasks, deltas)
    return {
        "run_id": run_id,
        "status": result.status,
        "device": result.device,
        "seconds": round(result.seconds, 3),
        "steps_per_second": round(result.steps_per_second, 2),
        "split": split,
        "tasks": tasks,
        "delta_m": delta_m(list(deltas.values())),
        "warnings": warnings,
        "message": result.message,
    }


def run_experiment(
    config: ExperimentConfig,
    store: RunStore | None = None,
    on_event: EventHandler | None = None,
    stop: threading.Event | None = None,
    data: PreparedData | None = None,
) -> dict[str, Any]:
    """Train, compare with baselines, store; returns the summary. Raises UserError only for
    bad input found before training starts."""
    data = data or prepare_data(config.data)
    run_id = store.create_run(to_dict(config)) if store else None

    def record(event: dict[str, Any]) -> None:
        if store and event["type"] == "epoch":
            store.add_epoch(run_id, {k: v for k, v in event.items() if k != "type"})
        if on_event:
            on_event({**event, "run_id": run_id})

    result = train_model(config, data, on_event=record, stop=stop)
    wants_baselines = config.train.baselines and len(data.tasks) > 1
    baselines = {}
    if wants_baselines and result.status == "completed":
        if on_event:
            on_event({"type": "baselines", "run_id": run_id, "tasks": data.task_names})
        baselines = train_baselines(config, data, stop)
    summary = summarise(run_id, data, result, baselines)
    if store:
        store.write_json(run_id, "extras.json", result.extras)
        store.finish_run(run_id, summary, result.model.state_dict())
    return summary
