"""Derived targets: a binary task defined from a column by membership (`in`), a threshold
(`at_least`, `above`, `at_most`, `below`) or a level on a stated `order`. The labels each
rule gives (missing values stay missing), the source column never among the inputs, config
errors that name the key, the definition in the task report and in share links, and a
short training run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.data.inspect import inspect_tasks
from mtl_core.data.prepare import PreparedData, prepare_data
from mtl_core.errors import UserError
from mtl_core.experiment import run_experiment
from mtl_core.runs import RunStore
from mtl_core.share import experiment_to_params, params_to_experiment
from pages.common import DEFAULT_EXPERIMENT
from tests.conftest import REPO

LEVELS = ["HS-grad", "Some-college", "Bachelors", "Masters", "Doctorate"]
MARITAL = ["Never married", "Married", "Divorced", None]
ROWS = 60


def _table() -> pd.DataFrame:
    """x: a distinct number per row (an input, which also tells the rows apart), z: another
    input, and the three source columns, each with some missing values."""
    rng = np.random.default_rng(0)
    quality = rng.integers(1, 11, ROWS).astype(float)
    quality[::7] = np.nan
    education = [LEVELS[i % len(LEVELS)] if i % 9 else None for i in range(ROWS)]
    return pd.DataFrame(
        {
            "x": rng.permutation(ROWS) * 0.37 + 0.1,
            "z": rng.normal(size=ROWS),
            "marital_stat": [MARITAL[i % len(MARITAL)] for i in range(ROWS)],
            "quality": quality,
            "education": education,
        }
    )


def _prepare(path, tasks: list[dict], **data) -> PreparedData:
    return prepare_data(
        config_from_dict({"data": {"source": str(path), "tasks": tasks, **data}}).data
    )


def _labels(data: PreparedData, task: str) -> list[float | None]:
    """The task's labels over every split, in the order of the input x (None: no label)."""
    column = data.feature_names.index("x")
    xs = torch.cat([s.x[:, column] for s in data.splits.values()])
    targets = torch.cat([s.targets[task].float() for s in data.splits.values()])
    masks = torch.cat([s.masks[task] for s in data.splits.values()])
    order = torch.argsort(xs)
    return [
        float(t) if m else None
        for t, m in zip(targets[order].tolist(), masks[order].tolist(), strict=True)
    ]


def _expected(frame: pd.DataFrame, column: str, rule) -> list[float | None]:
    """What a rule should give, row by row in the order of x."""
    rows = frame.sort_values("x")[column]
    return [None if pd.isna(v) else float(bool(rule(v))) for v in rows]


FORMS = [
    (
        {"name": "never_married", "column": "marital_stat", "in": ["Never married"]},
        lambda v: v == "Never married",
        "marital_stat in [Never married]",
    ),
    (
        {"name": "split", "column": "marital_stat", "in": ["Married", "Divorced"]},
        lambda v: v in ("Married", "Divorced"),
        "marital_stat in [Married, Divorced]",
    ),
    ({"name": "good", "column": "quality", "at_least": 7}, lambda v: v >= 7, "quality ≥ 7"),
    ({"name": "great", "column": "quality", "above": 7}, lambda v: v > 7, "quality > 7"),
    ({"name": "poor", "column": "quality", "at_most": 3.5}, lambda v: v <= 3.5, "quality ≤ 3.5"),
    ({"name": "bad", "column": "quality", "below": 3}, lambda v: v < 3, "quality < 3"),
    (
        {"name": "college", "column": "education", "at_least": "Bachelors", "order": LEVELS},
        lambda v: LEVELS.index(v) >= 2,
        "education ≥ Bachelors (order: HS-grad < Some-college < Bachelors < Masters < Doctorate)",
    ),
    (
        {"name": "school", "column": "education", "below": "Some-college", "order": LEVELS},
        lambda v: LEVELS.index(v) < 1,
        None,
    ),
]


@pytest.fixture
def table_csv(tmp_path):
    frame = _table()
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return frame, path


@pytest.mark.parametrize(("task", "rule", "text"), FORMS, ids=[f[0]["name"] for f in FORMS])
def test_each_form_gives_its_labels_and_keeps_its_column_out_of_the_inputs(
    table_csv, task, rule, text
):
    frame, path = table_csv
    data = _prepare(path, [task], inputs="auto")
    spec = data.tasks[0]
    assert spec.kind == "binary" and spec.classes == ("0", "1")
    if text is not None:
        assert spec.definition == text
    assert _labels(data, task["name"]) == _expected(frame, task["column"], rule)
    inputs = [c for columns in data.input_columns.values() for c in columns]
    assert "x" in inputs and task["column"] not in inputs
    assert not any(name.startswith(task["column"]) for name in data.feature_names)


