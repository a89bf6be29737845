"""`python -m mtl_core sweep CONFIG` as a user runs it: a real subprocess."""

import json

import pytest
import yaml

from tests.test_cli import run_cli


def _config(tmp_path, penguins_config):
    penguins_config["data"]["tasks"] = penguins_config["data"]["tasks"][:2]
    penguins_config["train"].update(epochs=1)
    penguins_config["analysis"] = {"sweep": "pairs", "sweep_workers": 1}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(penguins_config))
    return str(path)


@pytest.mark.slow
def test_sweep_json_reports_every_subset_and_partners(tmp_path, penguins_config):
    done = run_cli(
        "sweep", _config(tmp_path, penguins_config), "--json", "--runs-dir", str(tmp_path / "runs")
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["done"] == doc["total"] == 3 and not doc["stopped"]
    assert {tuple(r["subset"]) for r in doc["runs"]} == {("species",), ("sex",), ("species", "sex")}
    assert doc["pair_matrix"]["direction"] == "effect of column task on row task"
    assert set(doc["helped_by"]) == {"species", "sex"}
    pair = next(r for r in doc["runs"] if len(r["subset"]) == 2)
    for task in ("species", "sex"):
        single = next(r for r in doc["runs"] if r["subset"] == [task])
        assert pair["baseline_runs"][task][0] == single["run_id"]  # compared with the single
        assert set(pair["tasks"][task]) >= {"delta", "delta_ci", "verdict"}
    listed = json.loads(run_cli("runs", "--json", "--runs-dir", str(tmp_path / "runs")).stdout)
    assert [r["id"] for r in listed] == [pair["run_id"]]  # the singles are baselines


@pytest.mark.slow
def test_sweep_bad_requests_are_one_line(tmp_path, penguins_config):
    config = _config(tmp_path, penguins_config)
    done = run_cli(
        "sweep", config, "--address", "10.0.0.1:6379", "--runs-dir", str(tmp_path / "runs")
    )
    assert done.returncode == 2 and "--engine ray" in done.stderr
    done = run_cli(
        "sweep",
        config,
        "--set",
        "analysis.sweep_tasks=[species]",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert done.returncode == 2 and "at least two tasks" in done.stderr
    assert "Traceback" not in done.stderr
