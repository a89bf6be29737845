"""Networks trained in one loop as one batched ensemble: the parameters of every member are
stacked along a leading dimension and all members step together, so that k runs cost about
one run's steps. Two kinds of members:

- `train_ensemble`: independent single-task networks (tasks x seeds), the baselines of a
  comparison;
- `train_seeds`: the whole multi-task model at several seeds (the extra seeds that measure
  seed noise), when `stackable` says a stack trains it exactly (a weighting method whose
  weights are fixed: equal, static; an architecture with one parameter group and no
  regularization term); otherwise the caller trains the seeds one after another.

Each member is trained as `train_model` trains it alone (its config at its seed, on the data
of its tasks): the same initial weights (`torch.manual_seed(seed)`, then the model built as
the loop builds it, under its lock), the same batches in the same order (one order generator
per seed, as the loop's), the same optimizer settings, learning-rate schedule, label masks,
loss functions, loss factors (the weighting's weight times the task's weight times its
curriculum ramp), gradient clipping per member, and early stopping per member with the
loop's monitor and patience: each keeps its own best checkpoint, and a member whose patience
ran out (or whose loss stopped being finite) leaves the stack while the others go on.
Dropout draws differ per member, but are not the loop's.

How the stack computes: networks of different tasks differ only in their output widths, so
every member's output layers are zero-padded to the widest (padded rows get no gradient and
stay 0). A network whose traced graph (torch.fx) has only Linear / ReLU / Dropout / Identity
modules, however wired (a tabular single-task tower; hard sharing's trunk and heads), runs
as batched matrix products (`torch.baddbmm`); any other (image, text encoders, MMoE's
gates) under `torch.func.vmap` of `functional_call`, which costs about 0.2 ms of Python per
call more; a network that vmap cannot batch is not stackable."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.func import functional_call, vmap

from mtl_core.config import ExperimentConfig
from mtl_core.data.prepare import PreparedData, SplitTensors
from mtl_core.data.sampling import epoch_batches
from mtl_core.data.tasks import TaskSpec
from mtl_core.models import MTLModel
from mtl_core.models.registry import architecture_class
from mtl_core.train.device import resolve_device
from mtl_core.train.loop import (
    EVAL_CHUNK,
    EarlyStopping,
    StopSignal,
    divergence_message,
    evaluate,
    initial_model,
    make_optimizer,
    snapshot,
    to_device,
    val_divergence_message,
)
from mtl_core.train.schedules import autocast, curriculum_factors, lr_factor, monitor_score, set_lr
from mtl_core.train.threads import JobThreads, step_flops, training_threads
from mtl_core.weighting.base import FixedWeighting, LossWeighting, WeightingMethod
from mtl_core.weighting.registry import build_weighting, weighting_class

Metrics = dict[str, dict[str, dict[str, float]]]  # split -> task -> metric -> value
# Forward of the stacked members: (params, buffers, x [members, rows, ...], training) ->
# outputs [members, rows, widest output] of each output slot (a member's tasks, in order).
StackedForward = Callable[
    [dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor, bool], list[torch.Tensor]
]
# One layer of the stacked members: (params, hidden [members, rows, ...], training) -> output.
_Layer = Callable[[dict[str, torch.Tensor], torch.Tensor, bool], torch.Tensor]


class Unstackable(RuntimeError):
    """The members' networks cannot be trained as one stack (vmap cannot batch them, or the
    stack does not reproduce a member's own forward)."""


@dataclass(frozen=True)
class EnsembleMember:
    """One network at one seed, as `train_model` would have returned it: the tasks it
    predicts (a baseline's one task, or every task of a multi-task model), its status
    ("completed", "stopped" or "diverged"), its model holding its best checkpoint, and that
    checkpoint's metrics on every split (`{split: {task: {...}}}`)."""

    tasks: tuple[str, ...]
    seed: int
    status: str
    message: str | None
    model: MTLModel
    metrics: Metrics
    steps: int
    epochs: int
    device: str
    seconds: float  # the wall time of the whole ensemble, whose members trained together

    @property
    def task(self) -> str:
        """The one task of a single-task member (ValueError for a multi-task one)."""
        [task] = self.tasks
        return task

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The best checkpoint, loadable into the model built from the member's config."""
        return self.model.state_dict()


