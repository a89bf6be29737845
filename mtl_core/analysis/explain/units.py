"""Shared units x tasks: how much of each task's output flows through each unit of its
representation (Captum LayerConductance, mean |conductance| over the sample), the units
ordered by hierarchical clustering, the task x task cosine similarity of these profiles,
and, for one unit, which inputs drive it on its way to each task (NeuronConductance)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import LayerConductance, LayerIntegratedGradients, NeuronConductance
from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering

from mtl_core.analysis.explain.context import (
    Completeness,
    ExplainOptions,
    chunk_target,
    representation_module,
    sample_chunks,
    target_values,
    task_forward,
    task_target,
)
from mtl_core.data.tasks import TaskSpec
from mtl_core.errors import UserError
from mtl_core.models.base import MTLModel

# Optimal leaf ordering costs O(n^3); above this many units plain linkage order is used.
MAX_OPTIMAL_ORDER_UNITS = 256


@dataclass
class UnitProfiles:
    """Rows are tasks (or task: class); columns are the units of the representation."""

    rows: list[str]
    row_tasks: list[str]
    importance: np.ndarray  # [rows, units] mean |conductance| over the sample
    completeness: list[Completeness]
    unit_shape: tuple[int, ...]
    shared: bool  # one representation for all tasks (else each task's own, same positions)

    @property
    def share(self) -> np.ndarray:
        """Each row as fractions of that row's total: scale-free across task kinds."""
        totals = self.importance.sum(axis=1, keepdims=True)
        return np.divide(
            self.importance, totals, out=np.zeros_like(self.importance), where=totals > 0
        )

    @property
    def order(self) -> list[int]:
        return cluster_order(self.share)

    @property
    def similarity(self) -> np.ndarray:
        return cosine_similarity(self.importance)

    def ranked_units(self) -> list[int]:
        """Units by their share summed over rows, most used first."""
        return [int(u) for u in np.argsort(-self.share.sum(axis=0), kind="stable")]


def cosine_similarity(rows: np.ndarray) -> np.ndarray:
    """Cosine between every pair of rows; a zero row has similarity 0 to everything."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit = np.divide(rows, norms, out=np.zeros_like(rows, dtype=float), where=norms > 0)
    return unit @ unit.T


def cluster_order(share: np.ndarray) -> list[int]:
    """Units ordered so that units used by the same tasks sit together (average linkage on
    their per-task profiles, optimal leaf ordering when affordable)."""
    profiles = share.T
    if len(profiles) < 3:
        return list(range(len(profiles)))
    tree = linkage(profiles, method="average", metric="euclidean")
    if len(profiles) <= MAX_OPTIMAL_ORDER_UNITS:
        tree = optimal_leaf_ordering(tree, profiles)
    return [int(u) for u in leaves_list(tree)]


def profile_rows(
    spec: TaskSpec, outputs: torch.Tensor, options: ExplainOptions
) -> list[tuple[str, int | torch.Tensor]]:
    """-> [(row label, Captum target)]: one row per task, or per class with `by_class`."""
    if options.by_class and spec.task_kind.explains_classes:
        return [(f"{spec.name}: {label}", i) for i, label in enumerate(spec.classes)]
    chosen = options.chosen_class(spec.name)
    label = f"{spec.name}: {chosen}" if chosen else spec.name
    return [(label, task_target(spec, outputs, chosen))]


def unit_profiles(
    model: MTLModel,
    specs: list[TaskSpec],
    x: torch.Tensor,
    baseline: torch.Tensor,
    options: ExplainOptions,
    tick: Callable[[str], None],
) -> UnitProfiles:
    """LayerConductance of every task's output to every unit of its representation. Token
    ids cannot be interpolated, so text models use LayerIntegratedGradients, whose path runs
    straight through the representation from its value at the padding baseline."""
    rows, row_tasks, importance, completeness = [], [], [], []
    unit_shape: tuple[int, ...] = ()
    method = LayerIntegratedGradients if x.dtype == torch.long else LayerConductance
    for spec in specs:
        forward = task_forward(model, spec.name)
        conductance = method(forward, representation_module(model, spec.name))
        with torch.no_grad():
            outputs, base_outputs = forward(x), forward(baseline)
        for label, target in profile_rows(spec, outputs, options):
            attributions, deltas = [], []
            for chunk in sample_chunks(len(x), options):
                attribution, delta = conductance.attribute(
                    x[chunk],
                    baselines=baseline[chunk],
                    target=chunk_target(target, chunk),
                    n_steps=options.n_steps,
                    internal_batch_size=options.internal_batch_size,
                    return_convergence_delta=True,
                )
                attributions.append(attribution.detach())
                deltas.append(delta.detach())
                tick(f"shared units: {label}")
            attribution = torch.cat(attributions)
            unit_shape = tuple(attribution.shape[1:])
            change = target_values(outputs, target) - target_values(base_outputs, target)
            rows.append(label)
            row_tasks.append(spec.name)
            importance.append(attribution.flatten(1).abs().mean(0).double().cpu().numpy())
            completeness.append(Completeness.of(torch.cat(deltas), change))
    return UnitProfiles(
        rows,
        row_tasks,
        np.stack(importance),
        completeness,
        unit_shape,
        shared=len(model.representation_modules()) == 1,
    )


def unit_drivers(
    model: MTLModel,
    specs: list[TaskSpec],
    x: torch.Tensor,
    baseline: torch.Tensor,
    unit: int,
    unit_shape: tuple[int, ...],
    options: ExplainOptions,
    tick: Callable[[str], None],
) -> dict[str, np.ndarray]:
    """NeuronConductance: for each task, how much each input contributes to the task's
    output through this one unit of its representation -> {task: [N, *input_shape]}."""
    if x.dtype == torch.long:
        raise UserError(
            "which inputs drive a unit needs inputs that can be interpolated; "
            "token ids cannot: this view is for tabular and image inputs"
        )
    selector = tuple(int(i) for i in np.unravel_index(unit, unit_shape))
    drivers = {}
    for spec in specs:
        forward = task_forward(model, spec.name)
        conductance = NeuronConductance(forward, representation_module(model, spec.name))
        with torch.no_grad():
            target = task_target(spec, forward(x), options.chosen_class(spec.name))
        parts = []
        for chunk in sample_chunks(len(x), options):
            parts.append(
                conductance.attribute(
                    x[chunk],
                    neuron_selector=selector,
                    baselines=baseline[chunk],
                    target=chunk_target(target, chunk),
                    n_steps=options.n_steps,
                    internal_batch_size=options.internal_batch_size,
                ).detach()
            )
            tick(f"unit {unit}: {spec.name}")
        drivers[spec.name] = torch.cat(parts).double().cpu().numpy()
    return drivers
