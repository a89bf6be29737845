"""A run's folder through RunStore's API: which runs are usable (stored a trained model), the
weights and extras round trip, and every file a run writes is one of the store's names."""

import pytest
import torch

from mtl_core.config import config_from_dict, to_dict
from mtl_core.errors import UserError
from mtl_core.runs import RunStore
from mtl_core.runs.store import (
    CONFIG_FILE,
    EPOCHS_FILE,
    EXTRAS_FILE,
    SUMMARY_FILE,
    USABLE_STATUSES,
    WEIGHTS_FILE,
)

NAMED = {CONFIG_FILE, EPOCHS_FILE, EXTRAS_FILE, SUMMARY_FILE, WEIGHTS_FILE}


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "store")


def _run(store: RunStore, config: dict, status: str | None, weights: dict | None = None) -> str:
    """A stored run that ended with `status` (None: still running; "failed": fail_run)."""
    run_id = store.create_run(to_dict(config_from_dict(config)))
    if status == "failed":
        store.fail_run(run_id, "boom")
    elif status is not None:
        store.finish_run(run_id, {"run_id": run_id, "status": status}, weights)
    return run_id


def test_usable_runs_are_those_that_stored_a_trained_model(store, penguins_config):
    weights = {"w": torch.ones(2)}
    ids = {
        status: _run(store, penguins_config, status, weights)
        for status in ("completed", "stopped", "diverged")
    }
    failed = _run(store, penguins_config, "failed")
    running = _run(store, penguins_config, None)
    baseline = store.create_run(to_dict(config_from_dict(penguins_config)), baseline_key="k")
    store.finish_run(baseline, {"run_id": baseline, "status": "completed"}, weights)
    usable = [run["id"] for run in store.usable_runs()]
    assert sorted(usable) == sorted(ids.values())
    assert failed not in usable and running not in usable and baseline not in usable
    assert usable == [run["id"] for run in store.list_runs() if run["id"] in usable]  # newest first
    assert set(USABLE_STATUSES) == set(ids)
    for run_id in usable:
        assert store.weights_path(run_id).is_file()


def test_weights_and_extras_round_trip(store, penguins_config):
    weights = {"shared.0.weight": torch.arange(6.0).reshape(2, 3), "head.bias": torch.zeros(3)}
    run_id = _run(store, penguins_config, "completed", weights)
    store.write_extras(run_id, {"task_weights": {"steps": [1, 2]}})
    loaded = store.load_weights(run_id)
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[k], weights[k]) for k in weights)
    assert store.read_extras(run_id) == {"task_weights": {"steps": [1, 2]}}
    assert config_from_dict(store.load_config(run_id)) == config_from_dict(penguins_config)


def test_a_run_without_weights_or_extras_says_so(store, penguins_config):
    run_id = _run(store, penguins_config, "failed")
    assert store.read_extras(run_id) == {}
    assert not store.weights_path(run_id).exists()
    with pytest.raises(UserError, match=f"run '{run_id}' has no stored weights"):
        store.load_weights(run_id)


def test_every_file_of_a_run_folder_is_one_the_store_names(store, penguins_config):
    run_id = _run(store, penguins_config, "completed", {"w": torch.ones(1)})
    store.write_extras(run_id, {})
    assert {path.name for path in store.run_dir(run_id).iterdir()} == NAMED
    assert set(store.export_files(run_id)) == NAMED
