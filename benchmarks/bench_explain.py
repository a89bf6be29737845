"""Benchmark: explain 256 examples with 50 steps for 3 tasks (multiclass, binary, regression)
on a hard-sharing MLP (unit profiles by LayerConductance + input Integrated Gradients), on
the GPU when there is one, else the CPU with one thread. Reported as seconds (best of 3) and peak memory, and as ratios against references measured in
the same process: one plain forward+backward pass over the same examples per task, and one
over the whole interpolation path (examples x (steps + 1)) per task.

The measurement runs in a fresh child process so that its peak resident memory belongs to
this benchmark alone. Run: `python benchmarks/bench_explain.py [--quick]`."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FEATURES = 20
REPEATS = 3


def _rss_mb() -> float:
    """Current resident memory of this process (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(function, repeats: int, sync) -> float:
    """Best of `repeats` (the least disturbed by other work on a shared machine)."""
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        function()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def _measure(quick: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    import torch

    from mtl_core.analysis.explain import Explainer, ExplainOptions
    from mtl_core.analysis.explain.explainer import explain_device
    from mtl_core.config import ModelConfig
    from mtl_core.data.prepare import PreparedData, SplitTensors
    from mtl_core.data.tasks import TaskSpec
    from mtl_core.models import build_model

    samples, steps = (64, 10) if quick else (256, 50)
    # One thread: timings on a shared CPU are steadier, and ratios compare like with like.
    torch.set_num_threads(1)
    device = explain_device("auto")
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    torch.manual_seed(0)
    tasks = [
        TaskSpec("kind", "kind", "multiclass", ("a", "b", "c", "d")),
        TaskSpec("flag", "flag", "binary", ("no", "yes")),
        TaskSpec("size", "size", "regression"),
    ]
    x = torch.randn(samples, FEATURES)
    split = SplitTensors(
        x,
        {t.name: torch.zeros(samples) for t in tasks},
        {t.name: torch.ones(samples, dtype=torch.bool) for t in tasks},
    )
    data = PreparedData(
        tasks,
        {"train": split, "validation": split, "test": split},
        "tabular",
        (FEATURES,),
        [f"f{i}" for i in range(FEATURES)],
    )
    model = build_model(ModelConfig(shared=[64, 64], head=[32]), tasks, "tabular", (FEATURES,))
    model.to(device).eval()
    options = ExplainOptions(samples=samples, n_steps=steps)
    rows = x.to(device)

    def forward_backward(rows: torch.Tensor) -> None:
        for task in data.task_names:
            inputs = rows.clone().requires_grad_()
            model(inputs)[task][:, 0].sum().backward()

    path_rows = rows.repeat(steps + 1, 1)
    plain = _timed(lambda: forward_backward(rows), REPEATS * 5, sync)
    path = _timed(lambda: forward_backward(path_rows), REPEATS, sync)

    rss_before = _rss_mb()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    tracemalloc.start()
    explained = []
    seconds = _timed(
        lambda: explained.append(Explainer(model, data, options, device).explain()), REPEATS, sync
    )
    python_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    worst = max(c.relative for c in explained[-1].units.completeness)
    return {
        "examples": samples,
        "steps": steps,
        "tasks": len(tasks),
        "model": "hard MLP 20 -> 64 -> 64, heads 32",
        "device": str(device),
        "threads": torch.get_num_threads(),
        "explain_seconds": round(seconds, 4),
        "plain_forward_backward_seconds": round(plain, 5),
        "path_forward_backward_seconds": round(path, 5),
        "ratio_vs_plain_pass": round(seconds / plain, 1),
        "ratio_vs_path_pass": round(seconds / path, 2),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "peak_rss_increase_mb": round(max(0.0, _peak_rss_mb() - rss_before), 1),
        "python_heap_peak_mb": round(python_peak, 2),
        "gpu_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
        "worst_unit_relative_delta": round(worst, 5),
    }


def run(quick: bool = False) -> dict:
    """Measure in a fresh child process; -> the numbers as one flat dict."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child"]
    if quick:
        command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench_explain child failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    if "--child" in sys.argv:
        print(json.dumps(_measure(quick)))
    else:
        for key, value in run(quick).items():
            print(f"{key}: {value}")
