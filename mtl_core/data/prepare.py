"""From a data config to training tensors: load each source (tasks may come from several
datasets), cap rows with a seeded sample, choose splits, infer task kinds, encode targets
(missing labels and rows of other datasets become masks) and inputs of one shared type:
tabular float [N, F], image float [N, C, H, W] in 0..1, or text long [N, L] (hashed ids)."""

from __future__ import annotations

from dataclasses import dataclass, field

import datasets
import numpy as np
import pandas as pd
import torch

from mtl_core.config import DataConfig, TaskConfig
from mtl_core.data.derived import DERIVED_CLASSES, definition, derive_rule, derived_labels
from mtl_core.data.images import image_channels, images_to_array
from mtl_core.data.roles import TYPING_ROWS, ColumnRole, infer_roles
from mtl_core.data.sources import load_source
from mtl_core.data.splits import SPLIT_NAMES, seeded_rows, split_plan
from mtl_core.data.tabular import TabularEncoder
from mtl_core.data.tasks import TaskSpec, check_target, class_names, infer_kind
from mtl_core.data.text import hash_texts, joined_text, token_label
from mtl_core.errors import UserError
from mtl_core.kinds import get_kind, resolve_metric

# Fewer training rows than this cannot be split into train/validation/test and learned.
MIN_ROWS = 10
# Which column types each shared input type reads when inputs are "auto".
_AUTO_INPUTS = {"tabular": ("numeric", "categorical"), "text": ("text",), "image": ("image",)}
# Which column types an explicitly listed input may have, per input type.
_ALLOWED_INPUTS = {
    "tabular": ("numeric", "categorical", "id-like", "constant"),
    "text": ("text", "categorical", "id-like", "constant"),
    "image": ("image",),
}
# Each frame's encoded inputs, {part label: {frame name: x array}}.
FrameInputs = dict[str, dict[str, np.ndarray]]
# Each frame's encoded targets, {frame name: {task: (targets, labelled mask)}}.
FrameTargets = dict[str, dict[str, tuple[torch.Tensor, np.ndarray]]]


@dataclass
class SplitTensors:
    """One split: inputs, one target tensor per task, a mask of rows that have a label, and
    (several datasets) the dataset index of every row."""

    x: torch.Tensor
    targets: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor]
    sources: torch.Tensor | None = None

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
    # One entry per dataset (index = SplitTensors.sources value): "source[:config]".
    source_names: list[str] = field(default_factory=list)
    input_columns: dict[str, list[str]] = field(default_factory=dict)
    # Text inputs: how each hashed n-gram id reads (the n-gram(s) behind it).
    token_texts: dict[int, str] = field(default_factory=dict)

    @property
    def task_names(self) -> list[str]:
        return [task.name for task in self.tasks]


@dataclass
class _Part:
    """One dataset of the experiment: its tasks, its frames (one per dataset split), the
    plan {train/validation/test: (frame name, row positions)} and the column roles."""

    label: str
    features: datasets.Features
    frames: dict[str, pd.DataFrame]
    plan: dict[str, tuple[str, np.ndarray]]
    specs: list[TaskSpec]
    roles: list[ColumnRole]
    wanted_inputs: str | list[str]
    configs: dict[str, TaskConfig] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)

    def rows(self, split: str) -> pd.DataFrame:
        """The rows of one split as a frame (a copy: use for small or one-off needs)."""
        name, positions = self.plan[split]
        return self.frames[name].iloc[positions]

    def size(self, split: str) -> int:
        return len(self.plan[split][1])


def _check_columns(frame: pd.DataFrame, wanted: list[str], what: str, label: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns))
        raise UserError(
            f"{what} column '{missing[0]}' is not in {label} (its columns: {have}): "
            "check the spelling"
        )


def target_values(
    frame: pd.DataFrame, task: TaskConfig, features: datasets.Features
) -> tuple[pd.Series, object]:
    """(values, `datasets` feature) a task's kind encodes: its column's, or for a derived
    task its "0"/"1" labels (no feature)."""
    values, feature = frame[task.column], features.get(task.column)
    if derive_rule(task) is None:
        return values, feature
    return derived_labels(task, values, feature), None


