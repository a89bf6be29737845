"""The training loop, readable top to bottom in `train_model`: set up, then per epoch each
batch's step (forward -> per-task losses -> weighting's backward -> update), then the epoch's
evaluation and early-stopping check, then finish. Each named step is a small method of
`_Training`, the run's state; the affinity probe, divergence and the stop button hang off
them."""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

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
from mtl_core.train.threads import JobThreads, step_flops, training_threads
from mtl_core.weighting import StepRequest, WeightingMethod, build_weighting

EventHandler = Callable[[dict[str, Any]], None]
EVAL_CHUNK = 4096
# Model construction draws from torch's global RNG: one at a time, so two jobs started
# together (two browser tabs) each get the initial weights of their own seed.
_INIT_LOCK = threading.Lock()


class StopSignal(Protocol):
    """What training polls to stop early: a `threading.Event`, or the sweep's `StopFlag` (a
    file that another process creates)."""

    def is_set(self) -> bool: ...


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
    threads: int = 1  # intra-op CPU threads it started training with (train/threads.py)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


def make_optimizer(config: ExperimentConfig, params: list) -> torch.optim.Optimizer:
    """The configured optimizer; empty parameter groups are dropped and the multi-tensor
    (foreach) update is used, one kernel per step instead of one per parameter."""
    train = config.train
    params = [group for group in params if not isinstance(group, dict) or group["params"]]
    lr, decay = train.lr, train.weight_decay
    if train.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=decay, foreach=True)
    if train.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=decay, foreach=True)
    return torch.optim.Adam(params, lr=lr, weight_decay=decay, foreach=True)


def to_device(split: SplitTensors, device: torch.device) -> SplitTensors:
    """The split's tensors on `device`."""
    return SplitTensors(
        split.x.to(device),
        {k: v.to(device) for k, v in split.targets.items()},
        {k: v.to(device) for k, v in split.masks.items()},
    )


def _rows(
    split: SplitTensors, rows: torch.Tensor, complete: set[str]
) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor | None]]:
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
            task,
            outputs[task.name],
            split.targets[task.name],
            split.masks[task.name],
            data.target_stats.get(task.name),
        )
        result[task.name] = {"loss": loss, **metrics}
    return result


def train_model(
    config: ExperimentConfig,
    data: PreparedData,
    on_event: EventHandler | None = None,
    stop: StopSignal | None = None,
    warm_weights: dict[str, torch.Tensor] | None = None,
) -> TrainResult:
    """Train one model on `data` as `config` says; never raises for a diverging run.
    `warm_weights` (a stored run's state dict) initialise the shared parameters."""
    with training_threads(config.train.threads) as threads:
        run = _Training.start(config, data, on_event or _ignore, stop, warm_weights, threads)
        for epoch in range(1, config.train.epochs + 1):
            run.begin_epoch(epoch)
            for batch in run.batches():
                if run.stop_requested(epoch) or not run.step(batch, epoch):
                    break
            if not run.running or not run.end_epoch(epoch):
                break
        return run.finish()


def _ignore(event: dict[str, Any]) -> None:
    """The event handler of a caller that listens to none."""


@dataclass
class EarlyStopping:
    """Early stopping's state: the best score so far, the model's state when it was reached
    (the last good checkpoint) and the epochs since it last improved."""

    best_score: float = float("inf")
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    stale: int = 0

    def patient(self, score: float, model: MTLModel, patience: int | None) -> bool:
        """Keep the best checkpoint; False once `patience` epochs in a row did not improve
        on it."""
        if score < self.best_score - 1e-6:
            self.best_score, self.best_state, self.stale = score, snapshot(model), 0
            return True
        self.stale += 1
        return not (patience and self.stale >= patience)


