"""The experiment config as pydantic models: unknown keys, wrong types and impossible
values are rejected, and the error names the key (see docs/design.md, "Experiment config")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SplitConfig(_Strict):
    """Which dataset splits to use; missing ones are carved out of train, seeded."""

    train: str = "train"
    validation: str | None = None
    test: str | None = None
    val_fraction: float = Field(0.15, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.15, ge=0.0, lt=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _fractions_leave_training_rows(self) -> SplitConfig:
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ValueError("val_fraction + test_fraction must leave at least 10% for training")
        return self


# The fields of TaskConfig that derive a binary task from its column, in field order.
DERIVE_RULES = ("in_", "at_least", "above", "at_most", "below")


class TaskConfig(_Strict):
    """One task: a target column (of the experiment's source, or of its own source)."""

    name: str = Field(min_length=1)
    column: str = Field(min_length=1)
    kind: str | None = None  # one of the registered task kinds (mtl_core.kinds); None: inferred
    # The metric this task is judged by (Δm, verdicts, sweeps, grouping); None: its kind's
    # default (ROC-AUC for binary, accuracy for multiclass, macro-F1 for multilabel, MSE for
    # regression). Checked against the kind's metrics here when `kind` is given, else when
    # the data is prepared.
    metric: str | None = None
    # Multiplies this task's loss before the weighting method combines the tasks.
    weight: float = Field(1.0, ge=0.0)
    # A task from another dataset: its own source/config, and its input columns there
    # ("auto": that dataset's columns of the experiment's input type).
    source: str | None = None
    config: str | None = None
    revision: str | None = None  # a branch, tag or commit of a hub `source`
    inputs: Literal["auto"] | list[str] = "auto"
    # A binary task derived from `column` by one rule (mtl_core/data/derived.py): 1 where the
    # value is in `in`, or is at least / above / at most / below a threshold; a text level
    # as the threshold needs `order`, the levels lowest first. The column is never an input.
    in_: list[str | int | float | bool] | None = Field(None, alias="in", min_length=1)
    at_least: float | str | None = None
    above: float | str | None = None
    at_most: float | str | None = None
    below: float | str | None = None
    order: list[str] | None = Field(None, min_length=2, validate_default=True)

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    @field_validator("in_", "at_least", "above", "at_most", "below")
    @classmethod
    def _one_binary_rule(cls, value: Any, info: ValidationInfo) -> Any:
        """At most one rule per task, and a derived task is binary."""
        if value is None:
            return value
        key = "in" if info.field_name == "in_" else info.field_name
        earlier = [
            ("in" if f == "in_" else f)
            for f in DERIVE_RULES[: DERIVE_RULES.index(info.field_name or "")]
            if info.data.get(f) is not None
        ]
        if earlier:
            raise ValueError(
                f"a task is derived by one rule, but it has '{earlier[0]}' and '{key}': keep one"
            )
        kind = info.data.get("kind")
        if kind not in (None, "binary"):
            raise ValueError(f"a task derived by '{key}' is binary, not '{kind}': remove its kind")
        return value

    @field_validator("order")
    @classmethod
    def _order_of_a_level(cls, order: list[str] | None, info: ValidationInfo) -> list[str] | None:
        """`order` ranks the level of a threshold rule, and a text level needs it."""
        levels = {f: info.data[f] for f in DERIVE_RULES[1:] if info.data.get(f) is not None}
        if order is None:
            text = next((f for f, level in levels.items() if isinstance(level, str)), None)
            if text is not None:
                raise ValueError(
                    f"'{text}: {levels[text]}' is a text level: give 'order', "
                    "the column's levels lowest first"
                )
            return order
        if not levels:
            raise ValueError(
                "'order' ranks the level of an at_least, above, at_most or "
                "below rule, and this task has none"
            )
        if len(set(order)) != len(order):
            raise ValueError("'order' lists a level twice")
        key, level = next(iter(levels.items()))
        whole = isinstance(level, float) and level.is_integer()
        if (str(int(level)) if whole else str(level)) not in order:
            raise ValueError(
                f"'{key}: {level}' is not one of the levels of 'order' ({', '.join(order)})"
            )
        return order

    @field_validator("kind")
    @classmethod
    def _registered_kind(cls, kind: str | None) -> str | None:
        """A kind the registry knows (imported here: kinds load torch)."""
        from mtl_core.kinds import kind_names

        if kind is not None and kind not in kind_names():
            raise ValueError(
                f"unknown task kind '{kind}' (choose one of: {', '.join(kind_names())})"
            )
        return kind

    @field_validator("metric")
    @classmethod
    def _metric_of_the_kind(cls, metric: str | None, info: ValidationInfo) -> str | None:
        """A metric the named kind does not offer is refused (imported here: kinds load
        torch)."""
        kind = info.data.get("kind")
        if metric is not None and kind is not None:
            from mtl_core.kinds import resolve_metric

            resolve_metric(kind, metric, info.data.get("name", ""))
        return metric


ColumnType = Literal["numeric", "categorical", "text", "image"]


class TextConfig(_Strict):
    """Tokenizer-free text inputs: hashed word n-grams and character n-grams."""

    max_tokens: int = Field(128, ge=4, le=4096)
    word_ngrams: int = Field(2, ge=1, le=3)
    char_ngrams: int = Field(3, ge=0, le=5)
    lowercase: bool = True


class SamplingConfig(_Strict):
    """How training batches draw rows from several datasets: proportional to their sizes,
    uniform over datasets, or temperature-scaled (p_i ~ n_i^(1/temperature))."""

    strategy: Literal["proportional", "uniform", "temperature"] = "proportional"
    temperature: float = Field(2.0, gt=0.0)


class DataConfig(_Strict):
    source: str = Field(min_length=1)
    config: str | None = None
    revision: str | None = None  # a branch, tag or commit of a hub dataset (None: main)
    splits: SplitConfig = SplitConfig()
    inputs: Literal["auto"] | list[str] = "auto"
    tasks: list[TaskConfig] = Field(min_length=1)
    max_rows: int | None = Field(None, gt=0)
    # One input type shared by every task (auto: image, else text, else tabular columns).
    input_type: Literal["auto", "tabular", "image", "text"] = "auto"
    # Column type overrides, e.g. {zip_code: categorical, review: text}.
    column_types: dict[str, ColumnType] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    image_size: int = Field(32, ge=8, le=256)
    text: TextConfig = TextConfig()
    sampling: SamplingConfig = SamplingConfig()
    # Local CSV/TSV files: `first_row` reads the column names from the first line; `none`
    # reads that line as data, naming the columns `column_names` (default: c0, c1, ...).
    header: Literal["first_row", "none"] = "first_row"
    column_names: list[str] | None = None

    @field_validator("tasks")
    @classmethod
    def _unique_task_names(cls, tasks: list[TaskConfig]) -> list[TaskConfig]:
        names = [t.name for t in tasks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"task names must be unique; repeated: {', '.join(dupes)}")
        return tasks

    @model_validator(mode="after")
    def _names_need_no_header(self) -> DataConfig:
        if self.column_names is not None and self.header != "none":
            raise ValueError(
                "column_names name the columns of a file without a header: "
                "set header: none as well, or remove column_names"
            )
        return self


class ModelConfig(_Strict):
    architecture: str = "hard"
    shared: list[int] = Field(default_factory=lambda: [64, 64])
    head: list[int] = Field(default_factory=lambda: [32])
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("shared", "head")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        if any(w <= 0 for w in widths):
            raise ValueError("layer widths must be positive integers")
        return widths

    @model_validator(mode="after")
    def _registered_architecture_and_params(self) -> ModelConfig:
        """The architecture is registered and `params` fit its spec. The registry's UserError
        names the key and passes through pydantic unchanged (imported here: it loads torch)."""
        from mtl_core.models.registry import resolve_params

        resolve_params(self.architecture, self.params)
        return self


class WeightingConfig(_Strict):
    method: str = "equal"
    update_every: int = Field(1, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)
    # Loss-based methods: also record the task-gradient Gramian every N steps (0 = off).
    gramian_every: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _registered_method_and_params(self) -> WeightingConfig:
        """The method is registered and `params` fit its specs (see ModelConfig's check)."""
        from mtl_core.weighting.registry import resolve_params

        resolve_params(self.method, self.params)
        return self


class TrainConfig(_Strict):
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(1e-3, gt=0.0)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    weight_decay: float = Field(0.0, ge=0.0)
    # Learning rate per epoch: constant, cosine decay to 0, or times `lr_step_factor` every
    # `lr_step_epochs` epochs.
    schedule: Literal["constant", "cosine", "step"] = "constant"
    lr_step_epochs: int = Field(30, ge=1)
    lr_step_factor: float = Field(0.1, gt=0.0, le=1.0)
    grad_clip: float | None = Field(None, gt=0.0)  # max global gradient norm; None = off
    amp: bool = False  # bf16 autocast on CUDA GPUs that support it; no effect on CPU
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # Intra-op CPU threads per training job. "auto": 1 for a small model, else the job's share
    # of the cores among the jobs running at once (mtl_core/train/threads.py).
    threads: Literal["auto"] | int = "auto"
    seed: int = 0
    patience: int | None = Field(10, ge=1)
    # What early stopping (and the kept best checkpoint) watches on the validation split:
    # each task's loss divided by its first-epoch value, the raw loss, or the primary metric
    # (accuracy / macro-F1 / MSE); averaged over tasks, or one task's if `monitor_task` is set.
    monitor: Literal["normalised_loss", "loss", "metric"] = "normalised_loss"
    monitor_task: str | None = None
    # Curriculum: task name -> the epoch it joins training (others train from epoch 1); a
    # joining task's loss weight then ramps linearly from 0 to 1 over `curriculum_ramp` epochs.
    curriculum: dict[str, int] = Field(default_factory=dict)
    curriculum_ramp: int = Field(0, ge=0)
    warm_start: str | None = None  # run id whose shared weights initialise this model
    baselines: bool = True
    # Seeds of the multi-task model and of each single-task baseline. "auto": 3 when the test
    # split has fewer than 500 rows or a task's interval from one seed crosses 0, else 1
    # (docs/evidence.md). `baseline_seeds` "auto" follows `seeds`.
    seeds: Literal["auto"] | int = "auto"
    baseline_seeds: Literal["auto"] | int = "auto"

    @field_validator("seeds", "baseline_seeds")
    @classmethod
    def _seed_count(cls, value: Literal["auto"] | int) -> Literal["auto"] | int:
        if value != "auto" and not 1 <= value <= 10:
            raise ValueError("must be 'auto' or a number of seeds from 1 to 10")
        return value

    @field_validator("threads")
    @classmethod
    def _thread_count(cls, value: Literal["auto"] | int) -> Literal["auto"] | int:
        if value != "auto" and value < 1:
            raise ValueError("must be 'auto' or a number of threads of at least 1")
        return value

    @field_validator("curriculum")
    @classmethod
    def _joins_from_epoch_one(cls, curriculum: dict[str, int]) -> dict[str, int]:
        if any(epoch < 1 for epoch in curriculum.values()):
            raise ValueError("curriculum epochs start at 1")
        return curriculum


class AnalysisConfig(_Strict):
    """Task affinity and task-combination sweeps (mtl_core.analysis, mtl_core.sweep)."""

    # Lookahead affinity probe every this many training steps (0 = off).
    affinity_every: int = Field(10, ge=0)
    # Grouping suggestion: at most this many groups (None: as many as there are tasks, so
    # "each task alone" is always possible).
    max_groups: int | None = Field(None, ge=1, le=9)
    # Sweep: "pairs" trains singles and pairs (higher-order approximation), "all" every
    # subset; `sweep_tasks` limits it to some tasks (default: all), over `sweep_workers`.
    sweep: Literal["pairs", "all"] = "pairs"
    sweep_tasks: list[str] | None = None
    sweep_workers: int = Field(2, ge=1)


class ExperimentConfig(_Strict):
    """The whole experiment; `python -m mtl_core train` and the app both run one of these."""

    name: str | None = None
    data: DataConfig
    # Factories, not instances: building one runs the registry checks, which import torch.
    model: ModelConfig = Field(default_factory=ModelConfig)
    weighting: WeightingConfig = Field(default_factory=WeightingConfig)
    train: TrainConfig = TrainConfig()
    analysis: AnalysisConfig = AnalysisConfig()
