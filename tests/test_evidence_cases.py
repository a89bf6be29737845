"""Verdicts on data whose answer is known: related tasks, an independent one and a noise
target (tests/tables.py), an imbalanced binary task judged by its ranking, and one seed."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_core.analysis.bootstrap import TaskOutputs, compare
from mtl_core.analysis.verdicts import task_verdict
from mtl_core.config import config_from_dict
from mtl_core.experiment import run_experiment
from mtl_core.runs import RunStore
from tests.tables import CUSTOMER_TASKS, customers_csv


def test_an_imbalanced_task_is_judged_by_its_ranking_not_its_accuracy():
    """5% positives; both models predict 'negative' for every row (accuracy = majority
    rate), but the multi-task model ranks the positives higher."""
    rng = np.random.default_rng(0)
    rows = 2000
    truth = (rng.random(rows) < 0.05).astype(np.int64)
    better = -3.0 + 1.5 * truth + rng.normal(scale=0.5, size=rows)
    worse = -3.0 + 0.3 * truth + rng.normal(scale=0.5, size=rows)
    assert np.all(better < 0) or (better > 0).sum() < 3
    kwargs = dict(
        truth=truth,
        mask=np.ones(rows, bool),
        mtl=[better] * 3,
        baseline=[worse] * 3,
        trivial=np.zeros(rows),
    )
    by_auc = compare({"t": TaskOutputs("binary", "roc_auc", **kwargs)}, 500).tasks["t"]
    by_accuracy = compare({"t": TaskOutputs("binary", "accuracy", **kwargs)}, 500).tasks["t"]
    assert by_auc.delta > 0.2 and by_auc.delta_ci[0] > 0
    assert abs(by_accuracy.delta) < 0.01
    assert task_verdict(by_auc).verdict == "helped"
    assert task_verdict(by_accuracy).verdict != "helped"


def _customers(tmp_path, **train) -> dict:
    source = customers_csv(tmp_path)
    return {
        "name": "customers",
        "data": {"source": str(source), "tasks": CUSTOMER_TASKS},
        "model": {"architecture": "mmoe"},
        "weighting": {"method": "upgrad"},
        "train": {"device": "cpu", **train},
    }


@pytest.mark.slow
def test_customers_related_tasks_are_not_hurt_and_noise_is_unlearnable(tmp_path):
    summary = run_experiment(config_from_dict(_customers(tmp_path)), RunStore(tmp_path / "r"))
    tasks = summary["tasks"]
    assert summary["noise"]["seeds"] == 3 and summary["noise"]["baseline_seeds"] == 3
    assert tasks["lucky_number"]["verdict"] == "unlearnable"
    for name in ("spend", "churn"):
        assert tasks[name]["verdict"] in ("helped", "no detectable difference")
    for task in tasks.values():
        low, high = task["delta_ci"]
        assert low <= task["delta"] <= high
    assert tasks["churn"]["primary_metric"] == "roc_auc"
    assert not any("negative transfer" in w and "lucky_number" in w for w in summary["warnings"])


@pytest.mark.slow
def test_one_seed_never_confirms_a_verdict(tmp_path):
    config = _customers(tmp_path, seeds=1, epochs=8)
    summary = run_experiment(config_from_dict(config), RunStore(tmp_path / "r"))
    assert summary["noise"]["seeds"] == 1
    for task in summary["tasks"].values():
        assert task["verdict"] not in ("helped", "hurt")
        assert task["delta_ci"] is not None
        assert len(task["seeds"]) == 1 and len(task["baseline_seeds"]) == 1


@pytest.mark.slow
def test_a_second_run_reuses_the_stored_baselines_and_their_outputs(tmp_path):
    store = RunStore(tmp_path / "r")
    config = config_from_dict(_customers(tmp_path, seeds=2, epochs=3))
    first = run_experiment(config, store)
    second = run_experiment(config, store)
    for name, task in second["tasks"].items():
        assert task["baseline_reused"] == 2
        assert task["baseline_runs"] == first["tasks"][name]["baseline_runs"]
        assert task["delta"] == pytest.approx(first["tasks"][name]["delta"])
    stored = store.read_test_outputs(second["run_id"])
    assert {f"mtl/{k}/spend" for k in range(2)} <= set(stored)
    assert {f"baseline/{k}/churn" for k in range(2)} <= set(stored)
