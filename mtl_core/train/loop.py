"""The training loop, readable top to bottom: batch -> forward -> per-task losses ->
weighting -> backward -> step -> events. Early stopping, divergence and the stop button
hang off it as small named steps."""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from mtl_core.config import ExperimentConfig
from mtl_core.data.prepare import PreparedData, SplitTensors
from mtl_core.data.sampling import epoch_batches
from mtl_core.models import MTLModel, build_model
from mtl_core.train.device import resolve_device
from mtl_core.train.losses import task_losses
from mtl_core.train.metrics import task_metrics
from mtl_core.train.probes import LookaheadProbe
from mtl_core.train.schedules import (
    autocast,
    curriculum_factors,
    lr_factor,
    monitor_score,
    set_lr,
    warm_start,
)
from mtl_core.weighting import build_weighting

EventHandler = Callable[[dict[str, Any]], None]
EVAL_CHUNK = 4096
# Model construction draws from torch's global RNG: one at a time, so two jobs started
# together (two browser tabs) each get the initial weights of their own seed.
_INIT_LOCK = threading.Lock()


@dataclass
class TrainResult:
    status: str  # "completed", "stopped" or "diverged"
    model: MTLModel
    device: str
    seconds: float
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)
    task_weights: list[list[float]] = field(default_factory=list)
    metrics: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    message: str | None = None
    # What analyses recorded during training (JSON-ready), stored as the run's extras.json.
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


def make_optimizer(config: ExperimentConfig, params: list):
    """The configured optimizer; empty parameter groups are dropped and the multi-tensor
    (foreach) update is used, one kernel per step instead of one per parameter."""
    train = config.train
    params = [group for group in params if not isinstance(group, dict) or group["params"]]
    options = {"lr": train.lr, "weight_decay": train.weight_decay, "foreach": True}
    if train.optimizer == "sgd":
        return torch.optim.SGD(params, momentum=0.9, **options)
    if train.optimizer == "adamw":
        return torch.optim.AdamW(params, **options)
    return torch.optim.Adam(params, **options)


def _to_device(split: SplitTensors, device: torch.device) -> SplitTensors:
    return SplitTensors(
        split.x.to(device),
        {k: v.to(device) for k, v in split.targets.items()},
        {k: v.to(device) for k, v in split.masks.items()},
    )


def _rows(split: SplitTensors, rows: torch.Tensor, complete: set[str]):
    """One batch: inputs, targets, and masks (`None` for the tasks in `complete`, whose every
    row has a label: their losses need no masking)."""
    targets = {k: v[rows] for k, v in split.targets.items()}
    masks = {k: None if k in complete else v[rows] for k, v in split.masks.items()}
    return split.x[rows], targets, masks


