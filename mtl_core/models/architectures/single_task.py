"""Single-task networks: one independent tower (encoder, layers, head) per task, nothing
shared. The baseline every multi-task model is compared against.

`shared_parameters()` is empty: no parameter is reached by more than one task's loss.
Gradient-based weighting methods fall back to a plain backward for this model."""

from __future__ import annotations

import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import Block, MTLModel
from mtl_core.models.blocks import tower_blocks, tower_outputs, towers
from mtl_core.models.registry import register


@register("single_task")
class SingleTask(MTLModel):
    """y_k = head_k(layers_k(encoder_k(x))), each task with its own weights."""

    summary = (
        "Single-task: one independent network per task, nothing shared — the "
        "baseline every comparison needs."
    )
    shared_label = "Layer widths of each task's network"

    def __init__(
        self,
        tasks: list[TaskSpec],
        input_kind: str,
        input_shape: tuple[int, ...],
        config: ModelConfig,
    ) -> None:
        super().__init__(tasks, input_kind, input_shape, config)
        self.towers = towers(tasks, input_kind, input_shape, config)

    def forward_with_features(
        self, x: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        return tower_outputs(self.towers, x)

    def representation_modules(self) -> list[nn.Module]:
        return [tower.representation_module() for tower in self.towers.values()]

    def shared_parameters(self) -> list[nn.Parameter]:
        return []

    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {name: list(tower.parameters()) for name, tower in self.towers.items()}

    def blocks(self) -> list[Block]:
        return tower_blocks(self.towers, self.input_kind)
