"""Runs page under AppTest: lists, filters, compares, loads a config back, deletes only
after confirmation."""

import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.experiment import run_experiment
from mtl_core.runs import RunStore
from tests.conftest import REPO


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    return at.switch_page("pages/runs.py").run()


def _two_runs(penguins_config) -> list[str]:
    store = RunStore()
    first = run_experiment(config_from_dict(penguins_config), store)["run_id"]
    penguins_config["train"]["epochs"] = 2
    penguins_config["name"] = "short one"
    second = run_experiment(config_from_dict(penguins_config), store)["run_id"]
    return [first, second]


def test_runs_are_listed_filtered_and_compared(penguins_config):
    first, second = _two_runs(penguins_config)
    at = _page()
    assert not at.exception, [e.message for e in at.exception]
    assert set(at.dataframe[0].value["run"]) == {first, second}
    compared = at.dataframe[1].value
    assert {first, second} <= set(compared.columns)
    cost = compared.set_index("metric").loc[
        ["training seconds", "ms per step, evaluation included"]
    ]
    for run_id in (first, second):  # what each run cost, from its stored summary
        summary = RunStore().get_run(run_id)["summary"]
        assert cost.loc["training seconds", run_id] == summary["seconds"]
        assert cost.loc["ms per step, evaluation included", run_id] == pytest.approx(
            1000 / summary["steps_per_second"]
        )
    assert at.get("plotly_chart")
    at.text_input(key="runs_filter").input("short").run()
    assert list(at.dataframe[0].value["run"]) == [second]


def test_loading_a_run_sets_the_experiment(penguins_config):
    first, second = _two_runs(penguins_config)
    at = _page()
    at.selectbox(key="runs_picked").set_value(second).run()
    at.button(key="runs_load").click().run()
    assert not at.exception
    assert at.session_state.experiment["name"] == "short one"
    assert at.session_state.experiment["train"]["epochs"] == 2


def test_delete_needs_confirmation(penguins_config):
    first, second = _two_runs(penguins_config)
    at = _page()
    at.selectbox(key="runs_picked").set_value(first).run()
    assert at.button(key="runs_delete").disabled
    at.checkbox(key=f"runs_sure_{first}").check().run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert [r["id"] for r in RunStore().list_runs()] == [second]


def test_each_file_of_a_run_can_be_downloaded_on_its_own(penguins_config):
    first, _ = _two_runs(penguins_config)
    at = _page()
    at.selectbox(key="runs_picked").set_value(first).run()
    assert not at.exception, [e.message for e in at.exception]
    labels = [button.proto.label for button in at.get("download_button")]
    assert labels == [
        "Export (zip: config, metrics, weights)",
        "config (YAML)",
        "metrics per epoch (CSV)",
        "summary (JSON)",
        "weights (safetensors)",
    ]
