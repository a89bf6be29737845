"""Single-task baselines: one independent network per task and seed, with the run's
encoder, widths, optimizer and budget. A baseline that finished before with the same key
(data, model, budget, seed and task) is reused from the store, outputs and all; this is
the one place a task's single-task number is computed (train, sweep and verify call it)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mtl_core.config import ExperimentConfig, to_dict
from mtl_core.data.prepare import PreparedData, SplitTensors
from mtl_core.data.subsets import restricted_config, rows_fingerprint
from mtl_core.experiment.outputs import model_outputs
from mtl_core.runs import RunStore
from mtl_core.train.ensemble import train_ensemble
from mtl_core.train.loop import StopSignal

Metrics = dict[str, dict[str, dict[str, float]]]  # split -> task -> metric -> value


@dataclass(frozen=True)
class BaselineRun:
    """One task's baseline at one seed."""

    task: str
    seed: int
    metrics: Metrics
    test_outputs: np.ndarray
    run_id: str | None
    reused: bool


def single_task_data(data: PreparedData, task_name: str) -> PreparedData:
    """The same rows and inputs, with only one task."""

    def keep(split: SplitTensors) -> SplitTensors:
        return SplitTensors(
            split.x, {task_name: split.targets[task_name]}, {task_name: split.masks[task_name]}
        )

    return replace(
        data,
        tasks=[t for t in data.tasks if t.name == task_name],
        splits={name: keep(split) for name, split in data.splits.items()},
    )


def baseline_config(config: ExperimentConfig) -> ExperimentConfig:
    """Same encoder, widths, optimizer and budget; one independent network, equal weight."""
    return config.model_copy(
        update={
            "model": config.model.model_copy(update={"architecture": "single_task", "params": {}}),
            "weighting": config.weighting.model_copy(update={"method": "equal", "params": {}}),
            "train": config.train.model_copy(
                update={
                    "baselines": False,
                    "seeds": 1,
                    "baseline_seeds": 1,
                    "curriculum": {},
                    "warm_start": None,
                    "monitor_task": None,
                }
            ),
        }
    )


def single_task_view(
    single: ExperimentConfig, data: PreparedData, task_name: str
) -> ExperimentConfig:
    """The baseline's own config: this task only, reading the experiment's resolved inputs
    (never another task's label column)."""
    return single.model_copy(update={"data": restricted_config(single.data, data, (task_name,))})


def baseline_key(single: ExperimentConfig, data: PreparedData, task_name: str) -> str:
    """Identifies a baseline by its single-task view (this task's data config with the
    experiment's resolved inputs, encoder and widths, training budget, seed) and a
    fingerprint of its rows (inputs and labels of every split). It does not depend on the
    experiment's other tasks; the device and the run's name do not count."""
    document = to_dict(single_task_view(single, data, task_name))
    document.pop("name", None)
    document.pop("analysis", None)
    document["train"].pop("device", None)
    text = json.dumps(
        {"config": document, "task": task_name, "rows": rows_fingerprint(data, task_name)},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def seeded(config: ExperimentConfig, seed: int) -> ExperimentConfig:
    return config.model_copy(update={"train": config.train.model_copy(update={"seed": seed})})


def _stored(store: RunStore | None, key: str, task_name: str, seed: int) -> BaselineRun | None:
    """A finished baseline with this key that kept its test outputs, or None."""
    found = store.find_baseline(key) if store else None
    metrics = ((found or {}).get("summary") or {}).get("metrics")
    if not (store and found and metrics):
        return None
    outputs = store.read_test_outputs(found["id"])
    if outputs is None or task_name not in outputs:
        return None
    return BaselineRun(task_name, seed, metrics, outputs[task_name], found["id"], True)


def _train_together(
    single: ExperimentConfig,
    data: PreparedData,
    pairs: list[tuple[str, int]],
    store: RunStore | None,
    stop: StopSignal | None,
) -> list[BaselineRun | None]:
    """Train (and store, one run per task and seed) the baselines of these (task, seed) pairs
    as one batched ensemble; None for each one that did not complete."""
    run_ids: dict[tuple[str, int], str] = {}
    if store:
        for task_name, seed in pairs:
            at_seed = seeded(single, seed)
            document = to_dict(single_task_view(at_seed, data, task_name))
            document["name"] = f"baseline: {task_name}"
            run_ids[task_name, seed] = store.create_run(
                document, baseline_key=baseline_key(at_seed, data, task_name)
            )
    members = train_ensemble(single, data, pairs, stop=stop)
    runs: list[BaselineRun | None] = []
    for member in members:
        outputs = model_outputs(member.model, single_task_data(data, member.task))[member.task]
        run_id = run_ids.get((member.task, member.seed))
        if store and run_id is not None:  # (every pair has a run id when there is a store)
            store.write_test_outputs(run_id, {member.task: outputs})
            store.finish_run(
                run_id,
                {
                    "run_id": run_id,
                    "status": member.status,
                    "device": member.device,
                    "seconds": member.seconds / len(members),  # its share of the ensemble's time
                    "ensemble": {"members": len(members), "seconds": member.seconds},
                    "metrics": member.metrics,
                },
                member.state_dict(),
            )
        runs.append(
            BaselineRun(member.task, member.seed, member.metrics, outputs, run_id, False)
            if member.status == "completed"
            else None
        )
    return runs


def train_baselines(
    config: ExperimentConfig,
    data: PreparedData,
    seeds: list[int],
    store: RunStore | None = None,
    stop: StopSignal | None = None,
) -> dict[str, list[BaselineRun]]:
    """Per task, one baseline per seed: reused from the store where one finished before, the
    others trained together as one batched ensemble (`mtl_core.train.ensemble`); an empty
    dict when one could not complete (stopped, diverged)."""
    single = baseline_config(config)
    found = {
        (task.name, seed): _stored(
            store, baseline_key(seeded(single, seed), data, task.name), task.name, seed
        )
        for task in data.tasks
        for seed in seeds
    }
    missing = [pair for pair, run in found.items() if run is None]
    if missing:
        found.update(zip(missing, _train_together(single, data, missing, store, stop), strict=True))
    done = {pair: run for pair, run in found.items() if run is not None}
    if len(done) < len(found):
        return {}
    return {task.name: [done[task.name, seed] for seed in seeds] for task in data.tasks}


def baseline_json(runs: list[BaselineRun], split: str) -> dict[str, Any]:
    """What a task's summary says of its baselines: per-seed metrics, run ids, reuse."""
    return {
        "baseline_seeds": [run.metrics[split][run.task] for run in runs],
        "baseline_runs": [run.run_id for run in runs],
        "baseline_reused": sum(run.reused for run in runs),
    }
