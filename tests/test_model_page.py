"""The Model page under streamlit.testing: it renders every architecture (diagram and
parameter table), applies presets, rejects bad parameters with a message, and shows the
learned mixing of a stored run."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.experiment import run_experiment
from mtl_core.models.registry import architecture_names, presets
from mtl_core.runs import RunStore
from tests.conftest import REPO


def model_page(architecture: str, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.session_state.experiment["model"].update(
        architecture=architecture, shared=[16], head=[8], params=params or {}
    )
    return at.switch_page("pages/model.py").run()


@pytest.mark.parametrize("architecture", architecture_names())
def test_the_page_renders_every_architecture_with_diagram_and_counts(architecture):
    at = model_page(architecture)
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox[0].value == architecture
    charts = [c for c in at.get("plotly_chart")]
    assert charts, "the diagram is drawn"
    table = at.dataframe[0].value
    assert list(table["part"]) == [
        "shared",
        "only species",
        "only sex",
        "only body_mass_g",
        "total",
    ]


@pytest.mark.slow
def test_applying_a_preset_sets_widths_and_params():
    at = model_page("mmoe")
    label = next(iter(presets("mmoe")))
    at.selectbox(key="preset_mmoe").set_value(label).run()
    at.button(key="apply_preset").click().run()
    assert not at.exception
    model = at.session_state.experiment["model"]
    assert model["shared"] == [16] and model["head"] == [8]
    assert model["params"]["experts"] == 8


@pytest.mark.parametrize(
    ("architecture", "params", "key"),
    [
        ("cross_stitch", {"units_after": [7]}, "units_after"),
        ("mmoe", {"experts": 1000}, "experts"),
        ("mmoe", {"experts": "many"}, "experts"),
        ("soft", {"alpha": -1}, "alpha"),
    ],
)
def test_bad_params_show_a_message_naming_the_key(architecture, params, key):
    at = model_page(architecture, params)
    assert not at.exception, [e.message for e in at.exception]
    assert any(f"model.params.{key}" in e.value for e in at.error)


@pytest.mark.slow  # trains a run per architecture
@pytest.mark.parametrize(
    ("architecture", "params", "heatmaps"),
    [
        ("mmoe", {"experts": 3}, 1),
        ("ple", {"levels": 2}, 2),
        ("cross_stitch", {}, 1),
        ("soft", {"alpha": 0.1}, 1),
    ],
)
def test_learned_mixing_of_a_stored_run_is_shown(architecture, params, heatmaps, penguins_config):
    config = config_from_dict(
        {
            **penguins_config,
            "model": {"architecture": architecture, "shared": [8], "head": [4], "params": params},
            "train": {**penguins_config["train"], "epochs": 1},
        }
    )
    run_id = run_experiment(config, RunStore())["run_id"]
    at = model_page(architecture, params)
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="mixing_run").value == run_id
    keys = [chart.key for chart in at.get("plotly_chart")]
    assert "diagram" in keys
    assert len([k for k in keys if k.startswith("mix")]) == heatmaps


def test_an_architecture_without_mixing_says_so():
    at = model_page("hard")
    assert not at.exception
    assert any("learns no mixing" in c.value for c in at.caption)
