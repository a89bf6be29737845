"""The batched ensemble of single-task networks (mtl_core/train/ensemble.py) trains each
member as `train_model` trains it alone: same initial weights, batches, optimizer,
schedule, masks, clipping and early stopping per member.

Tolerance: batched kernels (`baddbmm` over the members instead of one `addmm` each) and the
masked mean written as a sum over labelled rows / their count add float32 rounding
(~1e-7) per step, which Adam carries over a few hundred steps to ~1e-6 in the weights; so
weights are compared at rtol 1e-4 / atol 1e-5 and metrics at rel 1e-4. The statuses, epochs
and step counts (which early stopping decides) must be equal."""

from __future__ import annotations

import threading

import pytest
import torch

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.experiment.baselines import (
    baseline_config,
    seeded,
    single_task_data,
    train_baselines,
)
from mtl_core.models import build_model
from mtl_core.runs import RunStore
from mtl_core.train.ensemble import EnsembleMember, train_ensemble
from mtl_core.train.loop import TrainResult, train_model

TASKS = [
    {"name": "species", "column": "species"},  # every label present
    {"name": "sex", "column": "sex", "kind": "binary"},  # 11 labels missing: masked
    {"name": "body_mass", "column": "body_mass_g", "kind": "regression"},
]


def _penguins(**train) -> dict:
    return {
        "data": {"source": "sample_data/penguins", "tasks": TASKS},
        "model": {"architecture": "hard", "shared": [32, 16], "head": [8]},
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


@pytest.fixture(scope="module")
def penguins():
    config = config_from_dict(_penguins())
    return baseline_config(config), prepare_data(config.data)


def _alone(single, data, task: str, seed: int, stop=None) -> TrainResult:
    return train_model(seeded(single, seed), single_task_data(data, task), stop=stop)


def _assert_same(member: EnsembleMember, alone: TrainResult) -> None:
    assert (member.status, member.epochs, member.steps) == (
        alone.status,
        len(alone.history),
        alone.steps,
    )
    for split, tasks in alone.metrics.items():
        got = member.metrics[split][member.task]
        assert set(got) == set(tasks[member.task])
        for metric, value in tasks[member.task].items():
            assert got[metric] == pytest.approx(value, rel=1e-4, abs=1e-6), (split, metric)
    weights = alone.model.state_dict()
    assert set(member.state_dict()) == set(weights)
    for key, value in weights.items():
        torch.testing.assert_close(member.state_dict()[key], value, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("task", ["species", "sex", "body_mass"])
def test_one_member_is_train_model(penguins, task):
    single, data = penguins
    [member] = train_ensemble(single, data, [(task, 7)])
    assert (member.task, member.seed) == (task, 7)
    _assert_same(member, _alone(single, data, task, 7))


@pytest.mark.slow
def test_every_member_of_three_tasks_and_three_seeds_is_its_own_run(penguins):
    single, data = penguins
    pairs = [(task["name"], seed) for task in TASKS for seed in (0, 1, 2)]
    members = train_ensemble(single, data, pairs)
    assert [(m.task, m.seed) for m in members] == pairs
    # Patience 3 stops the members at different epochs: each keeps its own best checkpoint
    # while the others go on.
    assert len({m.epochs for m in members}) > 2
    assert min(m.epochs for m in members) < single.train.epochs
    for member in members:
        _assert_same(member, _alone(single, data, member.task, member.seed))


def test_optimizer_schedule_clipping_and_metric_monitor_as_the_loop(penguins):
    _, data = penguins
    single = baseline_config(
        config_from_dict(
            _penguins(
                optimizer="sgd",
                lr=0.05,
                schedule="cosine",
                grad_clip=0.5,
                weight_decay=1e-3,
                monitor="metric",
                epochs=12,
            )
        )
    )
    members = train_ensemble(single, data, [("species", 3), ("body_mass", 3), ("sex", 4)])
    for member in members:
        _assert_same(member, _alone(single, data, member.task, member.seed))


def test_members_in_any_order_and_an_uneven_grid(penguins):
    single, data = penguins
    pairs = [("body_mass", 2), ("species", 0), ("body_mass", 0)]
    members = train_ensemble(single, data, pairs)
    assert [(m.task, m.seed) for m in members] == pairs
    for member in members:
        _assert_same(member, _alone(single, data, member.task, member.seed))


def test_a_set_stop_event_stops_every_member_before_its_first_step(penguins):
    single, data = penguins
    stop = threading.Event()
    stop.set()
    members = train_ensemble(single, data, [("species", 0), ("sex", 1)], stop=stop)
    assert {m.status for m in members} == {"stopped"}
    assert all(m.message == "stopped by the user at epoch 1" and m.steps == 0 for m in members)
    for member in members:
        _assert_same(member, _alone(single, data, member.task, member.seed, stop=stop))


def test_dropout_draws_differ_between_members(penguins):
    _, data = penguins
    for dropout, same in ((0.3, False), (0.0, True)):
        config = _penguins(epochs=3, patience=None)
        config["model"]["dropout"] = dropout
        single = baseline_config(config_from_dict(config))
        first, second = train_ensemble(single, data, [("species", 0), ("species", 0)])
        equal = all(
            torch.equal(value, second.state_dict()[key])
            for key, value in first.state_dict().items()
        )
        assert equal is same, dropout


def test_a_member_whose_loss_diverges_stops_and_the_others_go_on():
    config = _penguins(optimizer="sgd", lr=0.01, epochs=5, patience=None)
    # A loss weight of 1000 makes body mass's steps too large (and tests that the weight is
    # applied as the loop applies it: the step it diverges at is the same).
    config["data"]["tasks"] = [
        dict(task, weight=1000.0) if task["name"] == "body_mass" else task for task in TASKS
    ]
    single = baseline_config(config_from_dict(config))
    data = prepare_data(single.data)
    members = train_ensemble(single, data, [("body_mass", 0), ("species", 0)])
    alone = [_alone(single, data, m.task, m.seed) for m in members]
    assert [a.status for a in alone] == ["diverged", "completed"]  # what the setting does
    assert [m.status for m in members] == ["diverged", "completed"]
    assert "diverged" in members[0].message and members[0].steps == alone[0].steps
    assert members[1].epochs == 5
    _assert_same(members[1], alone[1])


def test_image_towers_go_through_vmap_and_match_the_loop():
    config = config_from_dict(
        {
            "data": {
                "source": "sample_data/multi_digits",
                "config": "image",
                "image_size": 8,
                "tasks": [
                    {"name": "digit", "column": "digit"},
                    {"name": "parity", "column": "parity"},
                ],
            },
            "model": {"architecture": "hard", "shared": [16], "head": []},
            "train": {
                "epochs": 2,
                "batch_size": 256,
                "lr": 0.01,
                "device": "cpu",
                "baselines": False,
            },
        }
    )
    single, data = baseline_config(config), prepare_data(config.data)
    members = train_ensemble(single, data, [("digit", 0), ("parity", 0), ("digit", 1)])
    for member in members:
        _assert_same(member, _alone(single, data, member.task, member.seed))


def test_only_single_task_equal_weighting_configs_are_accepted(penguins):
    _, data = penguins
    with pytest.raises(ValueError, match="baseline_config"):
        train_ensemble(config_from_dict(_penguins()), data, [("species", 0)])


def test_baselines_store_one_run_per_task_and_seed_and_are_reused(penguins, tmp_path):
    _, data = penguins
    config = config_from_dict(_penguins(epochs=4))
    store = RunStore(tmp_path / "runs")
    first = train_baselines(config, data, [0, 1], store)
    assert {name: [run.seed for run in runs] for name, runs in first.items()} == {
        task["name"]: [0, 1] for task in TASKS
    }
    runs = [run for task_runs in first.values() for run in task_runs]
    assert not any(run.reused for run in runs) and len({run.run_id for run in runs}) == 6
    single = baseline_config(config)
    for run in runs:
        task = [t for t in data.tasks if t.name == run.task]
        model = build_model(single.model, task, data.input_kind, data.input_shape)
        model.load_state_dict(store.load_weights(run.run_id))  # the single_task model's keys
        assert run.metrics == store.get_run(run.run_id)["summary"]["metrics"]
    again = train_baselines(config, data, [0, 1, 2], store)
    assert [run.reused for run in again["sex"]] == [True, True, False]
    assert [run.run_id for run in again["sex"][:2]] == [run.run_id for run in first["sex"]]
