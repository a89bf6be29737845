"""Loss weighting and gradient aggregation: one registry of methods, each one small class;
one training step is `method.step(StepRequest(...)) -> StepResult`."""

from mtl_core.weighting.base import StepRequest, StepResult, WeightingMethod
from mtl_core.weighting.registry import WEIGHTINGS, build_weighting

__all__ = ["WEIGHTINGS", "StepRequest", "StepResult", "WeightingMethod", "build_weighting"]
