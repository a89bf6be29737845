"""The thread policy (mtl_core/train/threads.py): each job's share of the cores, small models
on one thread, `train.threads` honoured and recorded; and a run's times adding up to its wall
time (summary `times`, the Train page's finished message)."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest
from torch.utils.flop_counter import FlopCounterMode

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.errors import UserError
from mtl_core.experiment import run_experiment
from mtl_core.models import build_model
from mtl_core.runs import RunStore
from mtl_core.sweep.worker import init_worker
from mtl_core.train.loop import train_model
from mtl_core.train.threads import (
    LARGE_STEP_FLOPS,
    UPDATE_FLOPS_PER_PARAMETER,
    active_jobs,
    available_cores,
    choose_threads,
    reserve,
    step_flops,
    training_threads,
)
from mtl_core.viz.training import times_text
from tests.conftest import REPO

LARGE = 10 * LARGE_STEP_FLOPS


def test_two_large_jobs_on_two_cores_get_one_thread_each():
    assert [choose_threads("auto", 2, 2, LARGE) for _ in range(2)] == [1, 1]
    assert choose_threads("auto", 2, 1, LARGE) == 2


@given(
    cores=st.integers(1, 256),
    jobs=st.integers(1, 64),
    flops=st.sampled_from([0.0, LARGE_STEP_FLOPS / 2, LARGE_STEP_FLOPS, LARGE]),
)
def test_a_jobs_share_is_never_zero_nor_more_than_the_cores(cores, jobs, flops):
    threads = choose_threads("auto", cores, jobs, flops)
    assert 1 <= threads <= cores
    if jobs <= cores:  # jobs running at once never ask for more threads than there are cores
        assert jobs * threads <= cores
    if flops < LARGE_STEP_FLOPS:
        assert threads == 1


@given(setting=st.integers(1, 64), cores=st.integers(1, 8), jobs=st.integers(1, 8))
def test_a_number_of_threads_is_used_as_it_is(setting, cores, jobs):
    assert choose_threads(setting, cores, jobs, 0.0) == setting


def test_the_cost_of_a_step_is_torchs_count_of_the_forward_three_times_plus_the_updates(
    penguins_config,
):
    config = config_from_dict(penguins_config)
    data = prepare_data(config.data)
    for architecture, params in (("hard", {}), ("mmoe", {"experts": 4})):
        model_config = config.model.model_copy(
            update={"architecture": architecture, "params": params}
        )
        model = build_model(model_config, data.tasks, data.input_kind, data.input_shape)
        batch = data.splits["train"].x[:32]
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(batch)
        parameters = sum(p.numel() for p in model.parameters())
        expected = 3 * counter.get_total_flops() + UPDATE_FLOPS_PER_PARAMETER * parameters
        assert step_flops(model, batch) == expected
        assert model.training  # its mode is left as it was


def test_a_convolution_costs_its_multiply_adds_at_every_output_position():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Flatten())
    rows = 5
    forward = 2 * rows * (8 * 8 * 4) * (1 * 3 * 3)  # 2 x outputs x multiply-adds per output
    parameters = 4 * 9 + 4
    assert step_flops(model, torch.zeros(rows, 1, 8, 8)) == (
        3 * forward + UPDATE_FLOPS_PER_PARAMETER * parameters
    )


def test_jobs_count_while_they_run_and_the_threads_count_comes_back():
    torch.set_num_threads(2)
    try:
        before = active_jobs()
        with training_threads(3) as job:
            assert torch.get_num_threads() == 3 and active_jobs() == before + 1
            with reserve(2) as share:
                assert active_jobs() == before + 3
                assert share == max(1, available_cores() // (before + 3))
            assert job.fit(0.0) == 3  # a number, whatever the cost
        assert active_jobs() == before and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_once_the_last_job_ends_new_threads_start_from_the_count_before_any_job():
    """Job a sets its thread's count (1), which job b's new thread starts from; a ends
    first, b last: new threads start from the count before either (2), not b's 1."""
    torch.set_num_threads(2)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def job_a() -> None:
        with training_threads(1):
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def job_b() -> None:
        with training_threads(1):
            b_in.set()
            a_out.wait(10)

    try:
        first = threading.Thread(target=job_a)
        first.start()
        a_in.wait(10)
        second = threading.Thread(target=job_b)
        second.start()
        first.join(10)
        second.join(10)
        seen: list[int] = []
        fresh = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        fresh.start()
        fresh.join(10)
        assert seen == [2]
    finally:
        torch.set_num_threads(1)


