"""What the Model page shows about a configured architecture before training: the model
itself (built without touching the global random state) and its parameter counts next to
those of the single-task networks it would replace."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.base import MTLModel
from mtl_core.models.registry import build_model


def preview_model(
    config: ModelConfig, tasks: list[TaskSpec], input_kind: str, input_shape: tuple[int, ...]
) -> MTLModel:
    """The model `config` builds, seeded, leaving the caller's random state as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return build_model(config, tasks, input_kind, input_shape)


def single_task_equivalent(
    config: ModelConfig, tasks: list[TaskSpec], input_kind: str, input_shape: tuple[int, ...]
) -> MTLModel:
    """One independent network per task with the same widths (what the baselines train)."""
    single = config.model_copy(update={"architecture": "single_task", "params": {}})
    return preview_model(single, tasks, input_kind, input_shape)


def parameter_rows(model: MTLModel, single: MTLModel) -> list[dict[str, object]]:
    """Rows of the parameter table: shared, each task's own, total; this model against the
    single-task networks."""
    own, single_own = model.task_parameters(), single.task_parameters()
    rows = [
        {"part": "shared", model.architecture: _count(model.shared_parameters()), "single-task": 0}
    ]
    rows += [
        {
            "part": f"only {name}",
            model.architecture: _count(own[name]),
            "single-task": _count(single_own[name]),
        }
        for name in model.task_names
    ]
    rows.append(
        {
            "part": "total",
            model.architecture: _count(model.parameters()),
            "single-task": _count(single.parameters()),
        }
    )
    return rows


def _count(params: Iterable[torch.Tensor]) -> int:
    return sum(p.numel() for p in params)
