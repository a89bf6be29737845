"""Data preparation speed: a 100,000-row, 30-column CSV turned into training tensors by
`prepare_data` (load through `datasets` with a cold cache, type the columns, split, encode)
against the raw `pandas.read_csv` of the same file, in the same run. Each measurement runs
in its own child process so that its peak memory (max RSS over the RSS after imports) is
its own; imports and torch's first-call set-up happen before the clock starts in both.
Goal: preparation within 3x the raw read.

    python benchmarks/bench_data.py [--quick]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS, QUICK_ROWS = 100_000, 20_000
NUMERIC, CATEGORICAL, INTEGER = 20, 6, 2  # + 2 targets = 30 columns
REPO = Path(__file__).resolve().parent.parent


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i in range(NUMERIC):
        values = rng.normal(size=rows).round(4)
        values[rng.random(rows) < 0.02] = np.nan
        columns[f"num{i}"] = values
    for i in range(CATEGORICAL):
        columns[f"cat{i}"] = rng.choice([f"level{j}" for j in range(3 + 2 * i)], size=rows)
    for i in range(INTEGER):
        columns[f"int{i}"] = rng.integers(0, 1000, size=rows)
    signal = columns["num0"] + columns["num1"]
    columns["label"] = np.where(np.nan_to_num(signal) > 0, "yes", "no")
    columns["target"] = (np.nan_to_num(signal) * 3 + rng.normal(size=rows)).round(4)
    pd.DataFrame(columns).to_csv(path, index=False)


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _warm_torch() -> None:
    """Torch's one-time kernel set-up (tens of ms on the first masked index or reduction) is
    process start-up, not data preparation: pay it before the clock starts, in both children."""
    import torch

    values = torch.randn(1000)
    mask = values > 0
    float(values[mask].std()), torch.cat([values, values]), torch.tensor([True])


def _child(mode: str, path: str) -> dict[str, float]:
    """Runs in a child process: import everything first, then time the one job."""
    import datasets

    from mtl_core.config import config_from_dict
    from mtl_core.data.prepare import prepare_data

    datasets.disable_progress_bars()
    _warm_torch()
    before = _rss_mb()
    started = time.perf_counter()
    if mode == "read_csv":
        pd.read_csv(path)
    else:
        config = config_from_dict(
            {
                "data": {
                    "source": path,
                    "tasks": [
                        {"name": "label", "column": "label"},
                        {"name": "target", "column": "target"},
                    ],
                }
            }
        )
        data = prepare_data(config.data)
        assert data.splits["train"].x.shape[1] > 30
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"seconds": seconds, "peak_mb": max(0.0, peak - before)}


def _measure(mode: str, path: Path, cache: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "HF_DATASETS_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> dict:
    rows = QUICK_ROWS if quick else ROWS
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="bench-data-") as folder:
        path = Path(folder) / "table.csv"
        write_table(path, rows)
        raw, prepared = [], []
        for repeat in range(repeats):
            raw.append(_measure("read_csv", path, Path(folder) / f"cache{repeat}"))
            # a fresh cache folder each time: the cold path, CSV -> Arrow included
            prepared.append(_measure("prepare", path, Path(folder) / f"cache{repeat}"))
        size_mb = path.stat().st_size / 2**20
    raw_s = statistics.median(r["seconds"] for r in raw)
    prep_s = statistics.median(r["seconds"] for r in prepared)
    raw_mb = statistics.median(r["peak_mb"] for r in raw)
    prep_mb = statistics.median(r["peak_mb"] for r in prepared)
    return {
        "rows": rows,
        "columns": NUMERIC + CATEGORICAL + INTEGER + 2,
        "file_mb": round(size_mb, 1),
        "read_csv_seconds": round(raw_s, 3),
        "prepare_seconds": round(prep_s, 3),
        "time_ratio": round(prep_s / raw_s, 2),
        "read_csv_peak_mb": round(raw_mb, 1),
        "prepare_peak_mb": round(prep_mb, 1),
        "memory_ratio": round(prep_mb / raw_mb, 2) if raw_mb else None,
        "goal": "time_ratio <= 3",
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
