"""What the app shows about the methods: grouped by cost class, with their one-sentence
descriptions and parameters, and a method's config cleaned of other methods' parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtl_core.weighting.base import COST_CLASSES, Param
from mtl_core.weighting.registry import weighting_class, weighting_names

# Shown first within their group: the baselines, then the commonly recommended ones.
FIRST = ["equal", "static", "rlw", "uw", "famo", "upgrad", "mgda", "pcgrad"]


@dataclass(frozen=True)
class MethodInfo:
    name: str
    title: str
    cost_class: str
    summary: str
    helps_when: str
    params: dict[str, Param]
    amortised: bool
    extra_params: tuple[str, ...]


def method_info(name: str) -> MethodInfo:
    cls = weighting_class(name)
    return MethodInfo(
        name,
        cls.title or name,
        cls.cost_class,
        cls.summary,
        cls.helps_when,
        dict(cls.param_specs),
        cls.amortised,
        tuple(cls.extra_params),
    )


def methods_by_cost_class() -> dict[str, list[MethodInfo]]:
    """{cost class: [methods]}, loss-based first; within a class the baselines first."""
    order = {name: i for i, name in enumerate(FIRST)}
    names = sorted(weighting_names(), key=lambda n: (order.get(n, len(FIRST)), n))
    grouped: dict[str, list[MethodInfo]] = {cost: [] for cost in COST_CLASSES}
    for name in names:
        info = method_info(name)
        grouped.setdefault(info.cost_class, []).append(info)
    return grouped


def params_for(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters method `name` takes (e.g. after switching methods in the app)."""
    info = method_info(name)
    return {
        key: value
        for key, value in params.items()
        if key in info.params or key in info.extra_params
    }
