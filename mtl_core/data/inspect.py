"""What a source holds before any training: rows per split, and per column its inferred
role, type, missing share and the task kind it would be as a target."""

from __future__ import annotations

from typing import Any

from mtl_core.data.roles import infer_roles
from mtl_core.data.sources import load_source
from mtl_core.data.tasks import infer_kind

_TARGETABLE = ("numeric", "categorical", "list")


def inspect_source(source: str, config: str | None = None) -> dict[str, Any]:
    dataset = load_source(source, config)
    first = next(iter(dataset.values()))
    frame = first.to_pandas()
    columns = []
    for role in infer_roles(frame, first.features, targets=[]):
        values = frame[role.column]
        kind = infer_kind(first.features.get(role.column), values) if role.type in _TARGETABLE else None
        columns.append({
            "column": role.column,
            "role": role.role,
            "type": role.type,
            "task_kind": kind,
            "missing": round(float(values.isna().mean()), 4),
            "distinct": int(values.astype(str).nunique()) if role.type != "image" else None,
            "reason": role.reason,
        })
    return {
        "source": source,
        "config": config,
        "splits": {name: len(split) for name, split in dataset.items()},
        "columns": columns,
    }