def build_task_specs(
    configs: list[TaskConfig],
    frame: pd.DataFrame,
    features: datasets.Features,
    positions: dict[str, int] | None = None,
) -> list[TaskSpec]:
    """Task specs of `configs` (`positions`: each task's index in `data.tasks`, for error
    messages; by default its index in `configs`)."""
    specs = []
    for index, task in enumerate(configs):
        values, feature = target_values(frame, task, features)
        derived = derive_rule(task) is not None
        kind = "binary" if derived else task.kind or infer_kind(feature, values)
        check_target(task.name, task.column, kind, values)
        try:
            metric = resolve_metric(kind, task.metric, task.name)
        except ValueError as error:
            where = (positions or {}).get(task.name, index)
            raise UserError(f"config error at 'data.tasks[{where}].metric': {error}") from None
        classes = (
            DERIVED_CLASSES
            if derived
            else class_names(feature, values)
            if get_kind(kind).is_classification
            else ()
        )
        specs.append(
            TaskSpec(task.name, task.column, kind, classes, task.weight, metric, definition(task))
        )
    return specs


def _standardise(splits: dict[str, SplitTensors], task: TaskSpec) -> tuple[float, float]:
    train = splits["train"]
    labelled = train.targets[task.name].numpy()[train.masks[task.name].numpy()]
    mean = float(labelled.mean(dtype=np.float64)) if len(labelled) else 0.0
    std = float(labelled.std(dtype=np.float64)) if len(labelled) > 1 else 1.0
    std = std if std > 0 else 1.0
    for split in splits.values():
        split.targets[task.name] = (split.targets[task.name] - mean) / std
    return mean, std


DatasetRef = tuple[str, str | None, str | None]  # (source, config, revision)


def _groups(config: DataConfig) -> list[tuple[DatasetRef, list[TaskConfig]]]:
    """Tasks grouped by their dataset, the experiment's own first."""
    own = (config.source, config.config, config.revision)
    groups: dict[DatasetRef, list[TaskConfig]] = {own: []}
    for task in config.tasks:
        key = (task.source, task.config, task.revision) if task.source else own
        groups.setdefault(key, []).append(task)
    return [(dataset, tasks) for dataset, tasks in groups.items() if tasks]


def _capped(dataset: datasets.DatasetDict, max_rows: int | None, seed: int) -> datasets.DatasetDict:
    """Every split with at most `max_rows` rows, a seeded sample (before any row is read)."""
    capped = {}
    for name, split in dataset.items():
        rows = seeded_rows(len(split), max_rows, seed)
        capped[name] = split if rows is None else split.select(rows)
    return datasets.DatasetDict(capped)


def _load_part(
    where: DatasetRef, tasks: list[TaskConfig], config: DataConfig, wanted_inputs: str | list[str]
) -> _Part:
    source, name, revision = where
    label = (
        source + ("" if name is None else f":{name}") + ("" if revision is None else f"@{revision}")
    )
    own = where == (config.source, config.config, config.revision)
    dataset = (
        load_source(source, name, revision, config.header, config.column_names)
        if own
        else load_source(source, name, revision)
    )
    train_name = config.splits.train
    if train_name not in dataset:
        have = ", ".join(dataset)
        raise UserError(f"split '{train_name}' not in {label} (it has: {have}): set splits.train")
    dataset = _capped(dataset, config.max_rows, config.splits.seed)
    features = dataset[train_name].features
    frames = {split: dataset[split].to_pandas() for split in dataset}
    train = frames[train_name]
    _check_columns(train, [t.column for t in tasks], "task", label)
    if len(train) < MIN_ROWS:
        raise UserError(
            f"{label} has only {len(train)} row{'s' if len(train) != 1 else ''} in split "
            f"'{train_name}': training needs at least {MIN_ROWS}; add rows"
        )
    positions = {t.name: i for i, t in enumerate(config.tasks)}
    specs = build_task_specs(tasks, train, features, positions)
    configs = {t.name: t for t in tasks}
    stratify = next((s.name for s in specs if s.task_kind.stratifies), None)
    # integer codes in sorted class order: the split strings would give, without sorting them
    labels = (
        pd.factorize(target_values(train, configs[stratify], features)[0].astype(str), sort=True)[0]
        if stratify
        else None
    )
    plan = split_plan({n: len(f) for n, f in frames.items()}, config.splits, labels)
    if len(plan["train"][1]) == 0:
        raise UserError(f"the training split of {label} has no rows: lower val/test fractions")
    known = set(map(str, train.columns))
    types = {c: t for c, t in config.column_types.items() if c in known}
    ignore = [c for c in config.ignore if c in known]
    train_rows = plan["train"][1]
    typed = seeded_rows(len(train_rows), TYPING_ROWS, config.splits.seed)
    sample = frames[plan["train"][0]].iloc[train_rows if typed is None else train_rows[typed]]
    roles = infer_roles(sample, features, [s.column for s in specs], types, ignore)
    return _Part(label, features, frames, plan, specs, roles, wanted_inputs, configs)