@torch.inference_mode()
def predict(model: MTLModel, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Outputs for every row of `x`, in chunks, as eval mode computes them."""
    switch = model.training and not model.same_in_eval
    if switch:
        model.eval()
    chunks = [model(x[i : i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
    if switch:
        model.train()
    if len(chunks) == 1:
        return chunks[0]
    return {name: torch.cat([c[name] for c in chunks]) for name in model.task_names}


def evaluate(model: MTLModel, data: PreparedData, split: SplitTensors) -> dict[str, Any]:
    """Per-task loss and metrics on one split."""
    outputs = predict(model, split.x)
    losses = task_losses(data.tasks, outputs, split.targets, split.masks)
    result = {}
    for task, loss in zip(data.tasks, losses.tolist(), strict=True):
        metrics = task_metrics(
            task, outputs[task.name], split.targets[task.name], split.masks[task.name],
            data.target_stats.get(task.name),
        )
        result[task.name] = {"loss": loss, **metrics}
    return result


def train_model(
    config: ExperimentConfig,
    data: PreparedData,
    on_event: EventHandler | None = None,
    stop: threading.Event | None = None,
    warm_weights: dict[str, torch.Tensor] | None = None,
) -> TrainResult:
    """Train one model on `data` as `config` says; never raises for a diverging run.
    `warm_weights` (a stored run's state dict) initialise the shared parameters."""
    emit = on_event or (lambda event: None)
    device = resolve_device(config.train.device)
    with _INIT_LOCK:
        torch.manual_seed(config.train.seed)
        model = build_model(config.model, data.tasks, data.input_kind, data.input_shape)
    model = model.to(device)
    if warm_weights is not None:
        copied = warm_start(model, warm_weights, str(config.train.warm_start))
        result_notes = [f"warm start: {copied} shared tensors from run {config.train.warm_start}"]
    else:
        result_notes = []
    weighting = build_weighting(config.weighting, data.task_names)
    optimizer = make_optimizer(config, [*model.optimizer_groups(config.train.lr),
                                        {"params": list(weighting.parameters())}])
    probe = LookaheadProbe.for_training(config.analysis.affinity_every, model, optimizer,
                                        data.tasks)  # None when off or for a single task
    train = _to_device(data.splits["train"], device)
    val = _to_device(data.splits["validation"] if len(data.splits["validation"]) else
                     data.splits["train"], device)
    complete = {name for name, mask in train.masks.items() if bool(mask.all())}
    batches_per_epoch = max(1, -(-len(train) // config.train.batch_size))
    order = torch.Generator().manual_seed(config.train.seed)
    result = TrainResult("completed", model, str(device), 0.0, 0)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    params = [p for group in optimizer.param_groups for p in group["params"]]
    curriculum_factors(config.train, data.task_names, 1)  # a bad task name fails before training
    if result_notes:
        result.extras["notes"] = result_notes
    emit({"type": "start", "epochs": config.train.epochs, "batches_per_epoch": batches_per_epoch,
          "tasks": data.task_names, "device": str(device)})
    best_score, first_val, stale = float("inf"), None, 0
    best_state = _snapshot(model)  # the last good checkpoint, so far the start
    step_weights: list[torch.Tensor] = []
    started = time.perf_counter()

    model.train()  # (evaluation and the probe put it back in train mode when they leave it)
    for epoch in range(1, config.train.epochs + 1):
        set_lr(optimizer, base_lrs, lr_factor(config.train, epoch))
        # Each task's loss factor: its configured weight times its curriculum ramp.
        factors = [task.weight * ramp for task, ramp in zip(
            data.tasks, curriculum_factors(config.train, data.task_names, epoch), strict=True)]
        loss_scale = None if all(f == 1.0 for f in factors) else torch.tensor(factors,
                                                                              device=device)
        epoch_losses: list[list[float]] = []  # per step; averaged at the epoch's end
        for batch in epoch_batches(len(train), config.train.batch_size, order, device,
                                   data.splits["train"].sources, config.data.sampling):
            if stop is not None and stop.is_set():
                result.status, result.message = "stopped", f"stopped by the user at epoch {epoch}"
                break
            x, targets, masks = _rows(train, batch, complete)
            with autocast(config.train, device):
                losses = task_losses(data.tasks, model(x), targets, masks).float()
            values = losses.tolist()  # the one host sync of a step
            if not all(map(math.isfinite, values)):
                result.status, result.message = "diverged", _divergence_message(
                    data.task_names, values, result.steps)
                break
            probing = probe is not None and probe.due(result.steps)  # affinity, before the update
            # The weighting hands the probe its Jacobian (raw losses only: not under a ramp).
            shared_jacobian = probing and loss_scale is None and weighting.shares_jacobian
            if probing and not shared_jacobian:
                probe.measure(x, targets, masks, result.steps, epoch, losses)
            optimizer.zero_grad(set_to_none=True)
            trained = losses if loss_scale is None else losses * loss_scale
            weighting.keep_jacobian = shared_jacobian
            weights = weighting.backward(trained, model, result.steps)
            if shared_jacobian:
                probe.measure(x, targets, masks, result.steps, epoch, losses, weighting.jacobian)
            if probing:  # the graph was kept for the probe: let it go before the update
                weighting.jacobian = None  # (not while the next step's forward builds its own)
                del losses, trained
            penalty = model.regularization()
            if penalty is not None:
                penalty.backward()
            if config.train.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, config.train.grad_clip)
            optimizer.step()
            weighting.after_step(model, result.steps,  # FAMO re-evaluates the batch
                                 lambda x=x, t=targets, m=masks: task_losses(data.tasks, model(x),
                                                                             t, m))
            result.steps += 1
            epoch_losses.append(values)
            step_weights.append(weights.detach())  # to lists once, after training
        if result.status != "completed":
            break
        weighting.after_epoch()  # DWA rolls its epoch-average losses

        val_result = evaluate(model, data, val)
        first_val = first_val or val_result
        score = monitor_score(config.train, data.tasks, val_result, first_val)
        train_loss = [statistics.fmean(per_task) for per_task in zip(*epoch_losses, strict=True)]
        record = {
            "epoch": epoch,
            "train_loss": dict(zip(data.task_names, train_loss, strict=True)),
            "val": val_result,
            "score": score,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - started,
        }
        result.history.append(record)
        emit({"type": "epoch", **record, "epochs": config.train.epochs, "steps": result.steps})
        if not math.isfinite(score):
            result.status, result.message = "diverged", (
                f"training diverged in epoch {epoch} (step {result.steps}): the validation "
                "loss is not finite. Try a lower learning rate, gradient clipping "
                "(train.grad_clip), or another weighting method; the last good checkpoint "
                "was kept")
            break
        if score < best_score - 1e-6:
            best_score, best_state, stale = score, _snapshot(model), 0
        else:
            stale += 1
            if config.train.patience and stale >= config.train.patience:
                break

    result.seconds = time.perf_counter() - started
    result.task_weights = torch.stack(step_weights).tolist() if step_weights else []
    result.extras.update(weighting.records(result.task_weights))  # task weights, Gramians
    if probe is not None:
        result.extras["affinity"] = probe.to_json(result.task_weights)
    model.load_state_dict(best_state)  # the best (and last good) checkpoint
    result.metrics = {
        name: evaluate(model, data, _to_device(split, device))
        for name, split in data.splits.items() if len(split)
    }
    emit({"type": "end", "status": result.status, "message": result.message})
    return result


def _snapshot(model: MTLModel) -> dict[str, torch.Tensor]:
    """A copy of the model's state (tensors cloned; cheaper than deepcopy)."""
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _divergence_message(task_names: list[str], losses: list[float], step: int) -> str:
    task, loss = next((n, v) for n, v in zip(task_names, losses, strict=True)
                      if not math.isfinite(v))
    return (f"training diverged at step {step}: the loss of task '{task}' became {loss}. Try a "
            "lower learning rate, gradient clipping (train.grad_clip), or another weighting "
            "method; the last good checkpoint was kept")
