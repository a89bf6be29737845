"""Independent single-task networks (tasks x seeds) trained in one loop, as one batched
ensemble: the parameters of every member are stacked along a leading dimension and all
members step together, so the baselines of a comparison cost about one run's steps instead
of one run per task and seed.

Each member is trained as `train_model` trains it alone (the baselines' config at its seed,
on the data of its one task): the same initial weights (`torch.manual_seed(seed)`, then the
`single_task` model built as the loop builds it), the same batches in the same order (one
order generator per seed, as the loop's), the same optimizer settings, learning-rate
schedule, label masks, task loss weight and loss function, gradient clipping per member, and
early stopping per member with the loop's monitor and patience: each keeps its own best
checkpoint, and a member whose patience ran out (or whose loss stopped being finite) leaves
the stack while the others go on. Dropout draws differ per member, but are not the loop's.

How the stack computes: the towers of different tasks differ only in their output width,
so every member's output layer is zero-padded to the widest (padded rows get no gradient
and stay 0). A tower that is a plain stack of Linear / ReLU / Dropout runs as batched matrix
products (`torch.baddbmm`); any other (image, text encoders) under `torch.func.vmap` of
`functional_call`, which costs about 0.2 ms of Python per call more."""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from mtl_core.config import ExperimentConfig
from mtl_core.data.prepare import PreparedData, SplitTensors
from mtl_core.data.sampling import epoch_batches
from mtl_core.data.tasks import TaskSpec
from mtl_core.models import MTLModel, build_model
from mtl_core.train.device import resolve_device
from mtl_core.train.loop import _INIT_LOCK, EVAL_CHUNK, evaluate, make_optimizer
from mtl_core.train.schedules import autocast, lr_factor, monitor_score, set_lr
from mtl_core.train.threads import JobThreads, step_flops, training_threads

Metrics = dict[str, dict[str, dict[str, float]]]  # split -> task -> metric -> value
# Forward of the stacked members: (params, buffers, x [members, rows, ...], training) ->
# outputs [members, rows, widest output].
StackedForward = Callable[[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor, bool],
                          torch.Tensor]


@dataclass(frozen=True)
class EnsembleMember:
    """One (task, seed) network, as `train_model` would have returned it: its status
    ("completed", "stopped" or "diverged"), its `single_task` model holding its best
    checkpoint, and that checkpoint's metrics on every split (`{split: {task: {...}}}`)."""

    task: str
    seed: int
    status: str
    message: str | None
    model: MTLModel
    metrics: Metrics
    steps: int
    epochs: int
    device: str
    seconds: float  # the wall time of the whole ensemble, whose members trained together

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The best checkpoint, loadable into the `single_task` model of this one task."""
        return self.model.state_dict()


def train_ensemble(
    config: ExperimentConfig,
    data: PreparedData,
    members: list[tuple[str, int]],
    stop: threading.Event | None = None,
) -> list[EnsembleMember]:
    """Train one `single_task` network per (task name, seed) in `members` with `config` (the
    baselines' config: architecture `single_task`, equal weighting; each member's seed
    replaces `train.seed`) as one batched ensemble; -> the members, in the order given."""
    with training_threads(config.train.threads) as threads:
        ensemble = _Ensemble.start(config, data, members, stop, threads)
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
    while it trains), the data of its task, and its early stopping."""

    task: TaskSpec
    seed: int
    model: MTLModel
    data: PreparedData
    status: str = "training"
    message: str | None = None
    steps: int = 0
    epochs: int = 0
    best_score: float = float("inf")
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    first_val: dict[str, Any] | None = None
    stale: int = 0

    @property
    def training(self) -> bool:
        return self.status == "training"

    @property
    def width(self) -> int:
        return self.task.output_dim

    def end(self, status: str, message: str | None = None) -> None:
        self.status, self.message = status, message

    def patient(self, score: float, patience: int | None) -> bool:
        """The loop's early stopping: keep the best checkpoint; False once `patience` epochs
        in a row did not improve on it."""
        if score < self.best_score - 1e-6:
            self.best_score, self.best_state, self.stale = score, _snapshot(self.model), 0
            return True
        self.stale += 1
        return not (patience and self.stale >= patience)

    def leave(self) -> None:
        """Out of the stack: the model gets tensors of its own, holding its best checkpoint."""
        with torch.no_grad():
            for _, tensor in _tensors(self.model):
                tensor.data = tensor.data.clone()
        self.model.load_state_dict(self.best_state)


