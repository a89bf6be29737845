"""One experiment end to end: prepare the data, train the multi-task model, train a
single-task baseline per task, compare them, and store the run. The CLI's `train` and the
app's Train page both call `run_experiment`."""

from __future__ import annotations

import hashlib
import json
import statistics
import threading
from dataclasses import replace
from typing import Any

from safetensors.torch import load_file

from mtl_core.analysis.transfer import delta_m, task_delta, transfer_warnings
from mtl_core.config import ExperimentConfig, to_dict
from mtl_core.data.prepare import PreparedData, SplitTensors, prepare_data
from mtl_core.errors import UserError
from mtl_core.runs import RunStore
from mtl_core.train.loop import EventHandler, TrainResult, train_model
from mtl_core.train.metrics import PRIMARY


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
        "train": config.train.model_copy(update={
            "baselines": False, "baseline_seeds": 1, "curriculum": {}, "warm_start": None,
            "monitor_task": None}),
    })


def baseline_key(single: ExperimentConfig, task_name: str) -> str:
    """Identifies a baseline: same data config, encoder and widths, training budget, seed and
    task (the device and the run's name do not count)."""
    document = to_dict(single)
    document.pop("name", None)
    document.pop("analysis", None)
    document["train"].pop("device", None)
    text = json.dumps({"config": document, "task": task_name}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _baseline_metrics(
    single: ExperimentConfig, data: PreparedData, task_name: str, store: RunStore | None,
    stop: threading.Event | None,
) -> tuple[dict[str, Any] | None, str | None, bool]:
    """(metrics per split, run id, reused) of one baseline: from the store when an identical
    baseline finished before, else trained (and stored)."""
    key = baseline_key(single, task_name)
    found = store.find_baseline(key) if store else None
    if found is not None and (found["summary"] or {}).get("metrics"):
        return found["summary"]["metrics"], found["id"], True
    task_data = single_task_data(data, task_name)
    run_id = None
    if store:
        document = to_dict(single)
        document["data"]["tasks"] = [t for t in document["data"]["tasks"]
                                     if t["name"] == task_name] or document["data"]["tasks"]
        document["name"] = f"baseline: {task_name}"
        run_id = store.create_run(document, baseline_key=key)
    result = train_model(single, task_data, stop=stop)
    if store:
        store.finish_run(run_id, {"run_id": run_id, "status": result.status,
                                  "device": result.device, "seconds": result.seconds,
                                  "metrics": result.metrics}, result.model.state_dict())
    return (result.metrics if result.status == "completed" else None), run_id, False


def train_baselines(
    config: ExperimentConfig, data: PreparedData, store: RunStore | None = None,
    stop: threading.Event | None = None,
) -> dict[str, dict[str, Any]]:
    """Per task: mean metrics per split over `train.baseline_seeds` seeds, their standard
    deviation, and the baseline run ids (reused ones included)."""
    single = baseline_config(config)
    baselines = {}
    for task in data.tasks:
        runs, ids, reused = [], [], 0
        for offset in range(config.train.baseline_seeds):
            seeded = single.model_copy(update={"train": single.train.model_copy(
                update={"seed": config.train.seed + offset})})
            metrics, run_id, was_reused = _baseline_metrics(seeded, data, task.name, store, stop)
            if metrics is None:
                return {}
            runs.append(metrics)
            ids.append(run_id)
            reused += was_reused
        baselines[task.name] = {"runs": ids, "reused": reused, "per_seed": runs,
                                **_mean_std(runs, task.name)}
    return baselines


def _mean_std(runs: list[dict[str, Any]], task_name: str) -> dict[str, Any]:
    """Mean and standard deviation (over seeds) of each metric, per split."""
    mean, std = {}, {}
    for split in runs[0]:
        names = runs[0][split][task_name]
        values = {m: [r[split][task_name][m] for r in runs] for m in names}
        mean[split] = {m: statistics.fmean(v) for m, v in values.items()}
        std[split] = {m: statistics.pstdev(v) for m, v in values.items()}
    return {"metrics": mean, "std": std}


def summarise(
    run_id: str | None,
    data: PreparedData,
    result: TrainResult,
    baselines: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The JSON document of DESIGN.md's `train --json` contract."""
    split = "test" if "test" in result.metrics else "validation"
    tasks, deltas = {}, {}
    for task in data.tasks:
        metrics = result.metrics[split][task.name]
        base = baselines.get(task.name)
        baseline = base["metrics"][split] if base else None
        deltas[task.name] = task_delta(task.kind, metrics, baseline) if baseline else None
        tasks[task.name] = {
            "kind": task.kind,
            "metrics": metrics,
            "baseline_metrics": baseline,
            "delta": deltas[task.name],
        }
        if base:
            tasks[task.name].update(_seed_noise(task.kind, task.name, baseline, base, split))
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


def _seed_noise(kind: str, task_name: str, baseline: dict[str, float], base: dict[str, Any],
                split: str) -> dict[str, Any]:
    """Baseline metrics per seed, their std, and the delta that std amounts to: a |delta|
    below `delta_noise` is within seed noise."""
    metric = PRIMARY[kind][0]
    std = base["std"][split].get(metric)
    noise = std / abs(baseline[metric]) if std is not None and baseline.get(metric) else None
    per_seed = [run[split][task_name] for run in base["per_seed"]]
    return {"baseline_std": base["std"][split], "baseline_seeds": per_seed,
            "delta_noise": noise if len(base["runs"]) > 1 else None,
            "baseline_runs": base["runs"], "baseline_reused": base["reused"]}


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
    warm = load_warm_weights(store, config.train.warm_start) if config.train.warm_start else None
    run_id = store.create_run(to_dict(config)) if store else None
    try:
        return _run(config, data, store, run_id, on_event, stop, warm)
    except BaseException as error:
        if store:  # keep the run's record honest; the caller reports the error
            store.fail_run(run_id, f"{type(error).__name__}: {error}")
        raise


def load_warm_weights(store: RunStore | None, run_id: str) -> dict[str, Any]:
    if store is None:
        raise UserError("train.warm_start needs a run store to read the run from")
    store.get_run(run_id)
    path = store.run_dir(run_id) / "model.safetensors"
    if not path.is_file():
        raise UserError(f"train.warm_start: run '{run_id}' has no stored weights")
    return load_file(str(path))


def _run(config, data, store, run_id, on_event, stop, warm) -> dict[str, Any]:

    def record(event: dict[str, Any]) -> None:
        if store and event["type"] == "epoch":
            store.add_epoch(run_id, {k: v for k, v in event.items() if k != "type"})
        if on_event:
            on_event({**event, "run_id": run_id})

    result = train_model(config, data, on_event=record, stop=stop, warm_weights=warm)
    wants_baselines = config.train.baselines and len(data.tasks) > 1
    baselines = {}
    if wants_baselines and result.status == "completed":
        if on_event:
            on_event({"type": "baselines", "run_id": run_id, "tasks": data.task_names})
        baselines = train_baselines(config, data, store, stop)
    summary = summarise(run_id, data, result, baselines)
    if store:
        store.write_json(run_id, "extras.json", result.extras)
        store.finish_run(run_id, summary, result.model.state_dict())
    return summary
