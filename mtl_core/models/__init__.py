"""Models: modality encoders, sharing architectures (one registry) and task heads."""

from mtl_core.models.base import MTLModel
from mtl_core.models.registry import ARCHITECTURES, build_model

__all__ = ["ARCHITECTURES", "MTLModel", "build_model"]
