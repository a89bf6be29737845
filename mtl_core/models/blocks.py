"""Small building blocks shared by the architectures: MLP stacks, task heads, per-task
towers (single-task, soft sharing, cross-stitch), expert banks and softmax gates (MMoE,
PLE)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from typing import Generic, TypeVar, cast, overload

import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import SHARED, Block, count
from mtl_core.models.encoders import build_encoder

M = TypeVar("M", bound=nn.Module)


class ModuleListOf(nn.ModuleList, Generic[M]):
    """An `nn.ModuleList` that holds modules of one type, and says so to the type checker.

    torch's containers are not generic (their items are typed `nn.Module`), so the casts
    below state what the constructor guarantees; the state dict is a ModuleList's."""

    def __init__(self, modules: Iterable[M] = ()) -> None:
        super().__init__(modules)

    def __iter__(self) -> Iterator[M]:
        return cast(Iterator[M], super().__iter__())

    @overload
    def __getitem__(self, idx: slice) -> ModuleListOf[M]: ...

    @overload
    def __getitem__(self, idx: int) -> M: ...

    def __getitem__(self, idx: int | slice) -> M | ModuleListOf[M]:
        return cast("M | ModuleListOf[M]", super().__getitem__(idx))


class ModuleDictOf(nn.ModuleDict, Generic[M]):
    """An `nn.ModuleDict` that holds modules of one type, and says so to the type checker
    (see `ModuleListOf`)."""

    def __init__(self, modules: Mapping[str, M] | None = None) -> None:
        super().__init__(modules)

    def __getitem__(self, key: str) -> M:
        return cast(M, super().__getitem__(key))

    def items(self) -> ItemsView[str, M]:
        return cast(ItemsView[str, M], super().items())

    def values(self) -> ValuesView[M]:
        return cast(ValuesView[M], super().values())


def mlp(in_dim: int, widths: list[int], dropout: float = 0.0) -> nn.Sequential:
    """Linear -> ReLU (-> Dropout) for each width; empty widths give an identity stack."""
    layers: list[nn.Module] = []
    for block in levels(in_dim, widths, dropout):
        layers += list(block)
    return nn.Sequential(*layers)


