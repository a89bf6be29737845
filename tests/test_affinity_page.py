"""The Affinity page under streamlit.testing: with no run it points to training; with a
probed run it shows per task the verdict with its interval, the compact pair table, the
grouping with its reasons, heatmaps on honest scales and the epoch slider; and a sweep runs
in the background from the page."""

from __future__ import annotations

import json
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mtl_core.analysis.verdicts import VERDICTS
from mtl_core.config import config_from_dict
from mtl_core.experiment import run_experiment
from mtl_core.runs import RunStore
from tests.conftest import REPO


def affinity_page() -> AppTest:
    st.cache_resource.clear()  # the run store is cached per process; each test has its own
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    return at.switch_page("pages/affinity.py").run()


def _titles(at) -> list[str]:
    return [
        json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
        for c in at.get("plotly_chart")
    ]


def test_without_runs_the_page_points_to_training():
    at = affinity_page()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Train page" in i.value for i in at.info)


@pytest.fixture
def probed_run(penguins_config):
    penguins_config["train"].update(epochs=3, baselines=True)
    penguins_config["analysis"] = {"affinity_every": 1}
    return run_experiment(config_from_dict(penguins_config), RunStore())["run_id"]


def test_probed_run_shows_verdicts_pairs_grouping_and_honest_heatmaps(probed_run):
    at = affinity_page()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="affinity_run").value == probed_run
    # Per task: the verdict with the delta, its interval and the data it rests on.
    lines = [m.value for m in at.markdown if m.value.startswith("**")]
    for task in ("species", "sex", "body_mass"):
        (line,) = [v for v in lines if v.startswith(f"**{task}**")]
        assert " · " in line and "seed" in line and "test rows" in line
        assert any(verdict in line for verdict in VERDICTS)
    # One compact pair table (3 tasks: 3 pairs), not N² cards.
    pairs = at.dataframe[0].value
    assert pairs["pair"].tolist() == ["species – sex", "species – body_mass", "sex – body_mass"]
    assert set(pairs["status"]) <= {"signal", "within noise", "contradicted", "not measured"}
    assert len(at.warning) <= 3
    assert all(w.value.startswith("**signal") for w in at.warning)
    assert all(e.value.startswith("**negative transfer") for e in at.error)
    assert any("loosely" in i.value for i in at.info)  # the caveat is on the page
    (suggested,) = [s.value for s in at.success if s.value.startswith("Suggested:")]
    reasons = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert reasons and all(":" in r for r in reasons)
    titles = _titles(at)
    assert "Lookahead affinity Z(column → row), mean over training" in titles
    assert any(t.startswith("Gradient cosine, mean") for t in titles)
    assert any(t.startswith("Conflict rate") for t in titles)
    assert "Measured transfer: multi-task vs single-task" in titles
    specs = {
        json.loads(c.proto.spec)["layout"].get("title", {}).get("text", ""): json.loads(
            c.proto.spec
        )
        for c in at.get("plotly_chart")
    }
    heatmap = specs["Lookahead affinity Z(column → row), mean over training"]
    assert heatmap["data"][0]["x"] == heatmap["data"][0]["y"] == ["species", "sex", "body_mass"]
    assert heatmap["data"][0]["zmid"] == 0
    assert heatmap["data"][0]["zmin"] == -heatmap["data"][0]["zmax"]
    assert heatmap["layout"]["yaxis"]["title"]["text"] == "row: task affected"
    cosine = specs["Gradient cosine, mean over training"]["data"][0]
    assert (cosine["zmin"], cosine["zmax"]) == (-1, 1)

    at.select_slider(key="affinity_epoch").set_value(2).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Lookahead affinity Z(column → row), epoch 2" in _titles(at)
    at.slider(key="affinity_groups").set_value(1).run()
    assert not at.exception
    groups = at.dataframe[1].value["groups"].tolist()
    assert groups[0].count("|") == 0 or groups[-1].count("|") == 2  # one group; each alone
    at.toggle(key="affinity_overlap").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]


def _stored_run(summary_tasks: dict, delta_m=None, delta_m_ci=None) -> str:
    """A run stored by hand: the synthetic probe record of test_affinity_grouping (spend and
    churn help each other, an independent and a noise task) and the given summary."""
    from tests.test_affinity_grouping import TASKS, _synthetic_record

    store = RunStore()
    config = {
        "data": {"source": "x", "tasks": [{"name": t, "column": t} for t in TASKS]},
        "model": {"architecture": "hard"},
        "weighting": {"method": "equal"},
    }
    run_id = store.create_run(config)
    store.write_extras(run_id, {"affinity": _synthetic_record(0)})
    store.finish_run(
        run_id,
        {
            "status": "completed",
            "tasks": summary_tasks,
            "delta_m": delta_m,
            "delta_m_ci": delta_m_ci,
        },
        None,
    )
    return run_id


