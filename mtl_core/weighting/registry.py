"""One registry of weighting methods: `@register("name")` on a WeightingMethod subclass in
`mtl_core/weighting/methods/`. Adding a method is adding one module there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mtl_core.config import WeightingConfig
from mtl_core.errors import UserError
from mtl_core.plugins import import_all

if TYPE_CHECKING:  # the methods import this module and base.py
    from mtl_core.weighting.base import WeightingMethod

MethodClass = TypeVar("MethodClass", bound="type[WeightingMethod]")
WEIGHTINGS: dict[str, type[WeightingMethod]] = {}


def register(name: str) -> Callable[[MethodClass], MethodClass]:
    def decorate(cls: MethodClass) -> MethodClass:
        WEIGHTINGS[name] = cls
        cls.name = name
        return cls

    return decorate


def _load_builtin() -> None:
    import_all("mtl_core.weighting.methods")


def weighting_names() -> list[str]:
    _load_builtin()
    return sorted(WEIGHTINGS)


def build_weighting(config: WeightingConfig, task_names: list[str]) -> WeightingMethod:
    cls = weighting_class(config.method)
    return cls(task_names, config.params, config.update_every, config.gramian_every)


def weighting_class(name: str) -> type[WeightingMethod]:
    """The class registered as `name`; a UserError naming `weighting.method` if none is."""
    _load_builtin()
    cls = WEIGHTINGS.get(name)
    if cls is None:
        names = ", ".join(sorted(WEIGHTINGS))
        raise UserError(
            f"config error at 'weighting.method': unknown method '{name}' (choose one of: {names})"
        )
    return cls


def resolve_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """`weighting.params` checked against method `name`'s specs (see `check_params`)."""
    return check_params(weighting_class(name), params)


def check_params(cls: type[WeightingMethod], params: dict[str, Any]) -> dict[str, Any]:
    """`params` checked against method class `cls`'s `param_specs` (numbers read, their
    defaults filled in) and `extra_params` (passed through: the method reads them itself); a
    UserError names the first unknown or bad key."""
    known = [*cls.param_specs, *cls.extra_params]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise UserError(
            f"config error at 'weighting.params.{unknown[0]}': method "
            f"'{cls.name}' has no parameter '{unknown[0]}' (its parameters: "
            f"{', '.join(known) or 'none'})"
        )
    resolved = {
        key: spec.read(key, params.get(key, spec.default)) for key, spec in cls.param_specs.items()
    }
    resolved.update({key: params[key] for key in cls.extra_params if key in params})
    return resolved
