"""A sweep as a background job for the app: a thread runs `run_sweep` while the page polls
a thread-safe snapshot (progress and partial results). No Streamlit here."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from mtl_core.config import ExperimentConfig
from mtl_core.errors import UserError
from mtl_core.runs import RunStore
from mtl_core.sweep.results import sweep_report
from mtl_core.sweep.run import SweepResult, run_sweep


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
class SweepJob:
    config: ExperimentConfig
    store: RunStore
    engine: str = "local"
    address: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _state: str = "running"
    _report: dict[str, Any] | None = None
    _error: str | None = None
    _thread: threading.Thread | None = None

    def start(self) -> SweepJob:
        self._thread = threading.Thread(target=self._work, name="mtl-sweep", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _publish(self, result: SweepResult) -> None:
        report = sweep_report(result, self.config.analysis.max_groups)
        with self._lock:
            self._report = report

    def _work(self) -> None:
        try:
            result = run_sweep(self.config, self.store, self.engine, self.address,
                               on_progress=self._publish, stop=self.stop_event)
        except UserError as error:
            with self._lock:
                self._state, self._error = "failed", str(error)
            return
        except Exception as error:  # shown in the page as one line, never a traceback
            with self._lock:
                self._state = "failed"
                self._error = f"unexpected error: {type(error).__name__}: {error}"
            return
        self._publish(result)
        with self._lock:
            self._state = "finished"

    def snapshot(self) -> SweepSnapshot:
        with self._lock:
            return SweepSnapshot(self._state, self._report, self._error)
