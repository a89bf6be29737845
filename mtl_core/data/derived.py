"""Derived binary targets: a task defined from its column by membership (`in`), by a
threshold (`at_least`, `above`, `at_most`, `below`) on a number, or by a level on a stated
`order`. The column's values become the labels "0"/"1" (a missing value stays a missing
label) before the binary kind encodes them; the definition also reads as text
("quality ≥ 7"). The schema (`TaskConfig`) checks the rule's form when a config is loaded;
this module checks it against the column's values."""

from __future__ import annotations

from typing import Any

import datasets
import numpy as np
import pandas as pd

from mtl_core.config import TaskConfig
from mtl_core.config.schema import DERIVE_RULES
from mtl_core.errors import UserError

# The classes of every derived task: "1" where the rule holds.
DERIVED_CLASSES = ("0", "1")
_SYMBOLS = {"at_least": "≥", "above": ">", "at_most": "≤", "below": "<"}


def derive_rule(task: TaskConfig) -> tuple[str, Any] | None:
    """(rule key as written in a config, its value) of a derived task; None for a plain one."""
    for field in DERIVE_RULES:
        value = getattr(task, field)
        if value is not None:
            return ("in" if field == "in_" else field), value
    return None


def _text(value: object) -> str:
    """A value as a level reads: a whole float without its ".0" (CSV numbers read as
    floats), anything else as `str` does."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def definition(task: TaskConfig) -> str:
    """How a derived task reads ("marital_stat in [Never married]", "quality ≥ 7"); "" for
    a plain task."""
    rule = derive_rule(task)
    if rule is None:
        return ""
    key, value = rule
    if key == "in":
        return f"{task.column} in [{', '.join(map(_text, value))}]"
    text = f"{task.column} {_SYMBOLS[key]} {_text(value)}"
    return text + (f" (order: {' < '.join(task.order)})" if task.order else "")


def _compare(key: str, values: pd.Series, threshold: float) -> pd.Series:
    if key == "at_least":
        return values >= threshold
    if key == "above":
        return values > threshold
    if key == "at_most":
        return values <= threshold
    return values < threshold


def derived_labels(task: TaskConfig, values: pd.Series, feature: object) -> pd.Series:
    """The labels of a derived task: "1" where the rule holds, "0" where it does not, None
    where the value is missing. ClassLabel codes are read as their names. Raises UserError
    when a value does not fit the rule (a text where a number is compared, a level the
    order does not list)."""
    rule = derive_rule(task)
    if rule is None:
        raise ValueError(f"task '{task.name}' is not derived")
    key, value = rule
    if isinstance(feature, datasets.ClassLabel):
        names = feature.names
        values = values.map(
            lambda code: (
                names[int(code)] if pd.notna(code) and 0 <= int(code) < len(names) else None
            )
        )
    present = values.notna()
    if key == "in":
        hit = values.isin(list(value)) | values.map(_text).isin({_text(v) for v in value})
    elif task.order is not None:
        rank = {level: i for i, level in enumerate(task.order)}
        text = values.map(_text)
        unknown = sorted(set(text[present]) - set(rank))
        if unknown:
            raise UserError(
                f"task '{task.name}': column '{task.column}' has the value '{unknown[0]}', "
                f"which its order ({', '.join(task.order)}) does not list: add it to the "
                "order, or make it missing"
            )
        hit = _compare(key, text.map(rank).astype(float), float(rank[_text(value)]))
    else:
        numbers = pd.to_numeric(values, errors="coerce")
        wrong = present & numbers.isna()
        if wrong.any():
            raise UserError(
                f"task '{task.name}': column '{task.column}' holds '{values[wrong].iloc[0]}', "
                f"not a number, so '{key}: {_text(value)}' cannot apply: give the order of its "
                "levels, or use 'in'"
            )
        hit = _compare(key, numbers, float(value))
    labels = pd.Series(np.where(hit, "1", "0"), index=values.index, dtype=object)
    return labels.where(present, None)
