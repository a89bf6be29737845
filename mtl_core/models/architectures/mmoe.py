"""Multi-gate Mixture-of-Experts (Ma et al., KDD 2018):

    y_k = h_k(f_k(x)),   f_k(x) = Σ_i g_k(x)_i · e_i(x),   g_k(x) = softmax(W_k x),

with n shared experts e_i and one softmax gate per task whose input is the encoder output.
`gate: shared` is OMoE, the paper's one-gate ablation (every task gets the same mixture).

The representation of task k is its gate-mixed f_k (a `GateMix` module, hookable);
`shared_parameters()` are the encoder and the experts (and OMoE's one gate); a task's own
parameters are its gate and its head."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import SHARED, Block, Mixing, MTLModel, count
from mtl_core.models.blocks import GateMix, ModuleDictOf, experts, head
from mtl_core.models.encoders import build_encoder
from mtl_core.models.registry import Param, register


@register("mmoe")
class MMoE(MTLModel):
    """Shared experts, mixed per task by a softmax gate."""

    summary = (
        "MMoE: n shared experts; each task mixes them with its own softmax gate "
        "(one shared gate: OMoE). Each expert has the shared layer widths; each task "
        "tower has the head widths."
    )
    shared_label = "Expert layer widths"
    head_label = "Task tower widths"
    mixing_help = (
        "How much each task's gate uses each expert, averaged over the rows (each row sums to 1)."
    )
    params = (
        Param("experts", "int", 4, "number of experts n", minimum=1, maximum=64, label="Experts"),
        Param(
            "gate",
            "choice",
            "per_task",
            "one gate per task (MMoE) or one shared gate (OMoE)",
            choices=("per_task", "shared"),
            label="Gates (per_task: MMoE, shared: OMoE)",
        ),
    )
    presets = {
        "MMoE paper (8 experts × 16 units, towers of 8)": {
            "shared": [16],
            "head": [8],
            "params": {"experts": 8, "gate": "per_task"},
        },
        "OMoE paper ablation (one gate, 8 × 16, towers of 8)": {
            "shared": [16],
            "head": [8],
            "params": {"experts": 8, "gate": "shared"},
        },
        "Default (4 experts of 64, 64)": {
            "shared": [64, 64],
            "head": [32],
            "params": {"experts": 4, "gate": "per_task"},
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
        n_experts = self.options["experts"]
        self.one_gate = self.options["gate"] == "shared"
        self.encoder, width = build_encoder(input_kind, input_shape)
        self.experts = experts(n_experts, width, config.shared, config.dropout)
        expert_width = config.shared[-1] if config.shared else width
        gate_names = ["all tasks"] if self.one_gate else self.task_names
        self.gates = ModuleDictOf({name: GateMix(width, n_experts) for name in gate_names})
        self.heads = nn.ModuleDict(
            {t.name: head(expert_width, config.head, t.output_dim, config.dropout) for t in tasks}
        )

    def _gate_of(self, task: str) -> GateMix:
        return self.gates["all tasks"] if self.one_gate else self.gates[task]

    def forward_with_features(
        self, x: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        encoded = self.encoder(x)
        stacked = torch.stack([expert(encoded) for expert in self.experts], dim=1)  # [N, E, C]
        mixed = {name: gate(encoded, stacked) for name, gate in self.gates.items()}
        outputs = {
            name: h(mixed["all tasks"] if self.one_gate else mixed[name])
            for name, h in self.heads.items()
        }
        return outputs, list(mixed.values())

    def representation_modules(self) -> list[nn.Module]:
        return list(self.gates.values())

    def expert_levels(self) -> list[tuple[str, dict[str, nn.Module]]]:
        return [("MMoE", {f"expert {i + 1}": e for i, e in enumerate(self.experts)})]

    def shared_parameters(self) -> list[nn.Parameter]:
        shared = [*self.encoder.parameters(), *self.experts.parameters()]
        return shared + (list(self.gates.parameters()) if self.one_gate else [])

    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {
            name: list(h.parameters())
            + ([] if self.one_gate else list(self.gates[name].parameters()))
            for name, h in self.heads.items()
        }

    @torch.no_grad()
    def mixing(self, x: torch.Tensor) -> dict[str, Mixing]:
        encoded = self.encoder(x)
        weights = np.stack(
            [self._gate_of(n).weights(encoded).mean(dim=0).cpu().numpy() for n in self.task_names]
        )
        columns = [f"expert {i + 1}" for i in range(len(self.experts))]
        return {"gate weights": Mixing(weights, self.task_names, columns, "gate")}

    def blocks(self) -> list[Block]:
        out = [Block("encoder", f"encoder ({self.input_kind})", SHARED, 0, count(self.encoder))]
        out += [
            Block(f"expert{i}", f"expert {i + 1}", SHARED, 1, count(e), ("encoder",))
            for i, e in enumerate(self.experts)
        ]
        expert_keys = tuple(f"expert{i}" for i in range(len(self.experts)))
        for name, gate in self.gates.items():
            owner = SHARED if self.one_gate else name
            out.append(
                Block(
                    f"gate:{name}",
                    "gate (softmax)" if self.one_gate else f"gate {name}",
                    owner,
                    2,
                    count(gate),
                    expert_keys,
                )
            )
        out += [
            Block(
                f"head:{n}",
                f"head → {n}",
                n,
                3,
                count(h),
                ("gate:all tasks" if self.one_gate else f"gate:{n}",),
            )
            for n, h in self.heads.items()
        ]
        return out
