"""What evidence costs (issue [evidence], "Make it cheap"), in one process, torch on one
thread:

1. seeds: `run_experiment` with `train.seeds: 3` on the penguins defaults
   (examples/penguins.yaml): 3 seeds of the multi-task model, then 3 seeds of every
   single-task baseline trained as one batched ensemble (`mtl_core.train.ensemble`), the
   bootstrap comparison and the summary; against today's cost of one comparison: 1 seed of
   the multi-task model and one single-task baseline per task trained one after another
   with `train_model`, as the code did before the ensemble. Paired runs, interleaved, the
   median of the ratios; CPU time of the process (torch computes on one thread, so other
   processes on a shared machine do not count) and wall time. Goal: <= 1.5.
   Also the parts: the 3 multi-task seeds alone (as `run_experiment` trains them: seed 1
   with `train_model`, seeds 2 and 3 as one batched ensemble, `train_seeds`), the 9 baselines
   as one ensemble, and the same 9 as sequential `train_model` runs
   (`ensemble_x_sequential`).
2. bootstrap: `analysis.bootstrap.compare` on 5 tasks (binary, multiclass, regression) x
   10,000 test rows, one seed a side (what `train.seeds: auto` trains at 10,000 test rows),
   2,000 resamples: wall seconds (goal < 0.5 s) and CPU seconds, and the ratio against one
   plain pass of the same metrics on the full test rows (what a comparison without
   intervals computes).

Run: `python benchmarks/bench_evidence.py [--quick]` or `python -m mtl_core bench evidence`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl_core.analysis.bootstrap import RESAMPLES, TaskOutputs, compare  # noqa: E402
from mtl_core.config import ExperimentConfig, load_config  # noqa: E402
from mtl_core.data.prepare import PreparedData, prepare_data  # noqa: E402
from mtl_core.experiment import run_experiment  # noqa: E402
from mtl_core.experiment.baselines import (  # noqa: E402
    baseline_config,
    seeded,
    single_task_data,
    train_baselines,
)
from mtl_core.kinds.metrics import metric_values  # noqa: E402
from mtl_core.train.ensemble import train_seeds  # noqa: E402
from mtl_core.train.loop import train_model  # noqa: E402

PENGUINS = Path(__file__).resolve().parents[1] / "examples" / "penguins.yaml"
SEEDS_GOAL, BOOTSTRAP_GOAL_S = 1.5, 0.5
ROWS, SEEDS = 10_000, 3
# The bootstrap's tasks: (kind, metric, classes).
BOOTSTRAP_TASKS = [
    ("binary", "roc_auc", 2),
    ("binary", "f1", 2),
    ("multiclass", "accuracy", 4),
    ("multiclass", "macro_f1", 3),
    ("regression", "mse", 0),
]


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    """-> (CPU seconds of this process, all its threads: numpy's BLAS may use several; wall
    seconds) of `work()`."""
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


def one_comparison_before(config: ExperimentConfig, data: PreparedData) -> None:
    """Today's cost of a comparison: one multi-task seed and one baseline per task, each
    baseline its own `train_model` run, one after another."""
    train_model(config, data)
    single = seeded(baseline_config(config), config.train.seed)
    for task in data.tasks:
        train_model(single, single_task_data(data, task.name))


def with_seeds(config: ExperimentConfig, data: PreparedData) -> dict:
    """A comparison with intervals: 3 multi-task seeds, 3 ensemble seeds of baselines."""
    summary = run_experiment(config, data=data)
    assert summary["noise"]["seeds"] == SEEDS and summary["noise"]["baseline_seeds"] == SEEDS, (
        summary["noise"]
    )
    return summary


def seeds_benchmark(pairs: int) -> dict:
    config = load_config(PENGUINS)
    config = config.model_copy(
        update={"train": config.train.model_copy(update={"seeds": SEEDS, "baseline_seeds": "auto"})}
    )
    data = prepare_data(config.data)
    one_comparison_before(config, data), with_seeds(config, data)  # warm-up
    before, after = [], []
    for _ in range(pairs):  # interleaved: a burst of load on the shared machine hits one pair
        before.append(_timed(lambda: one_comparison_before(config, data)))
        after.append(_timed(lambda: with_seeds(config, data)))
    cpu_ratio = statistics.median(a[0] / b[0] for a, b in zip(after, before, strict=True))
    wall_ratio = statistics.median(a[1] / b[1] for a, b in zip(after, before, strict=True))
    return {
        "seeds_cpu_ratio": round(cpu_ratio, 3),
        "seeds_wall_ratio": round(wall_ratio, 3),
        "seeds_goal": SEEDS_GOAL,
        "seeds_ok": cpu_ratio <= SEEDS_GOAL,
        "before_cpu_s": round(statistics.median(b[0] for b in before), 3),
        "after_cpu_s": round(statistics.median(a[0] for a in after), 3),
        "seeds_setup": f"median of {pairs} paired runs on examples/penguins.yaml "
        f"({len(data.splits['train'])} training rows, {len(data.tasks)} tasks): "
        f"1 seed + {len(data.tasks)} sequential baselines vs run_experiment with "
        f"{SEEDS} seeds and {SEEDS} ensemble seeds of baselines",
    }


def parts_benchmark(repeats: int) -> dict:
    """Where the seeded comparison's time goes: the 3 multi-task seeds alone (seed 1 with
    `train_model`, the others as one ensemble, as `run_experiment` trains them), the 9
    baselines as one ensemble (`train_baselines`), and the same 9 as sequential
    `train_model` runs (what the ensemble replaces)."""
    config = load_config(PENGUINS)
    data = prepare_data(config.data)
    seeds = list(range(config.train.seed, config.train.seed + SEEDS))
    single = baseline_config(config)

    def multi_task() -> None:
        train_model(config, data)
        assert train_seeds(config, data, seeds[1:]) is not None  # the defaults are stackable

    def sequential() -> None:
        for task in data.tasks:
            for seed in seeds:
                train_model(seeded(single, seed), single_task_data(data, task.name))

    mtl, ensemble, alone = [], [], []
    for _ in range(repeats):
        mtl.append(_timed(multi_task)[0])
        ensemble.append(_timed(lambda: train_baselines(config, data, seeds))[0])
        alone.append(_timed(sequential)[0])
    return {
        "mtl_seeds_cpu_s": round(statistics.median(mtl), 3),
        "ensemble_cpu_s": round(statistics.median(ensemble), 3),
        "sequential_baselines_cpu_s": round(statistics.median(alone), 3),
        "ensemble_x_sequential": round(
            statistics.median(e / a for e, a in zip(ensemble, alone, strict=True)), 3
        ),
        "parts_setup": f"{SEEDS} multi-task seeds (1 + {SEEDS - 1} as one ensemble); "
        f"{SEEDS * len(data.tasks)} baselines as one "
        f"ensemble vs one train_model each; CPU seconds, median of {repeats}",
    }


def bootstrap_tasks(rows: int, rng: np.random.Generator) -> dict[str, TaskOutputs]:
    """Outputs of a multi-task model, a baseline and the trivial predictor that are somewhat
    right, for each kind of `BOOTSTRAP_TASKS`."""
    tasks = {}
    for index, (kind, metric, classes) in enumerate(BOOTSTRAP_TASKS):
        mask = rng.random(rows) > 0.05  # some labels missing, as real tasks have
        if kind == "regression":
            truth = rng.normal(100.0, 20.0, rows)

            def outputs(noise: float, truth=truth) -> np.ndarray:
                return truth + rng.normal(0.0, noise, rows)

            trivial = np.full(rows, truth.mean())
        else:
            truth = rng.integers(0, classes, rows)

            def outputs(noise: float, truth=truth, classes=classes, kind=kind) -> np.ndarray:
                if kind == "binary":
                    return (2 * truth - 1) + rng.normal(0.0, noise, rows)
                return np.eye(classes)[truth] * 2 + rng.normal(0.0, noise, (rows, classes))

            trivial = np.zeros(rows) if kind == "binary" else np.zeros((rows, classes))
        tasks[f"{kind}{index}"] = TaskOutputs(
            kind=kind,
            metric=metric,
            truth=truth,
            mask=mask,
            mtl=[outputs(1.5)],
            baseline=[outputs(1.6)],
            trivial=trivial,
        )
    return tasks


def plain_pass(tasks: dict[str, TaskOutputs]) -> None:
    """The same metrics once on the full test rows: multi-task, baseline and trivial."""
    for task in tasks.values():
        for outputs in (*task.mtl, *task.baseline, task.trivial):
            metric_values(task.kind, task.metric, task.truth[task.mask], outputs[task.mask])


def bootstrap_benchmark(repeats: int) -> dict:
    tasks = bootstrap_tasks(ROWS, np.random.default_rng(0))
    compare(tasks), plain_pass(tasks)  # warm-up
    seconds, plain = [], []
    for _ in range(repeats):
        plain.append(_timed(lambda: plain_pass(tasks)))
        seconds.append(_timed(lambda: compare(tasks, RESAMPLES)))
    wall = statistics.median(s[1] for s in seconds)
    return {
        "bootstrap_s": round(wall, 3),
        "bootstrap_cpu_s": round(statistics.median(s[0] for s in seconds), 3),
        "bootstrap_goal_s": BOOTSTRAP_GOAL_S,
        "bootstrap_ok": wall < BOOTSTRAP_GOAL_S,
        "bootstrap_x_plain_pass": round(wall / statistics.median(p[1] for p in plain), 1),
        "bootstrap_setup": f"compare() on {len(tasks)} tasks x {ROWS} test rows "
        f"({', '.join(kind for kind, _, _ in BOOTSTRAP_TASKS)}), "
        f"{RESAMPLES} resamples, 1 seed a side, median of {repeats}",
    }


def run(quick: bool = False) -> dict:
    torch.set_num_threads(1)  # all of torch's work on the measured thread
    return {
        "threads": torch.get_num_threads(),
        **seeds_benchmark(3 if quick else 7),
        **parts_benchmark(1 if quick else 3),
        **bootstrap_benchmark(1 if quick else 3),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
