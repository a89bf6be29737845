"""Every architecture trains end to end (penguins through `run_experiment` and the run
store, mmoe_synthetic through `train_model`), comes back from the store with the same
outputs and its learned mixing, and cross-stitch with identity, frozen units trains
exactly like single-task networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.experiment import baseline_config, run_experiment
from mtl_core.models.registry import architecture_names
from mtl_core.runs import RunStore
from mtl_core.runs.load import load_trained
from mtl_core.train.loop import predict, train_model

ALL = architecture_names()  # every registered architecture: a new one is tested unedited
TINY = {"shared": [8], "head": [4]}


@pytest.fixture(scope="module")
def penguins():
    config = config_from_dict(
        {
            "data": {
                "source": "sample_data/penguins",
                "tasks": [
                    {"name": "species", "column": "species"},
                    {"name": "sex", "column": "sex"},
                    {"name": "body_mass", "column": "body_mass_g"},
                ],
            }
        }
    )
    return prepare_data(config.data)


@pytest.fixture(scope="module")
def synthetic():
    config = config_from_dict(
        {
            "data": {
                "source": "sample_data/mmoe_synthetic",
                "config": "p0.5",
                "max_rows": 600,
                "tasks": [{"name": "y1", "column": "y1"}, {"name": "y2", "column": "y2"}],
            }
        }
    )
    return prepare_data(config.data)


def _config(penguins_config: dict, architecture: str, params: dict | None = None, **train):
    return config_from_dict(
        {
            **penguins_config,
            "model": {"architecture": architecture, **TINY, "params": params or {}},
            "train": {**penguins_config["train"], "epochs": 2, **train},
        }
    )


@pytest.mark.slow  # trains and stores a run per architecture
@pytest.mark.parametrize("architecture", ALL)
def test_trains_on_penguins_stores_and_loads_with_its_mixing(
    architecture, penguins, penguins_config
):
    store = RunStore()
    config = _config(penguins_config, architecture, baselines=True)
    summary = run_experiment(config, store, data=penguins)
    assert summary["status"] == "completed"
    assert all(task["baseline_metrics"] for task in summary["tasks"].values())
    trained = load_trained(store, summary["run_id"], data=penguins)
    assert trained.model.architecture == architecture
    x = penguins.splits["test"].x
    for name, out in predict(trained.model, x).items():
        assert out.shape == (len(x), penguins.tasks[penguins.task_names.index(name)].output_dim)
        assert torch.isfinite(out).all()
    for mix in trained.model.mixing(x).values():
        assert mix.values.shape == (len(mix.rows), len(mix.columns))
        assert np.isfinite(mix.values).any()


@pytest.mark.parametrize("architecture", ALL)
def test_trains_on_mmoe_synthetic(architecture, synthetic, penguins_config):
    config = config_from_dict(
        {
            "data": {
                "source": "sample_data/mmoe_synthetic",
                "config": "p0.5",
                "tasks": [{"name": "y1", "column": "y1"}, {"name": "y2", "column": "y2"}],
            },
            "model": {"architecture": architecture, **TINY},
            "train": {"epochs": 2, "batch_size": 64, "device": "cpu", "baselines": False},
        }
    )
    result = train_model(config, synthetic)
    assert result.status == "completed"
    assert all(np.isfinite(m["loss"]) for m in result.metrics["test"].values())


def test_identity_frozen_cross_stitch_trains_exactly_like_single_task(penguins, penguins_config):
    identity = {"alpha_self": 1.0, "alpha_other": 0.0, "train_units": False}
    stitched = train_model(_config(penguins_config, "cross_stitch", identity, epochs=3), penguins)
    single = train_model(_config(penguins_config, "single_task", epochs=3), penguins)
    assert stitched.steps == single.steps > 0
    x = penguins.splits["test"].x
    a, b = predict(stitched.model, x), predict(single.model, x)
    for name in penguins.task_names:
        assert torch.equal(a[name], b[name])
    # the learnable version moves away from single-task
    learned = train_model(
        _config(penguins_config, "cross_stitch", {**identity, "train_units": True}, epochs=3),
        penguins,
    )
    assert any(not torch.equal(predict(learned.model, x)[n], b[n]) for n in penguins.task_names)


def test_baselines_are_single_task_networks_with_the_same_widths(penguins_config):
    config = _config(penguins_config, "mmoe", {"experts": 3})
    baseline = baseline_config(config)
    assert baseline.model.architecture == "single_task"
    assert baseline.model.params == {}
    assert (baseline.model.shared, baseline.model.head) == (config.model.shared, config.model.head)
