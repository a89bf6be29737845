"""Training throughput, in one process on the same data:

1. engine: `train_model` with equal weighting (steps per CPU second of the training loop,
   per-epoch validation included, the final evaluation of every split not) against a bare
   hand-written PyTorch loop (forward, the sum of the task losses, backward, Adam step) over the same
   model and tensors. Torch runs on the calling thread (one intra-op thread), so the CPU time
   of that thread is the cost and other processes on a shared machine do not count. Goal:
   ratio >= 0.95.
2. app: the same experiment as a background `TrainingJob` while the caller polls
   `snapshot()` every 0.5 s (as the Train page's fragment does) against the same experiment
   run in the foreground (as the CLI does), wall clock, median of paired runs. Goal: ratio
   >= 0.90.

Run: `python benchmarks/bench_training.py [--quick]` or `python -m mtl_core bench training`.
"""

from __future__ import annotations

import functools
import json
import operator
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import timed_training  # noqa: E402
from mtl_core.config import config_from_dict  # noqa: E402
from mtl_core.data.prepare import prepare_data  # noqa: E402
from mtl_core.experiment import run_experiment  # noqa: E402
from mtl_core.experiment.jobs import TrainingJob  # noqa: E402
from mtl_core.models import build_model  # noqa: E402
from mtl_core.runs import RunStore  # noqa: E402

ENGINE_GOAL, APP_GOAL = 0.95, 0.90


def _config(epochs: int) -> dict:
    return {
        "data": {
            "source": "sample_data/mmoe_synthetic",
            "config": "p0.5",
            "tasks": [
                {"name": "y1", "column": "y1", "kind": "regression"},
                {"name": "y2", "column": "y2", "kind": "regression"},
            ],
        },
        "model": {"architecture": "hard", "shared": [64, 64], "head": [32]},
        "train": {
            "epochs": epochs,
            "batch_size": 128,
            "lr": 0.001,
            "optimizer": "adam",
            "device": "cpu",
            "patience": None,
            "baselines": False,
        },
        "analysis": {"affinity_every": 0},
    }


def bare_loop(config, data) -> float:
    """Steps per CPU second of the plainest loop over the same model and tensors, written by
    hand for this data: every task is a regression with all its labels, so the loss is the
    sum of the tasks' MSEs, with no masking and nothing else."""
    train = data.splits["train"]
    assert all(
        task.kind == "regression" and bool(train.masks[task.name].all()) for task in data.tasks
    ), "the bare loop is written for complete regression labels"
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, data.tasks, data.input_kind, data.input_shape)
    # The engine's optimizer settings (multi-tensor Adam), so only the loop around it differs.
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr, foreach=True)
    names = data.task_names
    order = torch.Generator().manual_seed(config.train.seed)
    steps, started = 0, time.thread_time()
    for _ in range(config.train.epochs):
        for rows in torch.randperm(len(train), generator=order).split(config.train.batch_size):
            outputs = model(train.x[rows])
            loss = functools.reduce(
                operator.add,
                (
                    F.mse_loss(outputs[name].squeeze(-1), train.targets[name][rows])
                    for name in names
                ),
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
    return steps / (time.thread_time() - started)


def engine(config, data) -> float:
    """Steps per CPU second of `train_model`'s loop (see `timing.py`)."""
    seconds, result = timed_training(config, data)
    return result.steps / seconds


def _background(config, data, store) -> float:
    job = TrainingJob(config, store, data=data).start()
    while job.snapshot().state == "running":
        job.join(0.5)
    return job.snapshot().summary["steps_per_second"]


def run(quick: bool = False) -> dict:
    torch.set_num_threads(1)  # all of torch's work on the measured thread
    config = config_from_dict(_config(3 if quick else 10))
    data = prepare_data(config.data)
    short = config.model_copy(update={"train": config.train.model_copy(update={"epochs": 1})})
    pairs = 4 if quick else 30
    engine(short, data), bare_loop(short, data)  # warm-up
    # Many short runs, the two sides interleaved pair by pair: a burst of load on the shared
    # machine hits one pair, and the median of the paired ratios ignores it.
    engines, bare = [], []
    for _ in range(pairs):
        bare.append(bare_loop(short, data))
        engines.append(engine(short, data))
    engine_ratio = statistics.median(e / b for e, b in zip(engines, bare, strict=True))
    repeats = 2 if quick else 12
    fore, back = [], []
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(folder)
        for _ in range(repeats):  # paired and interleaved, as above (wall clock here: the
            # polling thread's share of the interpreter is part of what is measured)
            fore.append(run_experiment(config, store, data=data)["steps_per_second"])
            back.append(_background(config, data, store))
    app_ratio = statistics.median(b / f for b, f in zip(back, fore, strict=True))
    return {
        "engine_steps_per_cpu_second": round(statistics.median(engines), 1),
        "bare_steps_per_cpu_second": round(statistics.median(bare), 1),
        "engine_ratio": round(engine_ratio, 3),
        "engine_goal": ENGINE_GOAL,
        "engine_ok": engine_ratio >= ENGINE_GOAL,
        "engine_setup": f"median of {pairs} paired one-epoch runs ({len(data.splits['train'])} "
        "rows, batch 128), CPU time of the training loop",
        "foreground_steps_per_second": round(statistics.median(fore), 1),
        "background_steps_per_second": round(statistics.median(back), 1),
        "app_ratio": round(app_ratio, 3),
        "app_goal": APP_GOAL,
        "app_ok": app_ratio >= APP_GOAL,
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
