"""Inputs per task: Integrated Gradients of each task's output with respect to the input,
against the chosen baseline, optionally smoothed with NoiseTunnel (SmoothGrad). Text inputs
are token ids: LayerIntegratedGradients at the token embedding, summed over its dimensions,
gives one attribution per token position (padding as the baseline)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients, LayerIntegratedGradients, NoiseTunnel

from mtl_core.analysis.explain.context import (
    Completeness,
    ExplainOptions,
    chunk_target,
    sample_chunks,
    target_values,
    task_forward,
    task_target,
    token_embedding,
)
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import MTLModel


@dataclass
class InputAttribution:
    """One task's attributions, shaped like the inputs [N, *input_shape], signed (text: one
    per token position)."""

    task: str
    values: np.ndarray
    # With SmoothGrad: the deltas of the noisy copies, against the clean F(x) - F(baseline).
    completeness: Completeness

    def mean_abs(self) -> np.ndarray:
        """Mean |attribution| over the sample, shaped like one input."""
        return np.abs(self.values).mean(axis=0)

    def own_share(self, features: list[int]) -> float:
        """Fraction of the total mean |attribution| that falls on these input positions."""
        flat = self.mean_abs().reshape(-1)
        total = flat.sum()
        return float(flat[features].sum() / total) if total > 0 else 0.0


def input_attributions(
    model: MTLModel,
    specs: list[TaskSpec],
    x: torch.Tensor,
    baseline: torch.Tensor,
    options: ExplainOptions,
    tick: Callable[[str], None],
) -> dict[str, InputAttribution]:
    """Each task's attribution of its explained output to every input (or token)."""
    result = {}
    noise = options.noise * float(x.float().std()) if options.smoothgrad else 0.0
    for spec in specs:
        forward = task_forward(model, spec.name)
        text = x.dtype == torch.long
        gradients = (
            LayerIntegratedGradients(forward, token_embedding(model))
            if text
            else IntegratedGradients(forward)
        )
        with torch.no_grad():
            outputs, base_outputs = forward(x), forward(baseline)
        target = task_target(spec, outputs, options.chosen_class(spec.name))
        attributions, deltas = [], []
        for chunk in sample_chunks(len(x), options):
            arguments = {
                "baselines": baseline[chunk],
                "target": chunk_target(target, chunk),
                "n_steps": options.n_steps,
                "internal_batch_size": options.internal_batch_size,
                "return_convergence_delta": True,
            }
            if options.smoothgrad:
                attribution, delta = NoiseTunnel(gradients).attribute(
                    x[chunk],
                    nt_type="smoothgrad",
                    nt_samples=options.smoothgrad,
                    nt_samples_batch_size=1,
                    stdevs=noise,
                    **arguments,
                )
            else:
                attribution, delta = gradients.attribute(x[chunk], **arguments)
            if text:
                attribution = attribution.sum(dim=-1)
            attributions.append(attribution.detach())
            deltas.append(delta.detach())
            tick(f"inputs: {spec.name}")
        change = target_values(outputs, target) - target_values(base_outputs, target)
        result[spec.name] = InputAttribution(
            spec.name,
            torch.cat(attributions).double().cpu().numpy(),
            Completeness.of(torch.cat(deltas), change),
        )
    return result
