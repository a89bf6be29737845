"""The Model page's weighting part under streamlit.testing: it renders with every method
selected, edits the config the way the method expects, and charts a stored run."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.runs import RunStore
from mtl_core.train.loop import train_model
from mtl_core.weighting.catalogue import method_info
from mtl_core.weighting.registry import weighting_names
from tests.conftest import REPO


def model_page(method: str | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    if method is not None:
        at.session_state.experiment["weighting"] = {"method": method}
    return at.switch_page("pages/model.py").run()


@pytest.mark.slow
def test_model_page_renders_with_each_method_selected():
    at = model_page()
    problems = {}
    for method in weighting_names():
        at.session_state.experiment["weighting"] = {"method": method}
        at.run()
        info = method_info(method)
        if at.exception:
            problems[method] = [e.message for e in at.exception]
            continue
        picked = at.radio(key=f"weighting_method_{info.cost_class}")
        if picked.value != method:
            problems[method] = f"picker shows {picked.value}"
        config_from_dict(at.session_state.experiment)  # the edited config stays valid
    assert not problems, problems


def test_static_weights_are_sliders_per_task_and_reach_the_config():
    at = model_page("static")
    tasks = [t["name"] for t in at.session_state.experiment["data"]["tasks"]]
    assert len([s for s in at.slider if s.key and s.key.startswith("weighting_static_")]) == len(
        tasks
    )
    at.slider(key=f"weighting_static_{tasks[0]}").set_value(3.0).run()
    at.toggle(key="weighting_static_normalize").set_value(True).run()
    params = at.session_state.experiment["weighting"]["params"]
    assert params["weights"][tasks[0]] == 3.0 and params["normalize"] is True
    assert not at.exception


def test_switching_methods_drops_the_old_methods_parameters():
    at = model_page("cagrad")
    at.number_input(key="weighting_cagrad_c").set_value(0.9).run()
    assert at.session_state.experiment["weighting"]["params"] == {"c": 0.9}
    at.radio(key="weighting_method_gradient").set_value("upgrad").run()
    assert at.session_state.experiment["weighting"]["params"] == {}
    at.number_input(key="weighting_update_every").set_value(10).run()
    weighting = config_from_dict(at.session_state.experiment).weighting
    assert (weighting.method, weighting.update_every) == ("upgrad", 10)


def test_famo_offers_both_its_update_interval_and_the_gradient_conflict_probe():
    """A loss method that can amortise (FAMO) shows update_every and gramian_every; a
    gradient method only update_every; equal only gramian_every."""
    at = model_page("famo")
    at.number_input(key="weighting_update_every").set_value(5).run()
    at.number_input(key="weighting_gramian_every").set_value(20).run()
    weighting = config_from_dict(at.session_state.experiment).weighting
    assert (weighting.update_every, weighting.gramian_every) == (5, 20)
    keys = {n.key for n in at.number_input}
    at.radio(key="weighting_method_loss").set_value("equal").run()
    after = {n.key for n in at.number_input}
    assert {"weighting_update_every", "weighting_gramian_every"} <= keys
    assert "weighting_update_every" not in after and "weighting_gramian_every" in after
    assert "update_every" not in at.session_state.experiment["weighting"]
    assert not at.exception


def test_a_stored_run_gets_weight_and_cosine_charts(penguins_config, private_run_store):
    penguins_config["weighting"] = {"method": "upgrad"}
    penguins_config["train"]["epochs"] = 2
    config = config_from_dict(penguins_config)
    result = train_model(config, prepare_data(config.data))
    store = RunStore(private_run_store)
    run_id = store.create_run(penguins_config)
    store.write_extras(run_id, result.extras)
    store.finish_run(run_id, {"status": "completed"}, None)
    at = model_page()
    assert not at.exception, [e.message for e in at.exception]
    charts = {chart.key for chart in at.get("plotly_chart")}
    assert {"weighting_weights_chart", "weighting_cosine_chart"} <= charts
    assert any("conflict" in c.value for c in at.caption)
