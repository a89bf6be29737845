"""The unit of work of a sweep: train one subset of the experiment and store its run. A
top-level function of plain arguments, so a spawned process or a Ray worker can run it."""

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


def init_worker(cores: int) -> None:
    """A worker process's share of the cores (`mtl_core.train.threads`): the pool's workers
    together use the machine's cores, no more."""
    from mtl_core.train.threads import limit_process

    limit_process(cores)


def train_subset(
    config: dict[str, Any], subset: list[str], runs_dir: str, stop_path: str
) -> dict[str, Any]:
    """Train one subset of the experiment `config` (prepared in full, so the subset keeps
    its rows and inputs) and store it; returns its summary."""
    from mtl_core.config import config_from_dict
    from mtl_core.data.prepare import prepare_data
    from mtl_core.runs import RunStore
    from mtl_core.sweep.groups import train_group

    stop = StopFlag(stop_path)
    if stop.is_set():
        return {"status": "skipped"}
    experiment = config_from_dict(config)
    return train_group(
        experiment, prepare_data(experiment.data), tuple(subset), RunStore(runs_dir), stop
    )
