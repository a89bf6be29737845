"""Smooth Tchebycheff scalarization (STCH): a soft maximum of the task losses."""

from __future__ import annotations

from torchjd.scalarization import STCH

from mtl_core.weighting.base import Param
from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting


@register("stch")
class SmoothTchebycheff(ScalarizerWeighting):
    """μ log Σ_i exp(L_i / (T μ)): a smooth version of the worst task's loss (torchjd `STCH`,
    uniform preference, no reference point). Lin et al., "Smooth Tchebycheff Scalarization for
    Multi-Objective Optimization", ICML 2024. Cost class: loss (1 backward)."""

    title = "Smooth Tchebycheff (STCH)"
    summary = "Minimises a smooth maximum of the losses, so the worst task gets most weight."
    helps_when = "You care about the worst task rather than the average."
    param_specs = {"mu": Param(0.1, "Smoothing; smaller is closer to the hard maximum.",
                               1e-3, 10.0)}

    def make_scalarizer(self, n_tasks, params):
        return STCH(mu=params["mu"])
