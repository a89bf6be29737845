"""Task-affinity matrices from the probe records a run stored (`extras["affinity"]`, written
by `mtl_core.train.probes`): lookahead affinity (TAG) and gradient cosine, conflict rate and
magnitude similarity, as the mean over training (with its standard error) and per epoch;
the rules that decide when such a measure is a signal rather than probe noise; and the
compact task × task table of every pair.

Orientation, the same for every matrix here: **entry [row j][column i] = effect of column
task i on row task j** (for lookahead: Z(i→j) = 1 − L_j(after a step on task i) / L_j(before),
> 0 means the step on i lowered j's loss). The gradient matrices are symmetric. Rows and
columns carry the task names (`LabelledMatrix`).

**Standard errors.** Probes close in time see nearly the same weights, so they are not
independent draws: the standard error of a mean over training is the larger of the
probe-to-probe one (sd / √n) and the batch-means one (the probes cut, in step order, into
at most 10 consecutive blocks; sd of the block means / √blocks), which also carries the
drift of a measure along training.

**When a measure is a signal** (each rule below; otherwise it is "within noise"):

- lookahead Z(i→j): |mean| ≥ 2 SE, and |mean| ≥ 5% of the task's own Z(j→j) (the scale of
  Z depends on the setup, a task's step on itself gives it);
- gradient conflict: the conflict rate exceeds 50% (what unrelated directions give) by more
  than 2 SE, with the SE at least the binomial √(0.25/n) of n independent probes, and the
  rate is at least 60%;
- a collapsed weight: the task's share of the mean weight over the last quarter of the
  probes, plus 2 SE, stays below 5%.

Fewer than 5 probes never make a signal. A signal about a task that its measured verdict
goes against (harm predicted for a task the run "helped", help for one it "hurt") is
"contradicted": shown, but not as advice. A signal about the loss of tasks that are all
"unlearnable" says nothing about transfer: no warning (the task's note says why).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from mtl_core.analysis.gradients import conflict, cosine_matrix, magnitude_similarity
from mtl_core.errors import UserError

DIRECTION = "effect of column task on row task"
MEASURES = {
    "lookahead": "lookahead affinity Z(column → row) = 1 − L_row(after step on column) / "
    "L_row(before)",
    "cosine": "gradient cosine on the shared parameters",
    "conflict_rate": "share of probed steps with gradient cosine < 0",
    "magnitude_similarity": "gradient magnitude similarity 2‖g_i‖‖g_j‖ / (‖g_i‖² + ‖g_j‖²)",
}
SIGMAS = 2.0  # a signal lies beyond this many standard errors
BLOCKS = 10  # batch means: at most this many consecutive blocks of probes
MIN_PROBES = 5
MIN_RELATIVE_LOOKAHEAD = 0.05  # of the task's own Z(j→j)
CONFLICT_RATE = 0.6
WEIGHT_COLLAPSE = 0.05  # share of the mean task weight
SIGNAL, WITHIN_NOISE, CONTRADICTED, UNMEASURED = (
    "signal",
    "within noise",
    "contradicted",
    "not measured",
)
UNLEARNABLE = "about an unlearnable task"  # its loss moving says nothing about transfer
RULES = {
    "standard_error": "max(probe-to-probe sd/√n, batch means over ≤ 10 consecutive blocks)",
    "lookahead": f"|Z| ≥ {SIGMAS:g} SE and |Z(i→j)| ≥ {MIN_RELATIVE_LOOKAHEAD:.0%} of Z(j→j)",
    "conflict_rate": f"rate − 50% > {SIGMAS:g} max(SE, √(0.25/n)) and rate ≥ {CONFLICT_RATE:.0%}",
    "weight": f"weight share over the last quarter of the probes + {SIGMAS:g} SE < "
    f"{WEIGHT_COLLAPSE:.0%} of the mean weight",
    "min_probes": str(MIN_PROBES),
    "contradicted": "a signal of harm to a task the run measurably helped (or of help to "
    "one it measurably hurt)",
}


@dataclass
class LabelledMatrix:
    """A T×T matrix with task names on both axes; values[j][i] = effect of column i on row j
    (None where nothing was measured)."""

    tasks: list[str]
    values: list[list[float | None]]

    def __getitem__(self, pair: tuple[str, str]) -> float | None:
        """`matrix[row_task, column_task]`."""
        row, column = pair
        return self.values[self.tasks.index(row)][self.tasks.index(column)]

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.tasks,
            "columns": self.tasks,
            "direction": DIRECTION,
            "values": self.values,
        }


def _matrix(tasks: list[str], tensor: torch.Tensor) -> LabelledMatrix:
    values = [[float(v) if math.isfinite(v) else None for v in row] for row in tensor.tolist()]
    return LabelledMatrix(tasks, values)


def _stack(probes: list[dict[str, Any]], key: str) -> torch.Tensor:
    return torch.tensor(
        [[[math.nan if v is None else v for v in row] for row in p[key]] for p in probes],
        dtype=torch.float64,
    )


def _nanmean(stack: torch.Tensor) -> torch.Tensor:
    return stack.nanmean(dim=0) if len(stack) else stack.new_full(stack.shape[1:], math.nan)


def _nan_se(stack: torch.Tensor) -> torch.Tensor:
    """sd / √n over the first axis, ignoring NaN; NaN where fewer than 2 values."""
    finite = torch.isfinite(stack)
    count = finite.sum(dim=0)
    centred = torch.where(finite, stack - _nanmean(stack), torch.zeros_like(stack))
    variance = (centred**2).sum(dim=0) / (count - 1).clamp_min(1)
    return torch.where(
        count >= 2, (variance / count.clamp_min(1)).sqrt(), torch.full_like(variance, math.nan)
    )


def standard_error(stack: torch.Tensor) -> torch.Tensor:
    """Standard error of the mean over the first axis (probes in step order): the larger of
    the probe-to-probe and the batch-means one (module docstring)."""
    if len(stack) < 2:
        return stack.new_full(stack.shape[1:], math.nan)
    blocks = torch.stack([_nanmean(b) for b in torch.tensor_split(stack, min(len(stack), BLOCKS))])
    return torch.fmax(_nan_se(stack), _nan_se(blocks))


def _measure_stacks(probes: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    gramians = _stack(probes, "gramian")
    return {
        "lookahead": _stack(probes, "lookahead"),
        "cosine": torch.stack([cosine_matrix(g) for g in gramians]),
        "conflict_rate": torch.stack([conflict(g) for g in gramians]).double(),
        "magnitude_similarity": torch.stack([magnitude_similarity(g) for g in gramians]),
    }


def _measures(tasks: list[str], probes: list[dict[str, Any]]) -> dict[str, LabelledMatrix]:
    """Every measure's mean over `probes`."""
    if not probes:
        empty = torch.full((len(tasks), len(tasks)), math.nan)
        return {name: _matrix(tasks, empty) for name in MEASURES}
    return {
        name: _matrix(tasks, _nanmean(stack)) for name, stack in _measure_stacks(probes).items()
    }


