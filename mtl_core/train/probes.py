"""The lookahead affinity probe (TAG, Fifty et al. NeurIPS 2021), run from the training loop.

Every `analysis.affinity_every` steps, on the current batch and before the real update:

1. per-task losses L_j and the Jacobian of the losses on the shared parameters (one row g_i
   per task; `weighting.jacobian.task_jacobian`: one backward to the task cut, one batched VJP
   beyond it);
2. for each task i, the shared parameters the *real* optimizer would produce from g_i alone
   (its rule replayed with its moments and step count, see `replay.py`);
3. every task's loss L_j on the same batch with those parameters (inference mode);
4. Z(i→j) = 1 − L_j(after step on i) / L_j(before), and the Gramian G = J Jᵀ for free.

Stored as matrices with entry [j][i] = Z(i→j): row = the task affected, column = the task
whose step was taken ("effect of column task on row task", TAG's `revised_integrals[j][i]`).
Z is not divided by the learning rate.

The probe never changes the trained model: it evaluates in eval mode (no dropout random
numbers drawn, no normalisation statistics updated), takes gradients with
`torch.autograd.grad` (no `.grad` written), runs the candidate models through the
architecture's own batched pass (`MTLModel.candidate_outputs`, hard sharing) or
`torch.func.functional_call` (the module's own tensors are never written) and only reads
the optimizer state. When the model has no dropout or batch norm (eval mode computes what
train mode does), it reuses the training step's own forward of the batch and the Jacobian
its weighting method computed (gradient methods) or read off its backward (loss methods,
`JacobianRecorder`: one batched VJP beyond the task cut). Cost per probe: one batched
forward (the lookahead) and at most one batched VJP; a forward and a backward to the cut
more when the step's cannot be reused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.func import functional_call, vmap

from mtl_core.data.tasks import TaskSpec
from mtl_core.models import MTLModel
from mtl_core.train.losses import candidate_losses, task_losses
from mtl_core.train.replay import replay_step
from mtl_core.weighting.jacobian import TaskJacobian, task_jacobian

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
        # A parameter registered under two names must be substituted under both (torch's
        # weight tying), which costs a scan of the module each call: only when there is one.
        self.tied = len(list(model.named_parameters(remove_duplicate=False))) != len(
            list(model.named_parameters())
        )
        self.records: list[ProbeRecord] = []

    @classmethod
    def for_training(
        cls, every: int, model: MTLModel, optimizer: torch.optim.Optimizer, tasks: list[TaskSpec]
    ) -> LookaheadProbe | None:
        """The probe a run asked for, or None (switched off, or a single task)."""
        if every <= 0 or len(tasks) < 2 or not model.shared_parameters():
            return None
        return cls(model, optimizer, tasks, every)

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def measure(
        self,
        x: torch.Tensor,
        targets: dict[str, torch.Tensor],
        masks: Mapping[str, torch.Tensor | None],
        step: int,
        epoch: int,
        losses: torch.Tensor | None = None,
        jacobian: TaskJacobian | None = None,
    ) -> ProbeRecord:
        """Probe on this batch. `losses`: the training step's own per-task losses of the same
        batch, with their graph; `jacobian`: the Jacobian the step's weighting read off that
        graph. Both are reused (no forward or backward of the probe's own) when the model
        computes the same in train and in eval mode."""
        was_training = self.model.training
        # With dropout or batch norm the probe runs its own forward in eval mode; otherwise
        # it reuses the step's.
        switch = not self.model.same_in_eval
        if switch:
            self.model.eval()
        try:
            with torch.enable_grad():
                before = (
                    losses
                    if losses is not None and not switch
                    else task_losses(self.tasks, self.model(x), targets, masks)
                )
                rows = self._rows_from(jacobian) if not switch else None
                if rows is None:
                    rows = task_jacobian(before, self.shared, []).shared_rows
            with torch.inference_mode():  # no autograd bookkeeping at all
                candidates = replay_step(self.optimizer, self.shared, rows)
                after = self._losses_after(x, targets, masks, candidates)
                before = before.detach()
                ratio = after / before.where(before > 0, torch.nan)[None, :]
                lookahead = (1.0 - ratio).T  # [j][i] = Z(i→j)
                flat = torch.cat([j.reshape(len(self.tasks), -1) for j in rows], dim=1)
                gramian = flat @ flat.T
        finally:
            if switch:
                self.model.train(was_training)
        count = len(self.tasks)
        packed = torch.cat([before, lookahead.flatten(), gramian.flatten()]).tolist()
        record = ProbeRecord(
            step,
            epoch,
            packed[:count],
            _rows(packed[count : count + count * count], count),
            _rows(packed[count + count * count :], count),
        )
        self.records.append(record)
        return record

    def _rows_from(self, jacobian: TaskJacobian | None) -> list[torch.Tensor] | None:
        """The given Jacobian's rows in the probe's parameter order (None: not all there)."""
        if jacobian is None:
            return None
        by_id = {id(p): rows for p, rows in zip(jacobian.shared, jacobian.shared_rows, strict=True)}
        rows = [found for p in self.shared if (found := by_id.get(id(p))) is not None]
        return rows if len(rows) == len(self.shared) else None

    def _losses_after(
        self,
        x: torch.Tensor,
        targets: dict[str, torch.Tensor],
        masks: Mapping[str, torch.Tensor | None],
        candidates: list[torch.Tensor],
    ) -> torch.Tensor:
        """[i][j] = L_j with the shared parameters after the step on task i (the T candidate
        models' outputs in one batched pass: the architecture's own, else a vmapped forward;
        their losses batched outside of vmap)."""

        def outputs_with(shared: list[torch.Tensor]) -> dict[str, torch.Tensor]:
            return functional_call(
                self.model,
                dict(zip(self.shared_names, shared, strict=True)),
                (x,),
                tie_weights=self.tied,
            )

        outputs = None
        if self.vectorize:  # the architecture's own batched pass, else vmap
            outputs = self.model.candidate_outputs(
                x, dict(zip(self.shared_names, candidates, strict=True))
            )
        if outputs is None and self.vectorize:
            try:
                outputs = vmap(outputs_with)(candidates)
            except RuntimeError:
                self.vectorize = False
        if outputs is None:
            each = [outputs_with([c[i] for c in candidates]) for i in range(len(self.tasks))]
            outputs = {name: torch.stack([o[name] for o in each]) for name in each[0]}
        return candidate_losses(self.tasks, outputs, targets, masks)

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


def _rows(values: list[float], count: int) -> list[list[float]]:
    return [values[i : i + count] for i in range(0, len(values), count)]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
