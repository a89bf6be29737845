"""Shareable links: an experiment <-> URL query parameters, so that a link reproduces a
setup (TensorFlow-Playground style). The settings people change most travel as readable
parameters (?source=...&tasks=a,b&arch=hard); every other setting that differs from its
default travels as compact JSON per section (?train_more={"grad_clip":1.0}), and each task's
own settings (its kind, a second dataset, its weight) as ?task_more=. Broken parameters are
reported, never executed."""

from __future__ import annotations

import copy
import json
from typing import Any

from mtl_core.config import config_from_dict, schema_defaults, to_dict, with_defaults
from mtl_core.errors import UserError

# URL name -> (section, key, parser). Kept short and readable: ?source=...&tasks=a,b&arch=hard
_SCALARS: dict[str, tuple[str, str, type]] = {
    "arch": ("model", "architecture", str),
    "dropout": ("model", "dropout", float),
    "weighting": ("weighting", "method", str),
    "update_every": ("weighting", "update_every", int),
    "gramian_every": ("weighting", "gramian_every", int),
    "epochs": ("train", "epochs", int),
    "lr": ("train", "lr", float),
    "batch": ("train", "batch_size", int),
    "seed": ("train", "seed", int),
    "patience": ("train", "patience", int),
    "optimizer": ("train", "optimizer", str),
    "device": ("train", "device", str),
}
_WIDTHS = {"shared": "shared", "head": "head"}
# Method-specific settings travel as compact JSON (e.g. ?arch_params={"experts":8}).
_PARAM_DICTS = {"arch_params": "model", "weighting_params": "weighting"}
# Parameters that are not experiment settings but belong in a link all the same.
VIEW_PARAMS = ("teacher",)
# What the readable parameters above already carry, per section; the rest of a section
# travels in `<section>_more` when it differs from the default.
_READABLE = {
    "data": {"source", "config", "tasks"},
    "model": {"architecture", "dropout", "shared", "head", "params"},
    "weighting": {"method", "update_every", "gramian_every", "params"},
    "train": {"epochs", "lr", "batch_size", "seed", "patience", "optimizer", "device", "baselines"},
    "analysis": set(),
}
_TASK_READABLE = {"name", "column"}


def _more(values: dict[str, Any], defaults: dict[str, Any], readable: set[str]) -> dict:
    """The settings in `values` a readable parameter does not carry (it carries no None:
    `patience: null`, no early stopping, travels here) and that differ from their
    defaults."""
    return {
        key: value
        for key, value in values.items()
        if (key not in readable or value is None) and key in defaults and value != defaults[key]
    }


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _json_object(params: dict[str, str], name: str) -> dict[str, Any]:
    try:
        value = json.loads(params[name])
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise UserError(
            f"link parameter '{name}' must be a JSON object, like "
            '{"experts":8} or {"grad_clip":1.0}'
        )
    return value


def _widths(text: str, name: str) -> list[int]:
    try:
        return [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise UserError(
            f"link parameter '{name}' must be widths like 64,64; got '{text}'"
        ) from None


def experiment_to_params(experiment: dict[str, Any]) -> dict[str, str]:
    """The settings a link carries (all that a lesson or the pages change); a setting the
    experiment leaves out is the schema's default."""
    experiment = with_defaults(experiment)
    data = experiment["data"]
    params = {
        "source": data["source"],
        "tasks": ",".join(
            f"{t['name']}:{t['column']}" if t["name"] != t["column"] else t["column"]
            for t in data["tasks"]
        ),
    }
    if data.get("config"):
        params["config"] = data["config"]
    for name, (section, key, _) in _SCALARS.items():
        value = experiment.get(section, {}).get(key)
        if value is not None:
            params[name] = str(value)
    for name, key in _WIDTHS.items():
        params[name] = ",".join(map(str, experiment["model"][key]))
    for name, section in _PARAM_DICTS.items():
        if experiment.get(section, {}).get("params"):
            params[name] = _json(experiment[section]["params"])
    params["baselines"] = "1" if experiment["train"]["baselines"] else "0"
    defaults = schema_defaults()
    for section, readable in _READABLE.items():
        more = _more(experiment.get(section) or {}, defaults[section], readable)
        if more:
            params[f"{section}_more"] = _json(more)
    task_default = defaults["data"]["tasks"][0]
    tasks_more = {
        task["name"]: more
        for task in data["tasks"]
        if (more := _more(task, task_default, _TASK_READABLE))
    }
    if tasks_more:
        params["task_more"] = _json(tasks_more)
    return params


def _parse_tasks(text: str) -> list[dict[str, str]]:
    tasks = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, _, column = item.partition(":")
        tasks.append({"name": name, "column": column or name})
    return tasks


def params_to_experiment(params: dict[str, str], base: dict[str, Any]) -> dict[str, Any]:
    """`base` updated with the link's settings; raises UserError naming a bad parameter.
    The result is validated as a whole config before it is returned."""
    experiment = copy.deepcopy(base)
    if "source" in params:
        experiment["data"]["source"] = params["source"]
        experiment["data"]["config"] = params.get("config") or None
    if "tasks" in params:
        experiment["data"]["tasks"] = _parse_tasks(params["tasks"])
    for name, (section, key, parse) in _SCALARS.items():
        if name in params:
            try:
                experiment.setdefault(section, {})[key] = parse(params[name])
            except ValueError:
                raise UserError(
                    f"link parameter '{name}' has a bad value '{params[name]}'"
                ) from None
    for name, key in _WIDTHS.items():
        if name in params:
            experiment["model"][key] = _widths(params[name], name)
    for name, section in _PARAM_DICTS.items():
        if name in params:
            experiment[section]["params"] = _json_object(params, name)
    if "baselines" in params:
        experiment["train"]["baselines"] = params["baselines"] not in ("0", "false", "no")
    for section in _READABLE:
        if f"{section}_more" in params:
            experiment.setdefault(section, {}).update(_json_object(params, f"{section}_more"))
    if "task_more" in params:
        settings = _json_object(params, "task_more")
        tasks = {task["name"]: task for task in experiment["data"]["tasks"]}
        for name, more in settings.items():
            if name not in tasks or not isinstance(more, dict):
                raise UserError(
                    f"link parameter 'task_more' names a task '{name}' that the "
                    "link's tasks do not have"
                )
            tasks[name].update(more)
    try:
        return to_dict(config_from_dict(experiment)) | {"name": experiment.get("name")}
    except UserError as error:
        raise UserError(f"this link's settings are not valid: {error}") from None
