"""How many intra-op (torch) threads a training job uses: its share of the cores, so that
jobs running at once (the app's background jobs, a sweep's worker processes) never ask for
more threads than there are cores.

The rule (`choose_threads`), for `train.threads: "auto"`:
- a small job gets 1 thread: one whose step costs under `LARGE_STEP_FLOPS` (10^9 floating
  point operations: 3 x its forward on one batch as torch's flop counter counts it, plus 10
  per parameter for the gradient and optimizer updates). Its matrices are too small for
  threads to pay off, and on a loaded machine their spinning costs up to 30x;
- a larger one gets `cores // jobs` (at least 1): `cores` are the ones this process may use
  (`available_cores`), `jobs` the training jobs running at once in this process, counting the
  workers of a sweep it runs (`reserve`).
An int setting is used as it is. A sweep worker process is told its share of the machine
(`limit_process`), which is then its `cores`.

torch keeps the thread count per calling thread once that thread has run parallel work
(OpenMP), and new threads start from the last count set: a job sets its count on its own
thread when it starts, again at each epoch (a job that started or ended elsewhere changes
the share), and puts the thread's previous count back when it ends (the count from before
any job began, once the last one ends: the one new threads start from)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

LARGE_STEP_FLOPS = 1e9
# Floating point operations per parameter per step outside the forward and backward:
# gradient zeroing and accumulation, clipping, and Adam's update of its two moments.
UPDATE_FLOPS_PER_PARAMETER = 10

Setting = Literal["auto"] | int
_LOCK = threading.Lock()


@dataclass
class _Process:
    jobs: int = 0  # training jobs (and reserved sweep workers) running now
    cores: int | None = None  # this process's share of the machine, when a sweep gave one
    training: int = 0  # jobs training in this process's threads now
    idle_threads: int = 1  # the count before the first of them began: back when all ended


_PROCESS = _Process()


def machine_cores() -> int:
    """The cores this process may run on (its CPU affinity), capped by `OMP_NUM_THREADS`
    when the user (or Ray, for its workers) set it."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity outside Linux
        cores = os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(cores, int(limit))) if limit.isdigit() and int(limit) > 0 else cores


def available_cores() -> int:
    """The cores this process's jobs share: its sweep share, else the machine's."""
    with _LOCK:
        share = _PROCESS.cores
    return share if share is not None else machine_cores()


def active_jobs() -> int:
    """Training jobs running now in this process, with its sweep workers."""
    with _LOCK:
        return _PROCESS.jobs


def choose_threads(setting: Setting, cores: int, jobs: int, step_flops: float) -> int:
    """The module docstring's rule: `setting` when an int, else 1 for a small job and
    `cores // jobs` (at least 1) for a large one."""
    if setting != "auto":
        return setting
    if step_flops < LARGE_STEP_FLOPS:
        return 1
    return max(1, cores // max(1, jobs))


def step_flops(model: nn.Module, batch: torch.Tensor) -> float:
    """A training step's cost in floating point operations: 3 x the forward's on `batch` (the
    backward costs about twice the forward), as torch's flop counter counts it, plus the
    per-parameter updates. The forward runs in eval mode without gradients, so it draws no
    random numbers."""
    training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            model(batch)
    finally:
        model.train(training)
    parameters = sum(p.numel() for p in model.parameters())
    return 3.0 * counter.get_total_flops() + UPDATE_FLOPS_PER_PARAMETER * parameters


@dataclass
class JobThreads:
    """One training job's threads: `fit` once its step's cost is known, `refresh` at each
    epoch; `threads` is the count it started training with."""

    setting: Setting
    step_flops: float = 0.0
    threads: int = 1
    current: int = 0

    def fit(self, flops: float) -> int:
        """Set this thread's count for a job whose step costs `flops`; -> the count."""
        self.step_flops = flops
        self.threads = self.refresh()
        return self.threads

    def refresh(self) -> int:
        """Set this thread's count from the jobs running now; -> the count."""
        count = choose_threads(self.setting, available_cores(), active_jobs(), self.step_flops)
        if count != self.current:
            torch.set_num_threads(count)
            self.current = count
        return count


@contextmanager
def training_threads(setting: Setting) -> Iterator[JobThreads]:
    """Count one training job as running while the block runs, on 1 thread until `fit`
    says more; the calling thread's previous count comes back at the end, or the count from
    before any job began when it is the last to end."""
    previous = torch.get_num_threads()
    with _LOCK:
        if _PROCESS.training == 0:
            _PROCESS.idle_threads = previous
        _PROCESS.training += 1
    try:
        with reserve(1):
            job = JobThreads(setting)
            job.refresh()
            yield job
    finally:
        with _LOCK:
            _PROCESS.training -= 1
            restore = _PROCESS.idle_threads if _PROCESS.training == 0 else previous
        torch.set_num_threads(restore)


@contextmanager
def reserve(jobs: int) -> Iterator[int]:
    """Count `jobs` more training jobs as running while the block runs (a sweep's workers);
    -> each one's share of the cores (`available_cores() // jobs running`, at least 1)."""
    with _LOCK:
        _PROCESS.jobs += jobs
        running = _PROCESS.jobs
    try:
        yield max(1, available_cores() // running)
    finally:
        with _LOCK:
            _PROCESS.jobs -= jobs


def limit_process(cores: int) -> None:
    """Make `cores` this process's share of the machine (a sweep worker's), and use that
    many threads until a job says otherwise."""
    with _LOCK:
        _PROCESS.cores = cores
    torch.set_num_threads(cores)
