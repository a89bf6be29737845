"""A sweep, or the verification of a grouping, as a background job for the app: a thread
runs `run_sweep` (or `verify_grouping`) while the page polls a thread-safe snapshot
(progress and partial results). No Streamlit here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtl_core.background import BackgroundJob
from mtl_core.config import ExperimentConfig
from mtl_core.runs import RunStore
from mtl_core.sweep.results import sweep_report
from mtl_core.sweep.run import SweepResult, run_sweep
from mtl_core.sweep.verify import Groups, verify_grouping


@dataclass
class SweepSnapshot:
    state: str  # "running", "finished" or "failed"
    report: dict[str, Any] | None
    error: str | None

    @property
    def progress(self) -> float:
        if not self.report or not self.report["total"]:
            return 0.0
        return self.report["done"] / self.report["total"]


@dataclass
class SweepJob(BackgroundJob):
    config: ExperimentConfig
    store: RunStore
    engine: str = "local"
    address: str | None = None
    thread_name = "mtl-sweep"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._report: dict[str, Any] | None = None

    def _publish(self, result: SweepResult) -> None:
        report = sweep_report(result, self.config.analysis.max_groups)
        with self._lock:
            self._report = report

    def _work(self) -> None:
        result = run_sweep(
            self.config,
            self.store,
            self.engine,
            self.address,
            on_progress=self._publish,
            stop=self.stop_event,
        )
        self._publish(result)

    def snapshot(self) -> SweepSnapshot:
        with self._lock:
            return SweepSnapshot(self._state, self._report, self._error)


@dataclass
class VerifySnapshot:
    state: str  # "running", "finished" or "failed"
    step: str
    progress: float
    result: dict[str, Any] | None  # VerifyResult.to_json() once finished
    error: str | None


@dataclass
class VerifyJob(BackgroundJob):
    config: ExperimentConfig
    store: RunStore
    groups: Groups
    thread_name = "mtl-verify"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._step, self._progress = "preparing the data", 0.0
        self._result: dict[str, Any] | None = None

    def _on_progress(self, done: int, total: int, step: str) -> None:
        with self._lock:
            self._step, self._progress = step, done / total if total else 0.0

    def _work(self) -> None:
        result = verify_grouping(
            self.config, self.groups, self.store, self._on_progress, self.stop_event
        )
        with self._lock:
            self._result, self._step, self._progress = result.to_json(), "done", 1.0

    def snapshot(self) -> VerifySnapshot:
        with self._lock:
            return VerifySnapshot(
                self._state, self._step, self._progress, self._result, self._error
            )