@dataclass
class _Stack:
    """The members still training, grouped by task: every parameter of every member in one
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
        tasks = list(dict.fromkeys(member.task.name for member in members))
        members = sorted(members, key=lambda member: tasks.index(member.task.name))
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
        stack = cls(members, torch.tensor([seeds.index(m.seed) for m in members],
                                          device=probe.device), len(members),
                    flat, torch.zeros_like(flat), layout, {},
                    dict(zip(names[count:], stacked[count:], strict=True)),
                    _batched_mlp(first) or _vmapped(first))
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
                for (_, tensor), stacked in zip(_tensors(member.model),
                                                [*self.params.values(), *self.buffers.values()],
                                                strict=True):
                    tensor.data = stacked[index][tuple(slice(0, n) for n in tensor.shape)]

    def check(self, probe: torch.Tensor) -> None:
        """The stacked forward gives each member's own outputs (eval mode, a few rows)."""
        with torch.inference_mode():
            stacked = self.forward(self.params, self.buffers, _shared(probe, self.count), False)
            for member, outputs in zip(self.members, stacked, strict=True):
                member.model.eval()
                own = member.model(probe)[member.task.name]
                member.model.train()
                if not torch.allclose(outputs[..., :member.width], own, rtol=1e-4, atol=1e-5):
                    raise RuntimeError(f"the batched ensemble does not reproduce the network of "
                                       f"task '{member.task.name}' (seed {member.seed})")

    def groups(self) -> Iterator[tuple[TaskSpec, int, int]]:
        """(task, first, end) of each task's run of members."""
        start = 0
        for index, member in enumerate(self.members):
            if index + 1 == len(self.members) or self.members[index + 1].task is not member.task:
                yield member.task, start, index + 1
                start = index + 1

    def losses(self, outputs: torch.Tensor, targets: dict[str, torch.Tensor],
               masks: dict[str, torch.Tensor | None]) -> torch.Tensor:
        """[members] mean losses over labelled rows, from `outputs` [members, rows, widest];
        `targets`, `masks` (None: every row labelled): per task, [members, rows, ...]."""
        return torch.cat([
            _mean_losses(task, outputs[start:end, :, :task.output_dim],
                         targets[task.name][start:end],
                         None if masks[task.name] is None else masks[task.name][start:end])
            for task, start, end in self.groups()])

    def train_losses(self, train: SplitTensors, rows: torch.Tensor,
                     complete: set[str]) -> torch.Tensor:
        """[members] training losses, each on its seed's batch (`rows`: [seeds, batch])."""
        rows = rows[self.seed_index]
        names = [task.name for task, _, _ in self.groups()]
        outputs = self.forward(self.params, self.buffers, train.x[rows], True)
        return self.losses(outputs, {name: train.targets[name][rows] for name in names},
                           {name: None if name in complete else train.masks[name][rows]
                            for name in names})

    def val_losses(self, val: SplitTensors) -> torch.Tensor:
        """[members] losses on the validation rows, as `evaluate` computes them (masked, eval
        mode, in chunks of rows)."""
        count = self.count
        outputs = torch.cat([
            self.forward(self.params, self.buffers, _shared(val.x[i:i + EVAL_CHUNK], count),
                         False) for i in range(0, len(val), EVAL_CHUNK)], dim=1)
        names = [task.name for task, _, _ in self.groups()]
        return self.losses(outputs, {name: _shared(val.targets[name], count) for name in names},
                           {name: _shared(val.masks[name], count) for name in names})

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
        shape, offset = next((shape, offset) for key, shape, offset in self.layout
                             if key == name)
        size = math.prod(shape)
        return flat[self.count * offset:self.count * (offset + size)].view(self.count, size)

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
            self, members=[self.members[i] for i in keep], seed_index=self.seed_index[rows],
            count=len(keep), flat=self.rows_of(self.flat, rows),
            grad=self.rows_of(self.grad, rows),
            buffers={name: b[rows] for name, b in self.buffers.items()})
        stack.bind()
        return stack, rows


