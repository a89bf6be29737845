"""A subset of the experiment's tasks (a sweep's subset, a group to verify, a baseline) is
trained on the full experiment's rows and inputs: another task's label column never becomes
an input, and a task's single-task baseline has one key whatever the other tasks are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.config import config_from_dict
from mtl_core.data.inspect import inspect_tasks
from mtl_core.data.prepare import prepare_data
from mtl_core.data.subsets import subset_data
from mtl_core.experiment import baseline_config, baseline_key, train_baselines
from mtl_core.sweep.groups import train_single
from mtl_core.sweep.plan import subset_config
from tests.test_cli import run_cli

TASKS = {"score": "score", "passed": "passed", "track": "track", "hours": "hours"}


@pytest.fixture(scope="module")
def mixed_csv(tmp_path_factory) -> str:
    """Inputs of every tabular type, and four task columns of three kinds."""
    rng = np.random.default_rng(0)
    n = 120
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "city": rng.choice(["a", "b", "c"], n),
            "score": x1 + rng.normal(scale=0.1, size=n),
            "passed": np.where(x1 + x2 > 0, "yes", "no"),
            "track": rng.choice(["art", "math", "lang"], n),
            "hours": np.where(rng.random(n) < 0.2, np.nan, 10 + x2),  # some rows unlabelled
        }
    )
    path = tmp_path_factory.mktemp("mixed") / "mixed.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _config(source: str, tasks: dict[str, str], **data):
    return config_from_dict(
        {
            "data": {
                "source": source,
                "tasks": [{"name": n, "column": c} for n, c in tasks.items()],
                **data,
            },
            "model": {"architecture": "hard", "shared": [16], "head": [8]},
            "train": {"epochs": 2, "batch_size": 32, "device": "cpu", "seeds": 1},
        }
    )


@pytest.fixture(scope="module")
def mixed(mixed_csv):
    """The full experiment of the four tasks, and its prepared data."""
    config = _config(mixed_csv, TASKS)
    return config, prepare_data(config.data)


subsets = st.lists(st.sampled_from(sorted(TASKS)), min_size=1, max_size=3, unique=True).map(
    lambda names: tuple(t for t in TASKS if t in names)
)  # in the experiment's order


@settings(max_examples=12, deadline=None)
@given(chosen=subsets)
def test_a_subset_reads_the_full_experiments_inputs_and_no_task_column(mixed, chosen):
    config, full = mixed
    others = set(TASKS.values()) - {TASKS[t] for t in chosen}
    trained = subset_data(full, chosen)
    assert trained.task_names == list(chosen)
    assert trained.input_columns == full.input_columns
    assert trained.feature_names == full.feature_names
    for name, split in full.splits.items():
        assert trained.splits[name].x is split.x  # the same rows, not a new split
    # the stored config of the subset run, prepared afresh, reads the same inputs too
    again = prepare_data(subset_config(config, chosen, full).data)
    assert again.input_columns == full.input_columns
    assert not others & {c for columns in again.input_columns.values() for c in columns}


@settings(max_examples=12, deadline=None)
@given(chosen=subsets)
def test_a_baselines_key_does_not_depend_on_the_other_tasks(mixed, chosen):
    config, full = mixed
    single = baseline_config(config)
    sub = subset_config(config, chosen, full)
    for task in chosen:
        assert baseline_key(baseline_config(sub), subset_data(full, chosen), task) == baseline_key(
            single, full, task
        )


def test_a_baselines_key_changes_with_its_rows(mixed_csv, mixed):
    config, full = mixed
    moved = _config(mixed_csv, TASKS, splits={"seed": 1})
    assert baseline_key(baseline_config(config), full, "score") != baseline_key(
        baseline_config(moved), prepare_data(moved.data), "score"
    )


def _grades(path) -> str:
    """Like UCI student performance: G1, G2, G3 from non-grade columns, G3 ≈ G2 ≈ G1."""
    rng = np.random.default_rng(7)
    n = 400
    study = rng.integers(1, 5, n)
    failures = rng.integers(0, 4, n)
    absences = rng.integers(0, 30, n)
    g1 = 10 + 1.2 * study - 2.0 * failures - 0.1 * absences + rng.normal(scale=2.5, size=n)
    g2 = g1 + rng.normal(scale=0.7, size=n)
    g3 = g2 + rng.normal(scale=0.7, size=n)
    frame = pd.DataFrame(
        {
            "school": rng.choice(["GP", "MS"], n),
            "age": rng.integers(15, 23, n),
            "studytime": study,
            "failures": failures,
            "absences": absences,
            "G1": g1.round(1),
            "G2": g2.round(1),
            "G3": g3.round(1),
        }
    )
    frame.to_csv(path, index=False)
    return str(path)


def _test_mse(config, data) -> float:
    runs = train_baselines(config, data, [0])["G3"]
    return runs[0].metrics["test"]["G3"]["mse"]


def test_g3_alone_gets_the_true_single_task_error_not_the_leaked_one(tmp_path):
    source = _grades(tmp_path / "grades.csv")
    grades = {"G1": "G1", "G2": "G2", "G3": "G3"}
    config = _config(source, grades).model_copy(deep=True)
    config.train.epochs = 40
    full = prepare_data(config.data)
    alone = train_single(config, full, "G3", store=None)["tasks"]["G3"]["metrics"]["mse"]

    without = config.model_copy(
        update={
            "data": config.data.model_copy(
                update={
                    "tasks": [t for t in config.data.tasks if t.name == "G3"],
                    "ignore": ["G1", "G2"],
                }
            )
        }
    )
    true = _test_mse(without, prepare_data(without.data))
    leaky = config.model_copy(
        update={
            "data": config.data.model_copy(
                update={"tasks": [t for t in config.data.tasks if t.name == "G3"]}
            )
        }
    )
    leaky_data = prepare_data(leaky.data)
    assert {"G1", "G2"} <= set(leaky_data.input_columns[source])  # the old subset's inputs
    leaked = _test_mse(leaky, leaky_data)

    assert alone == pytest.approx(true, rel=1e-5)
    assert leaked < true / 2


@pytest.mark.slow
def test_inspect_warns_of_inputs_that_are_another_grade(tmp_path):
    source = _grades(tmp_path / "grades.csv")

    def warned(columns: list[str]) -> list[str]:
        data = config_from_dict(
            {"data": {"source": source, "tasks": [{"name": c, "column": c} for c in columns]}}
        ).data
        return sorted({w.split("'")[1] for w in inspect_tasks(data)["input_warnings"]})

    assert warned(["G3"]) == ["G1", "G2"]
    assert warned(["G1", "G2", "G3"]) == []
    done = run_cli("inspect", source, "--tasks", "G3")
    assert done.returncode == 0, done.stderr
    assert "warning: input 'G2' has correlation +0.9" in done.stdout


@pytest.mark.parametrize("chosen", [("a",), ("b",), ("a2", "b")])
def test_a_subset_with_a_task_of_another_dataset_keeps_each_datasets_inputs(tmp_path, chosen):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    pd.DataFrame(
        {
            "x1": x[:, 0],
            "x2": x[:, 1],
            "a": x[:, 0] + 1,
            "a2": x[:, 1] * 2,
            "extra": rng.normal(size=60),
        }
    ).to_csv(first, index=False)
    pd.DataFrame(
        {"x1": x[:, 1], "x2": x[:, 0], "b": x[:, 0] - x[:, 1], "extra": rng.normal(size=60)}
    ).to_csv(second, index=False)
    config = config_from_dict(
        {
            "data": {
                "source": str(first),
                "tasks": [
                    {"name": "a", "column": "a"},
                    {"name": "a2", "column": "a2"},
                    {"name": "b", "column": "b", "source": str(second)},
                ],
            },
            "train": {"device": "cpu"},
        }
    )
    full = prepare_data(config.data)
    again = prepare_data(subset_config(config, chosen, full).data)
    assert again.task_names == list(chosen)
    for label, columns in again.input_columns.items():
        assert columns == full.input_columns[label]
        assert not {"a", "a2", "b"} & set(columns)
