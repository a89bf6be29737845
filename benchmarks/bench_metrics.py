"""What bootstrap metrics cost: `metric_values` of one binary task on 10,000 rows for 2,000
resamples at once (row counts as int64, as numpy's multinomial draws them, and as uint8),
against the reference of scikit-learn scoring resamples one at a time (timed on 20 of them,
times 100). CPU seconds of the calling thread (other processes on a shared machine do not
count), the median of the repeats. Goal for roc_auc: well under 0.1 s.

Run: `python benchmarks/bench_metrics.py [--quick]` or `python -m mtl_core bench metrics`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn import metrics as sk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl_core.kinds.metrics import metric_values  # noqa: E402

ROWS, RESAMPLES, REFERENCE_RESAMPLES = 10_000, 2_000, 20
SKLEARN = {
    "roc_auc": sk.roc_auc_score,
    "pr_auc": sk.average_precision_score,
    "accuracy": lambda truth, logits: sk.accuracy_score(truth, logits > 0),
    "f1": lambda truth, logits: sk.f1_score(truth, logits > 0),
}


def _cpu_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.thread_time()
        work()
        times.append(time.thread_time() - start)
    return statistics.median(times)


def run(quick: bool = False) -> dict:
    repeats = 1 if quick else 5
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, ROWS)
    logits = rng.normal(size=ROWS) + truth
    counts = rng.multinomial(ROWS, np.full(ROWS, 1 / ROWS), size=RESAMPLES)
    result: dict[str, float] = {}
    for metric, scorer in SKLEARN.items():
        rows = [np.repeat(np.arange(ROWS), c) for c in counts[:REFERENCE_RESAMPLES]]
        reference = _cpu_seconds(
            lambda scorer=scorer, rows=rows: [scorer(truth[r], logits[r]) for r in rows], repeats
        )
        reference *= RESAMPLES / REFERENCE_RESAMPLES
        for dtype in (np.int64, np.uint8):
            typed = counts.astype(dtype)
            seconds = _cpu_seconds(
                lambda metric=metric, typed=typed: metric_values(
                    "binary", metric, truth, logits, typed
                ),
                repeats,
            )
            result[f"{metric}_{np.dtype(dtype).name}_s"] = round(seconds, 4)
            result[f"{metric}_{np.dtype(dtype).name}_vs_sklearn"] = round(seconds / reference, 4)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
