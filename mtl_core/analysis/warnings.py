"""Warnings about transfer between tasks, at four levels that are never mixed up:

- **measured**: the task's verdict is "hurt" (its delta's interval is below 0, from at
  least 3 seeds of both): negative transfer, measured;
- **note**: the verdict says the numbers cannot tell: "unlearnable" (the task cannot be
  learned from these inputs, so nothing about transfer follows; never called negative
  transfer), or "inconclusive" with a negative delta (one seed or too few test rows; what
  to do to know);
- **signal**: a probe measure that often comes with negative transfer and lies beyond its
  own probe-to-probe noise (`mtl_core.analysis.affinity`: persistent gradient conflict, a
  negative lookahead affinity, a collapsed task weight);
- **contradicted**: such a signal about a task whose verdict is "helped": shown, not
  advised on.

"helped" and "no detectable difference" raise no measured warning. Affinity measures
predict transfer only loosely ("It's a Match!", Azorin et al. 2023): a signal never
outranks a verdict. Every warning names the task(s), the evidence with numbers, and what to
try.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtl_core.analysis.affinity import (
    CONTRADICTED,
    UNLEARNABLE,
    AffinityReport,
    conflict_is_signal,
    lookahead_is_signal,
    signal_status,
    weight_has_collapsed,
)
from mtl_core.analysis.measured import MeasuredTask, measured_tasks, verdict_map
from mtl_core.analysis.verdicts import MIN_SEEDS

CAVEAT = (
    "Affinity and gradient measures predict transfer only loosely (Azorin et al., 2023): they "
    "count as signals only beyond their probe-to-probe noise, and never outrank a measured "
    "verdict. Only a task's metric against its single-task baseline, with an interval from "
    f"at least {MIN_SEEDS} seeds of both, shows negative transfer."
)
LEVELS = ("measured", "note", "signal", "contradicted")
FEW_TEST_ROWS = 500  # docs/evidence.md: below this, seeds: auto trains 3 seeds
ADVICE_TRANSFER = (
    "a lower weight for it, another weighting method (e.g. uncertainty or "
    "UPGrad), soft sharing or MMoE, or training it apart"
)
ADVICE_CONTRADICTED = "nothing: the measured gain outweighs this signal"


@dataclass
class TransferWarning:
    level: str  # one of LEVELS
    kind: str  # "negative transfer", "unlearnable", "inconclusive", "conflict", "lookahead",
    # "weight"
    tasks: list[str]
    evidence: str
    advice: str

    @property
    def message(self) -> str:
        return f"{self.evidence}. Try: {self.advice}"

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "kind": self.kind,
            "tasks": self.tasks,
            "evidence": self.evidence,
            "advice": self.advice,
        }


def _compared(task: MeasuredTask) -> str:
    values = (
        f"{task.metric} {task.multi_task:.4g} multi-task vs {task.single_task:.4g} single-task, "
        if task.multi_task is not None and task.single_task is not None
        else ""
    )
    return f"{values}Δ {task.label}"


def _inconclusive(task: MeasuredTask) -> TransferWarning:
    seeds = min(task.seeds, task.baseline_seeds)
    causes, advice = [], []
    if task.delta_ci is None:
        causes.append(f"there is no interval ({task.verdict_reason or 'no baseline'})")
        advice.append("train it again with baselines on, to get an interval")
    if seeds < MIN_SEEDS:
        causes.append(f"{seeds} seed{'s' if seeds != 1 else ''} cannot tell it from seed noise")
        advice.append(
            f"train {MIN_SEEDS} or more seeds of both (train.seeds: {MIN_SEEDS}, "
            f"train.baseline_seeds: {MIN_SEEDS})"
        )
    if task.test_rows is not None and task.test_rows < FEW_TEST_ROWS:
        causes.append(f"{task.test_rows} test rows give a wide interval")
        advice.append("a larger test split (data.splits.test_fraction) if there is more data")
    why = "; ".join(causes) or task.verdict_reason
    return TransferWarning(
        "note",
        "inconclusive",
        [task.task],
        f"'{task.task}' is worse multi-task ({_compared(task)}), but that is not evidence of "
        f"negative transfer: {why}",
        "; or ".join(advice) or "more seeds or more test rows",
    )


def measured_warnings(summary: dict[str, Any] | None) -> list[TransferWarning]:
    """The measured part: follows each task's verdict (module docstring)."""
    found = []
    for task in measured_tasks(summary).values():
        if task.verdict == "hurt":
            found.append(
                TransferWarning(
                    "measured",
                    "negative transfer",
                    [task.task],
                    f"'{task.task}' is worse multi-task beyond noise: {_compared(task)}",
                    ADVICE_TRANSFER,
                )
            )
        elif task.verdict == "unlearnable":
            found.append(
                TransferWarning(
                    "note",
                    "unlearnable",
                    [task.task],
                    f"'{task.task}' cannot be learned from these inputs: "
                    f"{task.verdict_reason or 'neither model beats a trivial predictor'}; so "
                    "its delta says nothing about transfer",
                    "check that its column is the target you meant and that the inputs can "
                    "predict it; it is kept alone in the grouping",
                )
            )
        elif task.verdict == "inconclusive" and task.delta is not None and task.delta < 0:
            found.append(_inconclusive(task))
    return found


