"""Device choice: `auto` picks cuda, then mps, then cpu."""

from __future__ import annotations

import torch

from mtl_core.errors import UserError


def available_accelerators() -> list[str]:
    """The accelerators this machine has ("cuda", "mps"), in `auto`'s order."""
    return [
        name
        for name, present in (
            ("cuda", torch.cuda.is_available()),
            ("mps", torch.backends.mps.is_available()),
        )
        if present
    ]


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device(next(iter(available_accelerators()), "cpu"))
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device is 'cuda' but no CUDA GPU is available: use 'auto' or 'cpu'")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise UserError("train.device is 'mps' but MPS is not available: use 'auto' or 'cpu'")
    return torch.device(requested)
