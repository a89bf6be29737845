"""Tasks: what a target column asks a model to predict, how its kind is inferred from the
`datasets` feature and the values, and the metric it is judged by. What a kind means (head
width, loss, metrics, label checks) lives in `mtl_core.kinds`."""

from __future__ import annotations

from dataclasses import dataclass, field

import datasets
import numpy as np
import pandas as pd

from mtl_core.errors import UserError
from mtl_core.kinds import TaskKind, get_kind, resolve_metric

# An integer column with at most this many distinct values reads as classes.
MAX_INT_CLASSES = 10


@dataclass(frozen=True)
class TaskSpec:
    """A prepared task. `classes` holds the label names for classification kinds; `metric`
    is the primary metric it is judged by ("" when built: its kind's default);
    `definition` says how a derived task reads from its column ("quality ≥ 7"; "": plain)."""

    name: str
    column: str
    kind: str
    classes: tuple[str, ...] = field(default_factory=tuple)
    weight: float = 1.0
    metric: str = ""
    definition: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "metric", resolve_metric(self.kind, self.metric or None, self.name)
        )

    @property
    def task_kind(self) -> TaskKind:
        """The kind's plug-in object: loss, predictions, metrics."""
        return get_kind(self.kind)

    @property
    def is_classification(self) -> bool:
        return self.task_kind.is_classification

    @property
    def output_dim(self) -> int:
        """Width of the head's output (logits per class, 1 for binary and regression)."""
        return self.task_kind.output_size(self.classes)

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value of the primary metric is better."""
        return self.task_kind.higher_is_better(self.metric)


def infer_kind(feature: object, values: pd.Series) -> str:
    """Kind of a target column: binary, multiclass, regression or multilabel."""
    if isinstance(feature, datasets.ClassLabel):
        return "binary" if feature.num_classes == 2 else "multiclass"
    if isinstance(feature, datasets.List | datasets.LargeList):
        return "multilabel"
    present = values.dropna()
    if not present.empty and isinstance(present.iloc[0], list | tuple | np.ndarray):
        return "multilabel"
    distinct = present.nunique()
    if pd.api.types.is_bool_dtype(present) or distinct == 2:
        return "binary"
    if pd.api.types.is_float_dtype(present):
        whole = np.all(np.mod(present.to_numpy(), 1) == 0)
        return "multiclass" if whole and distinct <= MAX_INT_CLASSES else "regression"
    if pd.api.types.is_integer_dtype(present):
        return "multiclass" if distinct <= MAX_INT_CLASSES else "regression"
    return "multiclass"


def class_names(feature: object, values: pd.Series) -> tuple[str, ...]:
    """Ordered label names of a classification column (ClassLabel order when declared)."""
    if isinstance(feature, datasets.ClassLabel):
        return tuple(feature.names)
    inner = getattr(feature, "feature", None)
    if isinstance(inner, datasets.ClassLabel):
        return tuple(inner.names)
    present = values.dropna()
    if not present.empty and isinstance(present.iloc[0], list | tuple | np.ndarray):
        labels = {str(label) for row in present for label in row}
        return tuple(sorted(labels))
    return tuple(str(v) for v in sorted(present.unique(), key=_sort_key))


def _sort_key(value: object) -> tuple[int, object]:
    return (0, value) if isinstance(value, int | float | np.number) else (1, str(value))


def check_target(name: str, column: str, kind: str, values: pd.Series) -> None:
    """Reject targets that cannot be learned, with a message that names the column."""
    present = values.dropna()
    if present.empty:
        raise UserError(f"task '{name}': column '{column}' has no labels (all missing)")
    get_kind(kind).check_labels(name, column, present)
