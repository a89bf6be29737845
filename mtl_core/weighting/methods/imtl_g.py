"""IMTL-G: the update has equal projections on every task's unit gradient."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import IMTLG

from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("imtl_g")
class ImpartialGradient(GradientWeighting):
    """Weights such that the aggregated update projects equally onto every normalised task
    gradient (torchjd `IMTLG`). Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021.
    Cost class: gradient."""

    title = "IMTL-G"
    summary = "Chooses the update that makes equal progress along every task's direction."
    helps_when = "One task's large gradient drowns the others."

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> IMTLG:
        return IMTLG()
