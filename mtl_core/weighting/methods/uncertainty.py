"""Uncertainty weighting (UW): learned per-task log-variances."""

from __future__ import annotations

from typing import Any

from torchjd.scalarization import UW

from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting


@register("uw")
class UncertaintyWeighting(ScalarizerWeighting):
    """Σ_i ½ e^(−s_i) L_i + ½ s_i with learned log-variances s_i (torchjd `UW`). Kendall, Gal
    and Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses", CVPR 2018.
    Cost class: loss (1 backward; T extra parameters in the optimizer)."""

    title = "Uncertainty weighting (UW)"
    summary = "Learns one noise level per task and down-weights the noisy, high-loss tasks."
    helps_when = "Losses on different scales (e.g. a regression next to classifications)."

    def make_scalarizer(self, n_tasks: int, params: dict[str, Any]) -> UW:
        return UW(n_tasks)