def test_all_forms_together_leave_every_source_out_of_the_inputs(table_csv):
    frame, path = table_csv
    data = _prepare(path, [f[0] for f in FORMS], inputs="auto")
    inputs = {c for columns in data.input_columns.values() for c in columns}
    assert inputs == {"x", "z"}
    for task, rule, _ in FORMS:
        assert _labels(data, task["name"]) == _expected(frame, task["column"], rule)


def test_a_derived_source_listed_as_an_input_is_refused(table_csv):
    _, path = table_csv
    with pytest.raises(UserError, match="'quality' is a task target"):
        _prepare(path, [FORMS[2][0]], inputs=["x", "quality"])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.one_of(st.none(), st.floats(-50, 50, allow_nan=False)), min_size=20, max_size=40
    ),
    data=st.data(),
)
def test_threshold_label_is_value_at_least_t_where_present(tmp_path, values, data):
    present = [v for v in values if v is not None]
    # half the thresholds are a value of the column itself: the boundary counts as "at least"
    threshold = data.draw(
        st.one_of(st.floats(-50, 50, allow_nan=False), st.sampled_from(present or [0.0]))
    )
    # a task needs both classes
    if not (any(v >= threshold for v in present) and any(v < threshold for v in present)):
        return
    frame = pd.DataFrame({"x": np.arange(len(values)) + 0.5, "value": values})
    path = tmp_path / "values.csv"
    frame.to_csv(path, index=False)
    data = _prepare(
        path,
        [{"name": "high", "column": "value", "at_least": threshold}],
        inputs=["x"],
        splits={"val_fraction": 0.0, "test_fraction": 0.0},
    )
    labels = _labels(data, "high")
    for value, label in zip(values, labels, strict=True):
        if value is None:
            assert label is None
        else:
            assert label == float(value >= threshold)


@pytest.mark.parametrize(
    ("task", "key", "needle"),
    [
        ({"in": ["a"], "at_least": 3}, "at_least", "one rule"),
        ({"above": 1, "below": 3}, "below", "one rule"),
        ({"at_least": "Bachelors"}, "order", "give 'order'"),
        ({"order": LEVELS}, "order", "has none"),
        ({"in": ["x"], "order": LEVELS}, "order", "has none"),
        ({"at_least": "PhD", "order": LEVELS}, "order", "not one of the levels"),
        ({"at_least": "Masters", "order": ["Masters", "Masters"]}, "order", "twice"),
        ({"in": ["Never married"], "kind": "regression"}, "in", "binary"),
        ({"in": []}, "in", "at least 1"),
        ({"at_least": [7]}, "at_least", ""),
    ],
)
def test_bad_definitions_are_config_errors_naming_the_key(task, key, needle):
    raw = {"data": {"source": "x.csv", "tasks": [{"name": "t", "column": "c", **task}]}}
    with pytest.raises(UserError, match=f"config error at 'data.tasks.0.{key}") as error:
        config_from_dict(raw)
    assert needle in str(error.value)


def test_values_that_do_not_fit_the_rule_are_named(table_csv):
    _, path = table_csv
    with pytest.raises(UserError, match="'Doctorate', which its order"):
        _prepare(
            path,
            [{"name": "c", "column": "education", "at_least": "Bachelors", "order": LEVELS[:-1]}],
        )
    with pytest.raises(UserError, match="column 'marital_stat' holds '.*', not a number"):
        _prepare(path, [{"name": "c", "column": "marital_stat", "at_least": 2}])


def test_the_task_report_shows_the_definition(table_csv):
    _, path = table_csv
    config = config_from_dict(
        {"data": {"source": str(path), "tasks": [FORMS[0][0], {"name": "quality", "column": "z"}]}}
    )
    stats = {s["task"]: s for s in inspect_tasks(config.data)["task_statistics"]}
    assert stats["never_married"]["definition"] == "marital_stat in [Never married]"
    assert stats["never_married"]["kind"] == "binary"
    assert stats["quality"]["definition"] == ""


