"""The run store survives a kill -9 mid-training (real subprocess, real SQLite), refuses ids
that could escape its folder, exports and deletes runs."""

import io
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest
import yaml

from mtl_core.config import config_from_dict
from mtl_core.errors import UserError
from mtl_core.experiment import run_experiment
from mtl_core.runs import RunStore
from tests.conftest import REPO


@pytest.mark.slow
def test_a_store_survives_kill_9_during_training(penguins_config, tmp_path):
    store = RunStore(tmp_path / "store")
    finished = run_experiment(config_from_dict(penguins_config), store)
    penguins_config["train"]["epochs"] = 100000
    config_path = tmp_path / "long.yaml"
    config_path.write_text(yaml.safe_dump(penguins_config))
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mtl_core",
            "train",
            str(config_path),
            "--json",
            "--runs-dir",
            str(tmp_path / "store"),
        ],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        running = []
        while time.time() < deadline and not running:
            time.sleep(0.2)
            running = [
                r
                for r in store.list_runs()
                if r["status"] == "running" and len(store.epochs(r["id"])) >= 2
            ]
        assert running, "the child never got through two epochs"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    reopened = RunStore(tmp_path / "store")
    runs = {r["id"]: r for r in reopened.list_runs()}
    assert runs[running[0]["id"]]["status"] == "interrupted"
    assert len(reopened.epochs(running[0]["id"])) >= 2  # what it trained is kept
    assert runs[finished["run_id"]]["status"] == "completed"
    assert runs[finished["run_id"]]["summary"] == store.get_run(finished["run_id"])["summary"]
    assert (reopened.run_dir(finished["run_id"]) / "model.safetensors").is_file()


def test_a_running_run_of_a_live_process_is_not_marked_interrupted(penguins_config):
    store = RunStore()
    run_id = store.create_run(config_from_dict(penguins_config).model_dump(mode="json"))
    assert RunStore().get_run(run_id)["status"] == "running"


@pytest.mark.parametrize("bad", ["../etc", "..", "a/b", "/tmp/x", "20260101-000000-abcdef/.."])
def test_run_ids_cannot_escape_the_store(bad):
    store = RunStore()
    with pytest.raises(UserError):
        store.run_dir(bad)
    with pytest.raises(UserError):
        store.delete_run(bad)
    with pytest.raises(UserError):
        store.export_zip(bad)


def test_export_holds_config_metrics_and_weights_and_delete_removes(penguins_config):
    store = RunStore()
    run_id = run_experiment(config_from_dict(penguins_config), store)["run_id"]
    with zipfile.ZipFile(io.BytesIO(store.export_zip(run_id))) as archive:
        names = set(archive.namelist())
        csv_text = archive.read(f"{run_id}/metrics.csv").decode()
    assert {
        f"{run_id}/{n}" for n in ("config.yaml", "metrics.json", "metrics.csv", "model.safetensors")
    } <= names
    assert all(name.startswith(f"{run_id}/") for name in names)
    assert len(csv_text.strip().splitlines()) == 1 + 3  # header + one row per epoch
    store.delete_run(run_id)
    assert not store.run_dir(run_id).exists()
    with pytest.raises(UserError):
        store.get_run(run_id)
    assert store.epochs(run_id) == []


def test_count_runs_matches_the_listing_without_baselines(penguins_config):
    store = RunStore()
    assert store.count_runs() == 0
    penguins_config["train"]["baselines"] = True
    run_experiment(config_from_dict(penguins_config), store)
    assert store.count_runs() == len(store.list_runs()) == 1
    assert len(store.list_runs(include_baselines=True)) > 1  # the stored baselines


def test_the_zip_holds_exactly_the_files_offered_one_by_one(penguins_config):
    store = RunStore()
    run_id = run_experiment(config_from_dict(penguins_config), store)["run_id"]
    files = store.export_files(run_id)
    with zipfile.ZipFile(io.BytesIO(store.export_zip(run_id))) as archive:
        zipped = {
            name.removeprefix(f"{run_id}/"): archive.read(name) for name in archive.namelist()
        }
    assert zipped == files
    assert files["model.safetensors"] == (store.run_dir(run_id) / "model.safetensors").read_bytes()
    assert files["config.yaml"].decode().startswith(("data:", "name:"))