@dataclass
class _Ensemble:
    """The ensemble's state between the named steps of `train_ensemble`."""

    config: ExperimentConfig
    data: PreparedData
    stop: threading.Event | None
    device: torch.device
    train: SplitTensors
    val: SplitTensors
    complete: set[str]  # tasks whose every training row has a label (no masking)
    members: list[_Member]  # every member, in the caller's order
    stack: _Stack | None  # the members still training
    optimizer: torch.optim.Optimizer | None
    orders: list[torch.Generator]  # one batch order per seed, as the loop's
    threads: JobThreads  # the ensemble's share of the CPU threads, as one training job
    lr_factor: float = 1.0
    started: float = 0.0

    @classmethod
    def start(cls, config: ExperimentConfig, data: PreparedData, pairs: list[tuple[str, int]],
              stop: threading.Event | None, threads: JobThreads) -> _Ensemble:
        """Every member's model from its seed, the stack, the optimizer, device copies of
        the splits, and the CPU threads for a step of every member's cost."""
        _check(config)
        device = resolve_device(config.train.device)
        train = _on_device(data.splits["train"], device)
        val = _on_device(data.splits["validation"] if len(data.splits["validation"]) else
                         data.splits["train"], device)
        by_name = {task.name: task for task in data.tasks}
        views = {name: replace(data, tasks=[by_name[name]])  # evaluate() reads data.tasks
                 for name in dict.fromkeys(name for name, _ in pairs)}
        seeds = list(dict.fromkeys(seed for _, seed in pairs))
        members = []
        for name, seed in pairs:
            model = _initial_model(config, views[name], seed, device)
            members.append(_Member(by_name[name], seed, model, views[name],
                                   best_state=_snapshot(model)))  # the loop's first checkpoint
        stack = _Stack.of(members, seeds, train.x[:8]) if members else None
        ensemble = cls(config, data, stop, device, train, val,
                       {name for name, mask in train.masks.items() if bool(mask.all())},
                       members, stack, None, [torch.Generator().manual_seed(s) for s in seeds],
                       threads)
        ensemble.optimizer = ensemble.new_optimizer()
        batch = train.x[:config.train.batch_size]
        threads.fit(sum(step_flops(member.model, batch) for member in members))
        ensemble.started = time.perf_counter()
        return ensemble

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
        """This epoch's CPU threads (jobs may have started or ended) and learning rate."""
        self.threads.refresh()
        self.lr_factor = lr_factor(self.config.train, epoch)
        set_lr(self.optimizer, [self.config.train.lr], self.lr_factor)

    def batches(self) -> Iterator[torch.Tensor]:
        """[seeds, batch] row indices of each batch of this epoch, one row per seed."""
        train = self.config.train
        per_seed = [epoch_batches(len(self.train), train.batch_size, order, self.device,
                                  self.data.splits["train"].sources, self.config.data.sampling)
                    for order in self.orders]
        for rows in zip(*per_seed, strict=True):
            yield torch.stack(rows)

    def stop_requested(self, epoch: int) -> bool:
        if self.stop is None or not self.stop.is_set():
            return False
        for member in self.stack.members:
            member.end("stopped", f"stopped by the user at epoch {epoch}")
        self.drop_stopped()
        return True

    def step(self, rows: torch.Tensor) -> bool:
        """One training step of every member still training, each on its seed's batch; a
        member whose loss is not finite stops (diverged). False when none trains."""
        stack = self.stack
        with autocast(self.config.train, self.device):
            losses = stack.train_losses(self.train, rows, self.complete).float()
        values = losses.tolist()  # the one host sync of a step
        weights = [member.task.weight for member in stack.members]
        total = (losses if all(w == 1.0 for w in weights) else
                 losses * torch.tensor(weights, device=self.device)).sum()
        stack.grad.zero_()  # backward adds into the buffer the flat parameters' update reads
        total.backward()
        if self.config.train.grad_clip is not None:
            stack.clip_gradients(self.config.train.grad_clip)
        self.optimizer.step()
        for member, value in zip(stack.members, values, strict=True):
            if math.isfinite(value):
                member.steps += 1
            else:
                member.end("diverged", f"training diverged at step {member.steps}: the loss "
                           f"became {value}; the last good checkpoint was kept")
        self.drop_stopped()
        return self.stack is not None

    def end_epoch(self, epoch: int) -> bool:
        """Score each member still training on the validation rows as the loop's early
        stopping does, and apply its patience; False when none trains any more."""
        train = self.config.train
        for member, val in zip(self.stack.members, self.validation(), strict=True):
            member.first_val = member.first_val or val
            score = monitor_score(train, member.data.tasks, val, member.first_val)
            member.epochs = epoch
            if not math.isfinite(score):
                member.end("diverged", f"training diverged in epoch {epoch}: the validation "
                           "loss is not finite; the last good checkpoint was kept")
            elif not member.patient(score, train.patience):
                member.end("completed")
        self.drop_stopped()
        return self.stack is not None

    def validation(self) -> list[dict[str, Any]]:
        """What the monitor reads of each member on the validation rows: the loop's
        `evaluate` when it watches a metric; else only the loss (one batched forward)."""
        stack = self.stack
        if self.config.train.monitor == "metric":
            return [evaluate(member.model, member.data, self.val) for member in stack.members]
        with torch.inference_mode():
            losses = stack.val_losses(self.val).tolist()
        return [{member.task.name: {"loss": loss}}
                for member, loss in zip(stack.members, losses, strict=True)]

    def drop_stopped(self) -> None:
        """Take the members that stopped out of the stack; the optimizer keeps the state of
        the rows that stay."""
        old = self.stack
        if all(member.training for member in old.members):
            return
        self.stack, rows = old.without_stopped()
        old_optimizer, self.optimizer = self.optimizer, self.new_optimizer()
        if self.stack is None:
            return
        state = old_optimizer.state.get(old.flat)
        if state:
            self.optimizer.state[self.stack.flat] = {
                key: old.rows_of(value, rows) if torch.is_tensor(value)
                and value.shape == old.flat.shape else value for key, value in state.items()}

    def finish(self) -> list[EnsembleMember]:
        """The members still in the stack take their best checkpoints; every member's
        metrics on every split, by the loop's `evaluate`."""
        seconds = time.perf_counter() - self.started
        for member in self.stack.members if self.stack else ():
            if member.training:
                member.end("completed")
            member.leave()
        self.stack, self.optimizer = None, None
        splits = {name: _on_device(split, self.device)
                  for name, split in self.data.splits.items() if len(split)}
        return [EnsembleMember(
            member.task.name, member.seed, member.status, member.message, member.model,
            {name: evaluate(member.model, member.data, split) for name, split in splits.items()},
            member.steps, member.epochs, str(self.device), seconds) for member in self.members]


