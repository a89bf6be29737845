"""Per-task metrics: the validation pass's numpy macro-F1 equals scikit-learn's on any labels,
regression metrics are in the target's own units, and binary tasks get their rank metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score

from mtl_core.data.tasks import TaskSpec
from mtl_core.kinds.scores import macro_f1_columns, macro_f1_labels
from mtl_core.train.metrics import task_metrics


def macro_f1(truth: np.ndarray, predicted: np.ndarray, multilabel: bool = False) -> float:
    score = macro_f1_columns if multilabel else macro_f1_labels
    return float(score(truth, predicted, np.ones((1, len(truth))))[0])


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=40))
def test_macro_f1_equals_scikit_learn_for_class_labels(pairs):
    truth, predicted = (np.array(column) for column in zip(*pairs, strict=True))
    expected = f1_score(truth, predicted, average="macro", zero_division=0)
    assert abs(macro_f1(truth, predicted) - expected) < 1e-12


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(data=st.data(), rows=st.integers(1, 20), columns=st.integers(2, 5))
def test_macro_f1_equals_scikit_learn_for_label_sets(data, rows, columns):
    """Indicator matrices of two columns or more (scikit-learn reads one column as labels)."""
    truth = data.draw(arrays(np.int64, (rows, columns), elements=st.integers(0, 1)))
    predicted = data.draw(arrays(np.int64, (rows, columns), elements=st.integers(0, 1)))
    expected = f1_score(truth, predicted, average="macro", zero_division=0)
    assert abs(macro_f1(truth, predicted, multilabel=True) - expected) < 1e-12


def test_regression_metrics_are_in_the_targets_units():
    task = TaskSpec("y", "y", "regression")
    target = torch.tensor([0.0, 1.0, -1.0, 2.0])  # standardised
    output = (target + 0.5).unsqueeze(-1)
    metrics = task_metrics(task, output, target, torch.ones(4, dtype=torch.bool), (10.0, 4.0))
    assert metrics["mse"] == 4.0 and metrics["mae"] == 2.0  # 0.5 standardised = 2 units
    truth = target.numpy() * 4 + 10
    assert abs(metrics["r2"] - (1 - 4.0 / truth.var())) < 1e-6


def test_binary_tasks_report_rank_metrics_next_to_accuracy():
    task = TaskSpec("y", "y", "binary", ("no", "yes"))
    target = torch.tensor([0, 0, 1, 1, 1])
    output = torch.tensor([[-1.0], [0.5], [0.2], [2.0], [-0.3]])
    mask = torch.tensor([True, True, True, True, False])  # the last row has no label
    metrics = task_metrics(task, output, target, mask)
    assert metrics["roc_auc"] == 0.75 and metrics["accuracy"] == 0.75
    assert metrics["f1"] == 0.8 and set(metrics) == {
        "roc_auc",
        "pr_auc",
        "f1",
        "accuracy",
        "macro_f1",
    }
