"""Experts x tasks (MMoE, PLE): how much of each task's output comes through each expert.

Per level of experts, Layer Integrated Gradients on all the level's experts at once: their
outputs move together from their values at the baseline to their values at the example,
while everything else (the gates, other levels' inputs) sees the example itself. So each
task's gate weighting of the example is kept, and the attributions of one level add up to
F(x) − F(x with that level's experts at their baseline outputs), which is checked here
(completeness) by running the model with those outputs swapped in. An expert a task's
output does not reach gets 0."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients
from torch import nn

from mtl_core.analysis.explain.context import (
    Completeness,
    ExplainOptions,
    chunk_target,
    sample_chunks,
    target_values,
    task_forward,
    task_target,
)
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import MTLModel


@dataclass
class ExpertLevel:
    """Rows are tasks, columns the level's experts."""

    title: str
    experts: list[str]
    tasks: list[str]
    importance: np.ndarray  # [tasks, experts] mean over examples of Σ_units |attribution|
    completeness: list[Completeness]  # per task

    @property
    def share(self) -> np.ndarray:
        """Each task's row as fractions of its total over the level's experts."""
        totals = self.importance.sum(axis=1, keepdims=True)
        return np.divide(
            self.importance, totals, out=np.zeros_like(self.importance), where=totals > 0
        )

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "experts": self.experts,
            "tasks": {
                task: {
                    "mean_abs": imp.round(8).tolist(),
                    "share": share.round(6).tolist(),
                    "completeness": c.to_json(),
                }
                for task, imp, share, c in zip(
                    self.tasks, self.importance, self.share, self.completeness, strict=True
                )
            },
        }


@contextmanager
def _outputs_replaced(modules: list[nn.Module], outputs: list[torch.Tensor]) -> Iterator[None]:
    """While open, each module returns the given tensor instead of computing its own."""
    handles = [
        module.register_forward_hook(lambda _m, _i, _o, value=value: value)
        for module, value in zip(modules, outputs, strict=True)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _outputs_of(model: MTLModel, modules: list[nn.Module], x: torch.Tensor) -> list[torch.Tensor]:
    captured: dict[int, torch.Tensor] = {}
    handles = [
        module.register_forward_hook(
            lambda _m, _i, out, key=i: captured.__setitem__(key, out.detach())
        )
        for i, module in enumerate(modules)
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return [captured[i] for i in range(len(modules))]


def _reaching(model: MTLModel, modules: list[nn.Module], task: str, x: torch.Tensor) -> list[bool]:
    """Which of `modules` the task's output depends on (PLE: not other tasks' experts of
    the top level), read off one small forward with the modules' outputs as leaves."""
    leaves: dict[int, torch.Tensor] = {}

    def as_leaf(
        key: int,
    ) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], torch.Tensor]:
        def hook(
            _module: nn.Module, _inputs: tuple[torch.Tensor, ...], out: torch.Tensor
        ) -> torch.Tensor:
            leaves[key] = out.detach().requires_grad_()
            return leaves[key]

        return hook

    handles = [module.register_forward_hook(as_leaf(i)) for i, module in enumerate(modules)]
    try:
        with torch.enable_grad():
            output = model(x)[task].sum()
            grads = torch.autograd.grad(
                output, [leaves[i] for i in range(len(modules))], allow_unused=True
            )
    finally:
        for handle in handles:
            handle.remove()
    return [grad is not None for grad in grads]


def expert_levels(
    model: MTLModel,
    specs: list[TaskSpec],
    x: torch.Tensor,
    baseline: torch.Tensor,
    options: ExplainOptions,
    tick: Callable[[str], None],
) -> list[ExpertLevel]:
    """One `ExpertLevel` per level of the model's experts ([] without experts)."""
    levels = []
    for title, experts in model.expert_levels():
        rows = [
            _task_row(
                model,
                spec,
                list(experts.values()),
                x,
                baseline,
                options,
                functools.partial(tick, f"experts ({title}): {spec.name}"),
            )
            for spec in specs
        ]
        levels.append(
            ExpertLevel(
                title,
                list(experts),
                [s.name for s in specs],
                np.stack([row[0] for row in rows]),
                [row[1] for row in rows],
            )
        )
    return levels


def _task_row(
    model: MTLModel,
    spec: TaskSpec,
    experts: list[nn.Module],
    x: torch.Tensor,
    baseline: torch.Tensor,
    options: ExplainOptions,
    tick: Callable[[], None],
) -> tuple[np.ndarray, Completeness]:
    """One task's mean Σ_units |attribution| per expert of a level, and its completeness."""
    reached = _reaching(model, experts, spec.name, x[:2])
    modules = [m for m, used in zip(experts, reached, strict=True) if used]
    if not modules:  # no expert of this level on the task's path
        return np.zeros(len(experts)), Completeness(0.0, 0.0, 0.0)
    forward = task_forward(model, spec.name)
    with warnings.catch_warnings():  # "each layer not solely dependent on another": a
        warnings.simplefilter("ignore", UserWarning)  # level's experts are not
        attribution = LayerIntegratedGradients(forward, modules)
    with torch.no_grad():
        outputs = forward(x)
    target = task_target(spec, outputs, options.chosen_class(spec.name))
    per_expert, totals, changes = [], [], []
    for chunk in sample_chunks(len(x), options):
        aim = chunk_target(target, chunk)
        parts = iter(
            part.detach().flatten(1)
            for part in attribution.attribute(
                x[chunk],
                baselines=baseline[chunk],
                target=aim,
                n_steps=options.n_steps,
                internal_batch_size=options.internal_batch_size,
            )
        )
        used = [next(parts) if hit else None for hit in reached]
        nothing = torch.zeros(chunk.stop - chunk.start, device=x.device)
        per_expert.append(
            torch.stack([nothing if f is None else f.abs().sum(1) for f in used], dim=1)
        )
        totals.append(sum(f.sum(1) for f in used if f is not None))
        with (
            _outputs_replaced(modules, _outputs_of(model, modules, baseline[chunk])),
            torch.no_grad(),
        ):
            held = forward(x[chunk])
        changes.append(target_values(outputs[chunk], aim) - target_values(held, aim))
        tick()
    change = torch.cat(changes)
    return (
        torch.cat(per_expert).mean(0).double().cpu().numpy(),
        Completeness.of(torch.cat(totals) - change, change),
    )
