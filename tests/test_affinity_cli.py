"""`python -m mtl_core affinity RUN` as a user runs it: a real subprocess on a stored run."""

import json

import pytest
import yaml

from mtl_core.analysis.verdicts import VERDICTS
from tests.test_cli import run_cli


def _train(tmp_path, penguins_config, every):
    penguins_config["analysis"] = {"affinity_every": every}
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
    return json.loads(done.stdout)["run_id"]


@pytest.mark.slow
def test_affinity_json_has_labelled_matrices_grouping_and_warnings(tmp_path, penguins_config):
    run_id = _train(tmp_path, penguins_config, every=1)
    done = run_cli("affinity", run_id, "--json", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    tasks = ["species", "sex", "body_mass"]
    lookahead = doc["affinity"]["mean"]["lookahead"]
    assert lookahead["rows"] == lookahead["columns"] == tasks
    assert lookahead["direction"] == "effect of column task on row task"
    assert doc["affinity"]["probes"] > 0 and doc["affinity"]["every"] == 1
    assert set(doc["affinity"]["per_epoch"]) == {"1", "2"}
    for name in ("cosine", "conflict_rate", "magnitude_similarity"):
        values = doc["affinity"]["mean"][name]["values"]
        assert all(values[i][j] == values[j][i] for i in range(3) for j in range(3))
    best = doc["grouping"]["candidates"][0]
    assert sorted(t for g in best["groups"] for t in g) == sorted(tasks)  # a partition
    assert len(best["reasons"]) == len(best["groups"])
    assert any(c["each_alone"] for c in doc["grouping"]["candidates"])
    assert doc["grouping"]["max_groups"] == 3  # default: one group per task
    assert [(p["first"], p["second"]) for p in doc["pairs"]] == [
        ("species", "sex"),
        ("species", "body_mass"),
        ("sex", "body_mass"),
    ]
    assert all(
        p["conflict_status"] in ("signal", "within noise", "contradicted") for p in doc["pairs"]
    )
    for name in tasks:
        measured = doc["transfer"][name]
        assert measured["verdict"] in VERDICTS and measured["label"].count(" · ") == 2
    assert all(
        w["level"] in ("measured", "note", "signal", "contradicted") for w in doc["warnings"]
    )
    assert "loosely" in doc["caveat"] and "lookahead" in doc["signal_rules"]
    text = run_cli("affinity", run_id, "--runs-dir", str(tmp_path / "runs"))
    assert text.returncode == 0 and "effect of the column task on the row task" in text.stdout
    assert "task pairs (mean ± standard error over probes)" in text.stdout
    species = doc["transfer"]["species"]
    assert f"species ({species['metric']}): {species['label']}" in text.stdout


@pytest.mark.slow
def test_a_run_without_probes_is_one_clear_line(tmp_path, penguins_config):
    run_id = _train(tmp_path, penguins_config, every=0)
    done = run_cli("affinity", run_id, "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "affinity_every" in done.stderr
    assert "Traceback" not in done.stderr
    missing = run_cli("affinity", "20990101-000000-abcdef", "--runs-dir", str(tmp_path / "runs"))
    assert missing.returncode == 2 and "no run" in missing.stderr
