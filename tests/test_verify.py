"""Verify a grouping: the suggestion against all tasks together and each task alone, with
at least 3 seeds; a winner only when the interval of the difference excludes 0."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.analysis.bootstrap import RunEvidence
from mtl_core.config import config_from_dict
from mtl_core.errors import UserError
from mtl_core.runs import RunStore
from mtl_core.sweep.verify import (
    NO_DIFFERENCE,
    VerifyResult,
    check_groups,
    parse_groups,
    verify_grouping,
    verify_rows,
)
from tests.test_cli import run_cli


def test_groups_parse_and_must_be_disjoint_groups_of_the_tasks(penguins_config):
    config = config_from_dict(penguins_config)
    assert parse_groups(" species + sex , body_mass ") == [["species", "sex"], ["body_mass"]]
    assert check_groups(config, [["body_mass"], ["sex", "species"]]) == [
        "species",
        "sex",
        "body_mass",
    ]
    with pytest.raises(UserError, match="no task 'wings'"):
        check_groups(config, [["species", "wings"]])
    with pytest.raises(UserError, match="'sex' is in more than one group"):
        check_groups(config, [["species", "sex"], ["sex"]])
    with pytest.raises(UserError, match="at least two tasks"):
        check_groups(config, [["sex"]])


def _evidence(delta: float, low: float, high: float) -> RunEvidence:
    return RunEvidence({}, delta, (low, high), (low, high), None, 2000)


bounds = st.floats(-0.5, 0.5, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(a=bounds, b=bounds)
def test_a_winner_is_named_only_when_the_interval_excludes_zero(a, b):
    low, high = min(a, b), max(a, b)
    result = VerifyResult(
        ["x", "y"],
        [["x"], ["y"]],
        3,
        "test",
        50,
        versus_together=_evidence((low + high) / 2, low, high),
    )
    if low <= 0 <= high:
        assert result.winner is None and result.conclusion.startswith(NO_DIFFERENCE)
    else:
        assert result.winner == ("suggestion" if low > 0 else "all together")
        assert result.conclusion.startswith(f"{result.winner} wins")
    assert result.to_json()["winner"] == result.winner


def _config(penguins_config) -> dict:
    penguins_config["train"].update(epochs=2, baselines=True)
    return penguins_config


@pytest.mark.slow
def test_verify_compares_the_grouping_with_together_and_separate(penguins_config):
    config = config_from_dict(_config(penguins_config))
    store, steps = RunStore(), []
    result = verify_grouping(
        config,
        [["species", "sex"], ["body_mass"]],
        store,
        on_progress=lambda done, total, step: steps.append((done, total)),
    )
    assert steps[0] == (0, 3) and steps[-1] == (3, 3)  # separate, together, species + sex
    doc = json.loads(json.dumps(result.to_json()))
    assert doc["seeds"] == 3
    separate, together, suggestion = doc["arrangements"]
    assert [separate["name"], together["name"], suggestion["name"]] == [
        "all separate",
        "all together",
        "suggestion",
    ]
    # all together is the stored run of every task; its Δm is the one that run reports
    stored = store.get_run(together["runs"][0])["summary"]
    assert together["delta_m"] == pytest.approx(stored["delta_m"])
    assert together["delta_m_ci"] == pytest.approx(stored["delta_m_ci"])
    # one baseline per task and seed: the together run compared with the same ones
    for task in ("species", "sex", "body_mass"):
        assert stored["tasks"][task]["baseline_runs"][0] in separate["runs"]
    # a group of one is its baseline: no difference from all separate at all
    assert suggestion["runs"][1] == separate["runs"][2]
    assert suggestion["tasks"]["body_mass"]["delta"] == pytest.approx(0.0, abs=1e-12)
    low, high = doc["suggestion_vs_together"]["delta_m_ci"]
    assert low <= doc["suggestion_vs_together"]["delta_m"] <= high
    assert (doc["winner"] is None) == (low <= 0 <= high)
    assert [r["against"] for r in verify_rows(doc)] == [
        "all separate",
        "all separate",
        "all separate",
        "all together",
    ]


@pytest.mark.slow  # a CLI subprocess
def test_verify_cli_refuses_a_bad_grouping_in_one_line(tmp_path, penguins_config):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config(penguins_config)))
    done = run_cli(
        "verify", str(path), "--groups", "species+wings,sex", "--runs-dir", str(tmp_path / "runs")
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --groups: no task 'wings' in the experiment (tasks: species, sex, body_mass)"
    ]


@pytest.mark.slow
def test_verify_cli_json_names_the_winner_only_with_an_interval(tmp_path, penguins_config):
    penguins_config["data"]["tasks"] = penguins_config["data"]["tasks"][:2]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config(penguins_config)))
    done = run_cli(
        "verify",
        str(path),
        "--groups",
        "species,sex",
        "--json",
        "--set",
        "train.epochs=1",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    versus = doc["suggestion_vs_together"]
    assert np.isfinite(versus["delta_m"]) and len(versus["delta_m_ci"]) == 2
    assert (doc["winner"] is None) == (versus["delta_m_ci"][0] <= 0 <= versus["delta_m_ci"][1])
    assert doc["arrangements"][2]["groups"] == [["species"], ["sex"]]
