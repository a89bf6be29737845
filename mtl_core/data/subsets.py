"""An experiment restricted to some of its tasks (a sweep's subset, a grouping's group, a
task's single-task baseline): the full experiment's prepared rows, inputs and encodings
with fewer tasks, and the data config that reads exactly those inputs. With `inputs: auto`,
preparing a config of fewer tasks afresh would read the dropped tasks' label columns as
inputs, and could split the rows differently (the split stratifies on the first
classification task); restricting the prepared data does neither."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np

from mtl_core.config import DataConfig
from mtl_core.data.prepare import PreparedData, SplitTensors
from mtl_core.errors import UserError


def subset_data(data: PreparedData, tasks: tuple[str, ...] | list[str]) -> PreparedData:
    """The prepared data with only `tasks`: the same rows, inputs and encodings (nothing
    is prepared again)."""
    unknown = [name for name in tasks if name not in data.task_names]
    if unknown:
        raise UserError(
            f"no task '{unknown[0]}' in the experiment (tasks: {', '.join(data.task_names)})"
        )

    def keep(split: SplitTensors) -> SplitTensors:
        return SplitTensors(
            split.x,
            {n: split.targets[n] for n in tasks},
            {n: split.masks[n] for n in tasks},
            split.sources,
        )

    return replace(
        data,
        tasks=[t for t in data.tasks if t.name in tasks],
        splits={name: keep(split) for name, split in data.splits.items()},
        target_stats={n: s for n, s in data.target_stats.items() if n in tasks},
    )


def _label(source: str, name: str | None, revision: str | None) -> str:
    """How `prepare_data` names a dataset in `PreparedData.input_columns`."""
    return (
        source + ("" if name is None else f":{name}") + ("" if revision is None else f"@{revision}")
    )


def resolved_inputs(config: DataConfig, data: PreparedData) -> DataConfig:
    """`config` with the input columns that its preparation (`data`) chose written out, so
    the same config restricted to fewer tasks still reads exactly these inputs."""
    columns = data.input_columns
    own = columns.get(_label(config.source, config.config, config.revision))
    tasks = [
        task.model_copy(update={"inputs": columns[_label(task.source, task.config, task.revision)]})
        if task.source and task.inputs == "auto"
        else task
        for task in config.tasks
    ]
    return config.model_copy(update={"tasks": tasks} | ({"inputs": own} if own else {}))


def restricted_config(
    config: DataConfig, data: PreparedData, tasks: tuple[str, ...] | list[str]
) -> DataConfig:
    """The data config of `tasks` only, reading the full experiment's inputs."""
    resolved = resolved_inputs(config, data)
    return resolved.model_copy(update={"tasks": [t for t in resolved.tasks if t.name in tasks]})


def rows_fingerprint(data: PreparedData, task: str) -> str:
    """A digest of what one task trains and is tested on: every split's inputs, the task's
    labels and label mask, and its target scaling. Equal for the full experiment and any
    subset of it; different when the rows, the inputs or the encoding differ."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps([data.feature_names, data.input_kind, data.target_stats.get(task)]).encode()
    )
    for name in sorted(data.splits):
        split = data.splits[name]
        for tensor in (split.x, split.targets[task], split.masks[task]):
            array = np.ascontiguousarray(tensor.detach().cpu().numpy())
            digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()
