"""Progressive Layered Extraction (Tang et al., RecSys 2020), built from CGC levels.

A CGC level has experts of its own per task (E_k) and shared experts (E_s); task k's gate
mixes only [E_k ; E_s]:  x_k' = Σ_i softmax(W_k x_k)_i · [E_k(x_k) ; E_s(x_s)]_i.
PLE stacks levels; every level but the last also has a shared gate over all experts,
x_s' = Σ_i softmax(W_s x_s)_i · [E_1 ; … ; E_T ; E_s]_i, which feeds the next level's
shared experts. One level is CGC. Towers (heads) read the last level's x_k.

The representation of task k is its last-level gate mix. Shared parameters are those more
than one task's loss reaches: the encoder, the shared experts and gates, and the task
experts and gates of lower levels (they feed a shared gate); the last level's task experts,
the gates before them and the heads are task-specific."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import SHARED, Block, Mixing, MTLModel, count
from mtl_core.models.blocks import GateMix, ModuleDictOf, ModuleListOf, experts, head
from mtl_core.models.encoders import build_encoder
from mtl_core.models.registry import Param, register


class CGCLevel(nn.Module):
    """One level: task and shared experts, task gates, and (below the top) a shared gate."""

    def __init__(
        self,
        task_names: list[str],
        in_dim: int,
        widths: list[int],
        n_task: int,
        n_shared: int,
        shared_gate: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.task_names = task_names
        self.task_experts = ModuleDictOf(
            {name: experts(n_task, in_dim, widths, dropout) for name in task_names}
        )
        self.shared_experts = experts(n_shared, in_dim, widths, dropout)
        self.task_gates = ModuleDictOf(
            {name: GateMix(in_dim, n_task + n_shared) for name in task_names}
        )
        self.shared_gate = (
            GateMix(in_dim, len(task_names) * n_task + n_shared) if shared_gate else None
        )

    def forward(
        self, task_inputs: dict[str, torch.Tensor], shared_input: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        shared_out = [e(shared_input) for e in self.shared_experts]
        own = {
            name: [e(task_inputs[name]) for e in bank] for name, bank in self.task_experts.items()
        }
        task_outputs = {
            name: gate(task_inputs[name], torch.stack(own[name] + shared_out, 1))
            for name, gate in self.task_gates.items()
        }
        shared_output = None
        if self.shared_gate is not None:
            everything = [out for name in self.task_names for out in own[name]] + shared_out
            shared_output = self.shared_gate(shared_input, torch.stack(everything, 1))
        return task_outputs, shared_output

    def labelled_experts(self) -> dict[str, nn.Module]:
        """Every expert of the level: each task's own, then the shared ones."""
        n_task = len(next(iter(self.task_experts.values())))
        n_shared = len(self.shared_experts)
        out: dict[str, nn.Module] = {
            _expert_label(name, i, n_task): expert
            for name in self.task_names
            for i, expert in enumerate(self.task_experts[name])
        }
        out.update(
            {
                _expert_label("shared", i, n_shared): expert
                for i, expert in enumerate(self.shared_experts)
            }
        )
        return out

    def gate_weights(
        self, task_inputs: dict[str, torch.Tensor], shared_input: torch.Tensor
    ) -> tuple[np.ndarray, list[str], list[str]]:
        """Mean gate weights as [gates, all experts of the level], NaN where unseen."""
        n_task = len(next(iter(self.task_experts.values())))
        n_shared = len(self.shared_experts)
        columns = list(self.labelled_experts())
        rows, values = [], []
        for k, (name, gate) in enumerate(self.task_gates.items()):
            mean = gate.weights(task_inputs[name]).mean(dim=0).cpu().numpy()
            row = np.full(len(columns), np.nan)
            row[k * n_task : (k + 1) * n_task] = mean[:n_task]
            row[len(columns) - n_shared :] = mean[n_task:]
            rows.append(name)
            values.append(row)
        if self.shared_gate is not None:
            rows.append("shared gate")
            values.append(self.shared_gate.weights(shared_input).mean(dim=0).cpu().numpy())
        return np.stack(values), rows, columns