def train_ensemble(
    config: ExperimentConfig,
    data: PreparedData,
    members: list[tuple[str, int]],
    stop: StopSignal | None = None,
) -> list[EnsembleMember]:
    """Train one `single_task` network per (task name, seed) in `members` with `config` (the
    baselines' config: architecture `single_task`, equal weighting; each member's seed
    replaces `train.seed`) as one batched ensemble; -> the members, in the order given."""
    _check(config)
    by_name = {task.name: task for task in data.tasks}
    views = {
        name: replace(data, tasks=[by_name[name]])  # evaluate() reads data.tasks
        for name in dict.fromkeys(name for name, _ in members)
    }
    return _train(config, data, [(views[name], seed) for name, seed in members], stop, None)


def train_seeds(
    config: ExperimentConfig,
    data: PreparedData,
    seeds: list[int],
    stop: StopSignal | None = None,
    warm_weights: dict[str, torch.Tensor] | None = None,
) -> list[EnsembleMember] | None:
    """Train the multi-task model of `config` at each of `seeds` (replacing `train.seed`) as
    one batched ensemble, each member as `train_model(config at its seed, data, stop=stop,
    warm_weights=warm_weights)` trains it; -> the members in the order of `seeds`, or None
    when a stack cannot train them exactly (see `stackable`; or vmap cannot batch the
    network): the caller then trains them one after another."""
    if not stackable(config):
        return None
    try:
        return _train(config, data, [(data, seed) for seed in seeds], stop, warm_weights)
    except Unstackable:
        return None


def stackable(config: ExperimentConfig) -> bool:
    """Whether members of `config` train in a stack exactly as each alone, decided from its
    classes: the weighting method's weights are known before each step and nothing in
    training changes them (a `FixedWeighting` that keeps the base step, learns no parameter
    and has no hook after a step or an epoch: equal, static; not GradNorm, whose weights
    learn from the gradients, nor the loss-based adaptive or the gradient methods), and the
    architecture has one optimizer parameter group and no regularization term."""
    method = weighting_class(config.weighting.method)
    model = architecture_class(config.model.architecture)
    return (
        issubclass(method, FixedWeighting)
        and method.step is LossWeighting.step
        and all(
            getattr(method, hook) is getattr(WeightingMethod, hook)
            for hook in ("parameters", "after_step", "after_epoch")
        )
        and model.optimizer_groups is MTLModel.optimizer_groups
        and model.regularization is MTLModel.regularization
    )


def _train(
    config: ExperimentConfig,
    data: PreparedData,
    members: list[tuple[PreparedData, int]],
    stop: StopSignal | None,
    warm_weights: dict[str, torch.Tensor] | None,
) -> list[EnsembleMember]:
    """The loop of `train_model`, for every member (the data of its tasks, its seed) at
    once."""
    with training_threads(config.train.threads) as threads:
        ensemble = _Ensemble.start(config, data, members, stop, threads, warm_weights)
        for epoch in range(1, config.train.epochs + 1):
            if ensemble.stack is None:
                break
            ensemble.begin_epoch(epoch)
            for rows in ensemble.batches():
                if ensemble.stop_requested(epoch) or not ensemble.step(rows):
                    break
            if ensemble.stack is None or not ensemble.end_epoch(epoch):
                break
        return ensemble.finish()


