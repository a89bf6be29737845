"""One registry of weighting methods: `@register("name")` on a WeightingMethod subclass in
`mtl_core/weighting/methods/`. Adding a method is adding one module there."""

from __future__ import annotations

from mtl_core.config import WeightingConfig
from mtl_core.errors import UserError
from mtl_core.plugins import import_all

WEIGHTINGS: dict[str, type] = {}


def register(name: str):
    def decorate(cls: type) -> type:
        WEIGHTINGS[name] = cls
        cls.name = name
        return cls

    return decorate


def _load_builtin() -> None:
    import_all("mtl_core.weighting.methods")


def weighting_names() -> list[str]:
    _load_builtin()
    return sorted(WEIGHTINGS)


def build_weighting(config: WeightingConfig, task_names: list[str]):
    _load_builtin()
    cls = WEIGHTINGS.get(config.method)
    if cls is None:
        names = ", ".join(sorted(WEIGHTINGS))
        raise UserError(f"config error at 'weighting.method': unknown '{config.method}' "
                        f"(choose one of: {names})")
    return cls(task_names, config.params, config.update_every, config.gramian_every)


def weighting_class(name: str) -> type:
    """The class registered as `name` (for the app's method descriptions)."""
    _load_builtin()
    return WEIGHTINGS[name]
