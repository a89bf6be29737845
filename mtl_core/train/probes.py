"""The lookahead affinity probe (TAG, Fifty et al. NeurIPS 2021), run from the training loop.

Every `analysis.affinity_every` steps, on the current batch and before the real update:

1. per-task losses L_j and the Jacobian of the losses on the shared parameters (one row g_i
   per task; `weighting.jacobian.task_jacobian`: one backward to the task cut, one batched VJP
   beyond it);
2. for each task i, the shared parameters the *real* optimizer would produce from g_i alone
   (its rule replayed with its moments and step count, see `replay.py`);
3. every task's loss L_j on the same batch with those parameters (no_grad);
4. Z(i→j) = 1 − L_j(after step on i) / L_j(before), and the Gramian G = J Jᵀ for free.

Stored as matrices with entry [j][i] = Z(i→j): row = the task affected, column = the task
whose step was taken ("effect of column task on row task", TAG's `revised_integrals[j][i]`).
Z is not divided by the learning rate.

The probe never changes the trained model: it evaluates in eval mode (no dropout random
numbers drawn, no normalisation statistics updated), takes gradients with
`torch.autograd.grad` (no `.grad` written), substitutes candidate parameters through
`torch.func.functional_call` (the module's own tensors are never written) and only reads
the optimizer state. Cost per probe: one forward, one batched backward, one batched forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.func import functional_call, vmap

from mtl_core.data.tasks import TaskSpec
from mtl_core.models import MTLModel
from mtl_core.train.losses import task_losses
from mtl_core.train.replay import replay_step
from mtl_core.weighting.jacobian import task_jacobian

DIRECTION = "entry [row j][column i] = effect of a step on column task i on row task j's loss"


@dataclass
class ProbeRecord:
    step: int
    epoch: int
    losses: list[float]  # L_j before, per task
    lookahead: list[list[float]]  # [j][i] = Z(i→j); NaN where L_j was 0 (no labels)
    gramian: list[list[float]]  # G_ij = g_i · g_j on the shared parameters


class LookaheadProbe:
    """Measures lookahead affinity and the task-gradient Gramian on chosen steps."""

    def __init__(
        self,
        model: MTLModel,
        optimizer: torch.optim.Optimizer,
        tasks: list[TaskSpec],
        every: int,
        vectorize: bool = True,
    ) -> None:
        self.model, self.optimizer, self.tasks, self.every = model, optimizer, tasks, every
        shared_ids = {id(p) for p in model.shared_parameters()}
        named = [(n, p) for n, p in model.named_parameters() if id(p) in shared_ids]
        self.shared_names = [n for n, _ in named]
        self.shared = [p for _, p in named]
        # One vmapped forward for all T candidates is fastest; an architecture with an op
        # that vmap cannot batch falls back to one forward per task (same numbers).
        self.vectorize = vectorize
        self.records: list[ProbeRecord] = []

    @classmethod
    def for_training(cls, every: int, model: MTLModel, optimizer, tasks) -> LookaheadProbe | None:
        """The probe a run asked for, or None (switched off, or a single task)."""
        if every <= 0 or len(tasks) < 2 or not model.shared_parameters():
            return None
        return cls(model, optimizer, tasks, every)

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def measure(self, x, targets, masks, step: int, epoch: int) -> ProbeRecord:
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.enable_grad():
                outputs = self.model(x)
                before = task_losses(self.tasks, outputs, targets, masks)
                jacobian = task_jacobian(before, self.shared, []).shared_rows
            with torch.no_grad():
                candidates = replay_step(self.optimizer, self.shared, jacobian)
                after = self._losses_after(x, targets, masks, candidates)
                before = before.detach()
                ratio = after / before.where(before > 0, torch.nan)[None, :]
                lookahead = (1.0 - ratio).T  # [j][i] = Z(i→j)
                flat = torch.cat([j.reshape(len(self.tasks), -1) for j in jacobian], dim=1)
                gramian = flat @ flat.T
        finally:
            self.model.train(was_training)
        record = ProbeRecord(step, epoch, before.tolist(), lookahead.tolist(), gramian.tolist())
        self.records.append(record)
        return record

    def _losses_after(self, x, targets, masks, candidates: list[torch.Tensor]) -> torch.Tensor:
        """[i][j] = L_j with the shared parameters after the step on task i."""

        def outputs_with(shared: list[torch.Tensor]):
            return functional_call(self.model, dict(zip(self.shared_names, shared, strict=True)),
                                   (x,))

        def losses_with(shared: list[torch.Tensor]) -> torch.Tensor:
            return task_losses(self.tasks, outputs_with(shared), targets, masks)

        if self.vectorize:
            try:
                return vmap(losses_with)(candidates)
            except RuntimeError:
                self.vectorize = False
        return torch.stack([losses_with([c[i] for c in candidates])
                            for i in range(len(self.tasks))])

    def to_json(self, task_weights: list[list[float]] | None = None) -> dict[str, Any]:
        """What `result.extras["affinity"]` holds (NaN becomes null)."""
        weights = task_weights or []
        group = self.optimizer.param_groups[0]
        return {
            "tasks": [t.name for t in self.tasks],
            "every": self.every,
            "optimizer": type(self.optimizer).__name__,
            "lr": float(group["lr"]),
            "direction": DIRECTION,
            "probes": [
                {
                    "step": r.step,
                    "epoch": r.epoch,
                    "losses": r.losses,
                    "lookahead": [[_finite(v) for v in row] for row in r.lookahead],
                    "gramian": r.gramian,
                    "weights": weights[r.step] if r.step < len(weights) else None,
                }
                for r in self.records
            ],
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
