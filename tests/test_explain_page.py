"""The Explain page under streamlit.testing: with no run it points to Train; with a trained
run it explains on a button press, shows the figures, and explains a picked unit."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.experiment import run_experiment
from mtl_core.runs import RunStore
from tests.conftest import REPO


def explain_page() -> AppTest:
    st.cache_resource.clear()  # the run store is cached per process; each test has its own
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    return at.switch_page("pages/explain.py").run()


def test_without_runs_the_page_points_to_training():
    at = explain_page()
    assert not at.exception
    assert any("No trained run" in i.value for i in at.info)


@pytest.fixture
def trained_run(penguins_config):
    config = config_from_dict(penguins_config)
    return run_experiment(config, RunStore())["run_id"]


def test_explain_button_shows_figures_and_unit_drivers(trained_run):
    at = explain_page()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="explain_run").value == trained_run
    at.slider(key=f"explain_samples_{trained_run}").set_value(16)
    at.number_input(key="explain_steps").set_value(8)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    charts = at.get("plotly_chart")
    assert len(charts) == 5  # units, similarity, unit usage, unit drivers, inputs
    units = at.selectbox(key="explain_unit")
    least_used = int(units.options[-1].removeprefix("u"))
    units.set_value(least_used).run()
    assert not at.exception, [e.message for e in at.exception]
    assert least_used in at.session_state.explained["explanation"].drivers


def test_a_large_delta_offers_a_rerun_with_more_steps(trained_run):
    at = explain_page()
    at.slider(key=f"explain_samples_{trained_run}").set_value(16)
    at.number_input(key="explain_steps").set_value(2)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("needs more steps" in w.value for w in at.warning)
    rerun = next(b for b in at.button if b.label.startswith("Rerun with 4 steps"))
    rerun.click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.number_input(key="explain_steps").value == 4
    assert at.session_state.explained["explanation"].options.n_steps == 4


def test_the_run_picker_names_each_runs_weighting_and_an_unfinished_status(penguins_config):
    """Runs are told apart by what differs between them: tasks, architecture/weighting, and
    the status of a run that did not complete (the same label on every page)."""
    store = RunStore()
    penguins_config["weighting"] = {"method": "cagrad"}
    cagrad = run_experiment(config_from_dict(penguins_config), store)["run_id"]
    penguins_config["weighting"] = {"method": "uw"}
    penguins_config["train"]["lr"] = 1e30  # diverges
    diverged = run_experiment(config_from_dict(penguins_config), store)["run_id"]
    at = explain_page()
    assert not at.exception, [e.message for e in at.exception]
    options = at.selectbox(key="explain_run").options
    assert f"{cagrad} · species,sex,body_mass · hard/cagrad" in options
    assert f"{diverged} · species,sex,body_mass · hard/uw · diverged" in options


def test_a_chosen_class_is_what_the_page_explains(trained_run):
    """Picking a class of a multiclass task explains that class's score for every example
    (the default is each example's predicted class)."""
    at = explain_page()
    key = f"explain_class_{trained_run}_species"
    assert at.selectbox(key=key).value == "each example's predicted class"
    assert "Gentoo" in at.selectbox(key=key).options
    at.selectbox(key=key).set_value("Gentoo")
    at.slider(key=f"explain_samples_{trained_run}").set_value(8)
    at.number_input(key="explain_steps").set_value(4)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["explained"]["explainer"].options.classes == (("species", "Gentoo"),)


def test_an_mmoe_run_shows_how_much_each_task_gets_through_each_expert(penguins_config):
    penguins_config["model"] = {
        "architecture": "mmoe",
        "shared": [16],
        "head": [8],
        "params": {"experts": 3},
    }
    run_id = run_experiment(config_from_dict(penguins_config), RunStore())["run_id"]
    at = explain_page()
    at.slider(key=f"explain_samples_{run_id}").set_value(16)
    at.number_input(key="explain_steps").set_value(16)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Experts × tasks" in [h.value for h in at.subheader]
    level = at.session_state.explained["explanation"].experts[0]
    assert level.experts == ["expert 1", "expert 2", "expert 3"]
    assert len(at.get("plotly_chart")) == 6  # the five of a hard run, and the experts
