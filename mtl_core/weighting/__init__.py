"""Loss weighting and gradient aggregation: one registry of methods, each one small class."""

from mtl_core.weighting.base import WeightingMethod
from mtl_core.weighting.registry import WEIGHTINGS, build_weighting

__all__ = ["WEIGHTINGS", "WeightingMethod", "build_weighting"]
