"""One colour per task, the same on every page; Okabe-Ito, a colour-blind-safe palette."""

from __future__ import annotations

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
# Signed quantities (affinity, cosine, deltas): a diverging colour-blind-safe scale.
DIVERGING = "RdBu"


def task_colors(task_names: list[str]) -> dict[str, str]:
    return {name: OKABE_ITO[i % len(OKABE_ITO)] for i, name in enumerate(task_names)}
