"""Cross-stitch networks (Misra et al., CVPR 2016): one tower per task, and after chosen
layers a learned unit that mixes the towers' activations,

    x̃_k = Σ_j α_kj · x_j        (per unit; α_kj a scalar, or one per channel),

initialised convex (α_kk = α_S, α_kj = α_D), often with a larger learning rate for α.
With α = identity and the units frozen, the model is exactly `single_task`.

`shared_parameters()` are what more than one task's loss reaches through the units: the
tower layers up to the last unit and the (trainable) units before it. A task's own
parameters are its head, its layers after the last unit and its row of the last unit."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.errors import UserError
from mtl_core.models.base import Block, Mixing, MTLModel
from mtl_core.models.blocks import ModuleDictOf, ModuleListOf, Tower, tower_blocks, towers
from mtl_core.models.registry import Param, register


class StitchRow(nn.Module):
    """Task k's row of a cross-stitch unit: x̃_k = Σ_j α_kj x_j (its output is task k's
    mixed activation, hookable)."""

    def __init__(self, alpha: torch.Tensor) -> None:
        super().__init__()
        self.alpha = nn.Parameter(alpha)  # [T] or [T, channels]

    def forward(self, stacked: torch.Tensor) -> torch.Tensor:
        """stacked: [T, N, C] -> [N, C]."""
        alpha = self.alpha[:, None, None] if self.alpha.dim() == 1 else self.alpha[:, None, :]
        return (alpha * stacked).sum(dim=0)


class CrossStitchUnit(nn.Module):
    """One unit: a row per task."""

    def __init__(
        self, n_tasks: int, channels: int, alpha_self: float, alpha_other: float, per_channel: bool
    ) -> None:
        super().__init__()
        matrix = torch.full((n_tasks, n_tasks), alpha_other)
        matrix.fill_diagonal_(alpha_self)
        if per_channel:
            matrix = matrix[:, :, None].expand(n_tasks, n_tasks, channels)
        self.rows = ModuleListOf(StitchRow(row.clone()) for row in matrix)

    def forward(self, hidden: list[torch.Tensor]) -> list[torch.Tensor]:
        stacked = torch.stack(hidden)
        return [row(stacked) for row in self.rows]

    def matrix(self) -> np.ndarray:
        """α as a [T, T] matrix (per-channel α averaged over the channels)."""
        rows = [row.alpha.detach() for row in self.rows]
        rows = [r if r.dim() == 1 else r.mean(dim=1) for r in rows]
        return torch.stack(rows).cpu().numpy()


@register("cross_stitch")
class CrossStitch(MTLModel):
    """Per-task towers mixed by cross-stitch units after chosen layers."""

    summary = (
        "Cross-stitch: one tower per task; after chosen layers a learned unit mixes "
        "the towers, x̃_k = Σ_j α_kj·x_j (identity α: single-task)."
    )
    shared_label = "Tower layer widths (one tower per task)"
    mixing_help = (
        "Row = the task whose activations are mixed, column = the tower it takes "
        "from; the diagonal is what a task keeps of its own tower."
    )
    params = (
        Param(
            "alpha_self",
            "float",
            0.9,
            "initial α_S: how much a task keeps of its own tower",
            label="α_S: initial self weight",
        ),
        Param(
            "alpha_other",
            "float",
            None,
            "initial α_D: how much a task takes from each "
            "other tower (empty: (1 − α_S)/(T − 1), a convex mix)",
            label="α_D: initial weight of each other tower",
        ),
        Param(
            "units_after",
            "int_list",
            None,
            "layers followed by a unit: 0 = the encoder, "
            "1 = the first shared layer, ... (empty: after every shared layer)",
            minimum=0,
            label="Units after layers",
        ),
        Param(
            "per_channel",
            "bool",
            False,
            "one α per channel instead of one per task pair",
            label="One α per channel",
        ),
        Param(
            "train_units",
            "bool",
            True,
            "learn α (off: the units stay at their initial α)",
            label="Learn α",
        ),
        Param(
            "unit_lr",
            "float",
            1.0,
            "learning-rate multiplier for α (the paper uses 10²–10³ with SGD)",
            minimum=1e-6,
            label="Learning-rate multiplier for α",
        ),
    )
    presets = {
        "Misra et al. (α_S 0.9, α_D 0.1)": {
            "shared": [64, 64],
            "head": [32],
            "params": {"alpha_self": 0.9, "alpha_other": 0.1, "unit_lr": 10.0},
        },
        "LibMTL (all α = 1)": {
            "shared": [64, 64],
            "head": [32],
            "params": {"alpha_self": 1.0, "alpha_other": 1.0},
        },
        "Identity, frozen: exactly single-task": {
            "shared": [64, 64],
            "head": [32],
            "params": {"alpha_self": 1.0, "alpha_other": 0.0, "train_units": False},
        },
    }

    def __init__(
        self,
        tasks: list[TaskSpec],
        input_kind: str,
        input_shape: tuple[int, ...],
        config: ModelConfig,
    ) -> None:
        super().__init__(tasks, input_kind, input_shape, config)
        options, n_tasks, depth = self.options, len(tasks), len(config.shared)
        self.towers = towers(tasks, input_kind, input_shape, config)
        after = options["units_after"]
        after = list(range(1, depth + 1)) if after is None else sorted(set(after))
        if any(i > depth for i in after):
            raise UserError(
                f"config error at 'model.params.units_after': {after} names a layer "
                f"after the last one; the towers have {depth} shared layers "
                f"(use 0 to {depth})"
            )
        other = options["alpha_other"]
        if other is None:
            other = (1.0 - options["alpha_self"]) / (n_tasks - 1) if n_tasks > 1 else 0.0
        widths = [
            next(iter(self.towers.values())).level_widths[i - 1]
            if i
            else _encoder_width(self.towers)
            for i in range(depth + 1)
        ]
        self.units = ModuleDictOf(
            {
                str(i): CrossStitchUnit(
                    n_tasks, widths[i], options["alpha_self"], other, options["per_channel"]
                )
                for i in after
            }
        )
        self.units.requires_grad_(options["train_units"])
        self.depth = depth

    def forward_with_features(
        self, x: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        towers = list(self.towers.values())
        hidden = [tower.encoder(x) for tower in towers]
        for index in range(self.depth + 1):
            if str(index) in self.units:
                hidden = self.units[str(index)](hidden)
            if index == self.depth:
                break
            hidden = [tower.levels[index](h) for tower, h in zip(towers, hidden, strict=True)]
        outputs = {
            name: tower.head(h)
            for (name, tower), h in zip(self.towers.items(), hidden, strict=True)
        }
        return outputs, hidden

    def representation_modules(self) -> list[nn.Module]:
        if str(self.depth) in self.units:  # heads read the last unit's rows
            return list(self.units[str(self.depth)].rows)
        return [tower.representation_module() for tower in self.towers.values()]

    def _task_only(self) -> dict[str, list[nn.Parameter]]:
        """Per task: what only its loss reaches — its head, its layers after the last unit
        and its row of that unit (everything when there is no unit)."""
        last = max((int(i) for i in self.units), default=None)
        own = {}
        for k, (name, tower) in enumerate(self.towers.items()):
            if last is None:
                own[name] = list(tower.parameters())
                continue
            row = self.units[str(last)].rows[k]
            own[name] = [
                *tower.levels[last:].parameters(),
                *tower.head.parameters(),
                *(p for p in row.parameters() if p.requires_grad),
            ]
        return own

    def shared_parameters(self) -> list[nn.Parameter]:
        own = {id(p) for params in self._task_only().values() for p in params}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in own]

    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        return self._task_only()

    def optimizer_groups(self, lr: float) -> list[dict[str, Any]]:
        units = {id(p) for p in self.units.parameters()}
        rest = [p for p in self.parameters() if id(p) not in units]
        return [
            {"params": rest, "lr": lr},
            {"params": list(self.units.parameters()), "lr": lr * self.options["unit_lr"]},
        ]

    @torch.no_grad()
    def mixing(self, x: torch.Tensor) -> dict[str, Mixing]:
        return {
            _unit_name(int(i)): Mixing(unit.matrix(), self.task_names, self.task_names, "alpha")
            for i, unit in self.units.items()
        }

    def blocks(self) -> list[Block]:
        return tower_blocks(
            self.towers, self.input_kind, units={int(i): unit for i, unit in self.units.items()}
        )


def _encoder_width(towers: ModuleDictOf[Tower]) -> int:
    return next(iter(towers.values())).encoder_width


def _unit_name(index: int) -> str:
    return "α after the encoder" if index == 0 else f"α after shared layer {index}"