def _batched_mlp(model: MTLModel) -> StackedForward | None:
    """The stacked forward of a model that is one chain of Linear / ReLU / Dropout (and
    Identity) layers, as batched matrix products; None for any other model."""
    layers: list[tuple[str, Any]] = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            layers.append(("linear", name))
        elif isinstance(module, nn.ReLU | nn.Dropout):
            layers.append((type(module).__name__, getattr(module, "p", 0.0)))
        elif not isinstance(module, nn.Identity) and not list(module.children()):
            return None

    def forward(params, buffers, x, training):
        hidden = x
        for kind, value in layers:
            if kind == "linear":
                hidden = torch.baddbmm(params[f"{value}.bias"].unsqueeze(1), hidden,
                                       params[f"{value}.weight"].transpose(1, 2))
            elif kind == "ReLU":
                hidden = torch.relu(hidden)
            elif training and value > 0:
                hidden = F.dropout(hidden, value, training=True)
        return hidden

    return forward


def _vmapped(model: MTLModel) -> StackedForward:
    """The stacked forward of any model: `functional_call` under `vmap` (dropout draws
    differ per member)."""
    skeleton = copy.deepcopy(model).to("meta")
    task_name = model.task_names[0]

    def one(params, buffers, x):
        return functional_call(skeleton, (params, buffers), (x,))[task_name]

    batched = vmap(one, randomness="different")

    def forward(params, buffers, x, training):
        skeleton.train(training)
        return batched(params, buffers, x)

    return forward


def _mean_losses(task: TaskSpec, outputs: torch.Tensor, targets: torch.Tensor,
                 masks: torch.Tensor | None) -> torch.Tensor:
    """`task_loss` of k members at once: outputs [k, rows, width], targets [k, rows, ...],
    masks [k, rows] (None: every row labelled) -> [k] (0 for a member with no labelled row)."""
    count, rows = outputs.shape[:2]
    per_row = task.task_kind.loss(outputs.reshape(count * rows, -1),
                                  targets.reshape(count * rows, *targets.shape[2:]),
                                  "none").reshape(count, rows, -1)
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
        raise ValueError("train_ensemble trains single-task networks with equal weighting "
                         f"(got architecture '{config.model.architecture}', weighting "
                         f"'{config.weighting.method}'): pass baseline_config(config)")
    if config.train.curriculum or config.train.warm_start:
        raise ValueError("train_ensemble does not apply train.curriculum or train.warm_start")


def _initial_model(config: ExperimentConfig, data: PreparedData, seed: int,
                   device: torch.device) -> MTLModel:
    """The model `train_model` starts from at this seed (built under the loop's lock on the
    global RNG)."""
    with _INIT_LOCK:
        torch.manual_seed(seed)
        model = build_model(config.model, data.tasks, data.input_kind, data.input_shape)
    return model.to(device)


def _tensors(model: MTLModel) -> list[tuple[str, torch.Tensor]]:
    return [*model.named_parameters(), *model.named_buffers()]


def _snapshot(model: MTLModel) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _on_device(split: SplitTensors, device: torch.device) -> SplitTensors:
    return SplitTensors(split.x.to(device), {k: v.to(device) for k, v in split.targets.items()},
                        {k: v.to(device) for k, v in split.masks.items()})