def _input_type(config: DataConfig, part: _Part) -> str:
    if config.input_type != "auto":
        return config.input_type
    if part.wanted_inputs == "auto":
        types = {r.type for r in part.roles if r.role == "input"}
    else:
        by_column = {r.column: r.type for r in part.roles}
        types = {by_column[c] for c in part.wanted_inputs if c in by_column}
    return "image" if "image" in types else "text" if "text" in types else "tabular"


def _choose_inputs(part: _Part, input_type: str) -> list[str]:
    by_column = {r.column: r for r in part.roles}
    if part.wanted_inputs != "auto":
        columns = list(part.wanted_inputs)
        _check_columns(part.frames[part.plan["train"][0]], columns, "input", part.label)
        for column in columns:
            role = by_column[column]
            if role.role == "target":
                raise UserError(
                    f"column '{column}' is a task target, so it cannot also be an "
                    "input: remove it from the inputs"
                )
            if role.type not in _ALLOWED_INPUTS[input_type]:
                raise UserError(_wrong_input(column, role.type, input_type))
        return columns
    columns = [
        r.column for r in part.roles if r.role == "input" and r.type in _AUTO_INPUTS[input_type]
    ]
    if not columns:
        raise UserError(
            f"no {input_type} input column in {part.label}: list the input columns under "
            "data.inputs, or set data.input_type"
        )
    return columns[:1] if input_type == "image" else columns


def _wrong_input(column: str, column_type: str, input_type: str) -> str:
    if input_type == "tabular" and column_type == "text":
        return (
            f"column '{column}' is free text, so it cannot be a numeric or categorical "
            "input: set input_type: text to use it as text, or ignore it"
        )
    if column_type == "image":
        return f"column '{column}' holds images: set input_type: image to use it, or ignore it"
    return (
        f"column '{column}' is {column_type}, so it cannot be an input of a {input_type} "
        "model: ignore it or change its type"
    )


def _encode_inputs(
    parts: list[_Part], input_type: str, config: DataConfig, vocabulary: dict[int, list[str]]
) -> tuple[FrameInputs, tuple[int, ...], list[str]]:
    """-> ({part label: {frame name: x array}}, input_shape, feature_names). Each frame is
    encoded once; splits then take their rows. Text: `vocabulary` collects the n-grams
    behind each hashed id."""
    if input_type == "tabular":
        columns = parts[0].inputs
        for part in parts[1:]:
            _check_columns(part.frames[part.plan["train"][0]], columns, "input", part.label)
        categorical = tuple(r.column for r in parts[0].roles if r.type == "categorical")
        if len(parts) == 1:
            name, rows = parts[0].plan["train"]
            encoder = TabularEncoder.fit(parts[0].frames[name], columns, categorical, rows)
        else:
            train = pd.concat([p.rows("train")[columns] for p in parts], ignore_index=True)
            encoder = TabularEncoder.fit(train, columns, categorical)
        xs = {p.label: {n: encoder.transform(f) for n, f in p.frames.items()} for p in parts}
        return xs, (len(encoder.feature_names),), encoder.feature_names
    if input_type == "text":
        xs = {
            p.label: {
                n: hash_texts(joined_text(f, p.inputs), config.text, vocabulary)
                for n, f in p.frames.items()
            }
            for p in parts
        }
        names = [f"token {i}" for i in range(config.text.max_tokens)]
        return xs, (config.text.max_tokens,), names
    channels = max(image_channels(p.rows("train")[p.inputs[0]], p.inputs[0]) for p in parts)
    size = config.image_size
    xs = {
        p.label: {
            n: images_to_array(f[p.inputs[0]], p.inputs[0], size, channels)
            for n, f in p.frames.items()
        }
        for p in parts
    }
    return xs, (channels, size, size), (["grey"] if channels == 1 else ["red", "green", "blue"])