def test_concurrent_auto_jobs_share_the_cores():
    cores = available_cores()
    seen: dict[str, int] = {}
    inside = threading.Barrier(2)

    def job(name: str) -> None:
        with training_threads("auto") as threads:
            inside.wait(10)  # both running
            seen[name] = threads.fit(LARGE)
            inside.wait(10)

    workers = [threading.Thread(target=job, args=(name,)) for name in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert seen == {"a": max(1, cores // 2), "b": max(1, cores // 2)}
    assert active_jobs() == 0


@pytest.mark.slow
def test_a_sweep_worker_process_takes_the_share_it_is_given():
    """As the local engine starts its workers: each one's cores are its share, and its
    threads start there."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=init_worker, initargs=(3,)) as pool:
        assert pool.submit(available_cores).result(120) == 3
        assert pool.submit(torch.get_num_threads).result(120) == 3


def test_a_thread_setting_is_honoured_and_recorded(penguins_config):
    penguins_config["train"].update(epochs=2, threads=3)
    config = config_from_dict(penguins_config)
    during: list[int] = []
    result = train_model(
        config,
        prepare_data(config.data),
        on_event=lambda event: during.append(torch.get_num_threads()),
    )
    assert result.threads == 3 and set(during) == {3}
    assert torch.get_num_threads() == 1  # the test process's count is back
    summary = run_experiment(config, RunStore())
    assert summary["threads"] == 3
    assert RunStore().get_run(summary["run_id"])["summary"]["threads"] == 3


def test_a_small_model_trains_on_one_thread_whatever_the_cores(penguins_config):
    penguins_config["train"]["epochs"] = 1
    torch.set_num_threads(2)
    try:
        config = config_from_dict(penguins_config)
        during: list[int] = []
        result = train_model(
            config,
            prepare_data(config.data),
            on_event=lambda event: during.append(torch.get_num_threads()),
        )
        assert result.threads == 1 and set(during) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


@pytest.mark.parametrize("value", [0, -2, "two"])
def test_the_config_rejects_a_thread_count_below_one(penguins_config, value):
    penguins_config["train"]["threads"] = value
    with pytest.raises(UserError, match="train.threads"):
        config_from_dict(penguins_config)


@pytest.mark.slow
def test_the_parts_of_a_runs_time_add_up_to_its_wall_time(penguins_config):
    penguins_config["train"].update(epochs=3, baselines=True, seeds=2, baseline_seeds=2)
    summary = run_experiment(config_from_dict(penguins_config), RunStore())
    times = summary["times"]
    parts = [times[part] for part in ("preparation", "multi_task", "baselines", "comparison")]
    assert all(part >= 0 for part in parts)
    assert times["baselines"] > 0 and times["multi_task"] >= summary["seconds"]
    assert sum(parts) <= times["wall"] == summary["wall_seconds"]
    # What no part holds (creating the run's record, planning the seeds) is small.
    assert times["wall"] - sum(parts) < max(0.5, 0.1 * times["wall"])
    text = times_text(summary)
    assert text.startswith(f"completed in {times['wall']:.1f} s: ")
    assert "multi-task (2 seeds)" in text and "s baselines" in text


def test_the_finished_message_lists_the_parts_and_leaves_out_baselines_not_trained():
    summary = {
        "status": "completed",
        "seconds": 5.0,
        "noise": {"seeds": 1, "baseline_seeds": 0},
        "times": {
            "preparation": 1.06,
            "multi_task": 6.0,
            "baselines": 0.0,
            "comparison": 0.2,
            "wall": 7.3,
        },
    }
    assert times_text(summary) == (
        "completed in 7.3 s: 1.1 s data, 6.0 s multi-task (1 seed), 0.2 s comparison"
    )
    summary["noise"] = {"seeds": 3, "baseline_seeds": 3}
    summary["times"].update(baselines=6.5, wall=14.2)
    assert times_text(summary) == (
        "completed in 14.2 s: 1.1 s data, 6.0 s multi-task "
        "(3 seeds), 6.5 s baselines, 0.2 s comparison"
    )
    del summary["times"]  # a run stored before the summary had them
    assert times_text(summary) == "completed in 5.0 s (the multi-task model)"


@pytest.mark.slow
def test_the_train_page_says_where_the_time_went_and_the_runs_table_shows_the_wall_time():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.session_state.experiment["train"].update(epochs=2, baselines=False)
    at.switch_page("pages/train.py").run()
    at.button(key="train").click().run()
    at.session_state.job.join(60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    summary = at.session_state.job.snapshot().summary
    assert at.success[0].value == (
        f"Run {summary['run_id']}: {times_text(summary)}, on {summary['device']}"
    )
    assert " s data, " in at.success[0].value and "multi-task (1 seed)" in at.success[0].value
    at.switch_page("pages/runs.py").run()
    table = at.dataframe[0].value
    row = table[table["run"] == summary["run_id"]].iloc[0]
    assert row["seconds"] == summary["wall_seconds"] > summary["seconds"]
