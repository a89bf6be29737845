"""The unit of work of a sweep: train one subset and store its run. A top-level function
of plain arguments, so a spawned process or a Ray worker can run it."""

from __future__ import annotations

import os
from typing import Any


class StopFlag:
    """A stop signal that another process can poll cheaply: set once its file exists."""

    def __init__(self, path: str) -> None:
        self.path = path

    def is_set(self) -> bool:
        return os.path.exists(self.path)

    def set(self) -> None:
        with open(self.path, "w"):
            pass


def init_worker() -> None:
    """One thread per worker process: the pool already uses the cores."""
    import torch

    torch.set_num_threads(1)


def train_subset(config: dict[str, Any], runs_dir: str, stop_path: str) -> dict[str, Any]:
    """Train one subset's experiment and store it; returns its summary."""
    from mtl_core.config import config_from_dict
    from mtl_core.runs import RunStore
    from mtl_core.experiment import run_experiment

    stop = StopFlag(stop_path)
    if stop.is_set():
        return {"status": "skipped"}
    return run_experiment(config_from_dict(config), RunStore(runs_dir), stop=stop)
