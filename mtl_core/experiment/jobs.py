"""Background training jobs for the app: a thread runs `run_experiment` while the page
polls a thread-safe snapshot of its progress. No Streamlit here. Jobs that train on a CUDA
GPU take turns (one process-wide lock); CPU jobs run side by side."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from mtl_core.background import BackgroundJob
from mtl_core.config import ExperimentConfig
from mtl_core.data.prepare import PreparedData
from mtl_core.errors import UserError
from mtl_core.experiment.run import run_experiment
from mtl_core.runs import RunStore
from mtl_core.train.device import resolve_device


@dataclass
class JobSnapshot:
    """A copy of the job's state, safe to read while the job runs."""

    state: str  # "running", "finished" or "failed"
    phase: str
    run_id: str | None
    epochs: int
    history: list[dict[str, Any]]
    summary: dict[str, Any] | None
    error: str | None
    started: float
    steps: int = 0
    seconds: float = 0.0  # training time so far

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    @property
    def progress(self) -> float:
        done = len(self.history)
        return min(1.0, done / self.epochs) if self.epochs else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if not self.history or self.state != "running":
            return None
        elapsed = self.history[-1]["seconds"]
        return elapsed / len(self.history) * max(0, self.epochs - len(self.history))


GPU_LOCK = threading.Lock()  # one training job on the GPU at a time


@dataclass
class TrainingJob(BackgroundJob):
    config: ExperimentConfig
    store: RunStore
    data: PreparedData | None = None
    thread_name = "mtl-training"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._phase = "preparing data"
        self._run_id: str | None = None
        self._epochs = 0
        self._steps = 0
        self._history: list[dict[str, Any]] = []
        self._summary: dict[str, Any] | None = None
        self._started = time.time()
        self._seconds = 0.0

    def _on_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._run_id = event.get("run_id", self._run_id)
            if event["type"] == "start":
                self._epochs, self._phase = event["epochs"], "training"
            elif event["type"] == "epoch":
                self._history.append({k: v for k, v in event.items() if k != "type"})
                self._steps, self._seconds = event["steps"], event["seconds"]
            elif event["type"] == "seed":
                self._phase = (
                    f"training the multi-task model again, seed {event['seed']} "
                    f"of {event['seeds']} (to measure seed noise)"
                )
            elif event["type"] == "baselines":
                seeds = event.get("seeds", 1)
                self._phase = "training single-task baselines" + (
                    f", {seeds} seeds each" if seeds > 1 else ""
                )

    def _train(self) -> dict[str, Any]:
        if resolve_device(self.config.train.device).type != "cuda":
            return run_experiment(
                self.config, self.store, self._on_event, self.stop_event, self.data
            )
        with self._lock:
            self._phase = "waiting for the GPU (another job is training)"
        while not GPU_LOCK.acquire(timeout=0.2):
            if self.stop_event.is_set():
                raise UserError("stopped while waiting for the GPU; nothing was trained")
        try:
            return run_experiment(
                self.config, self.store, self._on_event, self.stop_event, self.data
            )
        finally:
            GPU_LOCK.release()

    def _work(self) -> None:
        summary = self._train()
        with self._lock:
            self._summary, self._phase = summary, "done"

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(
                state=self._state,
                phase=self._phase,
                run_id=self._run_id,
                epochs=self._epochs,
                history=list(self._history),
                summary=self._summary,
                error=self._error,
                started=self._started,
                steps=self._steps,
                seconds=self._seconds,
            )
