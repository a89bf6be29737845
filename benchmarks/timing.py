"""CPU time of a training run's loop, for the benchmarks that compare runs: measured on the
calling thread (the benchmarks run torch with one intra-op thread), so other processes on a
shared machine do not count, from `train_model`'s start event to its last epoch event
(per-epoch validation included, the final evaluation of every split not)."""

from __future__ import annotations

import time

from mtl_core.train.loop import TrainResult, train_model


def timed_training(config, data) -> tuple[float, TrainResult]:
    """-> (CPU seconds of the training loop, the run's result)."""
    marks: list[float] = []

    def mark(event: dict) -> None:
        if event["type"] in ("start", "epoch"):
            marks.append(time.thread_time())

    result = train_model(config, data, on_event=mark)
    return marks[-1] - marks[0], result