def _encoded_targets(part: _Part, specs: list[TaskSpec]) -> FrameTargets:
    """{frame name: {task: (targets, mask)}} for the part's own tasks, each frame once."""
    own = [s for s in specs if s in part.specs]
    return {
        name: {
            s.name: s.task_kind.encode_targets(
                *target_values(frame, part.configs[s.name], part.features), s.classes
            )
            for s in own
        }
        for name, frame in part.frames.items()
    }


def _split_tensors(
    parts: list[_Part],
    specs: list[TaskSpec],
    split: str,
    xs: FrameInputs,
    targets_by_part: dict[str, FrameTargets],
) -> SplitTensors:
    x_parts, sources = [], []
    targets: dict[str, list[torch.Tensor]] = {s.name: [] for s in specs}
    masks: dict[str, list[np.ndarray]] = {s.name: [] for s in specs}
    for index, part in enumerate(parts):
        name, rows = part.plan[split]
        x_parts.append(xs[part.label][name][rows])
        sources.append(np.full(len(rows), index, dtype=np.int64))
        encoded = targets_by_part[part.label][name]
        for spec in specs:
            if spec.name in encoded:
                target, mask = encoded[spec.name]
                target, mask = target[torch.from_numpy(rows)], mask[rows]
            else:
                target = spec.task_kind.empty_targets(len(rows), len(spec.classes))
                mask = np.zeros(len(rows), dtype=bool)
            targets[spec.name].append(target)
            masks[spec.name].append(mask)

    def joined(arrays: list[np.ndarray]) -> np.ndarray:
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    return SplitTensors(
        torch.from_numpy(joined(x_parts)),
        {name: t[0] if len(t) == 1 else torch.cat(t) for name, t in targets.items()},
        {name: torch.from_numpy(joined(m).astype(bool)) for name, m in masks.items()},
        torch.from_numpy(joined(sources)),
    )


def prepare_data(config: DataConfig) -> PreparedData:
    """Load and encode the experiment's data; raises UserError on any bad input."""
    parts = []
    for index, (where, tasks) in enumerate(_groups(config)):
        own = (
            config.inputs
            if index == 0 and where[0] == config.source
            else next((t.inputs for t in tasks if t.inputs != "auto"), "auto")
        )
        parts.append(_load_part(where, tasks, config, own))
    input_type = _input_type(config, parts[0])
    for part in parts:
        part.inputs = _choose_inputs(part, input_type)
    specs = [spec for part in parts for spec in part.specs]
    order = {t.name: i for i, t in enumerate(config.tasks)}
    specs.sort(key=lambda s: order[s.name])
    vocabulary: dict[int, list[str]] = {}
    xs, input_shape, feature_names = _encode_inputs(parts, input_type, config, vocabulary)
    targets = {part.label: _encoded_targets(part, specs) for part in parts}
    splits = {split: _split_tensors(parts, specs, split, xs, targets) for split in SPLIT_NAMES}
    stats = {s.name: _standardise(splits, s) for s in specs if s.task_kind.standardised}
    return PreparedData(
        tasks=specs,
        splits=splits,
        input_kind=input_type,
        input_shape=tuple(input_shape),
        feature_names=feature_names,
        target_stats=stats,
        source_names=[p.label for p in parts],
        input_columns={p.label: p.inputs for p in parts},
        token_texts={token: token_label(grams) for token, grams in vocabulary.items()},
    )
