"""Tasks from other datasets on the Data page: added, validated, trained together, removed."""

import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.data.editing import add_source_task, remove_task
from mtl_core.data.prepare import prepare_data
from mtl_core.errors import UserError
from tests.conftest import REPO

SENTIMENT = str(REPO / "examples/data/tweets_sentiment.csv")
IRONY = str(REPO / "examples/data/tweets_irony.csv")
BASE = {
    "source": SENTIMENT,
    "config": None,
    "input_type": "text",
    "inputs": ["text"],
    "tasks": [{"name": "sentiment", "column": "sentiment"}],
}


def test_added_task_reads_its_own_dataset_and_masks_the_other_rows():
    data = add_source_task(BASE, "irony", "irony", IRONY, inputs=["tweet"])
    prepared = prepare_data(config_from_dict({"data": data}).data)
    train = prepared.splits["train"]
    sentiment, irony = train.masks["sentiment"], train.masks["irony"]
    assert bool(sentiment.any()) and bool(irony.any())
    assert not bool((sentiment & irony).any()), "each dataset labels only its own task"
    assert [t["name"] for t in remove_task(data, "irony")["tasks"]] == ["sentiment"]


@pytest.mark.parametrize(
    ("name", "source", "needle"),
    [
        ("sentiment", IRONY, "already a task named 'sentiment'"),
        ("irony", SENTIMENT, "the experiment's own dataset"),
        ("", IRONY, "needs a name"),
    ],
)
def test_bad_additions_are_user_errors(name, source, needle):
    with pytest.raises(UserError, match=needle):
        add_source_task(BASE, name, "irony", source)


def test_the_page_adds_and_removes_a_task_from_another_dataset():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update({"source": SENTIMENT, "tasks": "sentiment"})
    at.run()
    at.session_state.experiment["data"].update(input_type="text", inputs=["text"])
    at.radio(key="source_kind").set_value("Local file or folder").run()
    at.text_input(key="extra_source").input(IRONY).run()
    at.selectbox(key="extra_column").set_value("irony").run()
    at.multiselect(key="extra_inputs").set_value(["tweet"]).run()
    at.button(key="add_extra_task").click().run()
    assert not at.exception, [e.message for e in at.exception]
    tasks = at.session_state.experiment["data"]["tasks"]
    assert [(t["name"], t.get("source")) for t in tasks] == [("sentiment", None), ("irony", IRONY)]
    at.button(key="remove_task::irony").click().run()
    assert not at.exception
    assert [t["name"] for t in at.session_state.experiment["data"]["tasks"]] == ["sentiment"]
