"""The training engine's promises: stop within one batch, divergence keeps the last good
checkpoint, schedules and curriculum, baselines reused from the store, warm start."""

import itertools
import math
import threading

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mtl_core.config import TrainConfig, config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.experiment import run_experiment
from mtl_core.experiment.jobs import TrainingJob
from mtl_core.runs import RunStore
from mtl_core.train.loop import train_model
from mtl_core.train.schedules import curriculum_factors, lr_factor


def test_stop_ends_training_within_one_batch(penguins_config):
    penguins_config["train"]["epochs"] = 20
    config = config_from_dict(penguins_config)
    data = prepare_data(config.data)
    stop, per_epoch = [None], []

    def on_event(event):
        if event["type"] == "start":
            per_epoch.append(event["batches_per_epoch"])
        if event["type"] == "epoch":
            stop[0].set()

    stop[0] = threading.Event()
    result = train_model(config, data, on_event=on_event, stop=stop[0])
    assert result.status == "stopped"
    assert result.steps == per_epoch[0]  # not one step after the request
    assert len(result.history) == 1


def test_a_background_job_stops_and_its_run_is_stored_as_stopped(penguins_config):
    penguins_config["train"]["epochs"] = 500
    job = TrainingJob(config_from_dict(penguins_config), RunStore()).start()
    while not job.snapshot().history:
        job.join(0.05)
    job.stop()
    job.join(60)
    snap = job.snapshot()
    assert snap.state == "finished" and snap.summary["status"] == "stopped"
    assert RunStore().get_run(snap.run_id)["status"] == "stopped"


def test_divergence_is_reported_and_the_last_good_checkpoint_is_kept(penguins_config):
    penguins_config["train"].update(lr=1e6, optimizer="sgd", epochs=5)
    store = RunStore()
    summary = run_experiment(config_from_dict(penguins_config), store)
    assert summary["status"] == "diverged"
    message = summary["message"]
    assert "step" in message and "learning rate" in message
    assert any(f"'{t}'" in message for t in summary["tasks"])
    assert (store.run_dir(summary["run_id"]) / "model.safetensors").is_file()
    from safetensors.torch import load_file

    weights = load_file(str(store.run_dir(summary["run_id"]) / "model.safetensors"))
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert store.get_run(summary["run_id"])["status"] == "diverged"


def test_identical_baselines_are_reused_not_retrained(penguins_config):
    penguins_config["train"].update(baselines=True, epochs=2, seeds=1)
    store = RunStore()
    first = run_experiment(config_from_dict(penguins_config), store)
    stored = store.list_runs(include_baselines=True)
    second = run_experiment(config_from_dict(penguins_config), store)
    after = store.list_runs(include_baselines=True)
    assert len(stored) == 1 + 3 and len(after) == 2 + 3  # no new baseline run
    assert all(t["baseline_reused"] == 1 for t in second["tasks"].values())
    assert all(t["baseline_reused"] == 0 for t in first["tasks"].values())
    assert {n: t["baseline_metrics"] for n, t in first["tasks"].items()} == {
        n: t["baseline_metrics"] for n, t in second["tasks"].items()
    }
    assert [r["id"] for r in store.list_runs()] == [second["run_id"], first["run_id"]]


def test_a_different_seed_trains_new_baselines(penguins_config):
    penguins_config["train"].update(baselines=True, epochs=1, seeds=1)
    store = RunStore()
    run_experiment(config_from_dict(penguins_config), store)
    penguins_config["train"]["seed"] = 1
    run_experiment(config_from_dict(penguins_config), store)
    assert len(store.list_runs(include_baselines=True)) == 2 + 6


def test_several_baseline_seeds_give_a_noise_level(penguins_config):
    penguins_config["train"].update(baselines=True, epochs=2, baseline_seeds=2)
    summary = run_experiment(config_from_dict(penguins_config), RunStore())
    for task in summary["tasks"].values():
        assert len(task["baseline_seeds"]) == 2 and len(task["baseline_runs"]) == 2
        assert task["baseline_metrics"] == pytest.approx(
            {m: sum(s[m] for s in task["baseline_seeds"]) / 2 for m in task["baseline_metrics"]}
        )
        # seed noise (docs/evidence.md): 3 multi-task seeds (auto) against 2 baseline seeds
        assert task["noise"]["baseline_seeds"] == 2 and task["noise"]["seeds"] == 3
        low, high = task["noise"]["seed_ci"]
        assert low <= task["delta"] <= high