@dataclass
class _Member:
    """One network's training state: its model (whose tensors are views into the stack
    while it trains), the data of its tasks, its weighting method and its early stopping."""

    seed: int
    model: MTLModel
    data: PreparedData  # `data.tasks`: the tasks its network predicts, in output order
    weighting: FixedWeighting
    status: str = "training"
    message: str | None = None
    steps: int = 0
    epochs: int = 0
    stopping: EarlyStopping = field(default_factory=EarlyStopping)
    first_val: dict[str, Any] | None = None

    @property
    def tasks(self) -> list[TaskSpec]:
        return self.data.tasks

    @property
    def training(self) -> bool:
        return self.status == "training"

    def end(self, status: str, message: str | None = None) -> None:
        self.status, self.message = status, message

    def loss_factors(self, config: ExperimentConfig, epoch: int) -> torch.Tensor:
        """[tasks] what each task loss is multiplied by in this epoch's total, as the loop's
        step: its weighting's fixed weight (the same at every step: the weights of a
        stackable method do not depend on the losses) times the task's weight times its
        curriculum ramp."""
        ramps = curriculum_factors(config.train, self.data.task_names, epoch)
        weights = self.weighting.fixed_weights(torch.ones(len(ramps)))
        return weights * torch.tensor(
            [task.weight * ramp for task, ramp in zip(self.tasks, ramps, strict=True)]
        )

    def leave(self) -> None:
        """Out of the stack: the model gets tensors of its own, holding its best checkpoint."""
        with torch.no_grad():
            for _, tensor in _tensors(self.model):
                tensor.data = tensor.data.clone()
        self.model.load_state_dict(self.stopping.best_state)


