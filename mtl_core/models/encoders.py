"""Modality encoders: what turns a batch of inputs into a flat feature vector before the
sharing architecture. Tabular inputs are already encoded, so their encoder is the identity."""

from __future__ import annotations

from torch import nn

from mtl_core.errors import UserError


def build_encoder(input_kind: str, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """-> (encoder module, width of its output)."""
    if input_kind == "tabular":
        return nn.Identity(), int(input_shape[0])
    raise UserError(f"no encoder for '{input_kind}' inputs")
