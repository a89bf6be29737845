"""Captum attributions of the shared features: which units of the representation each task
relies on, whether tasks rely on the same ones, which inputs drive them, and which inputs
each task uses; with mixture-of-experts models, how much of each task's output comes through
each expert. `Explainer` / `explain_run` are the entry points."""

from mtl_core.analysis.explain.context import BASELINES, Completeness, ExplainOptions
from mtl_core.analysis.explain.explainer import (
    Explainer,
    Explanation,
    explain_run,
    run_explainer,
)
from mtl_core.analysis.explain.inputs import InputAttribution
from mtl_core.analysis.explain.units import UnitProfiles, cosine_similarity

__all__ = [
    "BASELINES",
    "Completeness",
    "ExplainOptions",
    "Explainer",
    "Explanation",
    "InputAttribution",
    "UnitProfiles",
    "cosine_similarity",
    "explain_run",
    "run_explainer",
]
