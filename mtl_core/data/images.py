"""Image inputs -> float tensors [N, C, H, W] scaled 0..1. Every image is resized to one
chosen square size, so a column with mixed sizes (or mixed modes) still stacks; channels
are 1 when every image is greyscale, else 3 (RGB)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from mtl_core.errors import UserError


def _open(value: object, column: str) -> Image.Image:
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, dict) and (value.get("bytes") or value.get("path")):
        try:
            if value.get("bytes"):
                return Image.open(io.BytesIO(value["bytes"]))
            return Image.open(value["path"])
        except (OSError, UnidentifiedImageError) as error:
            raise UserError(
                f"image column '{column}' has an unreadable image ({error}): fix or remove it"
            ) from None
    if isinstance(value, np.ndarray):
        return Image.fromarray(value)
    raise UserError(
        f"column '{column}' holds {type(value).__name__} values, not images: "
        "choose another input type or ignore it"
    )


def _mode(value: object, column: str) -> str:
    """The image's mode; a file opened to read it is closed again (reading the mode loads
    no pixels, so nothing else would close it)."""
    image = _open(value, column)
    try:
        return image.mode
    finally:
        if image is not value:
            image.close()


def image_channels(values: pd.Series, column: str) -> int:
    """1 when the images are greyscale (the first 500 looked at), else 3."""
    grey = all(_mode(v, column) in ("L", "1", "I;16", "I", "F") for v in values.dropna().head(500))
    return 1 if grey else 3


def images_to_array(values: pd.Series, column: str, size: int, channels: int) -> np.ndarray:
    """float32 [N, channels, size, size] in 0..1; a missing image is all zeros."""
    out = np.zeros((len(values), channels, size, size), dtype=np.float32)
    mode = "L" if channels == 1 else "RGB"
    for row, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        image = _open(value, column).convert(mode).resize((size, size), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        out[row] = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return out
