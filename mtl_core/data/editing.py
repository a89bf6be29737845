"""The column roles table of the Data page, as plain data: built from an `inspect_source`
report and the current data config, and turned back into config fields (tasks, inputs,
ignore, column_types) after the user edits it. Inferred values stay implicit: only what
the user changed is written, so the config stays short and "auto" where it can."""

from __future__ import annotations

from typing import Any

from mtl_core.errors import UserError
from mtl_core.kinds import get_kind, kind_names, resolve_metric

ROLES = ("input", "target", "ignore")
TYPES = ("numeric", "categorical", "text", "image", "list", "id-like", "constant")
KINDS = ("auto", *kind_names())


def _own_tasks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Tasks of the main source (tasks with their own `source` are edited elsewhere)."""
    return [t for t in data.get("tasks", []) if not t.get("source")]


def roles_table(report: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per column: role, type, task kind (current config over inferred values)."""
    tasks = {t["column"]: t for t in _own_tasks(data)}
    ignore = set(data.get("ignore", []))
    types = data.get("column_types", {})
    inputs = data.get("inputs", "auto")
    rows = []
    for column in report["columns"]:
        name = column["column"]
        role = column["role"]
        if name in tasks:
            role = "target"
        elif name in ignore or (inputs != "auto" and name not in inputs):
            role = "ignore"
        elif inputs != "auto" and name in inputs:
            role = "input"
        kind = tasks[name].get("kind") if name in tasks else None
        rows.append(
            {
                "column": name,
                "role": role,
                "type": types.get(name, column["type"]),
                "task kind": kind or "auto",
                "inferred kind": column["task_kind"] or "",
                "missing": column["missing"],
                "distinct": column["distinct"],
                "reason": column["reason"],
            }
        )
    return rows


def apply_roles_table(
    rows: list[dict[str, Any]], report: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """The data config fields the edited table stands for: tasks (existing names and
    weights kept), inputs ("auto" when the inferred inputs are kept), ignore, column_types."""
    inferred = {c["column"]: c for c in report["columns"]}
    old_tasks = {t["column"]: t for t in _own_tasks(data)}
    targets = {r["column"]: r for r in rows if r["role"] == "target"}
    # tasks keep their order (it sets their colours); new targets follow in column order
    order = [c for c in old_tasks if c in targets] + [c for c in targets if c not in old_tasks]
    tasks = []
    for column in order:
        task = dict(old_tasks.get(column, {"name": column, "column": column}))
        kind = task.pop("kind", None)
        if targets[column]["task kind"] not in ("auto", None, ""):
            task["kind"] = targets[column]["task kind"]
        if task.get("kind") != kind:  # another kind: its own default metric
            task.pop("metric", None)
        tasks.append(task)
    tasks += [t for t in data.get("tasks", []) if t.get("source")]
    chosen = [r["column"] for r in rows if r["role"] == "input"]
    promoted = [c for c in chosen if inferred[c]["role"] != "input"]
    ignore = [
        r["column"]
        for r in rows
        if r["role"] == "ignore" and inferred[r["column"]]["role"] == "input"
    ]
    return {
        "tasks": tasks,
        "inputs": "auto" if not promoted else chosen,
        "ignore": [] if promoted else ignore,
        "column_types": {
            r["column"]: r["type"]
            for r in rows
            if r["type"] != inferred[r["column"]]["type"]
            and r["type"] in ("numeric", "categorical", "text", "image")
        },
    }


def add_source_task(
    data: dict[str, Any],
    name: str,
    column: str,
    source: str,
    config: str | None = None,
    inputs: list[str] | None = None,
) -> dict[str, Any]:
    """The data config with one more task read from another dataset (same input type).
    Raises UserError for a name that is taken or a source that is the experiment's own."""
    name, source = name.strip(), source.strip()
    if not name or not column or not source:
        raise UserError("a task from another dataset needs a name, a source and a column")
    if any(t["name"] == name for t in data.get("tasks", [])):
        raise UserError(f"there is already a task named '{name}': choose another name")
    if source == data.get("source") and config == data.get("config"):
        raise UserError(
            f"'{source}' is the experiment's own dataset: mark '{column}' as a "
            "target in the columns table instead"
        )
    task: dict[str, Any] = {"name": name, "column": column, "source": source}
    if config:
        task["config"] = config
    if inputs:
        task["inputs"] = list(inputs)
    return {**data, "tasks": [*data.get("tasks", []), task]}


def set_task_metric(data: dict[str, Any], name: str, kind: str, metric: str) -> dict[str, Any]:
    """The data config with task `name` (of `kind`) judged by `metric`, one of its kind's
    metrics; its kind's default is left implicit (no `metric` key)."""
    chosen = resolve_metric(kind, metric, name)
    tasks = []
    for task in data.get("tasks", []):
        if task["name"] == name:
            task = {key: value for key, value in task.items() if key != "metric"}
            if chosen != get_kind(kind).default_metric:
                task["metric"] = chosen
        tasks.append(task)
    return {**data, "tasks": tasks}


def remove_task(data: dict[str, Any], name: str) -> dict[str, Any]:
    return {**data, "tasks": [t for t in data.get("tasks", []) if t["name"] != name]}
