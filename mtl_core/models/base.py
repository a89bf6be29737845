"""The contract every sharing architecture meets, so that any architecture works with any
weighting method and with the analysis code."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.registry import Param, check_params

SHARED = "shared"
# Modules that compute differently in train mode (dropout draws, batch statistics).
TRAIN_ONLY = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
)


@dataclass(frozen=True)
class Block:
    """One box of the architecture diagram: who owns it (SHARED or a task name), which
    column it sits in (0 = input side) and how many parameters it holds."""

    key: str
    label: str
    owner: str
    column: int
    params: int
    inputs: tuple[str, ...] = ()
    group: str | None = None  # blocks of one group are tied to each other (soft sharing)


@dataclass(frozen=True)
class Mixing:
    """A learned mixing matrix: cross-stitch α (rows: the task mixed into, columns: the
    tower taken from), gate weights (rows: a gate, columns: experts; NaN where a gate
    cannot see an expert) or distances between tied towers (soft sharing)."""

    values: np.ndarray
    rows: list[str]
    columns: list[str]
    kind: str  # "alpha", "gate" or "distance"


class MTLModel(nn.Module, ABC):
    """A multi-task network: `forward(x)` returns one output tensor per task.

    Subclasses declare `params` (their `model.params` spec), `presets` and `summary`, build
    their layers in `__init__` (the validated params are in `self.options`) and implement
    `forward_with_features`, `representation_modules`, `shared_parameters`,
    `task_parameters` and `blocks`.
    """

    architecture: ClassVar[str]
    summary: ClassVar[str] = ""
    # What `model.shared` and `model.head` mean in this architecture (the Model page's labels).
    shared_label: ClassVar[str] = "Shared layer widths"
    head_label: ClassVar[str] = "Task head widths"
    params: ClassVar[tuple[Param, ...]] = ()
    # What `mixing()` shows a student, for the Model page; "" = the architecture learns none.
    mixing_help: ClassVar[str] = ""
    presets: ClassVar[dict[str, dict[str, Any]]] = {}

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
        self.options = check_params(self.params, self.architecture, config.params)

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

    def expert_levels(self) -> list[tuple[str, dict[str, nn.Module]]]:
        """Mixture-of-experts models: per level, its title and its experts by the labels the
        gate-weight heatmaps use (no expert of a level feeds another of the same level).
        Empty for models without experts."""
        return []

    @abstractmethod
    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters that more than one task's loss reaches (the regularization term
        counts as reaching every task)."""

    @abstractmethod
    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Parameters that only one task's loss reaches, per task."""

    @abstractmethod
    def blocks(self) -> list[Block]:
        """The network as boxes for the diagram, shared and per task."""

    @functools.cached_property
    def same_in_eval(self) -> bool:
        """Whether eval mode computes what train mode does (no dropout, no batch norm): then
        evaluation and the affinity probe need not switch modes."""
        return not any(isinstance(module, TRAIN_ONLY) for module in self.modules())

    def candidate_outputs(
        self, x: torch.Tensor, shared: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor] | None:
        """Outputs [C, N, ...] per task of C candidate models that differ from this one only
        in the shared parameters (`shared`: name -> the C values stacked), in one batched
        pass, for architectures that can do it faster than `torch.func.vmap`; None where
        they cannot (the affinity probe then vmaps `forward`)."""
        return None

    def regularization(self) -> torch.Tensor | None:
        """An extra loss term the architecture needs (e.g. soft sharing's L2 tie)."""
        return None

    @torch.no_grad()
    def mixing(self, x: torch.Tensor) -> dict[str, Mixing]:
        """Learned mixing to inspect, by name: cross-stitch α matrices, gate weights per
        task averaged over the batch `x`; empty for architectures that learn no mixing."""
        return {}

    def optimizer_groups(self, lr: float) -> list[dict[str, Any]]:
        """Parameter groups for the optimizer (an architecture may give some a larger rate)."""
        return [{"params": list(self.parameters()), "lr": lr}]

    def parameter_counts(self) -> dict[str, int]:
        shared = sum(p.numel() for p in self.shared_parameters())
        per_task = {
            name: sum(p.numel() for p in params) for name, params in self.task_parameters().items()
        }
        return {
            "shared": shared,
            **{f"task:{n}": c for n, c in per_task.items()},
            "total": sum(p.numel() for p in self.parameters()),
        }


def count(module: nn.Module | list[nn.Parameter]) -> int:
    params = module.parameters() if isinstance(module, nn.Module) else module
    return sum(p.numel() for p in params)