def _task(delta, verdict, ci, seeds=3, rows=52):
    return {
        "kind": "regression",
        "primary_metric": "mse",
        "metrics": {"mse": 1 - delta},
        "baseline_metrics": {"mse": 1.0},
        "delta": delta,
        "delta_ci": ci,
        "verdict": verdict,
        "verdict_reason": f"because {verdict}",
        "noise": {"seeds": seeds, "baseline_seeds": seeds, "test_rows": rows},
    }


def test_verdicts_notes_and_reasons_of_a_stored_run():
    _stored_run(
        {
            "spend": _task(0.024, "no detectable difference", [-0.011, 0.059]),
            "churn": _task(0.05, "helped", [0.02, 0.08]),
            "independent": _task(-0.08, "hurt", [-0.12, -0.04]),
            "noise": _task(-0.2, "unlearnable", [-0.5, 0.1]),
        },
        delta_m=-0.05,
        delta_m_ci=[-0.1, 0.0],
    )
    at = affinity_page()
    assert not at.exception, [e.message for e in at.exception]
    texts = [m.value for m in at.markdown]
    assert (
        "**spend** (mse): +2.4% [-1.1%, +5.9%] · no detectable difference · 3 seeds, 52 test rows"
    ) in texts
    assert any(t.startswith("Δm -5.0% [-10.0%, +0.0%]") for t in texts)
    (hurt,) = [e for e in at.error if e.value.startswith("**")]  # (no data for 'x': the
    assert hurt.value.startswith("**negative transfer · independent**")  # association tab)
    assert any(i.value.startswith("**unlearnable · noise**") for i in at.info)
    assert not any("negative transfer" in i.value for i in at.info if "noise**" in i.value)
    (suggested,) = [s.value for s in at.success if s.value.startswith("Suggested:")]
    assert suggested.startswith("Suggested: spend + churn  |  independent  |  noise")
    (reasons,) = [t for t in texts if t.startswith("- ")]
    assert reasons.splitlines() == [
        "- spend and churn: each step on one lowered the other's loss (Z(spend→churn) = "
        "+0.0396 ± 0.0017, Z(churn→spend) = +0.0399 ± 0.0016)",
        "- independent alone: no partner helps it beyond noise",
        "- noise alone: it is unlearnable from these inputs (neither model beats the trivial "
        "predictor), so no partner can help it",
    ]
    pairs = at.dataframe[0].value
    assert pairs.loc[pairs["pair"] == "spend – churn", "status"].item() == "signal"
    assert set(pairs.loc[pairs["pair"] != "spend – churn", "status"]) == {"within noise"}


def test_an_old_summary_without_verdicts_still_displays():
    _stored_run(
        {
            t: {
                "kind": "regression",
                "metrics": {"mse": 1.1},
                "baseline_metrics": {"mse": 1.0},
                "delta": -0.1,
            }
            for t in ("spend", "churn", "independent", "noise")
        },
        delta_m=-0.1,
    )
    at = affinity_page()
    assert not at.exception, [e.message for e in at.exception]
    texts = [m.value for m in at.markdown]
    assert "**spend** (mse): -10.0% (no interval) · inconclusive · 1 seed" in texts
    assert not [e for e in at.error if e.value.startswith("**")]  # never measured
    assert any("stored before intervals" in i.value for i in at.info)


@pytest.mark.slow
def test_sweep_runs_in_the_background_and_reports_partners(penguins_config):
    at = affinity_page()
    at.session_state.experiment["train"].update(epochs=2)
    at.multiselect(key="sweep_tasks").set_value(["species", "sex"])
    at.button(key="sweep_start").click().run()
    deadline = time.time() + 240
    while time.time() < deadline:
        time.sleep(2)
        at.run()
        if at.button(key="sweep_stop").disabled:  # the sweep is no longer running
            break
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    texts = [m.value for m in at.markdown]
    assert any("**species** is helped by" in t for t in texts)
    assert len(RunStore().list_runs()) == 1  # the pair; the singles are its baselines
