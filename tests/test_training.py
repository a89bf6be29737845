"""End-to-end training on penguins: the foundation's quality bar and reproducibility."""

import pytest
import torch

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.experiment import run_experiment
from mtl_core.models import build_model
from mtl_core.runs import RunStore
from mtl_core.train.loop import train_model


def test_missing_labels_are_masked_not_dropped(penguins_config):
    data = prepare_data(config_from_dict(penguins_config).data)
    rows = sum(len(split) for split in data.splits.values())
    assert rows == 344  # every penguin is kept, also those with no recorded sex
    unlabeled_sex = sum(int((~split.masks["sex"]).sum()) for split in data.splits.values())
    assert unlabeled_sex == 11
    assert all(split.masks["species"].all() for split in data.splits.values())


def test_inputs_never_include_targets(penguins_config):
    data = prepare_data(config_from_dict(penguins_config).data)
    names = " ".join(data.feature_names)
    assert "species" not in names and "sex" not in names and "body_mass" not in names
    assert any(n.startswith("island=") for n in data.feature_names)


def test_same_config_and_seed_give_the_same_metrics(penguins_config):
    config = config_from_dict(penguins_config)
    data = prepare_data(config.data)
    first = train_model(config, data).metrics
    second = train_model(config, data).metrics
    assert first == second


def test_different_seed_gives_different_weights(penguins_config):
    config = config_from_dict(penguins_config)
    data = prepare_data(config.data)
    other = config.model_copy(update={"train": config.train.model_copy(update={"seed": 1})})
    a = train_model(config, data).model.state_dict()
    b = train_model(other, data).model.state_dict()
    assert any(not (a[k] == b[k]).all() for k in a)


@pytest.mark.slow
def test_penguins_defaults_reach_the_quality_bar(penguins_config):
    penguins_config["model"] = {"architecture": "hard", "shared": [64, 64], "head": [32]}
    penguins_config["train"] = {
        "epochs": 100,
        "batch_size": 32,
        "lr": 0.003,
        "device": "cpu",
        "patience": 15,
        "baselines": True,
    }
    summary = run_experiment(config_from_dict(penguins_config), RunStore())
    tasks = summary["tasks"]
    assert summary["status"] == "completed"
    assert tasks["species"]["metrics"]["accuracy"] >= 0.95  # chance is about 0.44
    assert tasks["sex"]["metrics"]["accuracy"] >= 0.80
    assert tasks["body_mass"]["metrics"]["r2"] >= 0.70
    assert all(t["baseline_metrics"] for t in tasks.values())
    assert summary["delta_m"] is not None


def test_a_finished_run_is_in_the_store(penguins_config):
    store = RunStore()
    summary = run_experiment(config_from_dict(penguins_config), store)
    stored = store.get_run(summary["run_id"])
    assert stored["status"] == "completed"
    assert stored["summary"]["tasks"].keys() == summary["tasks"].keys()
    assert len(store.epochs(summary["run_id"])) == 3
    assert (store.run_dir(summary["run_id"]) / "model.safetensors").is_file()


def test_a_task_weight_scales_that_tasks_gradient(penguins_config):
    """`data.tasks[].weight` multiplies the task's loss: weight 0 means the task never
    trains its head, while the other heads learn as usual."""
    penguins_config["data"]["tasks"][1]["weight"] = 0.0
    penguins_config["train"]["epochs"] = 1
    config = config_from_dict(penguins_config)
    data = prepare_data(config.data)
    torch.manual_seed(config.train.seed)
    untrained = build_model(config.model, data.tasks, data.input_kind, data.input_shape)
    trained = train_model(config, data).model
    before, after = untrained.state_dict(), trained.state_dict()
    sex_head = [k for k in after if k.startswith("heads.sex.")]
    species_head = [k for k in after if k.startswith("heads.species.")]
    assert sex_head and species_head
    assert all(torch.equal(before[k], after[k]) for k in sex_head)
    assert not all(torch.equal(before[k], after[k]) for k in species_head)
