"""Intervals for multi-task vs single-task comparisons (docs/evidence.md): a paired
bootstrap over the test rows for test-set sampling noise, Student's t over seeds for seed
noise, and both combined into each task's `delta_ci` and the run's `delta_m_ci`.

Every resample scores the multi-task and the baseline outputs of every task on the same
rows, so the interval of a difference is not the sum of two intervals, and Δm's interval
keeps the tasks' correlation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from mtl_core.kinds import get_kind
from mtl_core.kinds.metrics import metric_values

RESAMPLES = 2000
CHUNK = 256  # resamples scored at a time: a chunk of counts stays in the cache
LEVEL = 0.95
# An interval is only given when at most this share of resamples leaves the metric
# undefined (e.g. ROC-AUC of a resample without a positive row).
MAX_UNDEFINED = 0.05


@dataclass(frozen=True)
class TaskOutputs:
    """One task's test rows: labels, which rows have one, and raw outputs (regression in
    target units) of each multi-task seed, each baseline seed, and the trivial predictor."""

    kind: str
    metric: str
    truth: np.ndarray
    mask: np.ndarray
    mtl: list[np.ndarray]
    baseline: list[np.ndarray] = field(default_factory=list)
    trivial: np.ndarray | None = None


@dataclass(frozen=True)
class TaskEvidence:
    """What the comparison of one task found; intervals are (low, high) or None."""

    delta: float | None
    bootstrap_ci: tuple[float, float] | None
    seed_ci: tuple[float, float] | None
    delta_ci: tuple[float, float] | None
    test_rows: int
    seeds: int
    baseline_seeds: int
    # Lower bounds of (model − trivial predictor) on the primary metric, better = positive.
    mtl_over_trivial: float | None
    baseline_over_trivial: float | None


@dataclass(frozen=True)
class RunEvidence:
    tasks: dict[str, TaskEvidence]
    delta_m: float | None
    delta_m_ci: tuple[float, float] | None
    bootstrap_ci: tuple[float, float] | None
    seed_ci: tuple[float, float] | None
    resamples: int


def resample_counts(rows: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples, rows) counts of each row in each bootstrap resample (rows drawn with
    replacement), as float32 for matrix products."""
    drawn = np.random.default_rng(seed).integers(0, rows, size=(resamples, rows), dtype=np.int32)
    counts = np.empty((resamples, rows), dtype=np.float32)
    for resample, rows_drawn in enumerate(drawn):  # one bincount a row: cache-sized
        counts[resample] = np.bincount(rows_drawn, minlength=rows)
    return counts


def relative_delta(
    metric_mtl: np.ndarray | float, metric_base: np.ndarray | float, higher_is_better: bool
) -> np.ndarray:
    """(−1)^l (M_mtl − M_base) / |M_base|; NaN where the baseline is 0 or undefined."""
    mtl, base = np.asarray(metric_mtl, dtype=np.float64), np.asarray(metric_base, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = (mtl - base) / np.abs(base)
    relative = np.where(base == 0, np.nan, relative)
    return relative if higher_is_better else -relative


def _percentiles(values: np.ndarray) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)]
    if len(values) == 0 or len(finite) < (1 - MAX_UNDEFINED) * len(values):
        return None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def _seed_half_width(mtl: np.ndarray, base: np.ndarray) -> float | None:
    """Half-width of the seed interval of mean(mtl) − mean(base), both per-seed values of
    the same (already scaled) score; None with fewer than 2 seeds on either side."""
    if len(mtl) < 2 or len(base) < 2:
        return None
    se = math.sqrt(np.var(mtl, ddof=1) / len(mtl) + np.var(base, ddof=1) / len(base))
    return float(stats.t.ppf(0.5 + LEVEL / 2, min(len(mtl), len(base)) - 1) * se)


def combine(
    delta: float, bootstrap: tuple[float, float] | None, seed_half: float | None
) -> tuple[float, float] | None:
    """Widen each side of the bootstrap interval by the seed half-width, in quadrature."""
    if bootstrap is None:
        return None
    half = seed_half or 0.0
    low = delta - math.hypot(delta - bootstrap[0], half)
    high = delta + math.hypot(bootstrap[1] - delta, half)
    return low, high


@dataclass
class _Scored:
    """A task's metric per seed on the full test rows and per resample (means over seeds)."""

    sign: float
    mtl_seeds: np.ndarray
    base_seeds: np.ndarray
    mtl_resampled: np.ndarray
    base_resampled: np.ndarray | None
    trivial: float | None
    trivial_resampled: np.ndarray | None


def _resampled(
    task: TaskOutputs, outputs: list[list[np.ndarray]], counts: np.ndarray
) -> list[np.ndarray]:
    """Per group of outputs (the multi-task seeds, the baseline seeds, the trivial
    predictor), the mean over its outputs of the metric in every resample. Resamples go in
    chunks of `CHUNK` rows of counts, each chunk scored by every output while it is in the
    cache; unlabelled rows keep their place with weight 0 (cheaper than a gather)."""
    mask = task.mask.astype(np.float32)
    labelled = bool(task.mask.all())
    parts: list[list[np.ndarray]] = [[] for _ in outputs]
    for start in range(0, len(counts), CHUNK):
        weights = counts[start : start + CHUNK]
        weights = weights if labelled else weights * mask
        for found, group in zip(parts, outputs, strict=True):
            found.append(
                np.mean(
                    [
                        np.asarray(metric_values(task.kind, task.metric, task.truth, o, weights))
                        for o in group
                    ],
                    axis=0,
                )
            )
    return [np.concatenate(found) if found else np.zeros(0) for found in parts]