@dataclass
class AffinityReport:
    """The affinity a run measured: mean over training (and its standard error) and per
    epoch, every measure."""

    tasks: list[str]
    every: int
    optimizer: str
    lr: float
    probes: int
    mean: dict[str, LabelledMatrix]
    per_epoch: dict[int, dict[str, LabelledMatrix]]
    weights: dict[str, list[float | None]]  # per task, mean weight per probed epoch
    se: dict[str, LabelledMatrix]  # standard error of each mean over training
    # per task: (mean, SE) of its share of the mean task weight, last quarter of the probes
    weight_share: dict[str, tuple[float, float | None] | None]

    @property
    def epochs(self) -> list[int]:
        return sorted(self.per_epoch)

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "direction": DIRECTION,
            "measures": MEASURES,
            "every": self.every,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "probes": self.probes,
            "mean": {name: m.to_json() for name, m in self.mean.items()},
            "standard_error": {name: m.values for name, m in self.se.items()},
            "signal_rules": RULES,
            "per_epoch": {
                str(e): {name: m.values for name, m in ms.items()}
                for e, ms in sorted(self.per_epoch.items())
            },
            "weights_per_epoch": self.weights,
        }


def _weight_share(
    tasks: list[str], probes: list[dict[str, Any]]
) -> dict[str, tuple[float, float | None] | None]:
    """Per task, mean and SE of its share of the mean weight over the last quarter of the
    probes (at least 2: a weight collapses late, and one probe has no spread)."""
    rows = [p["weights"] for p in probes if p.get("weights")]
    rows = rows[-max(2, len(rows) // 4) :]
    shares = torch.tensor(
        [[w / (sum(r) / len(r)) for w in r] for r in rows if sum(r) > 0], dtype=torch.float64
    )
    if not len(shares):
        return dict.fromkeys(tasks)
    mean, se = shares.mean(dim=0), standard_error(shares)
    return {
        t: (float(mean[k]), float(se[k]) if math.isfinite(se[k]) else None)
        for k, t in enumerate(tasks)
    }


def affinity_report(record: dict[str, Any] | None) -> AffinityReport:
    """Aggregate a run's `extras["affinity"]`; UserError when the run has none."""
    if not record or not record.get("probes"):
        raise UserError(
            "this run has no affinity measurements: train it with analysis.affinity_every > 0 "
            "(e.g. --set analysis.affinity_every=10) and at least two tasks"
        )
    tasks = list(record["tasks"])
    probes = sorted(record["probes"], key=lambda p: p["step"])
    epochs = sorted({p["epoch"] for p in probes})
    per_epoch = {e: _measures(tasks, [p for p in probes if p["epoch"] == e]) for e in epochs}
    weights: dict[str, list[float | None]] = {t: [] for t in tasks}
    for epoch in epochs:
        rows = [p["weights"] for p in probes if p["epoch"] == epoch and p.get("weights")]
        for k, task in enumerate(tasks):
            weights[task].append(sum(r[k] for r in rows) / len(rows) if rows else None)
    stacks = _measure_stacks(probes)
    return AffinityReport(
        tasks=tasks,
        every=int(record.get("every", 0)),
        optimizer=str(record.get("optimizer", "")),
        lr=float(record.get("lr", math.nan)),
        probes=len(probes),
        mean={name: _matrix(tasks, _nanmean(s)) for name, s in stacks.items()},
        per_epoch=per_epoch,
        weights=weights,
        se={name: _matrix(tasks, standard_error(s)) for name, s in stacks.items()},
        weight_share=_weight_share(tasks, probes),
    )


def lookahead_is_signal(
    value: float | None, se: float | None, own: float | None, probes: int
) -> bool:
    """Z(i→j) = `value` ± `se` is a signal: beyond 2 SE and at least 5% of |Z(j→j)| (`own`)."""
    if value is None or se is None or probes < MIN_PROBES:
        return False
    scale = abs(own) * MIN_RELATIVE_LOOKAHEAD if own is not None else 0.0
    return abs(value) >= SIGMAS * se and abs(value) >= scale and value != 0.0


def conflict_is_signal(rate: float | None, se: float | None, probes: int) -> bool:
    """The conflict rate is significantly above 50% (beyond 2 max(SE, √(0.25/n))) and ≥ 60%."""
    if rate is None or probes < MIN_PROBES:
        return False
    floor = 0.5 / math.sqrt(probes)
    return rate >= CONFLICT_RATE and rate - 0.5 > SIGMAS * max(se or 0.0, floor)


def weight_has_collapsed(share: tuple[float, float | None] | None, probes: int) -> bool:
    """The last epoch's weight share stays below 5% of the mean weight beyond 2 SE."""
    if share is None or share[1] is None or probes < MIN_PROBES:
        return False
    return share[0] + SIGMAS * share[1] < WEIGHT_COLLAPSE


def contradicts(harm: bool, affected: list[str], verdicts: Mapping[str, str]) -> bool:
    """A signal of harm (or help) to `affected` that every one of their measured verdicts
    goes against ("helped" against harm, "hurt" against help)."""
    against = "helped" if harm else "hurt"
    return bool(affected) and all(verdicts.get(task) == against for task in affected)


def significant_lookahead(
    tasks: list[str],
    values: list[list[float | None]],
    se: list[list[float | None]],
    probes: int,
) -> list[list[float | None]]:
    """The lookahead matrix with every off-diagonal entry within noise set to 0 (what the
    grouping scores)."""
    return [
        [
            value
            if j == i or lookahead_is_signal(value, se[j][i], values[j][j], probes)
            else (None if value is None else 0.0)
            for i, value in enumerate(row)
        ]
        for j, row in enumerate(values)
    ]


def _lookahead_status(
    report: AffinityReport, row: str, column: str, verdicts: Mapping[str, str]
) -> str:
    value = report.mean["lookahead"][row, column]
    if value is None:
        return UNMEASURED
    if not lookahead_is_signal(
        value,
        report.se["lookahead"][row, column],
        report.mean["lookahead"][row, row],
        report.probes,
    ):
        return WITHIN_NOISE
    return signal_status(value < 0, [row], verdicts)


def signal_status(harm: bool, affected: list[str], verdicts: Mapping[str, str]) -> str:
    """The status of a measure beyond noise, given the affected tasks' verdicts."""
    if all(verdicts.get(task) == "unlearnable" for task in affected):
        return UNLEARNABLE
    return CONTRADICTED if contradicts(harm, affected, verdicts) else SIGNAL


def pair_table(
    report: AffinityReport, verdicts: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per unordered task pair (first, second in task order): mean ± SE of the
    gradient cosine, the conflict rate and the lookahead both ways, each with its status
    ("signal", "within noise", "contradicted", "about an unlearnable task", "not
    measured")."""
    verdicts = verdicts or {}
    mean, se = report.mean, report.se
    rows = []
    for a, first in enumerate(report.tasks):
        for second in report.tasks[a + 1 :]:
            rate = mean["conflict_rate"][first, second]
            conflicting = conflict_is_signal(
                rate, se["conflict_rate"][first, second], report.probes
            )
            conflict_status = (
                UNMEASURED
                if rate is None
                else WITHIN_NOISE
                if not conflicting
                else signal_status(True, [first, second], verdicts)
            )
            rows.append(
                {
                    "first": first,
                    "second": second,
                    "cosine": mean["cosine"][first, second],
                    "cosine_se": se["cosine"][first, second],
                    "conflict_rate": rate,
                    "conflict_rate_se": se["conflict_rate"][first, second],
                    "conflict_status": conflict_status,
                    "lookahead_first_to_second": mean["lookahead"][second, first],
                    "lookahead_first_to_second_se": se["lookahead"][second, first],
                    "lookahead_first_to_second_status": _lookahead_status(
                        report, second, first, verdicts
                    ),
                    "lookahead_second_to_first": mean["lookahead"][first, second],
                    "lookahead_second_to_first_se": se["lookahead"][first, second],
                    "lookahead_second_to_first_status": _lookahead_status(
                        report, first, second, verdicts
                    ),
                }
            )
    return rows
