"""The multi-task model at several seeds as one batched ensemble (`train_seeds` in
mtl_core/train/ensemble.py): each member is the run `train_model` gives at its seed, and
configs a stack cannot train exactly fall back to one run after another.

Tolerance: batched kernels (`baddbmm` over the members, or vmap) and the masked mean
written as a sum over labelled rows / their count add float32 rounding (~1e-7) per step,
which Adam carries over a few hundred steps to ~1e-6 in most weights, and MMoE's softmax
gates to a few 1e-5 in some; so weights are compared at rtol 1e-3 / atol 1e-4 and metrics
at rel 1e-4. Status, epochs, step counts (which early stopping and divergence decide) and
messages must be equal."""

from __future__ import annotations

import threading

import pytest
import torch

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.experiment import run_experiment
from mtl_core.experiment.baselines import seeded
from mtl_core.models.registry import architecture_names
from mtl_core.train.ensemble import EnsembleMember, stackable, train_seeds
from mtl_core.train.loop import TrainResult, train_model
from mtl_core.weighting.base import FixedWeighting
from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import weighting_class, weighting_names

TASKS = [
    {"name": "species", "column": "species"},  # every label present
    {"name": "sex", "column": "sex", "kind": "binary"},  # 11 labels missing: masked
    {"name": "body_mass", "column": "body_mass_g", "kind": "regression"},
]
STATIC = {"method": "static", "params": {"weights": {"sex": 2.0, "body_mass": 0.5}}}


def _config(architecture: str = "hard", weighting: dict | None = None, tasks=TASKS, **train):
    return config_from_dict(
        {
            "data": {"source": "sample_data/penguins", "tasks": tasks},
            "model": {"architecture": architecture, "shared": [32, 16], "head": [8]},
            "weighting": weighting or {"method": "equal"},
            "train": {
                "epochs": 30,
                "batch_size": 32,
                "lr": 0.01,
                "device": "cpu",
                "patience": 3,
                "baselines": False,
                **train,
            },
        }
    )


@pytest.fixture(scope="module")
def data():
    return prepare_data(_config().data)


def _assert_same(member: EnsembleMember, alone: TrainResult, rel: float = 1e-4) -> None:
    assert (member.status, member.message, member.epochs, member.steps) == (
        alone.status,
        alone.message,
        len(alone.history),
        alone.steps,
    )
    assert set(member.metrics) == set(alone.metrics)
    for split, tasks in alone.metrics.items():
        assert set(member.metrics[split]) == set(tasks)
        for task, metrics in tasks.items():
            got = member.metrics[split][task]
            assert set(got) == set(metrics)
            for metric, value in metrics.items():
                assert got[metric] == pytest.approx(value, rel=rel, abs=1e-6), (split, task, metric)
    weights = alone.model.state_dict()
    assert set(member.state_dict()) == set(weights)
    for key, value in weights.items():
        torch.testing.assert_close(member.state_dict()[key], value, rtol=1e-3, atol=1e-4)


def _trained_together(config, data, seeds, stop=None) -> list[EnsembleMember]:
    members = train_seeds(config, data, seeds, stop)
    assert members is not None, "the config should train as one stack"
    assert [member.seed for member in members] == seeds
    assert all(member.tasks == tuple(data.task_names) for member in members)
    return members


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["hard", "mmoe"])
@pytest.mark.parametrize("weighting", [{"method": "equal"}, STATIC], ids=["equal", "static"])
def test_each_seed_is_its_own_train_model_run(data, architecture, weighting):
    config = _config(architecture, weighting)
    seeds = [1, 2]
    members = _trained_together(config, data, seeds)
    # Patience 3 stops the seeds at different epochs: each keeps its own best checkpoint
    # while the others go on.
    assert len({member.epochs for member in members}) > 1
    assert min(member.epochs for member in members) < config.train.epochs
    for member in members:
        _assert_same(member, train_model(seeded(config, member.seed), data))