def _score(task: TaskOutputs, counts: np.ndarray) -> _Scored:
    mask = task.mask.astype(bool)
    truth = task.truth[mask]

    def full(outputs: np.ndarray) -> float:
        return float(metric_values(task.kind, task.metric, truth, outputs[mask]))

    higher = get_kind(task.kind).higher_is_better(task.metric)
    trivial = task.trivial
    groups = {
        "mtl": task.mtl,
        "baseline": task.baseline,
        "trivial": [trivial] if trivial is not None else [],
    }
    present = {name: group for name, group in groups.items() if group}
    resampled = dict(zip(present, _resampled(task, list(present.values()), counts), strict=True))
    return _Scored(
        sign=1.0 if higher else -1.0,
        mtl_seeds=np.array([full(o) for o in task.mtl]),
        base_seeds=np.array([full(o) for o in task.baseline]),
        mtl_resampled=resampled["mtl"],
        base_resampled=resampled.get("baseline"),
        trivial=full(trivial) if trivial is not None else None,
        trivial_resampled=resampled.get("trivial"),
    )


def _over_trivial(scored: _Scored, resampled: np.ndarray | None) -> float | None:
    """Lower bound of (model − trivial) in the better direction, or None."""
    if resampled is None or scored.trivial_resampled is None:
        return None
    interval = _percentiles(scored.sign * (resampled - scored.trivial_resampled))
    return interval[0] if interval else None


def compare(
    tasks: dict[str, TaskOutputs], resamples: int = RESAMPLES, seed: int = 0
) -> RunEvidence:
    """Deltas, intervals and learnability of every task, and Δm with its interval.
    All tasks share the test rows (and so each resample's rows)."""
    rows = len(next(iter(tasks.values())).mask) if tasks else 0
    counts = resample_counts(rows, resamples, seed) if rows else np.zeros((resamples, 0))
    scored = {name: _score(task, counts) for name, task in tasks.items()}
    found: dict[str, TaskEvidence] = {}
    resampled_deltas, mtl_terms, base_terms = [], [], []
    for name, task in tasks.items():
        s = scored[name]
        higher = s.sign > 0
        delta = ci = seed_ci = combined = None
        if len(s.base_seeds):
            base_mean = float(s.base_seeds.mean())
            value = float(relative_delta(s.mtl_seeds.mean(), base_mean, higher))
            delta = value if math.isfinite(value) else None
        if delta is not None and s.base_resampled is not None:
            per_resample = relative_delta(s.mtl_resampled, s.base_resampled, higher)
            ci = _percentiles(per_resample)
            scale = s.sign / abs(float(s.base_seeds.mean()))
            half = _seed_half_width(s.mtl_seeds * scale, s.base_seeds * scale)
            seed_ci = (delta - half, delta + half) if half is not None else None
            combined = combine(delta, ci, half)
            resampled_deltas.append(per_resample)
            mtl_terms.append(s.mtl_seeds * scale)
            base_terms.append(s.base_seeds * scale)
        found[name] = TaskEvidence(
            delta=delta,
            bootstrap_ci=ci,
            seed_ci=seed_ci,
            delta_ci=combined,
            test_rows=int(task.mask.sum()),
            seeds=len(task.mtl),
            baseline_seeds=len(task.baseline),
            mtl_over_trivial=_over_trivial(s, s.mtl_resampled),
            baseline_over_trivial=_over_trivial(s, s.base_resampled),
        )
    return _with_delta_m(found, resampled_deltas, mtl_terms, base_terms, resamples)


def _with_delta_m(
    found: dict[str, TaskEvidence],
    resampled_deltas: list[np.ndarray],
    mtl_terms: list[np.ndarray],
    base_terms: list[np.ndarray],
    resamples: int,
) -> RunEvidence:
    """Δm = mean of the deltas; its bootstrap from the same resamples, its seed noise from
    the per-seed sums of the tasks' scaled metrics (same seed index across tasks)."""
    known = [e.delta for e in found.values() if e.delta is not None]
    if not known:
        return RunEvidence(found, None, None, None, None, resamples)
    delta_m = float(np.mean(known))
    bootstrap = _percentiles(np.mean(resampled_deltas, axis=0)) if resampled_deltas else None
    half = None
    if (
        mtl_terms
        and len({len(t) for t in mtl_terms}) == 1
        and len({len(t) for t in base_terms}) == 1
    ):
        half = _seed_half_width(
            np.sum(mtl_terms, axis=0) / len(mtl_terms), np.sum(base_terms, axis=0) / len(base_terms)
        )
    seed_ci = (delta_m - half, delta_m + half) if half is not None else None
    return RunEvidence(
        found, delta_m, combine(delta_m, bootstrap, half), bootstrap, seed_ci, resamples
    )
