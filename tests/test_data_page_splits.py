"""The Data page's split pickers: a dataset without a `train` split can be trained (its
largest split is proposed), another split can test, and a role without a split of its own
is held out of training at the chosen share."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import SplitConfig, config_from_dict, schema_defaults
from mtl_core.data.prepare import prepare_data
from mtl_core.data.splits import role_split, split_plan, training_split
from pages.parts.splits import CARVE, role_options
from tests.conftest import REPO


def _frame(rows: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    return {
        "x1": x[:, 0],
        "x2": x[:, 1],
        "x3": x[:, 2],
        "y": x @ [1.0, -2.0, 0.5],
        "label": np.where(x[:, 0] > 0, "up", "down"),
    }


@pytest.fixture(scope="module")
def odd_splits(tmp_path_factory) -> str:
    """A saved DatasetDict whose splits are named 'fit' (200 rows) and 'holdout' (60)."""
    folder = tmp_path_factory.mktemp("odd_splits") / "data"
    datasets.DatasetDict(
        {
            "fit": datasets.Dataset.from_dict(_frame(200, 0)),
            "holdout": datasets.Dataset.from_dict(_frame(60, 1)),
        }
    ).save_to_disk(str(folder))
    return str(folder)


def test_the_largest_split_trains_when_there_is_no_train_split():
    assert training_split({"fit": 200, "holdout": 60}, None) == "fit"
    assert training_split({"train": 10, "big": 99}, None) == "train"
    assert training_split({"fit": 200, "holdout": 60}, "holdout") == "holdout"
    assert training_split({"fit": 200}, "gone") == "fit"


def test_a_role_with_a_split_of_its_name_reads_it_and_others_may_be_held_out():
    sizes = {"train": 100, "validation": 20, "extra": 30}
    assert role_options(sizes, "train", "validation") == ["validation", "extra"]
    assert role_options(sizes, "train", "test") == [CARVE, "validation", "extra"]
    assert CARVE not in role_options(sizes, "extra", "validation")


@pytest.mark.parametrize(
    "sizes",
    [
        {"train": 100, "validation": 20, "extra": 30},
        {"train": 100, "extra": 30},
        {"validation": 80, "test": 20},
        {"fit": 100, "test": 30},
    ],
)
def test_the_page_offers_holding_out_exactly_when_the_config_would_hold_out(sizes):
    """One rule: the page offers "held out" for a role exactly when split_plan, given no split
    for that role, carves the role's rows out of the training split."""
    train = training_split(sizes, None)
    plan = split_plan(sizes, SplitConfig(train=train), None)
    for role in ("validation", "test"):
        held_out = plan[role][0] == train
        assert (CARVE in role_options(sizes, train, role)) == held_out
        assert (role_split(sizes, train, role, None) is None) == held_out


def test_the_page_trains_on_a_chosen_split_and_tests_on_another(odd_splits):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update({"source": odd_splits, "tasks": "y,label"})
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    scope = f"{odd_splits}::None"
    assert at.selectbox(key=f"split_train::{scope}").value == "fit"
    assert not at.error, [e.value for e in at.error]  # the tasks were prepared from 'fit'
    at.selectbox(key=f"split_test::{scope}::fit").set_value("holdout").run()
    at.slider(key=f"split_val_fraction::{scope}").set_value(20).run()
    assert not at.exception and not at.error
    splits = at.session_state.experiment["data"]["splits"]
    assert {k: splits[k] for k in ("train", "validation", "test", "val_fraction")} == {
        "train": "fit",
        "validation": None,
        "test": "holdout",
        "val_fraction": 0.2,
    }
    assert any("test from 'holdout'" in c.value for c in at.caption)
    prepared = prepare_data(config_from_dict({"data": at.session_state.experiment["data"]}).data)
    rows = {name: len(split) for name, split in prepared.splits.items()}
    assert rows == {"train": 160, "validation": 40, "test": 60}


def test_a_hub_dataset_from_a_link_opens_under_the_hub_with_its_revision():
    """A link to a hub dataset at a revision shows both in the hub's fields; offline, the
    page says so in one message."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update(
        {"source": "owner/name", "tasks": "y", "data_more": '{"revision": "v1.0"}'}
    )
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.radio(key="source_kind").value == "Hugging Face hub"
    assert at.text_input(key="hub_id").value == "owner/name"
    assert at.text_input(key="hub_revision").value == "v1.0"
    assert [e.value for e in at.error] == [
        "cannot reach the Hugging Face hub for 'owner/name' (no network or offline mode): use "
        "a local file or folder, an uploaded file, or an embedded sample"
    ]


def test_a_new_source_starts_with_the_schemas_settings_for_its_columns_and_splits(odd_splits):
    """Settings that name the old source's columns or splits do not follow to a new source:
    they go back to the schema's defaults, and no task is chosen yet."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    data = at.session_state.experiment["data"]
    data.update(
        ignore=["island"],
        column_types={"year": "categorical"},
        max_rows=100,
        splits={**data["splits"], "val_fraction": 0.3},
    )
    at.radio(key="source_kind").set_value("Local file or folder").run()
    at.text_input(key="local_path").set_value(odd_splits).run()
    assert not at.exception, [e.message for e in at.exception]
    data = at.session_state.experiment["data"]
    fresh = schema_defaults()["data"]
    assert data["source"] == odd_splits and data["tasks"] == []
    assert (data["ignore"], data["column_types"]) == (fresh["ignore"], fresh["column_types"])
    assert data["splits"]["val_fraction"] == fresh["splits"]["val_fraction"]
    assert data["splits"]["train"] == "fit"  # the page then picks the split that trains
