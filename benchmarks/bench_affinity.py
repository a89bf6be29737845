"""Cost of the lookahead affinity probe: training with the probe every 10 steps against the
same training without it (5 regression tasks, hard sharing, CPU), in the same process,
as CPU seconds of the training loop on the measuring thread (`timing.py`). Goal: ratio <=
1.15, with the default weighting (equal); also reported with UPGrad, whose Jacobian the
probe reuses.

Run: `python benchmarks/bench_affinity.py [--quick]` or `python -m mtl_core bench affinity`.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import timed_training  # noqa: E402
from mtl_core.config import config_from_dict  # noqa: E402
from mtl_core.data.prepare import prepare_data  # noqa: E402
from mtl_core.data.synthetic import mmoe_synthetic  # noqa: E402
from mtl_core.train.loop import train_model  # noqa: E402

TASKS = 5
EVERY = 10
GOAL = 1.15


def _config(csv: Path, epochs: int, every: int, method: str = "equal") -> dict:
    return {
        "data": {
            "source": str(csv),
            "tasks": [
                {"name": f"y{k}", "column": f"y{k}", "kind": "regression"}
                for k in range(1, TASKS + 1)
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
        "weighting": {"method": method},
        "analysis": {"affinity_every": every},
    }


def _ratio(csv: Path, data, epochs: int, pairs: int, method: str) -> dict:
    base = config_from_dict(_config(csv, epochs, 0, method))
    probed = config_from_dict(_config(csv, epochs, EVERY, method))
    train_model(probed, data)  # warm-up: first vmap/autograd calls
    # Many short runs, the two sides interleaved pair by pair: a burst of load on the shared
    # machine hits one pair, and the median of the paired ratios ignores it.
    plain, with_probe = [], []
    for _ in range(pairs):
        plain.append(timed_training(base, data)[0])
        seconds, result = timed_training(probed, data)
        with_probe.append(seconds)
    ratios = [w / p for w, p in zip(with_probe, plain, strict=True)]
    return {
        "ratio_with_probe_vs_without": round(statistics.median(ratios), 3),
        # the spread of the paired ratios (first and third quartile): the machine's noise
        "ratio_quartiles": [round(q, 3) for q in statistics.quantiles(ratios, n=4)[::2]],
        "ratio_of_fastest_runs": round(min(with_probe) / min(plain), 3),
        "seconds_without": round(statistics.median(plain), 4),
        "seconds_with": round(statistics.median(with_probe), 4),
        "steps": result.steps,
        "probes": len(result.extras["affinity"]["probes"]),
    }


def run(quick: bool = False) -> dict:
    # 9000 rows: 6300 train rows, 50 steps of 128 per epoch, so a 2-epoch run of 100 steps
    # probes on steps 0, 10, ..., 90: exactly one probe per 10 steps, as the goal states.
    rows, epochs, pairs = (2000, 2, 3) if quick else (9000, 2, 30)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "five_tasks.csv"
        mmoe_synthetic(p=0.5, n_rows=rows, dim=32, n_tasks=TASKS).to_csv(csv, index=False)
        data = prepare_data(config_from_dict(_config(csv, epochs, 0)).data)
        equal = _ratio(csv, data, epochs, pairs, "equal")
        upgrad = _ratio(csv, data, epochs, pairs, "upgrad")
    return {
        **equal,
        "goal": GOAL,
        "meets_goal": equal["ratio_with_probe_vs_without"] <= GOAL,
        "with_upgrad": upgrad,
        "setup": f"{TASKS} regression tasks, hard [64, 64] + heads [32], batch 128, "
        f"{len(data.splits['train'])} train rows, {epochs}-epoch runs, probe every "
        f"{EVERY} steps ({equal['probes']} probes in {equal['steps']} steps per run), "
        f"Adam, CPU, 1 thread, CPU seconds of the training loop, median of {pairs} "
        "interleaved pairs of runs",
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
