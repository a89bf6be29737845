"""Where a sweep's runs execute: a local process pool (spawned workers, the default) or a
Ray cluster (`ray` is optional and imported only when asked for). Both call
`worker.train_subset` wave after wave (the singles, whose baselines the larger subsets
reuse, before the rest) and yield each finished subset as soon as it is done; after a stop,
work not yet started is cancelled and running work ends within a batch."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from types import ModuleType
from typing import Any

from mtl_core.errors import UserError
from mtl_core.sweep.worker import StopFlag, init_worker, train_subset
from mtl_core.train.threads import reserve

Job = tuple[tuple[str, ...], dict[str, Any]]  # (subset, the full experiment's config)
Outcome = tuple[tuple[str, ...], dict[str, Any] | None, str | None]  # subset, summary, error
POLL_SECONDS = 0.5


def run_local(
    waves: list[list[Job]], runs_dir: str, flag: StopFlag, stop: threading.Event, workers: int
) -> Iterator[Outcome]:
    context = multiprocessing.get_context("spawn")
    processes = min(workers, max(len(jobs) for jobs in waves))
    # The workers count as this process's training jobs while the pool runs, and each gets
    # its share of the cores (the app's own jobs meanwhile get theirs).
    with (
        reserve(processes) as share,
        ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=init_worker, initargs=(share,)
        ) as pool,
    ):
        for jobs in waves:
            if flag.is_set():
                return
            futures = {
                pool.submit(train_subset, config, list(subset), runs_dir, flag.path): subset
                for subset, config in jobs
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                if stop.is_set() and not flag.is_set():
                    flag.set()
                    for future in pending:
                        future.cancel()
                for future in done:
                    if future.cancelled():
                        continue
                    error = future.exception()
                    yield futures[future], None if error else future.result(), _describe(error)


def _ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise UserError(
            "the Ray engine needs the optional package 'ray' (pip install ray), "
            "or use --engine local"
        ) from None
    return ray


def run_ray(
    waves: list[list[Job]],
    runs_dir: str,
    flag: StopFlag,
    stop: threading.Event,
    workers: int,
    address: str | None,
) -> Iterator[Outcome]:
    """On a cluster (`address`), mtl_core must be importable on every node and the run store
    folder must be one that every node can write (shared storage)."""
    ray = _ray()
    started_here = not ray.is_initialized()
    if started_here:
        repo = str(Path(__file__).resolve().parents[2])
        try:
            if address:
                ray.init(address=address, logging_level="ERROR")
            else:
                ray.init(
                    num_cpus=workers,
                    include_dashboard=False,
                    logging_level="ERROR",
                    runtime_env={"env_vars": {"PYTHONPATH": repo}},
                )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise UserError(
                f"cannot start or reach Ray at '{address or 'local'}': {error}"
            ) from None
    try:
        remote = ray.remote(num_cpus=1)(train_subset)
        for jobs in waves:
            if flag.is_set():
                return
            refs = {
                remote.remote(config, list(subset), runs_dir, flag.path): subset
                for subset, config in jobs
            }
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=POLL_SECONDS)
                if stop.is_set() and not flag.is_set():
                    flag.set()
                    for ref in pending:
                        ray.cancel(ref)
                for ref in done:
                    try:
                        yield refs[ref], ray.get(ref), None
                    except ray.exceptions.TaskCancelledError:
                        continue
                    except ray.exceptions.RayError as error:
                        yield refs[ref], None, _describe(error)
    finally:
        if started_here:
            ray.shutdown()


def _describe(error: BaseException | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, UserError):
        return str(error)
    return f"{type(error).__name__}: {error}".splitlines()[0]