@register("ple")
class PLE(MTLModel):
    """CGC levels stacked; one level is CGC."""

    summary = (
        "PLE: stacked CGC levels. Each task has its own experts and gates over its "
        "own plus shared experts; lower levels add a shared gate. One level = CGC. "
        "Each expert has the shared layer widths."
    )
    shared_label = "Expert layer widths (every expert, every level)"
    head_label = "Task tower widths"
    mixing_help = (
        "How much each gate uses each expert, per level, averaged over the rows "
        "(each row sums to 1; blank = an expert the gate cannot see)."
    )
    params = (
        Param(
            "levels",
            "int",
            2,
            "number of CGC levels (1 = CGC)",
            minimum=1,
            maximum=4,
            label="Levels (1 = CGC)",
        ),
        Param(
            "task_experts",
            "int",
            1,
            "experts of each task per level",
            minimum=1,
            maximum=16,
            label="Experts per task (each level)",
        ),
        Param(
            "shared_experts",
            "int",
            1,
            "shared experts per level",
            minimum=1,
            maximum=16,
            label="Shared experts (each level)",
        ),
    )
    presets = {
        "CGC (1 level; 1 task + 1 shared expert)": {
            "shared": [64, 64],
            "head": [32],
            "params": {"levels": 1, "task_experts": 1, "shared_experts": 1},
        },
        "PLE (2 levels; 1 task + 1 shared expert each)": {
            "shared": [64],
            "head": [32],
            "params": {"levels": 2, "task_experts": 1, "shared_experts": 1},
        },
        "PLE (2 levels; 2 task + 2 shared experts of 16)": {
            "shared": [16],
            "head": [8],
            "params": {"levels": 2, "task_experts": 2, "shared_experts": 2},
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
        opts = self.options
        self.encoder, width = build_encoder(input_kind, input_shape)
        expert_width = config.shared[-1] if config.shared else width
        self.levels = ModuleListOf(
            CGCLevel(
                self.task_names,
                width if i == 0 else expert_width,
                config.shared,
                opts["task_experts"],
                opts["shared_experts"],
                shared_gate=i < opts["levels"] - 1,
                dropout=config.dropout,
            )
            for i in range(opts["levels"])
        )
        self.heads = nn.ModuleDict(
            {t.name: head(expert_width, config.head, t.output_dim, config.dropout) for t in tasks}
        )

    def _inputs(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        encoded = self.encoder(x)
        return dict.fromkeys(self.task_names, encoded), encoded

    def forward_with_features(
        self, x: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        task_inputs, shared_input = self._inputs(x)
        for level in self.levels:
            task_inputs, shared_input = level(task_inputs, shared_input)
        outputs = {name: h(task_inputs[name]) for name, h in self.heads.items()}
        return outputs, [task_inputs[name] for name in self.task_names]

    def representation_modules(self) -> list[nn.Module]:
        return list(self.levels[-1].task_gates.values())

    def _task_only(self) -> dict[str, list[nn.Parameter]]:
        """Per task: what only its loss reaches (see the module docstring)."""
        top = self.levels[-1]
        below = self.levels[-2] if len(self.levels) > 1 else None
        return {
            name: [
                *self.heads[name].parameters(),
                *top.task_experts[name].parameters(),
                *top.task_gates[name].parameters(),
                *(below.task_gates[name].parameters() if below is not None else []),
            ]
            for name in self.task_names
        }

    def expert_levels(self) -> list[tuple[str, dict[str, nn.Module]]]:
        return [
            (f"level {i}", level.labelled_experts()) for i, level in enumerate(self.levels, start=1)
        ]

    def shared_parameters(self) -> list[nn.Parameter]:
        own = {id(p) for params in self._task_only().values() for p in params}
        return [p for p in self.parameters() if id(p) not in own]

    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        return self._task_only()

    @torch.no_grad()
    def mixing(self, x: torch.Tensor) -> dict[str, Mixing]:
        task_inputs, shared_input = self._inputs(x)
        out = {}
        for i, level in enumerate(self.levels, start=1):
            values, rows, columns = level.gate_weights(task_inputs, shared_input)
            out[f"gate weights, level {i}"] = Mixing(values, rows, columns, "gate")
            task_inputs, shared_input = level(task_inputs, shared_input)
        return out

    def blocks(self) -> list[Block]:
        out = [Block("encoder", f"encoder ({self.input_kind})", SHARED, 0, count(self.encoder))]
        task_in = dict.fromkeys(self.task_names, "encoder")
        shared_in = "encoder"
        for i, level in enumerate(self.levels, start=1):
            column = 2 * i - 1
            shared_keys = []
            for j, e in enumerate(level.shared_experts):
                shared_keys.append(f"L{i}:shared{j}")
                out.append(
                    Block(
                        shared_keys[-1],
                        _expert_label("shared expert", j, len(level.shared_experts)),
                        SHARED,
                        column,
                        count(e),
                        (shared_in,),
                    )
                )
            own_keys = {}
            for name, bank in level.task_experts.items():
                own_keys[name] = [f"L{i}:{name}{j}" for j in range(len(bank))]
                out += [
                    Block(
                        key,
                        _expert_label(f"{name} expert", j, len(bank)),
                        name,
                        column,
                        count(e),
                        (task_in[name],),
                    )
                    for key, e in zip(own_keys[name], bank, strict=True)
                ]
            for name, gate in level.task_gates.items():
                out.append(
                    Block(
                        f"L{i}:gate:{name}",
                        f"gate {name}",
                        name,
                        column + 1,
                        count(gate),
                        tuple(own_keys[name] + shared_keys),
                    )
                )
                task_in[name] = f"L{i}:gate:{name}"
            if level.shared_gate is not None:
                every = [k for keys in own_keys.values() for k in keys] + shared_keys
                out.append(
                    Block(
                        f"L{i}:gate:shared",
                        "shared gate",
                        SHARED,
                        column + 1,
                        count(level.shared_gate),
                        tuple(every),
                    )
                )
                shared_in = f"L{i}:gate:shared"
        column = 2 * len(self.levels) + 1
        out += [
            Block(f"head:{n}", f"head → {n}", n, column, count(h), (task_in[n],))
            for n, h in self.heads.items()
        ]
        return out


def _expert_label(owner: str, index: int, total: int) -> str:
    return owner if total == 1 else f"{owner} {index + 1}"
