"""Every registered weighting method trains real sample data a few steps without NaN, and the
run records its task weights (and Gramians, for gradient methods) in the extras."""

from __future__ import annotations

import math

import pytest

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.models.registry import architecture_names
from mtl_core.train.loop import train_model
from mtl_core.weighting.registry import weighting_class, weighting_names

DATASETS = {
    "penguins": {
        "source": "sample_data/penguins",
        "max_rows": 120,
        "tasks": [
            {"name": "species", "column": "species"},
            {"name": "sex", "column": "sex"},
            {"name": "body_mass", "column": "body_mass_g"},
        ],
    },
    "mmoe_synthetic": {
        "source": "sample_data/mmoe_synthetic",
        "config": "p0.5",
        "max_rows": 120,
        "tasks": [{"name": "y1", "column": "y1"}, {"name": "y2", "column": "y2"}],
    },
}


@pytest.fixture(scope="module")
def prepared():
    return {
        name: prepare_data(config_from_dict({"data": data}).data) for name, data in DATASETS.items()
    }


def short_run(dataset: str, method: str, **weighting):
    return config_from_dict(
        {
            "data": DATASETS[dataset],
            "model": {"architecture": "hard", "shared": [16], "head": [8]},
            "weighting": {"method": method, **weighting},
            "train": {
                "epochs": 2,
                "batch_size": 32,
                "lr": 0.01,
                "device": "cpu",
                "baselines": False,
            },
            "analysis": {"affinity_every": 0},
        }
    )


def assert_completed_and_finite(result) -> None:
    """The run completed, recorded a weight per task and step, and every number is finite."""
    assert result.status == "completed", result.message
    steps = result.extras["task_weights"]["steps"]
    assert len(steps) == result.steps > 0
    assert all(math.isfinite(w) for row in steps for w in row["weights"])
    for split in result.metrics.values():
        assert all(math.isfinite(v) for task in split.values() for v in task.values())


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("method", weighting_names())
def test_every_method_trains_without_nan(prepared, dataset, method):
    data = prepared[dataset]
    result = train_model(short_run(dataset, method), data)
    assert_completed_and_finite(result)
    gramians = result.extras["gramians"]
    if weighting_class(method).cost_class == "gradient":
        assert len(gramians) == result.steps
        assert all(len(g["matrix"]) == len(data.tasks) for g in gramians)
    else:
        assert gramians == []


def test_amortised_run_records_a_gramian_every_k_steps(prepared):
    result = train_model(short_run("penguins", "upgrad", update_every=4), prepared["penguins"])
    assert [g["step"] for g in result.extras["gramians"]] == list(range(0, result.steps, 4))


def test_loss_method_gramian_probe(prepared):
    result = train_model(short_run("penguins", "equal", gramian_every=3), prepared["penguins"])
    assert [g["step"] for g in result.extras["gramians"]] == list(range(0, result.steps, 3))


@pytest.mark.parametrize(("method", "epochs"), [("famo", 2), ("dwa", 4), ("gradnorm", 2)])
def test_adaptive_loss_methods_move_their_weights_during_training(prepared, method, epochs):
    """FAMO needs the loop's re-evaluation after each step, DWA its end-of-epoch hook."""
    config = short_run("penguins", method)
    config.train.epochs = epochs
    config.train.patience = None
    result = train_model(config, prepared["penguins"])
    first, last = (result.extras["task_weights"]["steps"][i]["weights"] for i in (0, -1))
    assert max(abs(a - b) for a, b in zip(first, last, strict=True)) > 1e-3
    assert "weighting_notes" not in result.extras


# Every registered architecture but hard (tested above) and single_task (it shares nothing:
# no Gramian to check).
SHARING = [name for name in architecture_names() if name not in ("hard", "single_task")]


@pytest.mark.parametrize("architecture", SHARING)
@pytest.mark.parametrize("method", weighting_names())
def test_every_method_trains_every_sharing_architecture(prepared, architecture, method):
    """Each method with each architecture: finite weights and metrics, and a task-gradient
    Gramian on every step (gradient methods compute it anyway; loss methods are asked to
    probe it) that is symmetric with a positive trace: the tasks' gradients reach the shared
    parameters."""
    gradient = weighting_class(method).cost_class == "gradient"
    config = short_run("penguins", method, **({} if gradient else {"gramian_every": 1}))
    config.model.architecture = architecture
    config.train.epochs = 1
    result = train_model(config, prepared["penguins"])
    assert_completed_and_finite(result)
    gramians = result.extras["gramians"]
    assert [g["step"] for g in gramians] == list(range(result.steps))
    for entry in gramians:
        matrix = entry["matrix"]
        size = len(matrix)
        assert size == 3 and sum(matrix[i][i] for i in range(size)) > 0
        assert all(matrix[i][i] >= 0 for i in range(size))
        assert all(
            math.isclose(matrix[i][j], matrix[j][i], rel_tol=1e-4, abs_tol=1e-9)
            for i in range(size)
            for j in range(i)
        )
    assert "weighting_notes" not in result.extras, result.extras.get("weighting_notes")