@dataclass
class _Stack:
    """The members still training, grouped by their tasks: every parameter of every member in one
    flat tensor that the optimizer steps (each parameter a dense [members, ...] block of it,
    keyed by the first member's names, output layers zero-padded to the widest), the
    gradient buffer that backward accumulates into, their seeds' positions in the batch
    rows, and the batched forward."""

    members: list[_Member]
    seed_index: torch.Tensor
    count: int  # members
    flat: torch.Tensor
    grad: torch.Tensor
    layout: list[tuple[str, tuple[int, ...], int]]  # (name, padded shape, offset per member)
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]
    forward: StackedForward

    @classmethod
    def of(cls, members: list[_Member], seeds: list[int], probe: torch.Tensor) -> _Stack:
        """`seeds`: the ensemble's, in the order of its batch rows; `probe`: a few input rows
        on which the stack must reproduce every member's own forward."""
        groups = {
            key: index
            for index, key in enumerate(
                dict.fromkeys(tuple(member.data.task_names) for member in members)
            )
        }
        members = sorted(members, key=lambda member: groups[tuple(member.data.task_names)])
        first = members[0].model
        columns = [[tensor for _, tensor in _tensors(member.model)] for member in members]
        ranks = [tensor.dim() for tensor in columns[0]]
        if any([tensor.dim() for tensor in column] != ranks for column in columns):
            raise RuntimeError("ensemble members must have networks of the same layers")
        stacked = [_padded(list(tensors)) for tensors in zip(*columns, strict=True)]
        names = [name for name, _ in _tensors(first)]
        count = len(list(first.parameters()))
        layout, offset = [], 0
        for name, tensor in zip(names[:count], stacked[:count], strict=True):
            layout.append((name, tuple(tensor.shape[1:]), offset))
            offset += tensor[0].numel()
        flat = torch.cat([tensor.flatten() for tensor in stacked[:count]])
        stack = cls(
            members,
            torch.tensor([seeds.index(m.seed) for m in members], device=probe.device),
            len(members),
            flat,
            torch.zeros_like(flat),
            layout,
            {},
            dict(zip(names[count:], stacked[count:], strict=True)),
            _batched_layers(first) or _vmapped(first),
        )
        stack.bind()
        stack.check(probe)
        return stack

    def bind(self) -> None:
        """The parameters as views into the flat tensor (leaves whose gradients are views
        into the gradient buffer), and each member's model reading its slice of them (views,
        no copies), so that it always holds its live weights."""
        self.params = {}
        for name, shape, _ in self.layout:
            param = self.block(self.flat, name).view(self.count, *shape).requires_grad_()
            param.grad = self.block(self.grad, name).view(self.count, *shape)
            self.params[name] = param
        with torch.no_grad():
            for index, member in enumerate(self.members):
                for (_, tensor), stacked in zip(
                    _tensors(member.model),
                    [*self.params.values(), *self.buffers.values()],
                    strict=True,
                ):
                    tensor.data = stacked[index][tuple(slice(0, n) for n in tensor.shape)]

    def check(self, probe: torch.Tensor) -> None:
        """The stacked forward gives each member's own outputs (eval mode, a few rows);
        Unstackable where it does not, or where vmap cannot batch the network."""
        with torch.inference_mode():
            try:
                stacked = self.forward(self.params, self.buffers, _shared(probe, self.count), False)
            except RuntimeError as error:
                raise Unstackable(f"the network cannot be batched: {error}") from error
            for index, member in enumerate(self.members):
                member.model.eval()
                own = member.model(probe)
                member.model.train()
                for outputs, task in zip(stacked, member.tasks, strict=True):
                    if not torch.allclose(
                        outputs[index, :, : task.output_dim], own[task.name], rtol=1e-4, atol=1e-5
                    ):
                        raise Unstackable(
                            f"the batched ensemble does not reproduce output "
                            f"'{task.name}' of the network at seed {member.seed}"
                        )

    def groups(self) -> Iterator[tuple[list[TaskSpec], int, int]]:
        """(tasks, first, end) of each run of members that predict the same tasks (that
        share one view of the data)."""
        start = 0
        for index, member in enumerate(self.members):
            if index + 1 == len(self.members) or self.members[index + 1].data is not member.data:
                yield member.tasks, start, index + 1
                start = index + 1

    def task_names(self) -> list[str]:
        """Every task some member predicts."""
        return list(dict.fromkeys(task.name for tasks, _, _ in self.groups() for task in tasks))

    def losses(
        self,
        outputs: list[torch.Tensor],
        targets: dict[str, torch.Tensor],
        masks: dict[str, torch.Tensor | None],
    ) -> torch.Tensor:
        """[members, tasks] mean losses over labelled rows, from `outputs` [members, rows,
        widest] per output slot; `targets`, `masks` (None: every row labelled): per task,
        [members, rows, ...]."""
        return torch.cat(
            [
                torch.stack(
                    [
                        _mean_losses(
                            task,
                            outputs[slot][start:end, :, : task.output_dim],
                            targets[task.name][start:end],
                            None if (mask := masks[task.name]) is None else mask[start:end],
                        )
                        for slot, task in enumerate(tasks)
                    ],
                    dim=1,
                )
                for tasks, start, end in self.groups()
            ]
        )

    def train_losses(
        self, train: SplitTensors, rows: torch.Tensor, complete: set[str]
    ) -> torch.Tensor:
        """[members, tasks] training losses, each member on its seed's batch (`rows`:
        [seeds, batch])."""
        rows = rows[self.seed_index]
        names = self.task_names()
        outputs = self.forward(self.params, self.buffers, train.x[rows], True)
        return self.losses(
            outputs,
            {name: train.targets[name][rows] for name in names},
            {name: None if name in complete else train.masks[name][rows] for name in names},
        )

    def val_losses(self, val: SplitTensors) -> torch.Tensor:
        """[members, tasks] losses on the validation rows, as `evaluate` computes them
        (masked, eval mode, in chunks of rows)."""
        count = self.count
        chunks = [
            self.forward(
                self.params, self.buffers, _shared(val.x[i : i + EVAL_CHUNK], count), False
            )
            for i in range(0, len(val), EVAL_CHUNK)
        ]
        outputs = [torch.cat(slot, dim=1) for slot in zip(*chunks, strict=True)]
        names = self.task_names()
        return self.losses(
            outputs,
            {name: _shared(val.targets[name], count) for name in names},
            {name: _shared(val.masks[name], count) for name in names},
        )

    def clip_gradients(self, max_norm: float) -> None:
        """`clip_grad_norm_` for each member on its own: its gradient's total 2-norm."""
        blocks = [self.block(self.grad, name) for name, _, _ in self.layout]
        norms = torch.stack([block.pow(2).sum(1) for block in blocks]).sum(0).sqrt()
        factors = (max_norm / (norms + 1e-6)).clamp(max=1.0).unsqueeze(1)
        for block in blocks:
            block.mul_(factors)

    def block(self, flat: torch.Tensor, name: str) -> torch.Tensor:
        """[members, size] view of one parameter's block in `flat` (the parameters, their
        gradients or the optimizer's state of them)."""
        shape, offset = next((shape, offset) for key, shape, offset in self.layout if key == name)
        size = math.prod(shape)
        return flat[self.count * offset : self.count * (offset + size)].view(self.count, size)

    def rows_of(self, flat: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """`flat` (laid out as the parameters) with only the members at `rows`."""
        return torch.cat([self.block(flat, name)[rows].flatten() for name, _, _ in self.layout])

    def without_stopped(self) -> tuple[_Stack | None, torch.Tensor]:
        """This stack without the members that stopped (None when none is left; the leavers
        take their best checkpoints), and the stacked rows that stay."""
        keep = [index for index, member in enumerate(self.members) if member.training]
        for member in self.members:
            if not member.training:
                member.leave()
        rows = torch.tensor(keep, dtype=torch.long, device=self.seed_index.device)
        if not keep:
            return None, rows
        stack = replace(
            self,
            members=[self.members[i] for i in keep],
            seed_index=self.seed_index[rows],
            count=len(keep),
            flat=self.rows_of(self.flat, rows),
            grad=self.rows_of(self.grad, rows),
            buffers={name: b[rows] for name, b in self.buffers.items()},
        )
        stack.bind()
        return stack, rows


@dataclass
class _Ensemble:
    """The ensemble's state between the named steps of its loop (`_train`)."""

    config: ExperimentConfig
    data: PreparedData
    stop: StopSignal | None
    device: torch.device
    train: SplitTensors
    val: SplitTensors
    complete: set[str]  # tasks whose every training row has a label (no masking)
    members: list[_Member]  # every member, in the caller's order
    stack: _Stack | None  # the members still training
    optimizer: torch.optim.Optimizer | None
    orders: list[torch.Generator]  # one batch order per seed, as the loop's
    threads: JobThreads  # the ensemble's share of the CPU threads, as one training job
    # [stack members, tasks] this epoch's loss factors (`begin_epoch` sets them)
    factors: torch.Tensor = field(default_factory=lambda: torch.empty(0, 0))
    lr_factor: float = 1.0
    started: float = 0.0

    @classmethod
    def start(
        cls,
        config: ExperimentConfig,
        data: PreparedData,
        pairs: list[tuple[PreparedData, int]],
        stop: StopSignal | None,
        threads: JobThreads,
        warm_weights: dict[str, torch.Tensor] | None,
    ) -> _Ensemble:
        """Every member's model from its seed (`pairs`: the data of its tasks, its seed), the
        stack, the optimizer, device copies of the splits, and the CPU threads for a step of
        every member's cost."""
        device = resolve_device(config.train.device)
        train = to_device(data.splits["train"], device)
        val = to_device(
            data.splits["validation"] if len(data.splits["validation"]) else data.splits["train"],
            device,
        )
        seeds = list(dict.fromkeys(seed for _, seed in pairs))
        members = []
        for view, seed in pairs:
            model, _ = initial_model(
                config.model_copy(update={"train": config.train.model_copy(update={"seed": seed})}),
                view,
                device,
                warm_weights,
            )
            member = _Member(
                seed, model, view, _fixed(build_weighting(config.weighting, view.task_names))
            )
            member.stopping.best_state = snapshot(model)  # the loop's first checkpoint
            members.append(member)
        stack = _Stack.of(members, seeds, train.x[:8]) if members else None
        ensemble = cls(
            config,
            data,
            stop,
            device,
            train,
            val,
            {name for name, mask in train.masks.items() if bool(mask.all())},
            members,
            stack,
            None,
            [torch.Generator().manual_seed(s) for s in seeds],
            threads,
        )
        ensemble.optimizer = ensemble.new_optimizer()
        batch = train.x[: config.train.batch_size]
        # The members of a group have the same network: one count of its step's cost each.
        threads.fit(
            sum(
                step_flops(stack.members[start].model, batch) * (end - start)
                for _, start, end in stack.groups()
            )
            if stack
            else 0.0
        )
        ensemble.started = time.perf_counter()
        return ensemble

    def _training(self) -> tuple[_Stack, torch.optim.Optimizer]:
        """The stack of the members still training and its optimizer (the loop's steps run
        only while a member trains)."""
        if self.stack is None or self.optimizer is None:
            raise RuntimeError("no member of the ensemble is training")
        return self.stack, self.optimizer

    def new_optimizer(self) -> torch.optim.Optimizer | None:
        """The configured optimizer over the stack's flat parameters (None when none
        trains)."""
        if self.stack is None:
            return None
        lr = self.config.train.lr
        self.stack.flat.grad = self.stack.grad
        optimizer = make_optimizer(self.config, [{"params": [self.stack.flat], "lr": lr}])
        set_lr(optimizer, [lr], self.lr_factor)
        return optimizer

    def begin_epoch(self, epoch: int) -> None:
        """This epoch's CPU threads (jobs may have started or ended), learning rate and each
        member's task loss factors."""
        self.threads.refresh()
        stack, optimizer = self._training()
        self.lr_factor = lr_factor(self.config.train, epoch)
        set_lr(optimizer, [self.config.train.lr], self.lr_factor)
        self.factors = torch.stack(
            [member.loss_factors(self.config, epoch) for member in stack.members]
        ).to(self.device)

    def batches(self) -> Iterator[torch.Tensor]:
        """[seeds, batch] row indices of each batch of this epoch, one row per seed."""
        train = self.config.train
        per_seed = [
            epoch_batches(
                len(self.train),
                train.batch_size,
                order,
                self.device,
                self.data.splits["train"].sources,
                self.config.data.sampling,
            )
            for order in self.orders
        ]
        for rows in zip(*per_seed, strict=True):
            yield torch.stack(rows)

    def stop_requested(self, epoch: int) -> bool:
        if self.stop is None or not self.stop.is_set():
            return False
        stack, _ = self._training()
        for member in stack.members:
            member.end("stopped", f"stopped by the user at epoch {epoch}")
        self.drop_stopped()
        return True

    def step(self, rows: torch.Tensor) -> bool:
        """One training step of every member still training, each on its seed's batch; a
        member whose loss is not finite stops (diverged). False when none trains."""
        stack, optimizer = self._training()
        with autocast(self.config.train, self.device):
            losses = stack.train_losses(self.train, rows, self.complete).float()
        values = losses.tolist()  # the one host sync of a step
        stack.grad.zero_()  # backward adds into the buffer the flat parameters' update reads
        (losses * self.factors).sum().backward()  # each member's own total, on its own block
        if self.config.train.grad_clip is not None:
            stack.clip_gradients(self.config.train.grad_clip)
        optimizer.step()
        for member, row in zip(stack.members, values, strict=True):
            if all(map(math.isfinite, row)):
                member.steps += 1
            else:
                member.end(
                    "diverged", divergence_message(member.data.task_names, row, member.steps)
                )
        self.drop_stopped()
        return self.stack is not None

    def end_epoch(self, epoch: int) -> bool:
        """Score each member still training on the validation rows as the loop's early
        stopping does, and apply its patience; False when none trains any more."""
        train = self.config.train
        stack, _ = self._training()
        for member, val in zip(stack.members, self.validation(), strict=True):
            member.first_val = member.first_val or val
            score = monitor_score(train, member.data.tasks, val, member.first_val)
            member.epochs = epoch
            if not math.isfinite(score):
                member.end("diverged", val_divergence_message(epoch, member.steps))
            elif not member.stopping.patient(score, member.model, train.patience):
                member.end("completed")
        self.drop_stopped()
        return self.stack is not None

    def validation(self) -> list[dict[str, Any]]:
        """What the monitor reads of each member on the validation rows: the loop's
        `evaluate` when it watches a metric; else only the loss (one batched forward)."""
        stack, _ = self._training()
        if self.config.train.monitor == "metric":
            return [evaluate(member.model, member.data, self.val) for member in stack.members]
        with torch.inference_mode():
            losses = stack.val_losses(self.val).tolist()
        return [
            {task.name: {"loss": loss} for task, loss in zip(member.tasks, row, strict=True)}
            for member, row in zip(stack.members, losses, strict=True)
        ]

    def drop_stopped(self) -> None:
        """Take the members that stopped out of the stack; the optimizer keeps the state of
        the rows that stay."""
        old, old_optimizer = self._training()
        if all(member.training for member in old.members):
            return
        self.stack, rows = old.without_stopped()
        self.optimizer = self.new_optimizer()
        if self.stack is None or self.optimizer is None:
            return
        self.factors = self.factors[rows]
        state = old_optimizer.state.get(old.flat)
        if state:
            self.optimizer.state[self.stack.flat] = {
                key: old.rows_of(value, rows)
                if torch.is_tensor(value) and value.shape == old.flat.shape
                else value
                for key, value in state.items()
            }

    def finish(self) -> list[EnsembleMember]:
        """The members still in the stack take their best checkpoints; every member's
        metrics on every split, by the loop's `evaluate`."""
        seconds = time.perf_counter() - self.started
        for member in self.stack.members if self.stack else ():
            if member.training:
                member.end("completed")
            member.leave()
        self.stack, self.optimizer = None, None
        splits = {
            name: to_device(split, self.device)
            for name, split in self.data.splits.items()
            if len(split)
        }
        return [
            EnsembleMember(
                tuple(member.data.task_names),
                member.seed,
                member.status,
                member.message,
                member.model,
                {
                    name: evaluate(member.model, member.data, split)
                    for name, split in splits.items()
                },
                member.steps,
                member.epochs,
                str(self.device),
                seconds,
            )
            for member in self.members
        ]


def _batched_layers(model: MTLModel) -> StackedForward | None:
    """The stacked forward of a model whose graph (traced by torch.fx) calls only Linear,
    ReLU, Dropout and Identity modules, however they are wired (a tower; a trunk read by
    several heads), as batched matrix products; None for any other model, or one whose
    forward fx cannot trace."""
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception:  # tracing runs the model's own Python: any failure means "not a graph"
        return None
    modules = dict(model.named_modules())
    program: list[tuple[fx.Node, fx.Node, _Layer]] = []  # (node, its input, its layer)
    outputs: Any = None
    for node in graph.nodes:
        if node.op == "output":
            outputs = node.args[0]
        elif (
            node.op == "call_module"
            and len(node.args) == 1
            and not node.kwargs
            and isinstance(modules[node.target], nn.Linear | nn.ReLU | nn.Dropout | nn.Identity)
        ):
            program.append(
                (node, node.args[0], _batched_layer(modules[node.target], str(node.target)))
            )
        elif node.op != "placeholder":
            return None
    if not isinstance(outputs, dict) or list(outputs) != model.task_names:
        return None
    placeholder = next(node for node in graph.nodes if node.op == "placeholder")
    slots = [outputs[name] for name in model.task_names]

    def forward(
        params: dict[str, torch.Tensor],
        buffers: dict[str, torch.Tensor],
        x: torch.Tensor,
        training: bool,
    ) -> list[torch.Tensor]:
        values = {placeholder: x}
        for node, source, layer in program:
            values[node] = layer(params, values[source], training)
        return [values[slot] for slot in slots]

    return forward


def _batched_layer(module: nn.Module, name: str) -> _Layer:
    """Linear (as `baddbmm`), ReLU, Dropout or Identity `module` (at `name` in the model)
    for every stacked member at once."""
    if isinstance(module, nn.Linear):
        weight, bias = f"{name}.weight", f"{name}.bias"
        if module.bias is None:
            return lambda params, hidden, training: torch.bmm(hidden, params[weight].mT)
        return lambda params, hidden, training: torch.baddbmm(
            params[bias].unsqueeze(1), hidden, params[weight].mT
        )
    if isinstance(module, nn.ReLU):
        return lambda params, hidden, training: torch.relu(hidden)
    if isinstance(module, nn.Dropout) and module.p > 0:
        rate = module.p
        return lambda params, hidden, training: (
            F.dropout(hidden, rate, training=True) if training else hidden
        )
    return lambda params, hidden, training: hidden


def _vmapped(model: MTLModel) -> StackedForward:
    """The stacked forward of any model that vmap can batch: `functional_call` under `vmap`
    (dropout draws differ per member)."""
    skeleton = copy.deepcopy(model).to("meta")
    names = list(model.task_names)

    def one(
        params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor
    ) -> list[torch.Tensor]:
        outputs = functional_call(skeleton, (params, buffers), (x,))
        return [outputs[name] for name in names]

    batched = vmap(one, randomness="different")

    def forward(
        params: dict[str, torch.Tensor],
        buffers: dict[str, torch.Tensor],
        x: torch.Tensor,
        training: bool,
    ) -> list[torch.Tensor]:
        skeleton.train(training)
        return batched(params, buffers, x)

    return forward


def _mean_losses(
    task: TaskSpec, outputs: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor | None
) -> torch.Tensor:
    """`task_loss` of k members at once: outputs [k, rows, width], targets [k, rows, ...],
    masks [k, rows] (None: every row labelled) -> [k] (0 for a member with no labelled row)."""
    count, rows = outputs.shape[:2]
    per_row = task.task_kind.loss(
        outputs.reshape(count * rows, -1), targets.reshape(count * rows, *targets.shape[2:]), "none"
    ).reshape(count, rows, -1)
    if masks is None:
        return per_row.mean((1, 2))
    kept = torch.where(masks.unsqueeze(-1), per_row, 0.0)
    return kept.sum((1, 2)) / (masks.sum(1) * per_row.shape[2]).clamp(min=1)


def _shared(tensor: torch.Tensor, count: int) -> torch.Tensor:
    """The same rows for each of `count` members (a view, no copy)."""
    return tensor.expand(count, *tensor.shape)


def _padded(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The tensors stacked on a new dim 0, each zero-padded to the largest shape."""
    shape = [max(sizes) for sizes in zip(*(t.shape for t in tensors), strict=True)]
    stacked = tensors[0].new_zeros(len(tensors), *shape)
    with torch.no_grad():
        for index, tensor in enumerate(tensors):
            stacked[index][tuple(slice(0, n) for n in tensor.shape)] = tensor
    return stacked


def _check(config: ExperimentConfig) -> None:
    """The ensemble trains what `baseline_config` describes, nothing else."""
    if config.model.architecture != "single_task" or config.weighting.method != "equal":
        raise ValueError(
            "train_ensemble trains single-task networks with equal weighting "
            f"(got architecture '{config.model.architecture}', weighting "
            f"'{config.weighting.method}'): pass baseline_config(config)"
        )
    if config.train.curriculum or config.train.warm_start:
        raise ValueError(
            "train_ensemble trains baselines: they have no train.curriculum or train.warm_start"
        )


def _fixed(weighting: WeightingMethod) -> FixedWeighting:
    """`weighting`, of a class `stackable` accepts (the baselines' equal weighting is)."""
    if not isinstance(weighting, FixedWeighting):
        raise TypeError(f"weighting '{weighting.name}' has no fixed weights to stack")
    return weighting


def _tensors(model: MTLModel) -> list[tuple[str, torch.Tensor]]:
    return [*model.named_parameters(), *model.named_buffers()]
