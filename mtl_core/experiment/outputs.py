"""Model outputs on the test rows, as the bootstrap reads them (`analysis.bootstrap`):
raw head outputs, regression in the target's own units, and a trivial predictor's outputs
fitted on the training rows."""

from __future__ import annotations

import numpy as np
import torch

from mtl_core.analysis.bootstrap import TaskOutputs
from mtl_core.data.prepare import PreparedData
from mtl_core.kinds import get_kind
from mtl_core.models import MTLModel
from mtl_core.train.loop import predict

Outputs = dict[str, np.ndarray]  # task name -> outputs on every row of the split


def comparison_split(data: PreparedData) -> str:
    """The split every comparison is measured on: test when it has rows, else validation."""
    return "test" if len(data.splits.get("test", ())) else "validation"


def _in_units(data: PreparedData, task_name: str, values: torch.Tensor) -> np.ndarray:
    array = values.detach().float().cpu().numpy()
    if task_name in data.target_stats:
        mean, std = data.target_stats[task_name]
        array = array.squeeze(-1) * std + mean if array.ndim > 1 else array * std + mean
    return array


def model_outputs(model: MTLModel, data: PreparedData) -> Outputs:
    """The model's outputs on the comparison split, per task (binary squeezed to (n,))."""
    split = data.splits[comparison_split(data)]
    device = next(model.parameters()).device
    outputs = predict(model, split.x.to(device))
    found = {}
    for task in data.tasks:
        array = _in_units(data, task.name, outputs[task.name])
        found[task.name] = array.squeeze(-1) if array.ndim > 1 and array.shape[-1] == 1 else array
    return found


def _truth(data: PreparedData, split_name: str, task_name: str) -> np.ndarray:
    values = data.splits[split_name].targets[task_name]
    return (
        _in_units(data, task_name, values)
        if task_name in data.target_stats
        else (values.cpu().numpy())
    )


def task_outputs(
    data: PreparedData, mtl: list[Outputs], baseline: dict[str, list[np.ndarray]]
) -> dict[str, TaskOutputs]:
    """The bootstrap's input: per task, labels and masks of the comparison split, the
    multi-task seeds' outputs, the baseline seeds' outputs, and the trivial predictor's."""
    split_name = comparison_split(data)
    split, train = data.splits[split_name], data.splits["train"]
    found = {}
    for task in data.tasks:
        kind = get_kind(task.kind)
        train_mask = train.masks[task.name].cpu().numpy().astype(bool)
        trivial = kind.trivial_outputs(_truth(data, "train", task.name)[train_mask], len(split))
        found[task.name] = TaskOutputs(
            kind=task.kind,
            metric=task.metric,
            truth=_truth(data, split_name, task.name),
            mask=split.masks[task.name].cpu().numpy().astype(bool),
            mtl=[seed[task.name] for seed in mtl],
            baseline=baseline.get(task.name, []),
            trivial=np.asarray(trivial),
        )
    return found
