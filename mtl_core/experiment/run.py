"""One experiment end to end: prepare the data, train the multi-task model (one or more
seeds), train the single-task baselines, compare them with intervals and verdicts, and
store the run. The CLI's `train`, the app's Train page and the sweep all call
`run_experiment`."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mtl_core.analysis.bootstrap import RunEvidence, compare
from mtl_core.analysis.warnings import measured_warnings
from mtl_core.config import ExperimentConfig, to_dict
from mtl_core.data.prepare import PreparedData, prepare_data
from mtl_core.errors import UserError
from mtl_core.experiment.baselines import BaselineRun, seeded, train_baselines
from mtl_core.experiment.outputs import Outputs, comparison_split, model_outputs, task_outputs
from mtl_core.experiment.seeds import SeedPlan, extended_plan, initial_plan
from mtl_core.experiment.summary import Metrics, summarise
from mtl_core.runs import RunStore
from mtl_core.train.ensemble import EnsembleMember, train_seeds
from mtl_core.train.loop import EventHandler, StopSignal, TrainResult, train_model

# The parts of a run's wall time in its summary's `times` (with `wall`, everything).
TIME_PARTS = ("preparation", "multi_task", "baselines", "comparison")


def run_experiment(
    config: ExperimentConfig,
    store: RunStore | None = None,
    on_event: EventHandler | None = None,
    stop: StopSignal | None = None,
    data: PreparedData | None = None,
) -> dict[str, Any]:
    """Train, compare with baselines, store; returns the summary. Raises UserError only for
    bad input found before training starts."""
    started = time.perf_counter()
    data = data or prepare_data(config.data)
    preparation = time.perf_counter() - started
    warm = load_warm_weights(store, config.train.warm_start) if config.train.warm_start else None
    run_id = store.create_run(to_dict(config)) if store else None
    try:
        return _Experiment(
            config, data, store, run_id, on_event, stop, warm, {"preparation": preparation}, started
        ).run()
    except BaseException as error:
        if store and run_id is not None:  # keep the run's record honest; the caller reports
            store.fail_run(run_id, f"{type(error).__name__}: {error}")
        raise


def load_warm_weights(store: RunStore | None, run_id: str) -> dict[str, Any]:
    """The stored weights of the run that `train.warm_start` names."""
    if store is None:
        raise UserError("train.warm_start needs a run store to read the run from")
    store.get_run(run_id)
    if not store.weights_path(run_id).is_file():
        raise UserError(f"train.warm_start: run '{run_id}' has no stored weights")
    return store.load_weights(run_id)


@dataclass
class _Experiment:
    """The steps of one experiment, sharing its inputs and what it has trained so far."""

    config: ExperimentConfig
    data: PreparedData
    store: RunStore | None
    run_id: str | None
    on_event: EventHandler | None
    stop: StopSignal | None
    warm: dict[str, torch.Tensor] | None
    # Seconds spent per part (preparation, multi_task, baselines, comparison), and when
    # `run_experiment` started (the wall time counts from there).
    times: dict[str, float]
    started: float
    seed_metrics: list[Metrics] = field(default_factory=list)
    seed_outputs: list[Outputs] = field(default_factory=list)
    baselines: dict[str, list[BaselineRun]] = field(default_factory=dict)

    def run(self) -> dict[str, Any]:
        with self._timed("multi_task"):
            result = train_model(
                self.config,
                self.data,
                on_event=self._record,
                stop=self.stop,
                warm_weights=self.warm,
            )
            self._keep(result)
        split = comparison_split(self.data)
        plan = initial_plan(self.config.train, len(self.data.splits[split]))
        evidence = self._compare(result, plan)
        more = extended_plan(self.config.train, plan, evidence) if self._comparing(result) else None
        if more is not None:
            plan, evidence = more, self._compare(result, more)
        if not self._comparing(result):
            plan = SeedPlan(
                len(self.seed_metrics),
                0,
                "no single-task baselines: nothing to compare, so one seed",
            )
        summary = summarise(
            self.run_id,
            self.data,
            result,
            split,
            self.seed_metrics,
            self.baselines,
            evidence,
            plan.reason,
            self._times_json(),
        )
        summary["warnings"] = self._warnings(result, summary)
        self._store(result, summary)
        return summary

    @contextmanager
    def _timed(self, part: str) -> Iterator[None]:
        """Add the block's seconds to `part` of the run's time."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.times[part] = self.times.get(part, 0.0) + time.perf_counter() - started

    def _times_json(self) -> dict[str, float]:
        """The parts and the wall time since `run_experiment` started, to the millisecond
        (the parts rounded down, so that they never add up to more than the wall time)."""
        wall = time.perf_counter() - self.started
        parts = {part: math.floor(self.times.get(part, 0.0) * 1000) / 1000 for part in TIME_PARTS}
        return {**parts, "wall": math.ceil(wall * 1000) / 1000}

    def _comparing(self, result: TrainResult) -> bool:
        return (
            self.config.train.baselines
            and len(self.data.tasks) > 1
            and result.status == "completed"
        )

    def _record(self, event: dict[str, Any]) -> None:
        if self.store and self.run_id is not None and event["type"] == "epoch":
            self.store.add_epoch(self.run_id, {k: v for k, v in event.items() if k != "type"})
        self._emit(event)

    def _emit(self, event: dict[str, Any]) -> None:
        if self.on_event:
            self.on_event({**event, "run_id": self.run_id})

    def _keep(self, result: TrainResult | EnsembleMember) -> None:
        self.seed_metrics.append(result.metrics)
        self.seed_outputs.append(model_outputs(result.model, self.data))

    def _compare(self, result: TrainResult, plan: SeedPlan) -> RunEvidence:
        """Train the seeds and baselines the plan asks for (that are not trained yet) and
        compare them."""
        if self._comparing(result):
            self._train_seeds(plan.seeds)
            if self._completed():
                self._train_baselines(plan.baseline_seeds)
        if not self._completed():
            self.baselines = {}
        baseline_outputs = {
            name: [run.test_outputs for run in runs] for name, runs in self.baselines.items()
        }
        with self._timed("comparison"):
            return compare(
                task_outputs(self.data, self.seed_outputs, baseline_outputs),
                seed=self.config.train.seed,
            )

    def _completed(self) -> bool:
        return not (self.stop is not None and self.stop.is_set())

    def _train_seeds(self, count: int) -> None:
        """The multi-task model at the seeds not trained yet, up to `count`: together as one
        batched ensemble where a stack trains each exactly as `train_model` (`train_seeds`),
        else one after another; kept up to the first that did not complete."""
        first = self.config.train.seed
        seeds = [first + offset for offset in range(len(self.seed_metrics), count)]
        if not seeds or not self._completed():
            return
        self._emit({"type": "seed", "seed": len(self.seed_metrics) + 1, "seeds": count})
        with self._timed("multi_task"):
            together = train_seeds(self.config, self.data, seeds, self.stop, self.warm)
            for extra in together if together is not None else self._one_by_one(seeds, count):
                if extra.status != "completed":
                    return
                self._keep(extra)

    def _one_by_one(self, seeds: list[int], count: int) -> Iterator[TrainResult]:
        """`train_model` at each of `seeds` in turn (the first one's 'seed' event is already
        out), until a stop request."""
        for index, seed in enumerate(seeds):
            if index:
                if not self._completed():
                    return
                self._emit({"type": "seed", "seed": len(self.seed_metrics) + 1, "seeds": count})
            yield train_model(
                seeded(self.config, seed), self.data, stop=self.stop, warm_weights=self.warm
            )

    def _train_baselines(self, count: int) -> None:
        self._emit({"type": "baselines", "tasks": self.data.task_names, "seeds": count})
        seeds = list(range(self.config.train.seed, self.config.train.seed + count))
        with self._timed("baselines"):
            self.baselines = train_baselines(self.config, self.data, seeds, self.store, self.stop)

    def _warnings(self, result: TrainResult, summary: dict[str, Any]) -> list[str]:
        found = [result.message] if result.status == "diverged" and result.message else []
        return found + [warning.message for warning in measured_warnings(summary)]

    def _store(self, result: TrainResult, summary: dict[str, Any]) -> None:
        if not self.store or self.run_id is None:
            return
        outputs = {
            f"mtl/{seed}/{task}": values
            for seed, per_task in enumerate(self.seed_outputs)
            for task, values in per_task.items()
        }
        outputs.update(
            {
                f"baseline/{k}/{name}": np.asarray(run.test_outputs)
                for name, runs in self.baselines.items()
                for k, run in enumerate(runs)
            }
        )
        self.store.write_test_outputs(self.run_id, outputs)
        self.store.write_extras(self.run_id, result.extras)
        self.store.finish_run(self.run_id, summary, result.model.state_dict())
