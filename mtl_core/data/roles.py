"""Column roles (input / target / ignore) and types (numeric, categorical, text, image,
id-like), inferred from the `datasets` features and the values, each with its reason."""

from __future__ import annotations

from dataclasses import dataclass

import datasets
import pandas as pd

# A string column with more distinct values than this (and not all unique) reads as text.
TEXT_MIN_DISTINCT = 50


@dataclass(frozen=True)
class ColumnRole:
    column: str
    role: str  # "input", "target" or "ignore"
    type: str  # "numeric", "categorical", "text", "image", "list", "id-like", "constant"
    reason: str


def column_type(feature: object, values: pd.Series) -> tuple[str, str]:
    """(type, reason) of one column."""
    if isinstance(feature, datasets.Image):
        return "image", "Image feature"
    if isinstance(feature, datasets.List | datasets.LargeList):
        return "list", "list feature"
    if isinstance(feature, datasets.ClassLabel):
        return "categorical", f"ClassLabel with {feature.num_classes} classes"
    present = values.dropna()
    distinct = present.nunique()
    if distinct <= 1:
        return "constant", "a single value in every row"
    if pd.api.types.is_bool_dtype(present):
        return "categorical", "true/false values"
    if pd.api.types.is_numeric_dtype(present):
        if pd.api.types.is_integer_dtype(present) and distinct == len(present) > 20:
            increasing = present.is_monotonic_increasing
            if increasing:
                return "id-like", "unique increasing integers (a row id)"
        return "numeric", "numbers"
    if distinct == len(present) and len(present) > 20:
        lengths = present.astype(str).str.len()
        if lengths.mean() < 40 and not present.astype(str).str.contains(" ").any():
            return "id-like", "a different short value in every row (an identifier)"
        return "text", "free text, different in every row"
    if distinct > TEXT_MIN_DISTINCT and present.astype(str).str.contains(" ").mean() > 0.5:
        return "text", "many distinct multi-word values"
    return "categorical", f"{distinct} distinct values"


def infer_roles(
    frame: pd.DataFrame, features: datasets.Features, targets: list[str]
) -> list[ColumnRole]:
    """One ColumnRole per column. Targets are never inputs; id-like and constant columns
    are ignored with the reason."""
    roles = []
    for column in frame.columns:
        kind, reason = column_type(features.get(column), frame[column])
        if column in targets:
            roles.append(ColumnRole(column, "target", kind, "chosen as a task"))
        elif kind in ("id-like", "constant"):
            roles.append(ColumnRole(column, "ignore", kind, reason))
        else:
            roles.append(ColumnRole(column, "input", kind, reason))
    return roles