def test_a_derived_task_round_trips_through_a_link():
    experiment = params_to_experiment({}, DEFAULT_EXPERIMENT)
    experiment["data"]["tasks"] = [
        {"name": "heavy", "column": "body_mass_g", "at_least": 4200},
        {"name": "adelie", "column": "species", "in": ["Adelie"]},
        {
            "name": "big_island",
            "column": "island",
            "above": "Biscoe",
            "order": ["Torgersen", "Biscoe", "Dream"],
        },
    ]
    params = experiment_to_params(experiment)
    restored = params_to_experiment(params, DEFAULT_EXPERIMENT)
    tasks = {t["name"]: t for t in restored["data"]["tasks"]}
    assert tasks["heavy"]["at_least"] == 4200 and tasks["heavy"]["in"] is None
    assert tasks["adelie"]["in"] == ["Adelie"]
    assert tasks["big_island"]["above"] == "Biscoe"
    assert tasks["big_island"]["order"] == ["Torgersen", "Biscoe", "Dream"]


def test_the_data_page_shows_a_linked_derived_task_by_its_definition():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update(
        {
            "source": "penguins",
            "tasks": "heavy:body_mass_g,species",
            "task_more": '{"heavy":{"at_least":4200}}',
        }
    )
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.session_state.experiment["data"]["tasks"][0]["at_least"] == 4200
    assert any(c.value.startswith("body_mass_g ≥ 4200 · ") for c in at.caption)


@pytest.mark.slow
def test_a_short_training_run_with_a_derived_task_completes(table_csv):
    _, path = table_csv
    config = config_from_dict(
        {
            "data": {"source": str(path), "tasks": [FORMS[0][0], FORMS[2][0]]},
            "model": {"shared": [8], "head": [4]},
            "train": {"epochs": 2, "batch_size": 16, "seeds": 1},
        }
    )
    summary = run_experiment(config, RunStore())
    assert summary["status"] == "completed"
    assert set(summary["tasks"]) == {"never_married", "good"}
    assert summary["tasks"]["good"]["definition"] == "quality ≥ 7"
    for task in summary["tasks"].values():
        assert task["kind"] == "binary"
        assert all(math.isfinite(v) for v in task["metrics"].values() if isinstance(v, float))


def test_class_label_columns_are_derived_by_their_names():
    """multi_digits: `digit` and `ge5` (no/yes) are ClassLabels, read by their names; the
    derived tasks match the digit and the sample's own `ge5` column; `digit` is no input."""
    digits = [str(d) for d in range(10)]
    data = prepare_data(
        config_from_dict(
            {
                "data": {
                    "source": "multi_digits",
                    "config": "pixels",
                    "tasks": [
                        {"name": "digit", "column": "digit"},
                        {"name": "ge5", "column": "ge5"},
                        {"name": "five_up", "column": "digit", "at_least": "5", "order": digits},
                        {"name": "even", "column": "digit", "in": ["0", "2", "4", "6", "8"]},
                        {"name": "big", "column": "digit", "above": 7},
                        {"name": "yes", "column": "ge5", "in": ["yes"]},
                    ],
                }
            }
        ).data
    )
    assert "digit" not in data.input_columns["multi_digits:pixels"]
    for split in data.splits.values():
        digit = split.targets["digit"]
        assert torch.equal(split.targets["five_up"].long(), split.targets["ge5"])
        assert torch.equal(split.targets["even"].long(), (digit % 2 == 0).long())
        assert torch.equal(split.targets["big"].long(), (digit > 7).long())
        assert torch.equal(split.targets["yes"].long(), split.targets["ge5"])
        assert bool(split.masks["five_up"].all())


def test_numbers_read_as_floats_match_whole_levels(tmp_path):
    """A CSV column with a missing value reads as floats (7.0): `in: ["7"]` and an order of
    "1".."10" still match it."""
    frame = _table()
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    levels = [str(v) for v in range(1, 11)]
    data = _prepare(
        path,
        [
            {"name": "seven", "column": "quality", "in": ["7", 8]},
            {"name": "high", "column": "quality", "at_least": 7, "order": levels},
        ],
    )
    assert data.tasks[1].definition == f"quality ≥ 7 (order: {' < '.join(levels)})"
    assert _labels(data, "seven") == _expected(frame, "quality", lambda v: v in (7, 8))
    assert _labels(data, "high") == _expected(frame, "quality", lambda v: v >= 7)
