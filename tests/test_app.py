"""The app under streamlit.testing: every page renders without an exception, and the Train
page trains in the background and shows the metrics table."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import schema_defaults
from tests.conftest import REPO

PAGES = [
    "pages/data.py",
    "pages/model.py",
    "pages/train.py",
    "pages/affinity.py",
    "pages/explain.py",
    "pages/runs.py",
    "pages/lessons.py",
]


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=60)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(page):
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title, f"{page} has no title"


def test_data_page_opens_on_a_sample_with_tasks_chosen():
    at = app().run()
    assert not at.exception
    assert at.session_state.experiment["data"]["source"] == "sample_data/penguins"
    assert [t["column"] for t in at.session_state.experiment["data"]["tasks"]] == [
        "species",
        "sex",
        "body_mass_g",
    ]


def test_bad_source_shows_a_message_not_an_exception():
    at = app().run()
    at.radio(key="source_kind").set_value("Local file or folder").run()
    at.text_input[0].input("/no/such/place.csv").run()
    assert not at.exception
    assert any("no such file" in e.value for e in at.error)


@pytest.mark.slow
def test_train_page_trains_in_the_background_and_shows_metrics():
    at = app().run()
    at.session_state.experiment["train"].update(epochs=3, baselines=False)
    at.switch_page("pages/train.py").run()
    at.button(key="train").click().run()
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(1)
        at.run()
        if at.success or at.error:
            break
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.success and "completed" in at.success[0].value
    assert at.dataframe, "the metrics table is shown"


def test_a_shared_link_reproduces_the_setup():
    at = app()
    at.query_params["tasks"] = "species,island"
    at.query_params["epochs"] = "7"
    at.query_params["shared"] = "16,8"
    at.run()
    assert not at.exception
    exp = at.session_state.experiment
    assert [t["column"] for t in exp["data"]["tasks"]] == ["species", "island"]
    assert exp["train"]["epochs"] == 7 and exp["model"]["shared"] == [16, 8]


def test_a_broken_link_is_reported_and_defaults_are_kept():
    at = app()
    at.query_params["epochs"] = "many"
    at.run()
    assert not at.exception
    assert any("'epochs'" in w.value for w in at.sidebar.warning)
    assert at.session_state.experiment["train"]["epochs"] == schema_defaults()["train"]["epochs"]


def test_teacher_mode_from_the_link():
    at = app()
    at.query_params["teacher"] = "1"
    at.run()
    assert at.session_state.teacher is True


def test_a_lesson_sets_up_its_experiment():
    at = app().run()
    at.switch_page("pages/lessons.py").run()
    at.button(key="lesson::digits-affinity").click().run()
    assert not at.exception
    exp = at.session_state.experiment
    assert exp["data"]["source"] == "sample_data/multi_digits"
    assert [t["name"] for t in exp["data"]["tasks"]] == ["digit", "parity", "ge5", "closed_loop"]


def _labels(at) -> set[str]:
    return {w.label for w in [*at.slider, *at.number_input, *at.text_input, *at.button]}


@pytest.mark.parametrize(
    ("page", "advanced"),
    [
        (
            "pages/model.py",
            {
                "Dropout",
                "Recompute the weights every k steps",
                "Record gradient conflicts every N steps (0 = off)",
            },
        ),
        ("pages/affinity.py", {"Start sweep"}),
        ("pages/train.py", {"Weight decay", "Gradient clipping (max norm, 0 = off)"}),
    ],
)
def test_teacher_mode_hides_advanced_controls(page, advanced):
    normal = app().run()
    normal.switch_page(page).run()
    teacher = app()
    teacher.query_params["teacher"] = "1"
    teacher.run()
    teacher.switch_page(page).run()
    assert not normal.exception and not teacher.exception
    assert advanced & _labels(normal), "the controls exist outside teacher mode"
    assert not advanced & _labels(teacher)


@pytest.mark.parametrize(
    "page",
    [
        "pages/data.py",
        "pages/model.py",
        "pages/affinity.py",
        "pages/explain.py",
        "pages/lessons.py",
    ],
)
def test_pages_explain_their_concepts(page):
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception
    assert at.expander, f"{page} has no concept explainer"


@pytest.mark.parametrize(
    "page", ["pages/runs.py", "pages/affinity.py", "pages/explain.py", "pages/model.py"]
)
def test_pages_that_need_a_run_link_to_train_when_there_is_none(page):
    """With an empty run store, a page that shows stored runs says so and links to Train."""
    at = app().switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(
        link.proto.page.endswith("train") and link.proto.label == "Go to Train"
        for link in at.get("page_link")
    )
