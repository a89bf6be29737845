"""Task kinds as plug-ins: one `TaskKind` per kind of target (binary, multiclass,
multilabel, regression), each in its own module, registered here. Adding a kind is one new
module with a `TaskKind` subclass and one line in `_KINDS` (the config accepts every
registered name; docs/kinds.md).

    get_kind("binary").default_metric        -> "roc_auc"
    primary_metric("regression")             -> ("mse", False)
"""

from __future__ import annotations

from mtl_core.kinds.base import TaskKind
from mtl_core.kinds.binary import Binary
from mtl_core.kinds.multiclass import Multiclass
from mtl_core.kinds.multilabel import Multilabel
from mtl_core.kinds.regression import Regression

_KINDS: dict[str, TaskKind] = {
    kind.name: kind for kind in (Binary(), Multiclass(), Regression(), Multilabel())
}


def get_kind(name: str) -> TaskKind:
    """The kind called `name`; ValueError naming the known kinds otherwise."""
    kind = _KINDS.get(name)
    if kind is None:
        raise ValueError(f"unknown task kind '{name}' (known: {', '.join(_KINDS)})")
    return kind


def kind_names() -> tuple[str, ...]:
    """Every registered kind's name, in registration order."""
    return tuple(_KINDS)


def primary_metric(kind: str) -> tuple[str, bool]:
    """(default primary metric, whether higher is better) of a kind: the judging metric of
    a task that names none. A task with its own `TaskSpec.metric` is judged by that one:
    `get_kind(task.kind).higher_is_better(task.metric)`."""
    chosen = get_kind(kind)
    return chosen.default_metric, chosen.higher_is_better(chosen.default_metric)


def resolve_metric(kind: str, metric: str | None, task: str) -> str:
    """The primary metric of task `task`: `metric`, or its kind's default when None;
    ValueError, naming the choices, when the kind does not offer `metric`."""
    chosen = get_kind(kind)
    if metric is None:
        return chosen.default_metric
    if metric not in chosen.metrics:
        raise ValueError(
            f"'{metric}' is not a metric of {kind} task '{task}' "
            f"(choose one of: {', '.join(chosen.metrics)})"
        )
    return metric


__all__ = ["TaskKind", "get_kind", "kind_names", "primary_metric", "resolve_metric"]
