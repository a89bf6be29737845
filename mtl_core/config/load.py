"""Read a config file (YAML or JSON), apply `key=value` overrides, validate, and turn
pydantic's errors into one line that names the key. Architecture and weighting names and
their `params` are checked here too, against the registries' specs (schema.py's validators
raise the registries' UserError, which names the key itself)."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mtl_core.config.schema import ExperimentConfig
from mtl_core.errors import UserError


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        problem = "unknown key (check its spelling against docs/design.md's config)"
    elif first["type"] == "missing":
        problem = "required key is missing"
    else:
        problem = first["msg"].removeprefix("Value error, ")
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"config error at '{key}': {problem}{suffix}"


def config_from_dict(raw: dict[str, Any]) -> ExperimentConfig:
    """Validate a plain dict; raises UserError naming the first bad key."""
    if not isinstance(raw, dict):
        raise UserError("config error: the config must be a mapping with a 'data' section")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        raise UserError(_describe(error)) from None


def _parse_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        where = f" near line {line + 1}" if line is not None else ""
        raise UserError(f"config file {path} is not valid YAML/JSON{where}") from None
    if raw is None:
        raise UserError(f"config file {path} is empty")
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of `raw` with each `dotted.key=value` set; values are parsed as YAML."""
    result = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got '{item}'")
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UserError(f"--set {key}: '{part}' is not a section")
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(value)
        except yaml.YAMLError:
            node[parts[-1]] = value
    return result


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """The validated config of a YAML/JSON file, with `--set` style overrides applied."""
    raw = _parse_file(Path(path))
    return config_from_dict(apply_overrides(raw, overrides or []))


def to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """Plain, JSON/YAML-ready dict (the form stored with every run)."""
    return config.model_dump(mode="json")


# `data.source` and `data.tasks` have no default: every config names its own.
_REQUIRED = {"data": {"source": "-", "tasks": [{"name": "t", "column": "t"}]}}


@functools.cache
def _schema_defaults() -> dict[str, Any]:
    return to_dict(ExperimentConfig.model_validate(_REQUIRED))


def schema_defaults() -> dict[str, Any]:
    """Every setting's default from the schema, as a plain config dict whose `data.source` is
    a placeholder and whose `data.tasks` holds one task at its defaults (name and column
    't'). A fresh copy: callers may change it."""
    return copy.deepcopy(_schema_defaults())


def _fill(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    filled = copy.deepcopy(values)
    for key, default in defaults.items():
        if key not in filled:
            filled[key] = copy.deepcopy(default)
        elif isinstance(default, dict) and isinstance(filled[key], dict):
            filled[key] = _fill(filled[key], default)
    return filled


def with_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of the plain config `raw` with each missing setting (each task's too) at the
    schema's default, so that the app reads every setting from one place; `data.source` and
    `data.tasks` themselves are never made up, and nothing is validated (a config being
    edited may be incomplete or wrong)."""
    defaults = schema_defaults()
    task = defaults["data"]["tasks"][0]
    for key in _REQUIRED["data"]:
        del defaults["data"][key]
    filled = _fill(raw, defaults)
    tasks = filled["data"].get("tasks") if isinstance(filled["data"], dict) else None
    if isinstance(tasks, list):
        filled["data"]["tasks"] = [_fill(t, task) if isinstance(t, dict) else t for t in tasks]
    return filled
