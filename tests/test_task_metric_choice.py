"""Choosing a task's primary metric: in the data config (its kind's default stays implicit),
on the Data page, reset to the new kind's default when the task's kind changes, and watched
by early stopping."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import TrainConfig, config_from_dict
from mtl_core.data.editing import apply_roles_table, roles_table, set_task_metric
from mtl_core.data.inspect import inspect_source
from mtl_core.data.tasks import TaskSpec
from mtl_core.kinds import get_kind, kind_names
from mtl_core.train.schedules import monitor_score
from tests.conftest import REPO

PENGUINS = {
    "source": "sample_data/penguins",
    "tasks": [
        {"name": "species", "column": "species"},
        {"name": "mass", "column": "body_mass_g", "kind": "regression", "weight": 2.0},
    ],
}


@pytest.mark.parametrize("kind", kind_names())
def test_a_chosen_metric_is_written_and_the_default_left_implicit(kind):
    data = {
        "source": "x",
        "tasks": [{"name": "t", "column": "t", "kind": kind}, {"name": "u", "column": "u"}],
    }
    for metric in get_kind(kind).metrics:
        chosen = set_task_metric(data, "t", kind, metric)
        task = chosen["tasks"][0]
        assert task.get("metric", get_kind(kind).default_metric) == metric
        assert ("metric" in task) is (metric != get_kind(kind).default_metric)
        assert chosen["tasks"][1] == data["tasks"][1]
        assert config_from_dict({"data": chosen}).data.tasks[0].metric == task.get("metric")
    with pytest.raises(ValueError, match="is not a metric of"):
        set_task_metric(data, "t", kind, "no_such_metric")


def test_changing_a_tasks_kind_drops_its_metric():
    report = inspect_source("sample_data/penguins")
    data = set_task_metric(PENGUINS, "mass", "regression", "mae")
    rows = roles_table(report, data)
    assert apply_roles_table(rows, report, data)["tasks"][1]["metric"] == "mae"
    next(r for r in rows if r["column"] == "body_mass_g")["task kind"] = "multiclass"
    assert "metric" not in apply_roles_table(rows, report, data)["tasks"][1]


def test_the_data_page_sets_the_metric_a_task_is_judged_by():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run()
    at.session_state.experiment["data"].update(
        {"source": "sample_data/penguins", "tasks": [dict(t) for t in PENGUINS["tasks"]]}
    )
    at.switch_page("pages/data.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    judged = at.selectbox(key="metric::mass")
    assert judged.value == "mse" and list(judged.options) == ["mse", "mae", "r2"]
    judged.set_value("r2").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    tasks = at.session_state.experiment["data"]["tasks"]
    assert tasks[1]["metric"] == "r2" and "metric" not in tasks[0]
    assert at.selectbox(key="metric::mass").value == "r2"


def test_early_stopping_watches_each_tasks_metric_and_its_loss_where_that_is_undefined():
    """Lower is better: a score rises by its first value's share, an error falls; a binary
    validation split with a single class has no ROC-AUC, so its relative loss counts."""
    train = TrainConfig(monitor="metric")
    tasks = [
        TaskSpec("y", "y", "regression", metric="r2"),
        TaskSpec("e", "e", "regression", metric="mae"),
        TaskSpec("b", "b", "binary", ("no", "yes")),
    ]
    first = {
        "y": {"loss": 2.0, "r2": 0.5},
        "e": {"loss": 1.0, "mae": 4.0},
        "b": {"loss": 0.8, "roc_auc": math.nan},
    }
    val = {
        "y": {"loss": 1.0, "r2": 0.75},
        "e": {"loss": 1.0, "mae": 3.0},
        "b": {"loss": 0.4, "roc_auc": math.nan},
    }
    expected = (-0.75 / 0.5 + 3.0 / 4.0 + 0.4 / 0.8) / 3
    assert monitor_score(train, tasks, val, first) == pytest.approx(expected)
