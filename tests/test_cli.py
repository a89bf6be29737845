"""The CLI as a user runs it: a real subprocess, JSON on stdout, one-line errors (exit 2)."""

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO

# Each test starts a Python process that imports torch: seconds apiece, so `make test` runs
# them and `make test-fast` leaves them out (tests/test_config.py checks the same messages
# in-process).
pytestmark = pytest.mark.slow


def run_cli(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "mtl_core", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_train_json_follows_the_contract(tmp_path, penguins_config):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(penguins_config))
    done = run_cli(
        "train",
        str(config),
        "--json",
        "--set",
        "train.epochs=2",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["status"] == "completed"
    assert {"run_id", "device", "seconds", "steps_per_second", "delta_m", "warnings"} <= doc.keys()
    assert doc["tasks"]["species"]["kind"] == "multiclass"
    assert doc["tasks"]["sex"]["kind"] == "binary"
    assert doc["tasks"]["body_mass"]["kind"] == "regression"
    assert {"mse", "mae", "r2"} <= doc["tasks"]["body_mass"]["metrics"].keys()
    listed = json.loads(run_cli("runs", "--json", "--runs-dir", str(tmp_path / "runs")).stdout)
    assert [r["id"] for r in listed] == [doc["run_id"]]


def test_example_config_is_valid():
    done = run_cli(
        "train",
        "examples/penguins.yaml",
        "--json",
        "--set",
        "train.epochs=1",
        "--set",
        "train.baselines=false",
        "--runs-dir",
        "/tmp/mtl-cli-example-runs",
    )
    assert done.returncode == 0, done.stderr


def _assert_user_error(done, *needles):
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0]


def test_unknown_config_key_is_one_line(tmp_path, penguins_config):
    penguins_config["train"]["epochz"] = 3
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(penguins_config))
    _assert_user_error(run_cli("train", str(config)), "train.epochz", "unknown key")


def test_missing_column_is_one_line(tmp_path, penguins_config):
    penguins_config["data"]["tasks"][0]["column"] = "beak_colour"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(penguins_config))
    _assert_user_error(run_cli("train", str(config)), "beak_colour")


def test_wrong_type_is_one_line(tmp_path, penguins_config):
    penguins_config["train"]["batch_size"] = "big"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(penguins_config))
    _assert_user_error(run_cli("train", str(config)), "train.batch_size")


def test_unknown_architecture_parameter_is_one_line_before_any_training(tmp_path, penguins_config):
    penguins_config["model"] = {"architecture": "hard", "params": {"n_experts": 8}}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(penguins_config))
    _assert_user_error(
        run_cli("train", str(config), "--runs-dir", str(tmp_path / "runs")),
        "'model.params.n_experts'",
        "has no parameter",
    )
    assert not (tmp_path / "runs").exists()


def test_unknown_weighting_method_is_one_line(tmp_path, penguins_config):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(penguins_config))
    _assert_user_error(
        run_cli("train", str(config), "--set", "weighting.method=nope"),
        "'weighting.method'",
        "unknown method 'nope'",
    )


def test_inspect_json_lists_columns_with_kinds():
    done = run_cli("inspect", "penguins", "--json")
    assert done.returncode == 0, done.stderr
    columns = {c["column"]: c for c in json.loads(done.stdout)["columns"]}
    assert columns["species"]["task_kind"] == "multiclass"
    assert columns["sex"]["task_kind"] == "binary"
    assert columns["body_mass_g"]["task_kind"] == "regression"


def test_samples_lists_the_embedded_datasets():
    done = run_cli("samples", "--json")
    names = {s["name"] for s in json.loads(done.stdout)}
    assert {"penguins", "mmoe_synthetic", "multi_digits"} <= names


def test_missing_source_is_one_line():
    _assert_user_error(run_cli("inspect", "./no/such/file.csv"), "no such file")
