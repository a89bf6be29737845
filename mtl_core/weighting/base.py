"""The contract of a weighting method: turn per-task losses into parameter gradients, report
the weight each task got, and keep what a run records (task weights, task-gradient Gramians).

One training step is one call: `method.step(StepRequest(losses, model, step,
record_jacobian))` back-propagates and returns a `StepResult` (the task weights, and the
Jacobian of the losses on the shared parameters when the step asked for it, for the affinity
probe). Nothing passes through attributes of the method.

Two families share this base:
- `LossWeighting` (cost class "loss"): weights the losses and runs one ordinary backward:
  `FixedWeighting` with weights known beforehand (static weights, GradNorm's learned
  weights), `ScalarizerWeighting` (in `scalarized.py`) for torchjd scalarizers.
- `GradientWeighting` (cost class "gradient", in `gradient.py`): computes the Jacobian of the
  task losses on the shared parameters and aggregates it (torchjd aggregators).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mtl_core.errors import UserError
from mtl_core.weighting.jacobian import JacobianRecorder, TaskJacobian, backward_recording

COST_CLASSES = {
    "loss": "Loss-based: one backward per step",
    "gradient": "Gradient-based: a Jacobian of the shared parameters per step",
}
MAX_RECORDED = 2000  # task-weight rows / Gramians kept per run (evenly thinned beyond that)


@dataclass(frozen=True, eq=False)  # (tensors do not compare as values)
class StepRequest:
    """What one training step asks of a weighting method.

    `losses` [T] carry their graph; the method back-propagates them into `.grad`. With
    `record_jacobian` the method also hands back the Jacobian of `losses` on the model's shared
    parameters, and keeps the graph alive for it: the graph then lives as long as `losses`
    does (the caller lets go of the request and its losses to release it)."""

    losses: torch.Tensor
    model: nn.Module
    step: int
    record_jacobian: bool = False


@dataclass(frozen=True, eq=False)
class StepResult:
    """What a weighting method did in one step: the weight each task got ([T], no graph) and,
    only when the request asked for it, the Jacobian of the losses on the shared parameters
    (None when not asked, or when no parameter is shared by several tasks)."""

    weights: torch.Tensor
    jacobian: TaskJacobian | None = None


@dataclass(frozen=True)
class Param:
    """One numeric parameter a method takes in `weighting.params` (the app draws an input)."""

    default: float
    help: str
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def read(self, key: str, value: Any) -> float | int:
        """`value` checked against the bounds; UserError naming `weighting.params.<key>`."""
        where = f"config error at 'weighting.params.{key}'"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserError(f"{where}: expected a number, got {value!r}")
        if self.integer and float(value) != int(value):
            raise UserError(f"{where}: expected a whole number, got {value!r}")
        if self.low is not None and value < self.low:
            raise UserError(f"{where}: must be at least {self.low}, got {value}")
        if self.high is not None and value > self.high:
            raise UserError(f"{where}: must be at most {self.high}, got {value}")
        return int(value) if self.integer else float(value)


def thin(items: list, limit: int = MAX_RECORDED) -> list:
    """At most `limit` items, evenly spaced, always keeping the first and the last."""
    if len(items) <= limit:
        return list(items)
    last = len(items) - 1
    picks = sorted({round(i * last / (limit - 1)) for i in range(limit)})
    return [items[i] for i in picks]


class WeightingMethod(ABC):
    """Combines per-task losses into `.grad` on the model's parameters.

    Class attributes a method sets: `title`, `cost_class` ("loss" or "gradient"), `summary` (what it
    does, one sentence), `helps_when` (when it helps, one sentence) and `param_specs` (the
    numeric `weighting.params` it takes). `step` back-propagates one step's losses and returns
    the weight each task got (and the Jacobian, when asked)."""

    name: str = ""
    title: str = ""  # display name, e.g. "Uncertainty weighting (UW)"
    cost_class: str = "loss"
    summary: str = ""
    helps_when: str = ""
    param_specs: dict[str, Param] = {}
    extra_params: tuple[str, ...] = ()  # non-numeric keys a method reads itself
    amortised: bool = False  # whether `update_every` changes what the method does

    def __init__(
        self,
        task_names: list[str],
        params: dict[str, Any],
        update_every: int = 1,
        gramian_every: int = 0,
    ):
        self.task_names = list(task_names)
        unknown = sorted(set(params) - set(self.param_specs) - set(self.extra_params))
        if unknown:
            known = ", ".join([*self.param_specs, *self.extra_params]) or "none"
            raise UserError(
                f"config error at 'weighting.params.{unknown[0]}': method "
                f"'{self.name}' has no such parameter (it takes: {known})"
            )
        self.params = {
            key: spec.read(key, params.get(key, spec.default))
            for key, spec in self.param_specs.items()
        }
        self.params.update({key: params[key] for key in self.extra_params if key in params})
        self.update_every = update_every
        self.gramian_every = gramian_every
        self.gramians: list[tuple[int, torch.Tensor]] = []
        self.notes: list[str] = []
        self._shared: tuple[nn.Module, list[nn.Parameter]] | None = None
        if update_every > 1 and not self.amortised:
            self.note(
                f"update_every={update_every} has no effect on '{self.name}': its weights "
                "cost nothing extra to compute"
            )

    def note(self, text: str) -> None:
        """Something the user should know about this run's weighting (recorded once)."""
        if text not in self.notes:
            self.notes.append(text)

    def shared_of(self, model: nn.Module) -> list[nn.Parameter]:
        """`shared_parameters(model)`, worked out once per model (not on every step)."""
        if self._shared is None or self._shared[0] is not model:
            self._shared = (model, shared_parameters(model))
        return self._shared[1]

    def parameters(self) -> list[nn.Parameter]:
        """Learnable parameters of the method itself (stepped by the same optimizer)."""
        return []

    @abstractmethod
    def step(self, request: StepRequest) -> StepResult:
        """Write gradients for `request.losses` (shape [T]); -> the task weights [T], and the
        Jacobian when `request.record_jacobian`."""

    def backward(self, losses: torch.Tensor, model: nn.Module, step: int) -> torch.Tensor:
        """A step that records no Jacobian; -> the task weights [T]."""
        return self.step(StepRequest(losses, model, step)).weights

    def after_step(  # noqa: B027 (optional hook)
        self,
        model: nn.Module,
        step: int,
        losses_after: Callable[[], torch.Tensor] | None = None,
    ) -> None:
        """Hook after `optimizer.step()`; `losses_after()` recomputes this batch's losses with
        the updated model (FAMO's extra forward uses it)."""

    def after_epoch(self) -> None:  # noqa: B027 (optional hook)
        """Hook at the end of every training epoch (DWA uses it)."""

    def record_gramian(self, step: int, gramian: torch.Tensor) -> None:
        """Keep the task-gradient Gramian G = J Jᵀ (T×T) of this step (stays on device)."""
        self.gramians.append((step, gramian.detach()))

    def records(self, task_weights: list[list[float]]) -> dict[str, Any]:
        """What a run stores in its extras: task weights per step, Gramians, notes."""
        rows = [{"step": step, "weights": weights} for step, weights in enumerate(task_weights)]
        extras: dict[str, Any] = {
            "task_weights": {"tasks": self.task_names, "method": self.name, "steps": thin(rows)},
            "gramians": [
                {"step": step, "matrix": matrix.cpu().tolist()}
                for step, matrix in thin(self.gramians)
            ],
        }
        if self.notes:
            extras["weighting_notes"] = list(self.notes)
        return extras


