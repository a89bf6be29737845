"""Smooth Tchebycheff scalarization (STCH): a soft maximum of the task losses."""

from __future__ import annotations

from typing import Any

import torch
from torchjd.scalarization import STCH

from mtl_core.weighting.base import Param
from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting


class STCHWithWeights(STCH):
    """torchjd's `STCH` with the gradient of μ log Σ_i exp(λ_i L_i / μ) with respect to the
    losses in closed form: λ_i softmax(λ L / μ)_i (uniform λ_i = 1/T here), so that the
    step back-propagates the losses with those weights and builds no graph for the
    scalarization."""

    def weights_for(self, losses: torch.Tensor) -> torch.Tensor:
        values = losses.detach()
        preference = 1.0 / values.numel()
        return preference * torch.softmax(preference * values.flatten() / self.mu, dim=0)


@register("stch")
class SmoothTchebycheff(ScalarizerWeighting):
    """μ log Σ_i exp(L_i / (T μ)): a smooth version of the worst task's loss (torchjd `STCH`,
    uniform preference, no reference point; the step back-propagates the losses with its
    weights, in closed form). Lin et al., "Smooth Tchebycheff Scalarization for
    Multi-Objective Optimization", ICML 2024. Cost class: loss (1 backward)."""

    title = "Smooth Tchebycheff (STCH)"
    summary = "Minimises a smooth maximum of the losses, so the worst task gets most weight."
    helps_when = "You care about the worst task rather than the average."
    param_specs = {
        "mu": Param(0.1, "Smoothing; smaller is closer to the hard maximum.", 1e-3, 10.0)
    }

    def make_scalarizer(self, n_tasks: int, params: dict[str, Any]) -> STCHWithWeights:
        return STCHWithWeights(mu=params["mu"])
