"""Dynamic Weight Average (DWA): weights from how fast each loss fell last epoch."""

from __future__ import annotations

from typing import Any

from torchjd.scalarization import DWA

from mtl_core.weighting.base import Param
from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting


@register("dwa")
class DynamicWeightAverage(ScalarizerWeighting):
    """λ_k = K softmax(w_k / temperature), w_k = L_k(t−1) / L_k(t−2) from epoch-average losses
    (torchjd `DWA`; equal weights for the first two epochs). Liu, Johns and Davison, "End-to-End
    Multi-Task Learning with Attention", CVPR 2019. Cost class: loss (1 backward)."""

    title = "Dynamic Weight Average (DWA)"
    summary = "Gives more weight to tasks whose loss fell slowest over the last epoch."
    helps_when = "Some tasks stall while others improve; needs several epochs to act."
    param_specs = {"temperature": Param(2.0, "Higher: weights closer to equal.", 0.01, 100.0)}

    scalarizer: DWA

    def make_scalarizer(self, n_tasks: int, params: dict[str, Any]) -> DWA:
        return DWA(temperature=params["temperature"])

    def after_epoch(self) -> None:
        self.scalarizer.step()
