"""What every attribution needs: the options a user picks, the sample of examples, the
baseline, the per-task forward function Captum calls, the target per task, which module is
a task's representation, and the completeness (convergence delta) summary."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from mtl_core.data.prepare import PreparedData
from mtl_core.data.tasks import TaskSpec
from mtl_core.errors import UserError
from mtl_core.models.base import MTLModel

BaselineKind = Literal["zeros", "mean", "blur"]
BASELINES: tuple[str, ...] = ("zeros", "mean", "blur")
# Mean |delta| above this fraction of mean |F(x) - F(baseline)| asks for more steps. Outputs
# are logits or standardised values, so changes below DELTA_FLOOR count as DELTA_FLOOR.
DELTA_TOLERANCE = 0.05
DELTA_FLOOR = 0.01
# Progress callback: (fraction done in [0, 1], what is being computed).
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ExplainOptions:
    """How to explain: sample size, path integral resolution, baseline, tasks, SmoothGrad."""

    samples: int = 256
    n_steps: int = 50
    baseline: BaselineKind = "zeros"
    tasks: tuple[str, ...] | None = None
    # Multiclass tasks: None = each example's predicted class; else a class per task.
    classes: tuple[tuple[str, str], ...] = ()
    # Unit profiles: one row per class of each multiclass task instead of one per task.
    by_class: bool = False
    # SmoothGrad over the input attributions: number of noisy copies (0 = off) and the noise
    # standard deviation as a fraction of the sample's input standard deviation.
    smoothgrad: int = 0
    noise: float = 0.15
    # Rows of interpolated inputs per forward/backward pass (bounds memory).
    internal_batch_size: int = 4096
    split: str | None = None
    seed: int = 0

    def check(self, data: PreparedData) -> None:
        if self.samples < 1:
            raise UserError(f"samples must be at least 1 (got {self.samples})")
        if self.n_steps < 2:
            raise UserError(f"steps must be at least 2 (got {self.n_steps})")
        if self.baseline not in BASELINES:
            raise UserError(
                f"unknown baseline '{self.baseline}' (choose one of: {', '.join(BASELINES)})"
            )
        if self.baseline == "blur" and data.input_kind != "image":
            raise UserError(
                f"the blur baseline is for images; this run has "
                f"{data.input_kind} inputs: use zeros or mean"
            )
        if self.smoothgrad < 0 or self.noise < 0:
            raise UserError("smoothgrad samples and noise must not be negative")
        if data.input_kind == "text" and self.baseline != "zeros":
            raise UserError("text inputs are token ids: their baseline is padding (zeros)")
        if data.input_kind == "text" and self.smoothgrad:
            raise UserError(
                "SmoothGrad adds noise to inputs, which token ids cannot take: "
                "set smoothgrad to 0 for text"
            )
        if self.internal_batch_size < 2:
            raise UserError("internal batch size must be at least 2")
        names = data.task_names
        for task in self.tasks or ():
            if task not in names:
                raise UserError(f"no task '{task}' in this run (tasks: {', '.join(names)})")
        for task, label in self.classes:
            spec = next((t for t in data.tasks if t.name == task), None)
            if spec is None or not spec.task_kind.explains_classes:
                raise UserError(
                    f"a class can only be chosen for a multiclass task; '{task}' is not one"
                )
            if label not in spec.classes:
                raise UserError(
                    f"task '{task}' has no class '{label}' (classes: {', '.join(spec.classes)})"
                )
        if self.split is not None and self.split not in data.splits:
            raise UserError(f"no split '{self.split}' (splits: {', '.join(data.splits)})")

    def chosen_class(self, task: str) -> str | None:
        return dict(self.classes).get(task)


@dataclass(frozen=True)
class Completeness:
    """How far the attributions are from summing to F(x) - F(baseline), over the sample."""

    mean_abs_delta: float
    max_abs_delta: float
    mean_abs_change: float  # mean |F(x) - F(baseline)|

    @classmethod
    def of(cls, delta: torch.Tensor, change: torch.Tensor) -> Completeness:
        """delta = sum(attributions) - change, change = F(x) - F(baseline), per example."""
        delta = delta.detach().flatten().double().cpu()
        change = change.detach().flatten().double().cpu()
        return cls(float(delta.abs().mean()), float(delta.abs().max()), float(change.abs().mean()))

    @property
    def relative(self) -> float:
        """Mean |delta| as a fraction of mean |F(x) - F(baseline)|."""
        if self.mean_abs_change == 0:
            return 0.0 if self.mean_abs_delta == 0 else math.inf
        return self.mean_abs_delta / self.mean_abs_change

    @property
    def needs_more_steps(self) -> bool:
        return self.mean_abs_delta > DELTA_TOLERANCE * max(self.mean_abs_change, DELTA_FLOOR)

    def to_json(self) -> dict[str, float | bool]:
        return {
            "mean_abs_delta": self.mean_abs_delta,
            "max_abs_delta": self.max_abs_delta,
            "mean_abs_change": self.mean_abs_change,
            "relative": self.relative,
            "needs_more_steps": self.needs_more_steps,
        }


def representation_module(model: MTLModel, task: str) -> nn.Module:
    """The module whose output is `task`'s representation: the one shared module, or the
    task's own (soft sharing, cross-stitch, MMoE/PLE gate mixes), in task order."""
    modules = model.representation_modules()
    if len(modules) == 1:
        return modules[0]
    if len(modules) == len(model.task_names):
        return modules[model.task_names.index(task)]
    raise UserError(
        f"architecture '{getattr(model, 'architecture', type(model).__name__)}' "
        f"has {len(modules)} representation modules for {len(model.task_names)} "
        "tasks: attribution needs one shared module or one per task"
    )


