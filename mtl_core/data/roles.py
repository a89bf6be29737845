"""Column roles (input / target / ignore) and types (numeric, categorical, text, image,
list, id-like, constant), inferred from the `datasets` features and the values, each with
its reason; user overrides of types and roles are applied and checked here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import datasets
import pandas as pd

from mtl_core.errors import UserError

# A string column reads as text when its values have this many words on average and more
# than TEXT_MIN_DISTINCT (or half as many as rows) distinct values.
TEXT_MIN_WORDS = 3
TEXT_MIN_DISTINCT = 50
# More distinct short strings than this cannot be one-hot categories: proposed as ignored.
MAX_CATEGORIES = 200
# Strings longer than this on average read as text even without spaces.
TEXT_MIN_MEAN_LENGTH = 40
INPUT_TYPES = ("numeric", "categorical", "text", "image")
# Column types are inferred from a seeded sample of at most this many rows.
TYPING_ROWS = 20_000


@dataclass(frozen=True)
class ColumnRole:
    column: str
    role: str  # "input", "target" or "ignore"
    type: str  # "numeric", "categorical", "text", "image", "list", "id-like", "constant"
    reason: str


def _is_image_value(values: pd.Series) -> bool:
    first = values.dropna().head(1)
    if first.empty:
        return False
    value = first.iloc[0]
    return (isinstance(value, dict) and {"bytes", "path"} <= value.keys()) or (
        type(value).__module__.startswith("PIL.")
    )


def _string_type(present: pd.Series, distinct: int) -> tuple[str, str]:
    strings = present.astype(str)
    lengths = strings.str.len()
    words = strings.str.count(" ").mean() + 1
    varied = distinct > min(TEXT_MIN_DISTINCT, 0.5 * len(present))
    if lengths.mean() >= TEXT_MIN_MEAN_LENGTH or (varied and words >= TEXT_MIN_WORDS):
        return (
            "text",
            f"free text ({distinct} distinct values, {lengths.mean():.0f} characters on average)",
        )
    if distinct == len(present) and len(present) > 20:
        return "id-like", "a different short value in every row (an identifier)"
    if distinct > MAX_CATEGORIES:
        return "id-like", f"{distinct} distinct short values: too many to be categories"
    return "categorical", f"{distinct} distinct values"


def column_type(feature: object, values: pd.Series) -> tuple[str, str]:
    """(type, reason) of one column."""
    if isinstance(feature, datasets.Image) or (feature is None and _is_image_value(values)):
        return "image", "Image feature"
    if isinstance(feature, datasets.List | datasets.LargeList):
        return "list", "list feature (a multilabel target)"
    if isinstance(feature, datasets.ClassLabel):
        return "categorical", f"ClassLabel with {feature.num_classes} classes"
    present = values.dropna()
    if present.empty:
        return "constant", "every value is missing"
    if isinstance(present.iloc[0], list | tuple | dict):
        return "list", "list values (a multilabel target)"
    distinct = present.nunique()
    if distinct <= 1:
        return "constant", "a single value in every row"
    if pd.api.types.is_bool_dtype(present):
        return "categorical", "true/false values"
    if pd.api.types.is_numeric_dtype(present):
        unique = distinct == len(present) > 20
        if pd.api.types.is_integer_dtype(present) and unique and present.is_monotonic_increasing:
            return "id-like", "unique increasing integers (a row id)"
        return "numeric", "numbers"
    return _string_type(present, distinct)


def check_type_override(column: str, wanted: str, values: pd.Series) -> None:
    """A user-chosen type must fit the values: text is not numeric, numbers are not images."""
    present = values.dropna()
    if wanted == "numeric" and not pd.api.types.is_numeric_dtype(present):
        parsed = pd.to_numeric(present.astype(str), errors="coerce")
        if parsed.isna().mean() > 0.05:
            example = str(present.iloc[parsed.isna().to_numpy().argmax()])[:30]
            raise UserError(
                f"column '{column}' holds text such as {example!r}, so it cannot be a numeric "
                "input: set its type to text or categorical, or ignore it"
            )
    if wanted == "image" and not _is_image_value(values):
        raise UserError(
            f"column '{column}' holds no images, so it cannot be an image input: "
            "choose another type or ignore it"
        )


def infer_roles(
    frame: pd.DataFrame,
    features: datasets.Features,
    targets: list[str],
    types: Mapping[str, str] | None = None,
    ignore: list[str] | tuple[str, ...] = (),
) -> list[ColumnRole]:
    """One ColumnRole per column. Targets are never inputs; id-like and constant columns
    are ignored with the reason; `types` overrides inferred types (checked against the
    values), `ignore` drops columns."""
    types = types or {}
    unknown = sorted((set(types) | set(ignore)) - set(map(str, frame.columns)))
    if unknown:
        have = ", ".join(map(str, frame.columns))
        raise UserError(f"column '{unknown[0]}' is not in the data (columns: {have})")
    roles = []
    for column in frame.columns:
        kind, reason = column_type(features.get(column), frame[column])
        if column in types:
            check_type_override(column, types[column], frame[column])
            kind, reason = types[column], "set by you"
        if column in targets:
            roles.append(ColumnRole(column, "target", kind, "chosen as a task"))
        elif column in ignore:
            roles.append(ColumnRole(column, "ignore", kind, "ignored by you"))
        elif kind in ("id-like", "constant", "list"):
            roles.append(ColumnRole(column, "ignore", kind, reason))
        else:
            roles.append(ColumnRole(column, "input", kind, reason))
    return roles
