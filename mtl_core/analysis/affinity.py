"""Task-affinity matrices from the probe records a run stored (`extras["affinity"]`, written
by `mtl_core.train.probes`): lookahead affinity (TAG) and gradient cosine, conflict rate and
magnitude similarity, as the mean over training and per epoch.

Orientation, the same for every matrix here: **entry [row j][column i] = effect of column
task i on row task j** (for lookahead: Z(i→j) = 1 − L_j(after a step on task i) / L_j(before),
> 0 means the step on i lowered j's loss). The gradient matrices are symmetric. Rows and
columns carry the task names (`LabelledMatrix`).
"""

from __future__ import annotations

import math
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
        return {"rows": self.tasks, "columns": self.tasks, "direction": DIRECTION,
                "values": self.values}


def _matrix(tasks: list[str], tensor: torch.Tensor) -> LabelledMatrix:
    values = [[float(v) if math.isfinite(v) else None for v in row] for row in tensor.tolist()]
    return LabelledMatrix(tasks, values)


def _stack(probes: list[dict[str, Any]], key: str) -> torch.Tensor:
    return torch.tensor([[[math.nan if v is None else v for v in row] for row in p[key]]
                         for p in probes], dtype=torch.float64)


def _nanmean(stack: torch.Tensor) -> torch.Tensor:
    return stack.nanmean(dim=0) if len(stack) else stack.new_full(stack.shape[1:], math.nan)


def _measures(tasks: list[str], probes: list[dict[str, Any]]) -> dict[str, LabelledMatrix]:
    """Every measure's mean over `probes`."""
    count = len(tasks)
    if not probes:
        empty = torch.full((count, count), math.nan)
        return {name: _matrix(tasks, empty) for name in MEASURES}
    gramians = _stack(probes, "gramian")
    cosines = torch.stack([cosine_matrix(g) for g in gramians])
    return {
        "lookahead": _matrix(tasks, _nanmean(_stack(probes, "lookahead"))),
        "cosine": _matrix(tasks, cosines.mean(dim=0)),
        "conflict_rate": _matrix(tasks, torch.stack([conflict(g) for g in gramians])
                                 .double().mean(dim=0)),
        "magnitude_similarity": _matrix(
            tasks, torch.stack([magnitude_similarity(g) for g in gramians]).mean(dim=0)),
    }


@dataclass
class AffinityReport:
    """The affinity a run measured: mean over training and per epoch, every measure."""

    tasks: list[str]
    every: int
    optimizer: str
    lr: float
    probes: int
    mean: dict[str, LabelledMatrix]
    per_epoch: dict[int, dict[str, LabelledMatrix]]
    weights: dict[str, list[float | None]]  # per task, mean weight per probed epoch

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
            "per_epoch": {str(e): {name: m.values for name, m in ms.items()}
                          for e, ms in sorted(self.per_epoch.items())},
            "weights_per_epoch": self.weights,
        }


def affinity_report(record: dict[str, Any] | None) -> AffinityReport:
    """Aggregate a run's `extras["affinity"]`; UserError when the run has none."""
    if not record or not record.get("probes"):
        raise UserError(
            "this run has no affinity measurements: train it with analysis.affinity_every > 0 "
            "(e.g. --set analysis.affinity_every=10) and at least two tasks"
        )
    tasks, probes = list(record["tasks"]), record["probes"]
    epochs = sorted({p["epoch"] for p in probes})
    per_epoch = {e: _measures(tasks, [p for p in probes if p["epoch"] == e]) for e in epochs}
    weights: dict[str, list[float | None]] = {t: [] for t in tasks}
    for epoch in epochs:
        rows = [p["weights"] for p in probes if p["epoch"] == epoch and p.get("weights")]
        for k, task in enumerate(tasks):
            weights[task].append(sum(r[k] for r in rows) / len(rows) if rows else None)
    return AffinityReport(
        tasks=tasks,
        every=int(record.get("every", 0)),
        optimizer=str(record.get("optimizer", "")),
        lr=float(record.get("lr", math.nan)),
        probes=len(probes),
        mean=_measures(tasks, probes),
        per_epoch=per_epoch,
        weights=weights,
    )
