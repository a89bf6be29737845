"""One registry of sharing architectures: `@register("name")` on an MTLModel subclass in
`mtl_core/models/architectures/`. Adding an architecture is adding one module there.

Each architecture declares its own parameters (`model.params` in the config) as a tuple of
`Param` specs and a few `presets`; the Model page draws its widgets from the same specs that
`resolve_params` validates against, so the page and the config can never disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from mtl_core.config import ModelConfig
from mtl_core.errors import UserError
from mtl_core.plugins import import_all

if TYPE_CHECKING:  # base.py imports this module for Param
    from mtl_core.data.tasks import TaskSpec
    from mtl_core.models.base import MTLModel

ModelClass = TypeVar("ModelClass", bound="type[MTLModel]")
ARCHITECTURES: dict[str, type[MTLModel]] = {}
# The kinds a Param may have: what the value must be, as a user reads it.
KINDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "choice": "one of the listed choices",
    "int_list": "a list of whole numbers",
}


@dataclass(frozen=True)
class Param:
    """One architecture parameter, `model.params.<name>`: its kind, default and limits.

    `default=None` means "derived from the rest of the config" (the help says how); a list
    parameter's limits apply to each of its items."""

    name: str
    kind: str  # a key of KINDS
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    label: str = ""  # what the Model page calls it (default: the name)

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def check(self, value: Any) -> Any:
        """The value, validated (an int is accepted where a float is asked)."""
        where = f"config error at 'model.params.{self.name}'"
        if value is None and self.default is None:
            return None
        if self.kind == "choice":
            if value not in self.choices:
                raise UserError(f"{where}: {value!r} is not one of {', '.join(self.choices)}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise UserError(f"{where}: expected true or false, got {value!r}")
            return value
        items = value if self.kind == "int_list" else [value]
        if self.kind == "int_list" and not isinstance(value, list | tuple):
            raise UserError(f"{where}: expected a list of whole numbers, got {value!r}")
        checked = [self._number(item, where) for item in items]
        return checked if self.kind == "int_list" else checked[0]

    def _number(self, value: Any, where: str) -> int | float:
        whole = self.kind in ("int", "int_list")
        ok = isinstance(value, int) if whole else isinstance(value, int | float)
        if not ok or isinstance(value, bool):
            raise UserError(
                f"{where}: expected {KINDS['int' if whole else 'float']}, got {value!r}"
            )
        if self.minimum is not None and value < self.minimum:
            raise UserError(f"{where}: must be at least {self.minimum}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise UserError(f"{where}: must be at most {self.maximum}, got {value!r}")
        return int(value) if whole else float(value)


def register(name: str) -> Callable[[ModelClass], ModelClass]:
    def decorate(cls: ModelClass) -> ModelClass:
        ARCHITECTURES[name] = cls
        cls.architecture = name
        return cls

    return decorate


def _load_builtin() -> None:
    import_all("mtl_core.models.architectures")


def architecture_names() -> list[str]:
    _load_builtin()
    return sorted(ARCHITECTURES)


def architecture_class(name: str) -> type[MTLModel]:
    _load_builtin()
    cls = ARCHITECTURES.get(name)
    if cls is None:
        names = ", ".join(sorted(ARCHITECTURES))
        raise UserError(
            f"config error at 'model.architecture': unknown architecture "
            f"'{name}' (choose one of: {names})"
        )
    return cls


def parameter_spec(name: str) -> tuple[Param, ...]:
    """The `model.params` an architecture understands."""
    return architecture_class(name).params


def presets(name: str) -> dict[str, dict[str, Any]]:
    """Named settings from the papers: {label: {"shared", "head", "params"}}."""
    return architecture_class(name).presets


def resolve_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """`model.params` validated against the architecture's spec, defaults filled in."""
    return check_params(parameter_spec(name), name, params)


def check_params(specs: tuple[Param, ...], name: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` checked against `specs` (architecture `name`'s), defaults filled in; a
    UserError names the first unknown or bad `model.params` key."""
    spec = {p.name: p for p in specs}
    unknown = sorted(set(params) - set(spec))
    if unknown:
        known = ", ".join(spec) or "none"
        raise UserError(
            f"config error at 'model.params.{unknown[0]}': architecture '{name}' "
            f"has no parameter '{unknown[0]}' (its parameters: {known})"
        )
    return {key: p.check(params[key]) if key in params else p.default for key, p in spec.items()}


def build_model(
    config: ModelConfig, tasks: list[TaskSpec], input_kind: str, input_shape: tuple[int, ...]
) -> MTLModel:
    """Instantiate the configured architecture for these tasks and inputs."""
    cls = architecture_class(config.architecture)
    resolve_params(config.architecture, config.params)
    return cls(tasks, input_kind, input_shape, config)
