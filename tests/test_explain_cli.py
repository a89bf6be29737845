"""`explain` as users run it, on a run trained through the real pipeline: a real subprocess
prints one JSON document on stdout, or one error line with exit status 2; the other options
and errors go through the same `main()` in-process (each CLI start costs seconds)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtl_core.cli.main import main
from mtl_core.config import config_from_dict
from mtl_core.experiment import run_experiment
from mtl_core.runs import RunStore
from tests.test_cli import _assert_user_error, run_cli


@pytest.fixture(scope="module")
def penguins_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("explain-cli") / "runs"
    config = config_from_dict(
        {
            "data": {
                "source": "sample_data/penguins",
                "tasks": [
                    {"name": "species", "column": "species"},
                    {"name": "sex", "column": "sex"},
                    {"name": "body_mass", "column": "body_mass_g"},
                ],
            },
            "model": {"architecture": "hard", "shared": [16], "head": [8]},
            "train": {"epochs": 3, "batch_size": 32, "device": "cpu", "baselines": False},
        }
    )
    summary = run_experiment(config, RunStore(runs))
    return summary["run_id"], str(runs)


@pytest.mark.slow
def test_explain_json_document(penguins_run):
    run_id, runs = penguins_run
    done = run_cli(
        "explain",
        run_id,
        "--json",
        "--samples",
        "16",
        "--steps",
        "8",
        "--unit",
        "2",
        "--runs-dir",
        runs,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["run_id"] == run_id and doc["samples"] == 16 and doc["n_steps"] == 8
    assert doc["tasks"] == ["species", "sex", "body_mass"]
    units = doc["units"]
    assert units["shared"] and units["count"] == 16
    assert sorted(units["order"]) == list(range(16))
    for row in units["rows"].values():
        assert abs(sum(row["share"]) - 1) < 1e-4
        assert {"relative", "needs_more_steps"} <= row["completeness"].keys()
    assert all(abs(units["similarity"][r][r] - 1) < 1e-9 for r in units["rows"])
    features = doc["inputs"]["species"]["features"]
    assert "bill_length_mm" in features
    assert all(v["mean_abs"] >= abs(v["mean"]) - 1e-9 for v in features.values())
    assert set(doc["drivers"]["2"]) == {"species", "sex", "body_mass"}
    assert np.isfinite(doc["seconds"])


@pytest.mark.slow
def test_explain_error_is_one_line_in_a_real_process(penguins_run):
    run_id, runs = penguins_run
    _assert_user_error(
        run_cli("explain", run_id, "--baseline", "blur", "--runs-dir", runs),
        "blur baseline is for images",
    )


def test_explain_text_report_and_chosen_class(penguins_run, capsys):
    run_id, runs = penguins_run
    code = main(
        [
            "explain",
            run_id,
            "--samples",
            "8",
            "--steps",
            "4",
            "--task",
            "species",
            "--class",
            "species=Gentoo",
            "--unit",
            "1",
            "--runs-dir",
            runs,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "units -> species: Gentoo" in out
    assert "top inputs per task" in out and "inputs that drive unit 1" in out
    assert "sex" not in out.split("similarity")[1]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["no-such-run"], "no-such-run"),
        (["{run}", "--baseline", "noise"], "unknown baseline 'noise'"),
        (["{run}", "--class", "species"], "TASK=CLASS"),
        (["{run}", "--task", "wings"], "no task 'wings'"),
        (["{run}", "--steps", "1"], "steps must be at least 2"),
        (["{run}", "--unit", "999"], "unit 999 does not exist"),
    ],
)
def test_explain_errors_are_user_errors(penguins_run, capsys, args, needle):
    run_id, runs = penguins_run
    argv = [a.replace("{run}", run_id) for a in args]
    assert main(["explain", *argv, "--runs-dir", runs]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]