def levels(in_dim: int, widths: list[int], dropout: float = 0.0) -> ModuleListOf[nn.Sequential]:
    """One Linear -> ReLU (-> Dropout) block per width, kept apart so that an architecture
    can act between them (cross-stitch units) or tie them (soft sharing)."""
    blocks: ModuleListOf[nn.Sequential] = ModuleListOf()
    for width in widths:
        layers: list[nn.Module] = [nn.Linear(in_dim, width), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        blocks.append(nn.Sequential(*layers))
        in_dim = width
    return blocks


def head(in_dim: int, widths: list[int], out_dim: int, dropout: float = 0.0) -> nn.Sequential:
    """A task head: an MLP followed by a linear output layer."""
    body = mlp(in_dim, widths, dropout)
    last = widths[-1] if widths else in_dim
    return nn.Sequential(*body, nn.Linear(last, out_dim))


class Tower(nn.Module):
    """One task's own network: its encoder, its shared-level layers and its head, built in
    that order (so two architectures that build the same towers from the same seed start
    from the same weights)."""

    def __init__(
        self,
        input_kind: str,
        input_shape: tuple[int, ...],
        shared: list[int],
        head_widths: list[int],
        out_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.encoder, width = build_encoder(input_kind, input_shape)
        self.encoder_width = width
        self.level_widths = list(shared)
        self.levels = levels(width, shared, dropout)
        self.width = shared[-1] if shared else width
        self.head = head(self.width, head_widths, out_dim, dropout)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder and shared-level layers: the tower's representation."""
        hidden = self.encoder(x)
        for level in self.levels:
            hidden = level(hidden)
        return hidden

    def representation_module(self) -> nn.Module:
        """The last shared-level layer (the encoder when there is none)."""
        return self.levels[-1] if len(self.levels) else self.encoder

    def named_body_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """Encoder and shared-level parameters (everything but the head), by name."""
        return [
            *(("encoder." + n, p) for n, p in self.encoder.named_parameters()),
            *(("levels." + n, p) for n, p in self.levels.named_parameters()),
        ]

    def body_parameters(self) -> list[nn.Parameter]:
        return [p for _, p in self.named_body_parameters()]


def towers(
    tasks: Sequence[TaskSpec], input_kind: str, input_shape: tuple[int, ...], config: ModelConfig
) -> ModuleDictOf[Tower]:
    """One `Tower` per task, in task order, with the config's widths."""
    return ModuleDictOf(
        {
            t.name: Tower(
                input_kind, input_shape, config.shared, config.head, t.output_dim, config.dropout
            )
            for t in tasks
        }
    )


def tower_outputs(
    towers: ModuleDictOf[Tower], x: torch.Tensor
) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """(outputs per task, representations per task) of independent towers."""
    features = [tower.body(x) for tower in towers.values()]
    outputs = {
        name: tower.head(hidden)
        for (name, tower), hidden in zip(towers.items(), features, strict=True)
    }
    return outputs, features


def tower_blocks(
    towers: ModuleDictOf[Tower],
    input_kind: str,
    units: dict[int, nn.Module] | None = None,
    tied: bool = False,
) -> list[Block]:
    """Diagram boxes of per-task towers. `units` maps a level index (0 = after the encoder)
    to a shared module mixing the towers there (cross-stitch); `tied` marks the towers'
    bodies as tied to each other (soft sharing)."""
    units = units or {}
    out: list[Block] = []
    previous = {name: f"encoder:{name}" for name in towers}
    for name, tower in towers.items():
        out.append(
            Block(
                previous[name],
                f"encoder ({input_kind})",
                name,
                0,
                count(tower.encoder),
                group="encoder" if tied else None,
            )
        )
    column = 1
    n_levels = len(next(iter(towers.values())).levels)
    for index in range(n_levels + 1):
        if index in units:
            key = f"unit{index}"
            out.append(
                Block(
                    key,
                    "cross-stitch unit",
                    SHARED,
                    column,
                    count(units[index]),
                    tuple(previous.values()),
                )
            )
            previous = dict.fromkeys(towers, key)
            column += 1
        if index == n_levels:
            break
        for name, tower in towers.items():
            key = f"level{index + 1}:{name}"
            out.append(
                Block(
                    key,
                    f"layer {tower.level_widths[index]}",
                    name,
                    column,
                    count(tower.levels[index]),
                    (previous[name],),
                    group=f"level{index + 1}" if tied else None,
                )
            )
            previous[name] = key
        column += 1
    out += [
        Block(f"head:{name}", f"head → {name}", name, column, count(tower.head), (previous[name],))
        for name, tower in towers.items()
    ]
    return out


def experts(
    count: int, in_dim: int, widths: list[int], dropout: float
) -> ModuleListOf[nn.Sequential]:
    """`count` expert networks, each an MLP of `widths`."""
    return ModuleListOf(mlp(in_dim, widths, dropout) for _ in range(count))


class GateMix(nn.Module):
    """A softmax gate and the mixture it makes: out = Σ_i softmax(W x)_i · expert_i.

    Its own module so that its output, the gate-mixed representation of one task, can be
    hooked (attribution) and its weights read (the Model page's heatmaps)."""

    def __init__(self, gate_dim: int, n_experts: int) -> None:
        super().__init__()
        self.gate = nn.Linear(gate_dim, n_experts)

    def weights(self, gate_input: torch.Tensor) -> torch.Tensor:
        """[N, n_experts], each row summing to 1."""
        return torch.softmax(self.gate(gate_input), dim=-1)

    def forward(self, gate_input: torch.Tensor, expert_outputs: torch.Tensor) -> torch.Tensor:
        """expert_outputs: [N, n_experts, C] -> [N, C]."""
        return torch.einsum("ne,nec->nc", self.weights(gate_input), expert_outputs)
