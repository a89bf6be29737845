"""Soft parameter sharing (Duong et al., ACL 2015): one tower per task, tied by an L2
penalty between matching layers,

    R = α · Σ_{i<j} ‖θ_i − θ_j‖²   over the towers' encoders and shared-level layers,

added to the loss by the training loop (`regularization()`). α = 0 gives independent
single-task networks; α → ∞ forces equal towers, i.e. hard sharing. The heads stay apart.

`shared_parameters()` are the tied tower bodies: through the penalty every task's
objective reaches every tower."""

from __future__ import annotations

import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import Block, Mixing, MTLModel
from mtl_core.models.blocks import tower_blocks, tower_outputs, towers
from mtl_core.models.registry import Param, register


@register("soft")
class SoftSharing(MTLModel):
    """Per-task towers whose matching layers are pulled together by α·Σ‖θ_i − θ_j‖²."""

    summary = (
        "Soft sharing: one tower per task; an L2 penalty α·Σ‖θ_i − θ_j‖² pulls "
        "matching layers together (α = 0: single-task, α → ∞: hard sharing)."
    )
    shared_label = "Tower layer widths (one tower per task, tied)"
    mixing_help = (
        "How far apart the tied towers ended up: ‖θ_i − θ_j‖ relative to their "
        "mean size (0 = identical towers, i.e. hard sharing; about 1.4 = "
        "unrelated random towers)."
    )
    params = (
        Param(
            "alpha",
            "float",
            0.01,
            "strength α of the L2 tie between the towers",
            minimum=0.0,
            label="α: strength of the tie",
        ),
    )
    presets = {
        "Default (α = 0.01)": {"shared": [64, 64], "head": [32], "params": {"alpha": 0.01}},
        "Strong tie (α = 1): close to hard sharing": {
            "shared": [64, 64],
            "head": [32],
            "params": {"alpha": 1.0},
        },
        "No tie (α = 0): single-task": {"shared": [64, 64], "head": [32], "params": {"alpha": 0.0}},
    }

    def __init__(
        self,
        tasks: list[TaskSpec],
        input_kind: str,
        input_shape: tuple[int, ...],
        config: ModelConfig,
    ) -> None:
        super().__init__(tasks, input_kind, input_shape, config)
        self.alpha = self.options["alpha"]
        self.towers = towers(tasks, input_kind, input_shape, config)

    def forward_with_features(
        self, x: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        return tower_outputs(self.towers, x)

    def tied_parameters(self) -> list[torch.Tensor]:
        """One [T, *shape] stack per tied parameter (encoder and shared-level layers)."""
        named = [dict(tower.named_body_parameters()) for tower in self.towers.values()]
        return [torch.stack([params[key] for params in named]) for key in named[0]]

    def regularization(self) -> torch.Tensor | None:
        stacks = self.tied_parameters()
        if self.alpha == 0 or len(self.towers) < 2 or not stacks:
            return None
        # Σ_{i<j} ‖θ_i − θ_j‖² = T · Σ_i ‖θ_i − θ̄‖²: one pass instead of T² differences.
        total = sum(len(stack) * (stack - stack.mean(dim=0)).pow(2).sum() for stack in stacks)
        return self.alpha * total

    @torch.no_grad()
    def mixing(self, x: torch.Tensor) -> dict[str, Mixing]:
        stacks = self.tied_parameters()
        if not stacks:  # nothing tied (tabular inputs, no shared layers)
            return {}
        flat = torch.cat([stack.reshape(len(self.towers), -1) for stack in stacks], dim=1)
        sizes = flat.norm(dim=1)
        distance = torch.cdist(flat, flat) / ((sizes[:, None] + sizes[None, :]) / 2)
        return {
            "tower distance": Mixing(
                distance.cpu().numpy(), self.task_names, self.task_names, "distance"
            )
        }

    def representation_modules(self) -> list[nn.Module]:
        return [tower.representation_module() for tower in self.towers.values()]

    def shared_parameters(self) -> list[nn.Parameter]:
        return [p for tower in self.towers.values() for p in tower.body_parameters()]

    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {name: list(tower.head.parameters()) for name, tower in self.towers.items()}

    def blocks(self) -> list[Block]:
        return tower_blocks(self.towers, self.input_kind, tied=True)