def shared_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The model's shared parameters that train (empty for `single_task`)."""
    shared = getattr(model, "shared_parameters", None)
    return [p for p in shared() if p.requires_grad] if shared is not None else []


class LossWeighting(WeightingMethod):
    """A method that weights the task losses and back-propagates them once
    (`weighted_backward`). With `gramian_every: N` the Jacobian of the losses on the shared
    parameters is also read off that backward every N steps (`JacobianRecorder`), only to
    record the Gramian."""

    cost_class = "loss"

    def step(self, request: StepRequest) -> StepResult:
        recorder = self.recorder(request)
        weights = self.weighted_backward(request.losses, request.step, recorder)
        if recorder is None:
            return StepResult(weights)
        return self.result(request, weights, recorder.jacobian(weights))

    @abstractmethod
    def weighted_backward(
        self, losses: torch.Tensor, step: int, recorder: JacobianRecorder | None
    ) -> torch.Tensor:
        """Back-propagate the weighted losses once (recording for `recorder` when there is
        one) and return the weight each task got."""

    def gramian_due(self, step: int) -> bool:
        return bool(self.gramian_every) and step % self.gramian_every == 0

    def recorder(self, request: StepRequest) -> JacobianRecorder | None:
        """A recorder on the model's shared parameters when this step wants the Jacobian (the
        request asks for it, or a Gramian is due)."""
        gramian_due = self.gramian_due(request.step)
        if not (request.record_jacobian or gramian_due):
            return None
        shared = self.shared_of(request.model)
        if not shared or len(request.losses) < 2:
            if gramian_due:
                self.note(
                    "no Gramian recorded: the model has no parameters shared by several tasks"
                )
            return None
        return JacobianRecorder(request.losses, shared)

    def result(
        self, request: StepRequest, weights: torch.Tensor, jacobian: TaskJacobian
    ) -> StepResult:
        """The step's result, with its Jacobian when the request asked for it; the Gramian is
        recorded when due."""
        if self.gramian_due(request.step):
            matrix = jacobian.matrix()
            self.record_gramian(request.step, matrix @ matrix.T)
        return StepResult(weights, jacobian if request.record_jacobian else None)


class FixedWeighting(LossWeighting):
    """Weights known before the backward (they do not depend on this step's losses): the
    gradient Σ_i w_i ∂L_i/∂θ is back-propagated from the losses themselves with those
    weights, with no sum node and nothing to read off."""

    @abstractmethod
    def fixed_weights(self, losses: torch.Tensor) -> torch.Tensor:
        """This step's task weights (shape [T], no graph)."""

    def weighted_backward(
        self, losses: torch.Tensor, step: int, recorder: JacobianRecorder | None
    ) -> torch.Tensor:
        weights = self.fixed_weights(losses)
        backward_recording(losses, recorder, weights)
        return weights
