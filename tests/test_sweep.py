"""Task-combination sweeps: the plan, the report (on hand-made results) and real sweeps
through the local process pool, including a stop that keeps the finished runs."""

from __future__ import annotations

import math
import threading

import pytest

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.errors import UserError
from mtl_core.runs import RunStore
from mtl_core.sweep import run_sweep, subset_config, sweep_subsets
from mtl_core.sweep.results import sweep_report, transfer_rows
from mtl_core.sweep.run import SubsetRun, SweepResult


@pytest.mark.parametrize("count", [2, 3, 5])
def test_plans_count_singles_pairs_and_every_subset(count):
    tasks = [f"t{k}" for k in range(count)]
    pairs, every = sweep_subsets(tasks, "pairs"), sweep_subsets(tasks, "all")
    assert len(pairs) == count + math.comb(count, 2)
    assert len(every) == 2**count - 1 == len(set(every))
    assert pairs == every[: len(pairs)]  # singles first: they are the baselines
    with pytest.raises(UserError, match="at least two tasks"):
        sweep_subsets(tasks[:1], "pairs")


def test_subset_config_keeps_its_tasks_the_full_inputs_and_compares_with_baselines(penguins_config):
    config = config_from_dict(penguins_config)
    full = prepare_data(config.data)
    pair = subset_config(config, ("species", "body_mass"), full)
    assert [t.name for t in pair.data.tasks] == ["species", "body_mass"]
    assert pair.data.inputs == full.input_columns["sample_data/penguins"]
    assert "sex" not in pair.data.inputs
    assert pair.train.baselines is True and pair.model == config.model


def test_bad_sweep_requests_are_user_errors(penguins_config):
    penguins_config["analysis"] = {"sweep_tasks": ["species", "wings"]}
    with pytest.raises(UserError, match="sweep_tasks.*wings"):
        run_sweep(config_from_dict(penguins_config), RunStore())
    penguins_config["analysis"] = {}
    with pytest.raises(UserError, match="--engine ray"):
        run_sweep(config_from_dict(penguins_config), RunStore(), "local", address="ray://x:1")
    with pytest.raises(UserError, match="unknown engine"):
        run_sweep(config_from_dict(penguins_config), RunStore(), "dask")


def _verdict(ci):
    return (
        "no detectable difference" if ci[0] <= 0 <= ci[1] else ("helped" if ci[0] > 0 else "hurt")
    )


def _run(subset, deltas, width=0.05):
    """A finished subset run's summary: per task its delta, interval and verdict (a single
    has only metrics)."""
    tasks = {}
    for name in subset:
        delta = deltas.get(name, 0.0)
        ci = [delta - width, delta + width]
        tasks[name] = {"kind": "regression", "metrics": {"mse": 1.0 - delta}}
        if len(subset) > 1:
            tasks[name].update(
                delta=delta,
                delta_ci=ci,
                verdict=_verdict(ci),
                verdict_reason="made up",
                baseline_runs=[f"base-{name}"],
            )
    return SubsetRun(
        subset, "completed", f"id-{'-'.join(subset)}", {"status": "completed", "tasks": tasks}
    )


def test_report_orients_pair_effects_and_groups_from_measured_pairs():
    runs = [_run((t,), {}) for t in "abc"] + [
        _run(("a", "b"), {"a": 0.2, "b": 0.1}),  # a and b help each other
        _run(("a", "c"), {"a": -0.5, "c": -0.2}),  # c hurts a, a hurts c
        _run(("b", "c"), {"b": -0.1, "c": -0.1}, width=0.2),  # within noise
    ]
    result = SweepResult(["a", "b", "c"], "pairs", "local", 6, runs)
    report = sweep_report(result)
    matrix = report["pair_matrix"]["values"]  # [row][column] = Δ_row({row, column})
    assert matrix[0][1] == pytest.approx(0.2) and matrix[2][0] == pytest.approx(-0.2)
    assert report["pair_matrix"]["intervals"][0][1] == pytest.approx([0.15, 0.25])
    assert report["helped_by"] == {"a": ["b"], "b": ["a"], "c": []}
    assert report["hurt_by"] == {"a": ["c"], "b": [], "c": ["a"]}  # b-c: no detectable
    first = report["transfer"]["a"][0]
    assert first["partners"] == ["b"] and first["delta"] == pytest.approx(0.2)
    assert first["delta_ci"] == pytest.approx([0.15, 0.25]) and first["verdict"] == "helped"
    assert first["run_id"] == "id-a-b"
    best = report["grouping"]["candidates"][0]
    assert best["groups"] == [["a", "b"], ["c"]]
    assert report["grouping"]["method"].startswith(
        "from measured pairs (higher-order approximation"
    )
    shown = {(r["task"], r["partners"]): r for r in transfer_rows(report)}
    assert shown[("c", "b")]["verdict"] == "no detectable difference"
    assert shown[("a", "b")]["delta_ci"] == "[+15.0%, +25.0%]"