def _signal(
    kind: str,
    tasks: list[str],
    affected: list[str],
    harm: bool,
    evidence: str,
    advice: str,
    verdicts: Mapping[str, str],
) -> TransferWarning | None:
    """The signal, contradicted where the verdicts say so; None when every affected task
    is unlearnable (its loss moving says nothing about transfer: its note says why)."""
    status = signal_status(harm, affected, verdicts)
    if status == UNLEARNABLE:
        return None
    if status == CONTRADICTED:
        names = " and ".join(f"'{t}'" for t in affected)
        return TransferWarning(
            "contradicted",
            kind,
            tasks,
            f"{evidence}; contradicted by the measured gain: {names} "
            f"{'was' if len(affected) == 1 else 'were'} helped",
            ADVICE_CONTRADICTED,
        )
    return TransferWarning("signal", kind, tasks, evidence, advice)


def signal_warnings(
    report: AffinityReport, verdicts: Mapping[str, str] | None = None
) -> list[TransferWarning]:
    """Signals beyond probe noise: persistent conflict, negative lookahead, collapsed weight;
    "contradicted" where the affected tasks' verdicts are "helped"."""
    verdicts = verdicts or {}
    tasks, found = report.tasks, []  # (None: a signal about an unlearnable task, dropped)
    mean, se = report.mean, report.se
    for a, first in enumerate(tasks):
        for second in tasks[a + 1 :]:
            rate, rate_se = mean["conflict_rate"][first, second], se["conflict_rate"][first, second]
            if not conflict_is_signal(rate, rate_se, report.probes):
                continue
            cosine, cosine_se = mean["cosine"][first, second], se["cosine"][first, second]
            found.append(
                _signal(
                    "conflict",
                    [first, second],
                    [first, second],
                    True,
                    f"'{first}' and '{second}': their gradients conflict (cosine < 0) in "
                    f"{rate:.0%} ± {rate_se or 0:.0%} of {report.probes} probed steps (50% is "
                    f"what unrelated directions give), mean cosine {cosine:+.3f} ± "
                    f"{cosine_se or 0:.2g}",
                    "a gradient method that removes conflicts (PCGrad, UPGrad), soft sharing or "
                    "MMoE, or training them apart",
                    verdicts,
                )
            )
    for row in tasks:
        for column in tasks:
            value, value_se = mean["lookahead"][row, column], se["lookahead"][row, column]
            if (
                row == column
                or value is None
                or value >= 0
                or not lookahead_is_signal(
                    value, value_se, mean["lookahead"][row, row], report.probes
                )
            ):
                continue
            found.append(
                _signal(
                    "lookahead",
                    [column, row],
                    [row],
                    True,
                    f"a step on '{column}' raised the loss of '{row}': mean lookahead affinity "
                    f"Z({column}→{row}) = {value:+.4f} ± {value_se:.2g} over {report.probes} "
                    "probes",
                    f"a lower weight for '{column}', training '{row}' apart from it, or soft "
                    "sharing or MMoE",
                    verdicts,
                )
            )
    for task, share in report.weight_share.items():
        if share is None or share[1] is None or not weight_has_collapsed(share, report.probes):
            continue
        found.append(
            _signal(
                "weight",
                [task],
                [task],
                True,
                f"the weighting method gave '{task}' {share[0]:.1%} ± {share[1]:.1%} of the mean "
                "task weight over the last quarter of the probes: the task is barely trained",
                "another weighting method, or static weights; check the scale of its loss",
                verdicts,
            )
        )
    return [warning for warning in found if warning is not None]


def negative_transfer_warnings(
    summary: dict[str, Any] | None, report: AffinityReport | None
) -> list[TransferWarning]:
    """All warnings: measured, notes, signals, contradicted signals, in that order."""
    verdicts = verdict_map(measured_tasks(summary))
    found = measured_warnings(summary) + (signal_warnings(report, verdicts) if report else [])
    return sorted(found, key=lambda w: LEVELS.index(w.level))
