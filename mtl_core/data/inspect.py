"""What a source holds before any training: rows per split (counted first, without reading
rows), and per column its inferred role, type, missing share and the task kind it would be
as a target, read from a seeded sample of at most `sample_rows` rows. With target columns,
also the task statistics, the label association matrix, and the inputs that look like a
label (another task's label column left among the inputs). A CSV whose first row looks like
data carries `header_warning`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mtl_core.config import DataConfig
from mtl_core.data.prepare import prepare_data
from mtl_core.data.roles import TYPING_ROWS, infer_roles
from mtl_core.data.sources import Header, header_warning, load_source
from mtl_core.data.splits import seeded_rows
from mtl_core.data.stats import association_matrix, label_like_inputs, task_statistics
from mtl_core.data.tasks import infer_kind

_TARGETABLE = ("numeric", "categorical", "list")


def _distinct(values: pd.Series, column_type: str) -> int | None:
    if column_type in ("image", "list"):
        return None
    return int(values.astype(str).nunique())


def inspect_source(
    source: str,
    config: str | None = None,
    sample_rows: int = TYPING_ROWS,
    seed: int = 0,
    revision: str | None = None,
    header: Header = "first_row",
    column_names: list[str] | None = None,
) -> dict[str, Any]:
    """Columns and row counts of `source` (`header`, `column_names`: see `DataConfig`)."""
    dataset = load_source(source, config, revision, header, column_names)
    first = next(iter(dataset.values()))
    rows = seeded_rows(len(first), sample_rows, seed)
    frame = (first if rows is None else first.select(rows)).to_pandas()
    columns = []
    for role in infer_roles(frame, first.features, targets=[]):
        values = frame[role.column]
        kind = (
            infer_kind(first.features.get(role.column), values)
            if role.type in _TARGETABLE
            else None
        )
        columns.append(
            {
                "column": role.column,
                "role": role.role,
                "type": role.type,
                "task_kind": kind,
                "missing": round(float(values.isna().mean()), 4),
                "distinct": _distinct(values, role.type),
                "reason": role.reason,
            }
        )
    return {
        "source": source,
        "config": config,
        "revision": revision,
        "splits": {name: len(split) for name, split in dataset.items()},
        "inspected_rows": len(frame),
        "columns": columns,
        "header_warning": header_warning(source, dataset) if header == "first_row" else None,
    }


def inspect_tasks(config: DataConfig) -> dict[str, Any]:
    """Prepare the data as training would, then describe its tasks (UserError on bad input)."""
    data = prepare_data(config)
    return {
        "input_kind": data.input_kind,
        "input_shape": list(data.input_shape),
        "input_columns": data.input_columns,
        "split_rows": {name: len(split) for name, split in data.splits.items()},
        "task_statistics": task_statistics(data),
        "association": association_matrix(data),
        "input_warnings": label_like_inputs(data),
    }
