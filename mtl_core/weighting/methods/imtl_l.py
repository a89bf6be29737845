"""IMTL-L: learned per-task loss scales (impartial multi-task learning, loss part)."""

from __future__ import annotations

from typing import Any

from torchjd.scalarization import IMTLL

from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting


@register("imtl_l")
class ImpartialLossScaling(ScalarizerWeighting):
    """Σ_i e^(s_i) L_i − s_i with learned scales s_i (torchjd `IMTLL`). Liu et al., "Towards
    Impartial Multi-task Learning", ICLR 2021. Cost class: loss (1 backward; T extra
    parameters in the optimizer)."""

    title = "IMTL-L"
    summary = "Learns a scale per task so that all scaled losses stay comparable."
    helps_when = "Losses on different scales; close to uncertainty weighting."

    def make_scalarizer(self, n_tasks: int, params: dict[str, Any]) -> IMTLL:
        return IMTLL(n_tasks)