def test_a_delta_within_its_noise_does_not_keep_a_helped_partner_apart():
    """The customers case: churn is helped by spend beyond noise, spend's own Δ with churn is
    negative but its interval is wide; the grouping pairs them (noise counts as 0)."""
    runs = [_run((t,), {}) for t in ("spend", "churn", "noise")] + [
        _run(("spend", "churn"), {"spend": -0.12, "churn": 0.13}, width=0.9),
        _run(("spend", "noise"), {"spend": -0.4, "noise": -0.02}, width=0.9),
        _run(("churn", "noise"), {"churn": 0.05, "noise": -0.01}, width=0.1),
    ]
    runs[3].summary["tasks"]["churn"]["delta_ci"] = [0.05, 0.24]
    runs[3].summary["tasks"]["churn"]["verdict"] = "helped"
    report = sweep_report(SweepResult(["spend", "churn", "noise"], "pairs", "local", 6, runs))
    best = report["grouping"]["candidates"][0]
    assert best["groups"] == [["spend", "churn"], ["noise"]]
    assert "interval contains 0" in report["grouping"]["method"]


def test_partial_results_report_what_finished():
    runs = [_run(("a",), {}), _run(("a", "b"), {"a": 0.5, "b": -1.0})]
    result = SweepResult(["a", "b"], "pairs", "local", 3, runs, stopped=True)
    report = sweep_report(result)
    assert report["done"] == 2 and report["stopped"]
    assert [r["delta"] for r in report["transfer"]["a"]] == [pytest.approx(0.5)]
    assert [r["delta"] for r in report["transfer"]["b"]] == [pytest.approx(-1.0)]
    assert report["grouping"]["candidates"][0]["groups"] == [["a"], ["b"]]


def test_a_sweep_without_a_finished_group_suggests_nothing():
    result = SweepResult(["a", "b"], "pairs", "local", 3, [_run(("a",), {})])
    assert sweep_report(result)["grouping"] is None


def _tiny(penguins_config):
    penguins_config["data"]["tasks"] = penguins_config["data"]["tasks"][:2]
    penguins_config["train"].update(epochs=2)
    penguins_config["analysis"] = {"sweep": "pairs", "sweep_workers": 1}
    return config_from_dict(penguins_config)


@pytest.mark.slow
def test_local_pool_sweep_stores_every_run_and_reports_progress(penguins_config):
    store, seen = RunStore(), []
    result = run_sweep(
        _tiny(penguins_config),
        store,
        on_progress=lambda r: seen.append((r.done, r.runs[-1].status)),
    )
    assert seen == [(1, "completed"), (2, "completed"), (3, "completed")]
    assert {r.subset for r in result.runs} == {("species",), ("sex",), ("species", "sex")}
    stored = {r["id"]: r for r in store.list_runs(include_baselines=True)}
    assert all(stored[r.run_id]["status"] == "completed" for r in result.runs)
    singles = [r for r in result.runs if len(r.subset) == 1]
    assert all(stored[r.run_id]["baseline_key"] for r in singles)  # a single is a baseline
    assert sweep_report(result)["grouping"] is not None


@pytest.mark.slow
def test_a_stopped_sweep_keeps_the_runs_it_finished(penguins_config):
    store, stop = RunStore(), threading.Event()
    result = run_sweep(_tiny(penguins_config), store, on_progress=lambda r: stop.set(), stop=stop)
    finished = [r for r in result.runs if r.status == "completed"]
    assert result.stopped and 1 <= len(finished) < result.total
    assert {r.status for r in result.runs} <= {"completed", "stopped"}
    stored = {r["id"]: r["status"] for r in store.list_runs(include_baselines=True)}
    assert all(stored[r.run_id] == "completed" for r in finished)
