"""One registry of sharing architectures: `@register("name")` on an MTLModel subclass in
`mtl_core/models/architectures/`. Adding an architecture is adding one module there."""

from __future__ import annotations

from mtl_core.config import ModelConfig
from mtl_core.errors import UserError
from mtl_core.plugins import import_all

ARCHITECTURES: dict[str, type] = {}


def register(name: str):
    def decorate(cls: type) -> type:
        ARCHITECTURES[name] = cls
        cls.architecture = name
        return cls

    return decorate


def _load_builtin() -> None:
    import_all("mtl_core.models.architectures")


def architecture_names() -> list[str]:
    _load_builtin()
    return sorted(ARCHITECTURES)


def build_model(config: ModelConfig, tasks, input_kind: str, input_shape: tuple[int, ...]):
    """Instantiate the configured architecture for these tasks and inputs."""
    _load_builtin()
    cls = ARCHITECTURES.get(config.architecture)
    if cls is None:
        names = ", ".join(sorted(ARCHITECTURES))
        raise UserError(f"config error at 'model.architecture': unknown '{config.architecture}' "
                        f"(choose one of: {names})")
    return cls(tasks, input_kind, input_shape, config)
