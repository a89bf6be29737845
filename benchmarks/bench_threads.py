"""The thread policy under load (mtl_core/train/threads.py): two training jobs at once, as
two threads of one process (as the app's background jobs run), on the MMoE synthetic sample
with hard sharing and with MMoE. Each setting of `train.threads` (the policy's "auto", 1,
2, and torch's default: as many threads as this process's cores) trains both jobs together;
the throughput is both jobs' steps over the wall time until the last one ends (so other
processes on a shared machine slow every setting alike: the settings are interleaved,
repeated, and the median taken). Measured twice: as the machine is, and with one more
process keeping one core busy (another user's work on a shared machine, where torch's
spinning threads lose most). Goals: the policy >= 0.9x the best fixed setting and >= 5x
torch's default, under the same load.

Run: `python benchmarks/bench_threads.py [--quick]` or `python -m mtl_core bench threads`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl_core.config import config_from_dict  # noqa: E402
from mtl_core.data.prepare import prepare_data  # noqa: E402
from mtl_core.train.loop import train_model  # noqa: E402
from mtl_core.train.threads import machine_cores  # noqa: E402

BEST_FIXED_GOAL, DEFAULT_GOAL = 0.9, 5.0
JOBS = 2
MODELS = {
    "hard": {"architecture": "hard", "shared": [64, 64], "head": [32]},
    "mmoe": {"architecture": "mmoe", "shared": [16], "head": [8], "params": {"experts": 8}},
}


def _config(model: dict, threads: str | int, epochs: int, seed: int) -> dict:
    return {
        "data": {
            "source": "sample_data/mmoe_synthetic",
            "config": "p0.5",
            "tasks": [
                {"name": "y1", "column": "y1", "kind": "regression"},
                {"name": "y2", "column": "y2", "kind": "regression"},
            ],
        },
        "model": model,
        "train": {
            "epochs": epochs,
            "batch_size": 128,
            "lr": 0.001,
            "optimizer": "adam",
            "device": "cpu",
            "patience": None,
            "baselines": False,
            "seed": seed,
            "threads": threads,
        },
        "analysis": {"affinity_every": 0},
    }


def together(model: dict, threads: str | int, epochs: int, data) -> tuple[float, list[int]]:
    """Train `JOBS` jobs at once, each on its own thread; -> (steps per second of them all,
    the threads each one trained with)."""
    configs = [config_from_dict(_config(model, threads, epochs, seed)) for seed in range(JOBS)]
    results: list = [None] * JOBS
    start = threading.Barrier(JOBS + 1)

    def job(index: int) -> None:
        start.wait()
        results[index] = train_model(configs[index], data)

    workers = [threading.Thread(target=job, args=(i,)) for i in range(JOBS)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - began
    return sum(r.steps for r in results) / wall, [r.threads for r in results]


def run(quick: bool = False) -> dict:
    repeats, epochs = (2, 1) if quick else (5, 4)
    data = prepare_data(config_from_dict(_config(MODELS["hard"], "auto", 1, 0)).data)
    together(MODELS["hard"], 1, 1, data)  # warm-up: first-use costs count for no setting
    report = {"idle": _measure(data, repeats, epochs)}
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # another user's work
    try:
        report["one_core_busy"] = _measure(data, repeats, epochs)
    finally:
        busy.kill()
        busy.wait()
    report["setup"] = (
        f"{JOBS} jobs at once (threads of one process), mmoe_synthetic p0.5 "
        f"(5,600 training rows), {epochs} epoch(s) each, batch 128, Adam, CPU; "
        f"{machine_cores()} cores; median of {repeats} interleaved repeats; "
        "steps/s = both jobs' steps over the wall time"
    )
    return report


def _measure(data, repeats: int, epochs: int) -> dict:
    """Each model's throughput per setting, and the policy's ratios."""
    default = machine_cores()  # torch's default intra-op threads: the process's cores
    settings: dict[str, str | int] = {
        "policy": "auto",
        "1 thread": 1,
        "2 threads": 2,
        f"torch default ({default})": default,
    }
    previous = torch.get_num_threads()
    report: dict = {}
    try:
        for name, model in MODELS.items():
            speeds: dict[str, list[float]] = {label: [] for label in settings}
            chosen: list[int] = []
            for _ in range(repeats):  # interleaved, so load changes hit every setting
                for label, setting in settings.items():
                    speed, used = together(model, setting, epochs, data)
                    speeds[label].append(speed)
                    if setting == "auto":
                        chosen = used
            medians = {label: round(statistics.median(v), 1) for label, v in speeds.items()}
            fixed = [label for label in settings if label != "policy"]
            best = max(fixed[:-1], key=lambda label: medians[label])
            policy = medians["policy"]
            default_label = fixed[-1]
            report[name] = {
                "steps_per_second_median": medians,
                "policy_threads_per_job": chosen,
                "policy_vs_best_fixed": round(policy / medians[best], 2),
                "best_fixed": best,
                "policy_vs_torch_default": round(policy / medians[default_label], 2),
                "meets_goals": (
                    policy >= BEST_FIXED_GOAL * medians[best]
                    and policy >= DEFAULT_GOAL * medians[default_label]
                ),
            }
    finally:
        torch.set_num_threads(previous)
    return report


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