def test_warm_start_copies_the_shared_weights(penguins_config):
    store = RunStore()
    source = run_experiment(config_from_dict(penguins_config), store)
    penguins_config["train"].update(
        warm_start=source["run_id"], epochs=1, lr=1e-12, optimizer="sgd", seed=5
    )
    config = config_from_dict(penguins_config)
    from mtl_core.experiment import load_warm_weights

    warm = load_warm_weights(store, source["run_id"])
    model = train_model(config, prepare_data(config.data), warm_weights=warm).model
    shared = {id(p) for p in model.shared_parameters()}
    for name, param in model.named_parameters():
        if id(param) in shared:
            assert torch.allclose(param.detach(), warm[name], atol=1e-6)


@given(st.sampled_from(["constant", "cosine", "step"]), st.integers(1, 200), st.data())
def test_lr_factor_is_at_most_one_and_never_increases(schedule, epochs, draw):
    train = TrainConfig(
        epochs=epochs, schedule=schedule, lr_step_epochs=draw.draw(st.integers(1, 50))
    )
    factors = [lr_factor(train, e) for e in range(1, epochs + 1)]
    assert factors[0] == 1.0
    assert all(0 <= b <= a + 1e-12 <= 1 + 1e-12 for a, b in itertools.pairwise(factors))


@given(st.integers(1, 10), st.integers(0, 5), st.integers(1, 20))
def test_curriculum_task_joins_at_its_epoch_and_ramps_to_one(joins, ramp, epoch):
    train = TrainConfig(curriculum={"b": joins}, curriculum_ramp=ramp)
    a, b = curriculum_factors(train, ["a", "b"], epoch)
    assert a == 1.0
    assert (b == 0.0) == (epoch < joins)
    assert b == 1.0 or epoch < joins + ramp
    assert 0.0 <= b <= 1.0


def test_monitor_on_one_tasks_metric_and_clip_and_schedule_train(penguins_config):
    penguins_config["train"].update(
        monitor="metric",
        monitor_task="species",
        grad_clip=1.0,
        schedule="cosine",
        optimizer="adamw",
        weight_decay=0.01,
        curriculum={"sex": 2},
    )
    config = config_from_dict(penguins_config)
    result = train_model(config, prepare_data(config.data))
    assert result.status == "completed"
    lrs = [h["lr"] for h in result.history]
    assert lrs[0] == config.train.lr and lrs[-1] < lrs[0]
    assert all(math.isfinite(h["score"]) for h in result.history)


def test_two_jobs_at_once_do_not_mix_their_state(penguins_config):
    """Two browser tabs training together: each job ends with exactly the metrics its own
    config gives when trained alone."""
    configs = []
    for seed in (0, 1):
        penguins_config["train"].update(seed=seed, epochs=4)
        configs.append(config_from_dict(penguins_config))
    data = prepare_data(configs[0].data)
    alone = [train_model(c, data).metrics for c in configs]
    jobs = [TrainingJob(c, RunStore(), data=data).start() for c in configs]
    for job in jobs:
        job.join(120)
    summaries = [job.snapshot().summary for job in jobs]
    assert summaries[0]["run_id"] != summaries[1]["run_id"]
    for summary, metrics in zip(summaries, alone, strict=True):
        split = summary["split"]
        assert {n: t["metrics"] for n, t in summary["tasks"].items()} == metrics[split]


@pytest.mark.parametrize("method", ["mgda", "cagrad"])
def test_a_curriculum_does_not_stall_minimum_norm_methods(penguins_config, method):
    """Before a curriculum task joins, its loss is scaled to 0: MGDA and CAGrad must follow the
    tasks that train (weight 0 on the waiting one), as they do once it has joined."""
    penguins_config["train"].update(curriculum={"body_mass": 3}, epochs=2)
    penguins_config["weighting"] = {"method": method}
    config = config_from_dict(penguins_config)
    result = train_model(config, prepare_data(config.data))
    assert result.status == "completed"
    assert all(weights[2] == 0 for weights in result.task_weights)  # never joined in 2 epochs
    assert all(weights[0] + weights[1] > 0 for weights in result.task_weights)
    first, last = result.history[0]["val"], result.history[-1]["val"]
    assert last["species"]["loss"] < first["species"]["loss"]