def token_embedding(model: MTLModel) -> nn.Module:
    """Text models: the embedding of token ids, where attribution to tokens is taken."""
    embedding = next(
        (m for m in model.modules() if isinstance(m, nn.Embedding | nn.EmbeddingBag)), None
    )
    if embedding is None:
        raise UserError("this text model has no token embedding to attribute to")
    return embedding


def task_forward(model: nn.Module, task: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Captum needs a function that returns one tensor: this task's output."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        return model(x)[task]

    return forward


def task_target(spec: TaskSpec, outputs: torch.Tensor, chosen: str | None) -> int | torch.Tensor:
    """Which output column to explain: the single logit/value of binary and regression
    tasks; for multiclass, the chosen class or each example's predicted class."""
    if outputs.shape[1] == 1:
        return 0
    if chosen is not None:
        return spec.classes.index(chosen)
    return outputs.argmax(dim=1)


def target_values(outputs: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """The explained output of each example: outputs[i, target_i]."""
    if isinstance(target, int):
        return outputs[:, target]
    return outputs.gather(1, target.view(-1, 1)).squeeze(1)


def chunk_target(target: int | torch.Tensor, chunk: slice) -> int | torch.Tensor:
    return target if isinstance(target, int) else target[chunk]


def pick_sample(data: PreparedData, options: ExplainOptions) -> tuple[str, torch.Tensor]:
    """-> (split name, up to `samples` examples drawn without replacement, seeded)."""
    split = options.split or next(
        (
            name
            for name in ("test", "validation", "train")
            if name in data.splits and len(data.splits[name])
        ),
        None,
    )
    if split is None or not len(data.splits[split]):
        raise UserError("the run's data has no examples to explain")
    x = data.splits[split].x
    generator = torch.Generator().manual_seed(options.seed)
    order = torch.randperm(len(x), generator=generator)[: options.samples]
    return split, x[order.sort().values]


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of [N, C, H, W] images with a Gaussian of `sigma` pixels."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    padded = nn.functional.pad(images, (radius, radius, radius, radius), mode="replicate")
    rows = nn.functional.conv2d(
        padded, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels
    )
    return nn.functional.conv2d(
        rows, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels
    )


def make_baseline(kind: str, x: torch.Tensor, data: PreparedData) -> torch.Tensor:
    """The reference input that attributions are measured against, shaped like `x`."""
    if kind == "zeros":
        return torch.zeros_like(x)
    if kind == "mean":
        return data.splits["train"].x.to(x.dtype).mean(dim=0, keepdim=True).expand_as(x).clone()
    # A heavy blur keeps the colours and removes the strokes and edges that carry the content.
    return gaussian_blur(x, sigma=max(x.shape[-2:]) / 8)


def sample_chunks(n: int, options: ExplainOptions) -> list[slice]:
    """Example chunks small enough that Captum's internal batches hold at least two path
    steps of every example of the chunk (its requirement), so memory stays bounded."""
    size = max(1, options.internal_batch_size // 2)
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]
