"""Hard parameter sharing (Caruana 1997): one shared encoder and trunk, one head per task."""

from __future__ import annotations

import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import SHARED, Block, MTLModel, count
from mtl_core.models.blocks import head, mlp
from mtl_core.models.encoders import build_encoder
from mtl_core.models.registry import register


@register("hard")
class HardSharing(MTLModel):
    """Every task reads the same representation: trunk(encoder(x))."""

    summary = (
        "Hard sharing: one shared encoder and trunk that every task reads, and a "
        "small head per task."
    )
    shared_label = "Shared trunk widths"
    presets = {
        "Default (64, 64 trunk; heads of 32)": {"shared": [64, 64], "head": [32], "params": {}},
        "MMoE paper shared-bottom (113 units; towers of 8)": {
            "shared": [113],
            "head": [8],
            "params": {},
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
        self.encoder, width = build_encoder(input_kind, input_shape)
        self.trunk = mlp(width, config.shared, config.dropout)
        rep_width = config.shared[-1] if config.shared else width
        self.heads = nn.ModuleDict(
            {t.name: head(rep_width, config.head, t.output_dim, config.dropout) for t in tasks}
        )

    def forward_with_features(
        self, x: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        features = self.trunk(self.encoder(x))
        return {name: h(features) for name, h in self.heads.items()}, [features]

    def candidate_outputs(
        self, x: torch.Tensor, shared: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor] | None:
        """A tabular trunk of Linear and ReLU layers (Dropout when it is off) as batched
        matrix products over the candidates; the heads, the same for every candidate, then
        run once on all the candidates' features. None for any other trunk or encoder."""
        if not isinstance(self.encoder, nn.Identity) or x.dim() != 2:
            return None
        count = next(iter(shared.values())).shape[0]
        hidden = x.expand(count, *x.shape)  # a view: every candidate reads the same rows
        for index, layer in enumerate(self.trunk):
            if isinstance(layer, nn.Linear):
                bias = shared.get(f"trunk.{index}.bias")
                weight = shared[f"trunk.{index}.weight"].mT
                hidden = (
                    torch.bmm(hidden, weight)
                    if bias is None
                    else torch.baddbmm(bias.unsqueeze(1), hidden, weight)
                )
            elif isinstance(layer, nn.ReLU):
                hidden = torch.relu(hidden)
            elif not (isinstance(layer, nn.Dropout) and (layer.p == 0 or not self.training)):
                return None
        rows = hidden.reshape(-1, hidden.shape[-1])
        return {
            name: head(rows).reshape(count, x.shape[0], -1) for name, head in self.heads.items()
        }

    def representation_modules(self) -> list[nn.Module]:
        return [self.trunk]

    def shared_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.trunk.parameters()]

    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {name: list(h.parameters()) for name, h in self.heads.items()}

    def blocks(self) -> list[Block]:
        out = [Block("encoder", f"encoder ({self.input_kind})", SHARED, 0, count(self.encoder))]
        previous = "encoder"
        linears = [m for m in self.trunk if isinstance(m, nn.Linear)]
        for i, layer in enumerate(linears, start=1):
            out.append(
                Block(
                    f"trunk{i}",
                    f"shared layer {layer.out_features}",
                    SHARED,
                    i,
                    count(layer),
                    (previous,),
                )
            )
            previous = f"trunk{i}"
        column = len(linears) + 1
        out += [
            Block(f"head:{n}", f"head → {n}", n, column, count(h), (previous,))
            for n, h in self.heads.items()
        ]
        return out
