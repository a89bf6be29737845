"""Typed experiment config: schema, loading from YAML/JSON, `--set` overrides."""

from mtl_core.config.load import (
    apply_overrides,
    config_from_dict,
    load_config,
    schema_defaults,
    to_dict,
    with_defaults,
)
from mtl_core.config.schema import (
    AnalysisConfig,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    SplitConfig,
    TaskConfig,
    TrainConfig,
    WeightingConfig,
)

__all__ = [
    "AnalysisConfig",
    "DataConfig",
    "ExperimentConfig",
    "ModelConfig",
    "SplitConfig",
    "TaskConfig",
    "TrainConfig",
    "WeightingConfig",
    "apply_overrides",
    "config_from_dict",
    "load_config",
    "schema_defaults",
    "to_dict",
    "with_defaults",
]