def test_curriculum_task_weights_optimizer_clipping_and_metric_monitor_as_the_loop(data):
    tasks = [dict(task, weight=3.0) if task["name"] == "species" else task for task in TASKS]
    config = _config(
        "hard",
        STATIC,
        tasks,
        optimizer="sgd",
        lr=0.05,
        schedule="cosine",
        grad_clip=0.5,
        weight_decay=1e-3,
        monitor="metric",
        epochs=12,
        curriculum={"body_mass": 4},
    )
    for member in _trained_together(config, data, [0, 5]):
        _assert_same(member, train_model(seeded(config, member.seed), data))


def test_a_seed_whose_loss_diverges_stops_and_the_others_go_on():
    # A loss weight of 30 on body mass makes SGD's steps too large for seed 0 only.
    tasks = [dict(task, weight=30.0) if task["name"] == "body_mass" else task for task in TASKS]
    config = _config(tasks=tasks, optimizer="sgd", epochs=3, patience=None)
    data = prepare_data(config.data)
    alone = [train_model(seeded(config, seed), data) for seed in (0, 1, 2)]
    assert [run.status for run in alone] == ["diverged", "completed", "completed"]
    members = _trained_together(config, data, [0, 1, 2])
    assert members[0].message.startswith("training diverged at step")
    assert [member.epochs for member in members] == [len(alone[0].history), 3, 3]
    for member, run in zip(members, alone, strict=True):
        # At the edge of stability the rounding grows faster (~3e-4 in a loss).
        _assert_same(member, run, rel=2e-3)


def test_a_set_stop_event_stops_every_seed_before_its_first_step(data):
    config = _config()
    stop = threading.Event()
    stop.set()
    members = _trained_together(config, data, [0, 1], stop)
    assert {member.status for member in members} == {"stopped"}
    for member in members:
        assert member.steps == 0
        _assert_same(member, train_model(seeded(config, member.seed), data, stop=stop))


def test_a_warm_start_starts_every_seed_from_the_stored_shared_weights(data):
    config = _config(epochs=4)
    stored = train_model(config, data).model.state_dict()
    warm = config.model_copy(
        update={"train": config.train.model_copy(update={"warm_start": "run-0"})}
    )
    members = train_seeds(warm, data, [1, 2], warm_weights=stored)
    assert members is not None
    for member in members:
        _assert_same(member, train_model(seeded(warm, member.seed), data, warm_weights=stored))


def test_stackable_is_decided_from_the_classes():
    for name in weighting_names():
        method = weighting_class(name)
        config = _config(weighting={"method": name})
        if issubclass(method, GradientWeighting) or not issubclass(method, FixedWeighting):
            assert not stackable(config), name  # weights from gradients or loss history
    assert stackable(_config(weighting={"method": "equal"}))
    assert stackable(_config(weighting=STATIC))
    assert not stackable(_config(weighting={"method": "gradnorm"}))  # learns from gradients
    # Their own optimizer groups (cross-stitch) or a regularization term (soft sharing).
    assert {name for name in architecture_names() if not stackable(_config(name))} == {
        "cross_stitch",
        "soft",
    }


@pytest.mark.slow
def test_a_gradient_method_trains_its_seeds_one_after_another_exactly(data):
    config = _config(weighting={"method": "upgrad"}, epochs=6, seeds=3, baselines=True)
    assert train_seeds(config, data, [1, 2]) is None
    summary = run_experiment(config, data=data)
    for seed in (1, 2):
        alone = train_model(seeded(config, config.train.seed + seed), data)
        for task in data.task_names:
            assert summary["tasks"][task]["seeds"][seed] == alone.metrics["test"][task]


def test_run_experiment_keeps_the_batched_seeds(data):
    config = _config(epochs=8, seeds=3, baselines=True)
    summary = run_experiment(config, data=data)
    assert summary["noise"]["seeds"] == 3
    for seed in (1, 2):
        alone = train_model(seeded(config, config.train.seed + seed), data)
        for task in data.task_names:
            got = summary["tasks"][task]["seeds"][seed]
            assert got == pytest.approx(alone.metrics["test"][task], rel=1e-4, abs=1e-6)
