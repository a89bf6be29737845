"""The contract of a weighting method: turn per-task losses into parameter gradients and
report the weight each task got."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn


class WeightingMethod(ABC):
    """Combines per-task losses into `.grad` on the model's parameters.

    `cost_class` is "loss" (one backward per step) or "gradient" (a Jacobian of the shared
    parameters per step). `backward` returns the weight each task got at this step."""

    name: str = ""
    cost_class: str = "loss"

    def __init__(self, task_names: list[str], params: dict[str, Any], update_every: int = 1):
        self.task_names = list(task_names)
        self.params = dict(params)
        self.update_every = update_every

    def parameters(self) -> list[nn.Parameter]:
        """Learnable parameters of the method itself (stepped by the same optimizer)."""
        return []

    @abstractmethod
    def backward(
        self,
        losses: torch.Tensor,
        model: nn.Module,
        features: list[torch.Tensor],
        step: int,
    ) -> torch.Tensor:
        """Write gradients for `losses` (shape [T]) and return the task weights [T]."""

    def after_step(self, model: nn.Module, step: int) -> None:  # noqa: B027 (optional hook)
        """Hook after `optimizer.step()` (FAMO's extra forward uses it)."""