@dataclass
class _Training:
    """One run's state, carried between the named steps of `train_model`."""

    config: ExperimentConfig
    data: PreparedData
    emit: EventHandler
    stop: StopSignal | None
    device: torch.device
    model: MTLModel
    weighting: WeightingMethod
    optimizer: torch.optim.Optimizer
    probe: LookaheadProbe | None
    train: SplitTensors
    val: SplitTensors
    result: TrainResult
    complete: set[str]  # the tasks whose every training row has a label (no masking)
    order: torch.Generator  # draws the batches
    base_lrs: list[float]  # per parameter group, before the schedule
    params: list[torch.Tensor]  # everything the optimizer steps (for gradient clipping)
    threads: JobThreads  # this job's share of the CPU threads
    loss_scale: torch.Tensor | None = None  # this epoch's per-task loss factors (None: all 1)
    epoch_losses: list[list[float]] = field(default_factory=list)  # per step of this epoch
    step_weights: list[torch.Tensor] = field(default_factory=list)  # per step; lists at the end
    stopping: EarlyStopping = field(default_factory=EarlyStopping)
    first_val: dict[str, Any] | None = None
    started: float = 0.0

    @classmethod
    def start(
        cls,
        config: ExperimentConfig,
        data: PreparedData,
        emit: EventHandler,
        stop: StopSignal | None,
        warm_weights: dict[str, torch.Tensor] | None,
        threads: JobThreads,
    ) -> _Training:
        """Model, weighting, optimizer, probe, device copies of the splits and the CPU
        threads for a step of this model's cost; emits 'start'."""
        device = resolve_device(config.train.device)
        model, notes = initial_model(config, data, device, warm_weights)
        weighting = build_weighting(config.weighting, data.task_names)
        optimizer = make_optimizer(
            config,
            [*model.optimizer_groups(config.train.lr), {"params": list(weighting.parameters())}],
        )
        probe = LookaheadProbe.for_training(
            config.analysis.affinity_every, model, optimizer, data.tasks
        )  # None when off or for a single task
        train = to_device(data.splits["train"], device)
        val = to_device(
            data.splits["validation"] if len(data.splits["validation"]) else data.splits["train"],
            device,
        )
        run = cls(
            config,
            data,
            emit,
            stop,
            device,
            model,
            weighting,
            optimizer,
            probe,
            train,
            val,
            TrainResult("completed", model, str(device), 0.0, 0),
            complete={name for name, mask in train.masks.items() if bool(mask.all())},
            order=torch.Generator().manual_seed(config.train.seed),
            base_lrs=[group["lr"] for group in optimizer.param_groups],
            params=[p for group in optimizer.param_groups for p in group["params"]],
            threads=threads,
        )
        run.result.threads = threads.fit(step_flops(model, train.x[: config.train.batch_size]))
        curriculum_factors(config.train, data.task_names, 1)  # a bad task name fails here
        if notes:
            run.result.extras["notes"] = notes
        run.announce()
        return run

    def announce(self) -> None:
        """Emit 'start'; the clock and the checkpoint (so far the start) begin here."""
        train = self.config.train
        self.emit(
            {
                "type": "start",
                "epochs": train.epochs,
                "batches_per_epoch": max(1, -(-len(self.train) // train.batch_size)),
                "tasks": self.data.task_names,
                "device": str(self.device),
            }
        )
        self.stopping.best_state = snapshot(self.model)
        self.started = time.perf_counter()
        self.model.train()  # (evaluation and the probe put it back in train mode on leaving)

    @property
    def running(self) -> bool:
        return self.result.status == "completed"

    def begin_epoch(self, epoch: int) -> None:
        """This epoch's CPU threads (jobs may have started or ended), learning rate and task
        loss factors: each task's configured weight times its curriculum ramp."""
        self.threads.refresh()
        train = self.config.train
        set_lr(self.optimizer, self.base_lrs, lr_factor(train, epoch))
        ramps = curriculum_factors(train, self.data.task_names, epoch)
        factors = [task.weight * ramp for task, ramp in zip(self.data.tasks, ramps, strict=True)]
        self.loss_scale = (
            None if all(f == 1.0 for f in factors) else torch.tensor(factors, device=self.device)
        )
        self.epoch_losses = []

    def batches(self) -> Iterator[torch.Tensor]:
        """Row indices of each batch of this epoch."""
        return epoch_batches(
            len(self.train),
            self.config.train.batch_size,
            self.order,
            self.device,
            self.data.splits["train"].sources,
            self.config.data.sampling,
        )

    def stop_requested(self, epoch: int) -> bool:
        """Whether the user pressed stop (the run's status then says so)."""
        if self.stop is None or not self.stop.is_set():
            return False
        self.result.status, self.result.message = "stopped", f"stopped by the user at epoch {epoch}"
        return True

    def step(self, batch: torch.Tensor, epoch: int) -> bool:
        """One training step on `batch`; False when its losses are not finite (diverged)."""
        x, targets, masks = _rows(self.train, batch, self.complete)
        done = self.gradients(x, targets, masks, epoch)
        if done is None:
            return False
        values, weights = done
        penalty = self.model.regularization()
        if penalty is not None:
            penalty.backward()
        if self.config.train.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.config.train.grad_clip)
        self.optimizer.step()
        self.weighting.after_step(
            self.model,
            self.result.steps,  # FAMO re-evaluates the batch
            lambda: task_losses(self.data.tasks, self.model(x), targets, masks),
        )
        self.result.steps += 1
        self.epoch_losses.append(values)
        self.step_weights.append(weights.detach())  # to lists once, after training
        return True

    def gradients(
        self,
        x: torch.Tensor,
        targets: dict[str, torch.Tensor],
        masks: dict[str, torch.Tensor | None],
        epoch: int,
    ) -> tuple[list[float], torch.Tensor] | None:
        """Forward, per-task losses and their backward; -> (the losses as numbers, the task
        weights), or None when a loss is not finite. The graph dies with this frame: before
        the update, never alive while the next step's forward builds its own."""
        with autocast(self.config.train, self.device):
            losses = task_losses(self.data.tasks, self.model(x), targets, masks).float()
        values = losses.tolist()  # the one host sync of a step
        if not all(map(math.isfinite, values)):
            self.result.status, self.result.message = (
                "diverged",
                divergence_message(self.data.task_names, values, self.result.steps),
            )
            return None
        return values, self.weigh(losses, x, targets, masks, epoch)

    def weigh(
        self,
        losses: torch.Tensor,
        x: torch.Tensor,
        targets: dict[str, torch.Tensor],
        masks: dict[str, torch.Tensor | None],
        epoch: int,
    ) -> torch.Tensor:
        """The weighting method's backward of the losses times this epoch's factors, and the
        affinity probe when due (before the update); -> the task weights."""
        steps, scale = self.result.steps, self.loss_scale
        probe = self.probe if self.probe is not None and self.probe.due(steps) else None
        # The method hands the probe the Jacobian of what it back-propagates: of the raw
        # losses only when no factor scales them; else the probe takes its own, first.
        request = StepRequest(
            losses if scale is None else losses * scale,
            self.model,
            steps,
            record_jacobian=probe is not None and scale is None,
        )
        if probe is not None and scale is not None:
            probe.measure(x, targets, masks, steps, epoch, losses)
        self.optimizer.zero_grad(set_to_none=True)
        outcome = self.weighting.step(request)
        if probe is not None and request.record_jacobian:
            probe.measure(x, targets, masks, steps, epoch, losses, outcome.jacobian)
        return outcome.weights

    def end_epoch(self, epoch: int) -> bool:
        """Evaluate, record and emit the epoch; False when training ends here (the validation
        loss is not finite, or early stopping's patience ran out)."""
        self.weighting.after_epoch()  # DWA rolls its epoch-average losses
        val_result = evaluate(self.model, self.data, self.val)
        self.first_val = self.first_val or val_result
        score = monitor_score(self.config.train, self.data.tasks, val_result, self.first_val)
        per_task = zip(*self.epoch_losses, strict=True)
        record = {
            "epoch": epoch,
            "train_loss": dict(
                zip(self.data.task_names, map(statistics.fmean, per_task), strict=True)
            ),
            "val": val_result,
            "score": score,
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - self.started,
        }
        self.result.history.append(record)
        self.emit(
            {
                "type": "epoch",
                **record,
                "epochs": self.config.train.epochs,
                "steps": self.result.steps,
            }
        )
        if not math.isfinite(score):
            self.result.status, self.result.message = (
                "diverged",
                val_divergence_message(epoch, self.result.steps),
            )
            return False
        return self.patient(score)

    def patient(self, score: float) -> bool:
        """Early stopping (`EarlyStopping.patient`) with the configured patience."""
        return self.stopping.patient(score, self.model, self.config.train.patience)

    def finish(self) -> TrainResult:
        """Task weights and probe records into the result, the best checkpoint back into the
        model, its metrics on every split; emits 'end'."""
        result = self.result
        result.seconds = time.perf_counter() - self.started
        result.task_weights = torch.stack(self.step_weights).tolist() if self.step_weights else []
        result.extras.update(self.weighting.records(result.task_weights))  # weights, Gramians
        if self.probe is not None:
            result.extras["affinity"] = self.probe.to_json(result.task_weights)
        self.model.load_state_dict(self.stopping.best_state)  # the best (and last good) one
        result.metrics = {
            name: evaluate(self.model, self.data, to_device(split, self.device))
            for name, split in self.data.splits.items()
            if len(split)
        }
        self.emit({"type": "end", "status": result.status, "message": result.message})
        return result


def initial_model(
    config: ExperimentConfig,
    data: PreparedData,
    device: torch.device,
    warm_weights: dict[str, torch.Tensor] | None,
) -> tuple[MTLModel, list[str]]:
    """The model, from the run's seed (built under the lock on the global RNG) and
    warm-started; -> (model, notes for the run)."""
    with _INIT_LOCK:
        torch.manual_seed(config.train.seed)
        model = build_model(config.model, data.tasks, data.input_kind, data.input_shape)
    model = model.to(device)
    if warm_weights is None:
        return model, []
    copied = warm_start(model, warm_weights, str(config.train.warm_start))
    return model, [f"warm start: {copied} shared tensors from run {config.train.warm_start}"]


def snapshot(model: MTLModel) -> dict[str, torch.Tensor]:
    """A copy of the model's state (tensors cloned; cheaper than deepcopy)."""
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def val_divergence_message(epoch: int, step: int) -> str:
    """Why a run stopped at a validation loss that is not finite."""
    return (
        f"training diverged in epoch {epoch} (step {step}): the validation loss is not "
        "finite. Try a lower learning rate, gradient clipping (train.grad_clip), or another "
        "weighting method; the last good checkpoint was kept"
    )


def divergence_message(task_names: list[str], losses: list[float], step: int) -> str:
    """Why a run stopped at a training loss that is not finite (the first such task's)."""
    task, loss = next(
        (n, v) for n, v in zip(task_names, losses, strict=True) if not math.isfinite(v)
    )
    return (
        f"training diverged at step {step}: the loss of task '{task}' became {loss}. Try a "
        "lower learning rate, gradient clipping (train.grad_clip), or another weighting "
        "method; the last good checkpoint was kept"
    )
