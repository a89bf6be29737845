"""From a data config to training tensors: load the source, choose splits, infer task
kinds, encode targets (missing labels become masks) and inputs."""

from __future__ import annotations

from dataclasses import dataclass, field

import datasets
import numpy as np
import pandas as pd
import torch

from mtl_core.config import DataConfig, TaskConfig
from mtl_core.data.roles import infer_roles
from mtl_core.data.sources import load_source
from mtl_core.data.splits import make_splits, seeded_sample
from mtl_core.data.tabular import TabularEncoder
from mtl_core.data.tasks import TaskSpec, check_target, class_names, infer_kind
from mtl_core.errors import UserError


@dataclass
class SplitTensors:
    """One split: inputs, one target tensor per task and a mask of rows that have a label."""

    x: torch.Tensor
    targets: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class PreparedData:
    tasks: list[TaskSpec]
    splits: dict[str, SplitTensors]
    input_kind: str
    input_shape: tuple[int, ...]
    feature_names: list[str]
    # Regression targets are trained standardised; (mean, std) turns them back.
    target_stats: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def task_names(self) -> list[str]:
        return [task.name for task in self.tasks]


def _frames(dataset: datasets.DatasetDict) -> dict[str, pd.DataFrame]:
    return {name: split.to_pandas() for name, split in dataset.items()}


def _check_columns(frame: pd.DataFrame, wanted: list[str], what: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns))
        raise UserError(f"{what} column '{missing[0]}' not in the data (columns: {have})")


def build_task_specs(
    configs: list[TaskConfig], frame: pd.DataFrame, features: datasets.Features
) -> list[TaskSpec]:
    specs = []
    for task in configs:
        values = frame[task.column]
        feature = features.get(task.column)
        kind = task.kind or infer_kind(feature, values)
        check_target(task.name, task.column, kind, values)
        classes = class_names(feature, values) if kind != "regression" else ()
        specs.append(TaskSpec(task.name, task.column, kind, classes, task.weight))
    return specs


def _encode_target(task: TaskSpec, values: pd.Series, features: datasets.Features):
    """-> (target tensor, mask tensor). Classification targets are class indices."""
    if task.kind == "regression":
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        mask = numbers.notna().to_numpy()
        return torch.tensor(numbers.fillna(0.0).to_numpy(), dtype=torch.float32), mask
    if isinstance(features.get(task.column), datasets.ClassLabel):
        codes = values.fillna(-1).astype("int64").to_numpy()
    else:
        lookup = {name: i for i, name in enumerate(task.classes)}
        codes = np.array([lookup.get(str(v), -1) if pd.notna(v) else -1 for v in values])
    mask = codes >= 0
    return torch.tensor(np.where(mask, codes, 0), dtype=torch.long), mask


def _standardise(splits: dict[str, SplitTensors], task: TaskSpec) -> tuple[float, float]:
    train = splits["train"]
    labelled = train.targets[task.name][train.masks[task.name]]
    mean = float(labelled.mean()) if len(labelled) else 0.0
    std = float(labelled.std(unbiased=False)) if len(labelled) > 1 else 1.0
    std = std if std > 0 else 1.0
    for split in splits.values():
        split.targets[task.name] = (split.targets[task.name] - mean) / std
    return mean, std


def _input_columns(config: DataConfig, frame: pd.DataFrame, features) -> list[str]:
    targets = [t.column for t in config.tasks]
    if config.inputs != "auto":
        _check_columns(frame, config.inputs, "input")
        clash = sorted(set(config.inputs) & set(targets))
        if clash:
            raise UserError(f"column '{clash[0]}' is a task target, so it cannot also be an input")
        return list(config.inputs)
    roles = infer_roles(frame, features, targets)
    columns = [r.column for r in roles if r.role == "input" and r.type in ("numeric", "categorical")]
    if not columns:
        raise UserError("no usable input columns: list them under data.inputs")
    return columns


def prepare_data(config: DataConfig) -> PreparedData:
    """Load and encode the experiment's data; raises UserError on any bad input."""
    dataset = load_source(config.source, config.config)
    features = next(iter(dataset.values())).features
    frames = _frames(dataset)
    train_name = config.splits.train
    if train_name in frames:
        frames[train_name] = seeded_sample(frames[train_name], config.max_rows, config.splits.seed)
        _check_columns(frames[train_name], [t.column for t in config.tasks], "task")
    specs = build_task_specs(config.tasks, frames.get(train_name, pd.DataFrame()), features)
    first_class = next((s.column for s in specs if s.is_classification), None)
    split_frames = make_splits(frames, config.splits, first_class)
    if len(split_frames["train"]) == 0:
        raise UserError("the training split has no rows: lower val/test fractions or add data")
    columns = _input_columns(config, split_frames["train"], features)
    encoder = TabularEncoder.fit(split_frames["train"], columns)
    splits = {}
    for name, frame in split_frames.items():
        targets, masks = {}, {}
        for spec in specs:
            targets[spec.name], mask = _encode_target(spec, frame[spec.column], features)
            masks[spec.name] = torch.from_numpy(np.asarray(mask, dtype=bool))
        x = torch.from_numpy(encoder.transform(frame))
        splits[name] = SplitTensors(x, targets, masks)
    stats = {s.name: _standardise(splits, s) for s in specs if s.kind == "regression"}
    return PreparedData(
        tasks=specs,
        splits=splits,
        input_kind="tabular",
        input_shape=(splits["train"].x.shape[1],),
        feature_names=encoder.feature_names,
        target_stats=stats,
    )
