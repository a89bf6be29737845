"""Background jobs for the app: a thread runs one piece of work while pages poll snapshots.
The base owns the thread, the stop event, the lock and the outcome (a failure becomes one
readable line, never a traceback). No Streamlit here."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Self

from mtl_core.errors import UserError


class BackgroundJob(ABC):
    """Subclass, implement `_work()` (check `stop_event`; publish progress under `_lock`),
    then `start()`. `_state` is "running", "finished" or "failed" with `_error` set."""

    thread_name = "mtl-job"

    def __post_init__(self) -> None:  # dataclass subclasses call this after their fields
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._state = "running"
        self._error: str | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def _work(self) -> None:
        """Do the job; raise UserError for a problem the user can fix."""

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._work()
        except UserError as error:
            message = str(error)
        except Exception as error:  # shown in the page as one line, never a traceback
            message = f"unexpected error: {type(error).__name__}: {error}"
        else:
            with self._lock:
                self._state = "finished"
            return
        with self._lock:
            self._state, self._error = "failed", message
