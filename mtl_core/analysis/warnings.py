"""Negative-transfer warnings at two levels that are never mixed up:

- **confirmed**: a task's test metric is worse than its single-task baseline by more than
  the seed noise. The noise comes from the run summary: per task `baseline_seeds` (and, if
  present, `seeds`) as lists of metric dicts, or `baseline_std` as {metric: std}. Worse
  beyond 2 standard deviations (of the difference) is confirmed.
- **suspected**: a signal that often comes with negative transfer but does not prove it:
  a measured deficit on a single seed (it may be seed noise), persistent gradient conflict,
  negative lookahead affinity, or a task weight collapsing to about 0.

Affinity measures predict transfer only loosely ("It's a Match!", Azorin et al. 2023), so
they only ever raise suspected warnings. Every warning names the task(s), the evidence
with numbers, and what to try.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from mtl_core.analysis.affinity import AffinityReport
from mtl_core.train.metrics import PRIMARY

CAVEAT = (
    "Affinity and gradient measures predict transfer only loosely (Azorin et al., 2023): they "
    "raise suspicions. Only a task's metric against its single-task baseline, beyond the "
    "noise of several seeds, confirms negative transfer."
)
CONFLICT_RATE = 0.6  # share of probed steps with cosine < 0 that counts as persistent
WEIGHT_COLLAPSE = 0.05  # a weight below this share of the mean task weight has collapsed
MIN_PROBES = 5
NOISE_SIGMAS = 2.0
ADVICE_TRANSFER = ("a lower weight for it, another weighting method (e.g. uncertainty or "
                   "UPGrad), soft sharing or MMoE, or training it apart")


@dataclass
class TransferWarning:
    level: str  # "confirmed" or "suspected"
    kind: str  # "measured", "conflict", "lookahead", "weight"
    tasks: list[str]
    evidence: str
    advice: str

    @property
    def message(self) -> str:
        return f"{self.evidence}. Try: {self.advice}"

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "kind": self.kind, "tasks": self.tasks,
                "evidence": self.evidence, "advice": self.advice}


def _values(runs: Any, metric: str) -> list[float]:
    return [float(r[metric]) for r in runs or [] if isinstance(r, dict) and metric in r]


def _noise(task: dict[str, Any], metric: str) -> tuple[float | None, int]:
    """(std of MTL − baseline, number of baseline seeds), from what the summary holds."""
    baseline = _values(task.get("baseline_seeds"), metric)
    mtl = _values(task.get("seeds"), metric)
    std = (task.get("baseline_std") or {}).get(metric)
    if len(baseline) >= 2:
        std = statistics.stdev(baseline)
    if std is None:
        return None, max(len(baseline), 1)
    mtl_std = statistics.stdev(mtl) if len(mtl) >= 2 else 0.0
    return math.hypot(float(std), mtl_std), max(len(baseline), 2)


def measured_warnings(summary: dict[str, Any] | None) -> list[TransferWarning]:
    """Tasks whose metric is worse than their single-task baseline (confirmed beyond seed
    noise when the summary has seeds, else suspected and said to be one seed)."""
    found = []
    for name, task in ((summary or {}).get("tasks") or {}).items():
        delta, base = task.get("delta"), task.get("baseline_metrics")
        if delta is None or delta >= 0 or not base:
            continue
        metric, higher_is_better = PRIMARY[task["kind"]]
        mtl_values = _values(task.get("seeds"), metric)
        baseline_values = _values(task.get("baseline_seeds"), metric)
        mtl_value = statistics.mean(mtl_values) if mtl_values else task["metrics"][metric]
        base_value = statistics.mean(baseline_values) if baseline_values else base[metric]
        gap = (mtl_value - base_value) if higher_is_better else (base_value - mtl_value)
        std, seeds = _noise(task, metric)
        head = (f"'{name}': {metric} {mtl_value:.4g} multi-task vs {base_value:.4g} single-task "
                f"({abs(delta):.1%} worse)")
        if std is None:
            found.append(TransferWarning("suspected", "measured", [name],
                                         f"{head}, on a single seed: not confirmed beyond "
                                         "seed noise (train several seeds to confirm)",
                                         ADVICE_TRANSFER))
        elif -gap > NOISE_SIGMAS * std:
            found.append(TransferWarning("confirmed", "measured", [name],
                                         f"{head}; the gap {abs(gap):.3g} exceeds "
                                         f"{NOISE_SIGMAS:g}× the seed noise ({std:.3g}, "
                                         f"{seeds} seeds)", ADVICE_TRANSFER))
        else:
            found.append(TransferWarning("suspected", "measured", [name],
                                         f"{head}; the gap {abs(gap):.3g} is within "
                                         f"{NOISE_SIGMAS:g}× the seed noise ({std:.3g}, "
                                         f"{seeds} seeds)", ADVICE_TRANSFER))
    return found


def signal_warnings(report: AffinityReport) -> list[TransferWarning]:
    """Suspicions from the probe: persistent conflict, negative lookahead, collapsed weight."""
    if report.probes < MIN_PROBES:
        return []
    tasks, found = report.tasks, []
    conflict, cosine = report.mean["conflict_rate"], report.mean["cosine"]
    lookahead = report.mean["lookahead"]
    for a, first in enumerate(tasks):
        for second in tasks[a + 1:]:
            rate = conflict[first, second]
            if rate is not None and rate >= CONFLICT_RATE:
                found.append(TransferWarning(
                    "suspected", "conflict", [first, second],
                    f"'{first}' and '{second}': their gradients conflict (cosine < 0) in "
                    f"{rate:.0%} of {report.probes} probed steps, mean cosine "
                    f"{cosine[first, second]:+.3f}",
                    "a gradient method that removes conflicts (PCGrad, UPGrad), soft sharing "
                    "or MMoE, or training them apart"))
    for row in tasks:
        for column in tasks:
            value = lookahead[row, column]
            if row == column or value is None or value >= 0:
                continue
            epochs = [ms["lookahead"][row, column] for ms in report.per_epoch.values()]
            negative = [v for v in epochs if v is not None and v < 0]
            if len(negative) * 2 < len([v for v in epochs if v is not None]):
                continue  # negative on average but not persistently
            found.append(TransferWarning(
                "suspected", "lookahead", [column, row],
                f"a step on '{column}' raised the loss of '{row}': mean lookahead affinity "
                f"Z({column}→{row}) = {value:+.4f}, negative in {len(negative)} of "
                f"{len(epochs)} epochs",
                f"a lower weight for '{column}', training '{row}' apart from it, or soft "
                "sharing or MMoE"))
    epoch_means = [statistics.mean(w for w in column if w is not None)
                   for column in zip(*report.weights.values(), strict=True)
                   if any(w is not None for w in column)]
    for task, weights in report.weights.items():
        last = next((w for w in reversed(weights) if w is not None), None)
        if last is None or not epoch_means or epoch_means[-1] <= 0:
            continue
        if last < WEIGHT_COLLAPSE * epoch_means[-1]:
            found.append(TransferWarning(
                "suspected", "weight", [task],
                f"the weighting method gave '{task}' a weight of {last:.3g} in the last probed "
                f"epoch, {last / epoch_means[-1]:.1%} of the mean task weight: the task is "
                "barely trained", "another weighting method, or static weights; check the "
                "scale of its loss"))
    return found


def negative_transfer_warnings(
    summary: dict[str, Any] | None, report: AffinityReport | None
) -> list[TransferWarning]:
    """All warnings, confirmed first."""
    found = measured_warnings(summary) + (signal_warnings(report) if report else [])
    return sorted(found, key=lambda w: w.level != "confirmed")
