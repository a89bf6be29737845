"""The contract every sharing architecture meets, so that any architecture works with any
weighting method and with the analysis code."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec


class MTLModel(nn.Module, ABC):
    """A multi-task network: `forward(x)` returns one output tensor per task.

    Subclasses build their layers in `__init__` and implement `forward_with_features`,
    `shared_parameters` and `task_parameters`.
    """

    def __init__(
        self,
        tasks: list[TaskSpec],
        input_kind: str,
        input_shape: tuple[int, ...],
        config: ModelConfig,
    ) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.task_names = [t.name for t in tasks]
        self.input_kind = input_kind
        self.input_shape = tuple(input_shape)
        self.config = config

    @abstractmethod
    def forward_with_features(
        self, x: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        """-> (outputs per task, shared representation tensors).

        The representation is what gradient analysis and attribution look at: the
        tensors that the shared parameters produce and the task heads consume."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.forward_with_features(x)[0]

    @abstractmethod
    def representation_modules(self) -> list[nn.Module]:
        """The modules whose outputs are the representation tensors of
        `forward_with_features`, in the same order (attribution hooks onto these)."""

    @abstractmethod
    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters that more than one task's loss reaches."""

    @abstractmethod
    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Parameters that only one task's loss reaches, per task."""

    def regularization(self) -> torch.Tensor | None:
        """An extra loss term the architecture needs (e.g. soft sharing's L2 tie)."""
        return None

    def parameter_counts(self) -> dict[str, int]:
        shared = sum(p.numel() for p in self.shared_parameters())
        per_task = {
            name: sum(p.numel() for p in params) for name, params in self.task_parameters().items()
        }
        return {"shared": shared, **{f"task:{n}": c for n, c in per_task.items()},
                "total": sum(p.numel() for p in self.parameters())}
