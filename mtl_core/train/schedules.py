"""The small named steps the training loop hangs off its epochs: learning-rate schedule,
curriculum task factors, the early-stopping score, mixed precision and warm start."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch

from mtl_core.config import TrainConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.errors import UserError
from mtl_core.models import MTLModel


def lr_factor(train: TrainConfig, epoch: int) -> float:
    """Multiplier of the base learning rate during `epoch` (1-based)."""
    if train.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / train.epochs))
    if train.schedule == "step":
        return train.lr_step_factor ** ((epoch - 1) // train.lr_step_epochs)
    return 1.0


def set_lr(optimizer: torch.optim.Optimizer, base_lrs: list[float], factor: float) -> None:
    for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
        group["lr"] = base * factor


def curriculum_factors(train: TrainConfig, task_names: list[str], epoch: int) -> list[float]:
    """Per-task loss factor in `epoch`: 0 before the task joins, then a linear ramp to 1."""
    unknown = sorted(set(train.curriculum) - set(task_names))
    if unknown:
        raise UserError(
            f"config error at 'train.curriculum.{unknown[0]}': no such task "
            f"(tasks: {', '.join(task_names)})"
        )
    factors = []
    for name in task_names:
        joins = train.curriculum.get(name)
        if joins is None:
            factors.append(1.0)
        elif epoch < joins:
            factors.append(0.0)
        else:
            factors.append(min(1.0, (epoch - joins + 1) / (train.curriculum_ramp + 1)))
    return factors


def monitor_score(
    train: TrainConfig, tasks: list[TaskSpec], val: dict[str, Any], first: dict[str, Any]
) -> float:
    """The validation criterion early stopping watches; lower is better. With
    `monitor: metric`, a task's primary metric relative to its first value; where that
    metric is undefined on the validation rows (ROC-AUC without both classes), its loss
    relative to its first loss instead."""
    names = [t.name for t in tasks]
    if train.monitor_task is not None and train.monitor_task not in names:
        raise UserError(
            f"config error at 'train.monitor_task': no task '{train.monitor_task}' "
            f"(tasks: {', '.join(names)})"
        )
    chosen = [t for t in tasks if train.monitor_task in (None, t.name)]
    values = []
    for task in chosen:
        value = val[task.name].get(task.metric, 0.0)
        start = first[task.name].get(task.metric, 1.0)
        if train.monitor == "metric" and math.isfinite(value) and math.isfinite(start):
            scale = abs(start) or 1.0
            values.append((-value if task.higher_is_better else value) / scale)
        elif train.monitor == "loss":
            values.append(val[task.name]["loss"])
        else:
            values.append(val[task.name]["loss"] / max(first[task.name]["loss"], 1e-12))
    return sum(values) / len(values)


def autocast(train: TrainConfig, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast when asked for and the CUDA GPU supports it; otherwise a no-op."""
    if train.amp and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def warm_start(model: MTLModel, weights: dict[str, torch.Tensor], run_id: str) -> int:
    """Copy the stored run's weights into this model's shared parameters where name and shape
    match; returns how many tensors were copied (UserError if none)."""
    shared = {id(p) for p in model.shared_parameters()}
    copied = 0
    with torch.no_grad():
        for name, param in model.named_parameters():
            stored = weights.get(name)
            if id(param) in shared and stored is not None and stored.shape == param.shape:
                param.copy_(stored.to(param.device, param.dtype))
                copied += 1
    if not copied:
        raise UserError(
            f"train.warm_start: run '{run_id}' has no shared weights that fit this "
            "model (same encoder and shared widths are needed)"
        )
    return copied
