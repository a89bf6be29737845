"""The Affinity page under streamlit.testing: with no run it points to training; with a
probed run it shows the labelled heatmaps, the epoch slider, both warning levels apart,
the grouping candidates; and a sweep runs in the background from the page."""

from __future__ import annotations

import json
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.runs import RunStore
from mtl_core.experiment import run_experiment
from tests.conftest import REPO


def affinity_page() -> AppTest:
    st.cache_resource.clear()  # the run store is cached per process; each test has its own
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    return at.switch_page("pages/affinity.py").run()


def _titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
            for c in at.get("plotly_chart")]


def test_without_runs_the_page_points_to_training():
    at = affinity_page()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Train page" in i.value for i in at.info)


@pytest.fixture
def probed_run(penguins_config):
    penguins_config["train"].update(epochs=3, baselines=True)
    penguins_config["analysis"] = {"affinity_every": 1}
    return run_experiment(config_from_dict(penguins_config), RunStore())["run_id"]


def test_probed_run_shows_labelled_heatmaps_warnings_and_grouping(probed_run):
    at = affinity_page()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="affinity_run").value == probed_run
    titles = _titles(at)
    assert "Lookahead affinity Z(column → row), mean over training" in titles
    assert any(t.startswith("Gradient cosine, mean") for t in titles)
    assert any(t.startswith("Conflict rate") for t in titles)
    assert "Measured transfer: multi-task vs single-task" in titles
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert heatmap["data"][0]["x"] == heatmap["data"][0]["y"] == ["species", "sex", "body_mass"]
    assert heatmap["data"][0]["zmid"] == 0
    assert heatmap["layout"]["yaxis"]["title"]["text"] == "row: task affected"
    assert any("loosely" in i.value for i in at.info)  # the caveat is on the page
    assert any(s.value.startswith("Suggested:") for s in at.success)
    # Confirmed warnings are errors, suspected ones warnings: never the same element.
    assert all(e.value.startswith("**CONFIRMED") for e in at.error)
    assert all(w.value.startswith("**suspected") for w in at.warning)

    at.select_slider(key="affinity_epoch").set_value(2).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Lookahead affinity Z(column → row), epoch 2" in _titles(at)
    at.slider(key="affinity_groups").set_value(1).run()
    assert not at.exception
    assert at.dataframe[-1].value["groups"].tolist()[0].count("|") == 0  # one group


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
    assert len(RunStore().list_runs()) == 3
