"""metric_values: a weighted metric equals the plain metric on the rows repeated by their
counts, unit counts equal no weights, and the plain metrics equal scikit-learn's (ties
included), for every kind and metric."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as sk

from mtl_core.kinds import get_kind, kind_names
from mtl_core.kinds.metrics import metric_values

KIND_METRICS = [(kind, metric) for kind in kind_names() for metric in get_kind(kind).metrics]
# Outputs on a coarse grid, so that tied scores (and ties between classes) are common.
GRID = st.integers(-4, 4).map(lambda v: v / 2)


@st.composite
def task_rows(draw, kind: str, min_rows: int = 1):
    """(truth, raw outputs) of `kind` for a few rows."""
    n = draw(st.integers(min_rows, 25))
    if kind == "binary":
        return (
            draw(arrays(np.int64, n, elements=st.integers(0, 1))),
            draw(arrays(np.float64, n, elements=GRID)),
        )
    if kind == "multiclass":
        classes = draw(st.integers(2, 5))
        return (
            draw(arrays(np.int64, n, elements=st.integers(0, classes - 1))),
            draw(arrays(np.float64, (n, classes), elements=GRID)),
        )
    if kind == "multilabel":
        labels = draw(st.integers(1, 4))
        return (
            draw(arrays(np.int64, (n, labels), elements=st.integers(0, 1))),
            draw(arrays(np.float64, (n, labels), elements=GRID)),
        )
    return (
        draw(arrays(np.float64, n, elements=st.integers(-5, 5).map(float))),
        draw(arrays(np.float64, n, elements=st.floats(-6, 6, width=32))),
    )


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(1.0, abs(b))


@pytest.mark.parametrize(("kind", "metric"), KIND_METRICS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_weighted_metric_is_the_metric_of_the_repeated_rows(kind, metric, data):
    truth, outputs = data.draw(task_rows(kind))
    counts = data.draw(arrays(np.int64, (3, len(truth)), elements=st.integers(0, 3)))
    values = metric_values(kind, metric, truth, outputs, counts)
    assert values.shape == (3,)
    for value, row in zip(values, counts, strict=True):
        repeated = np.repeat(np.arange(len(truth)), row)
        expected = metric_values(kind, metric, truth[repeated], outputs[repeated])
        assert same(float(value), expected), (value, expected)
    for dtype in (np.uint8, np.int32, np.float32):  # counts in any numeric dtype
        typed = metric_values(kind, metric, truth, outputs, counts.astype(dtype))
        assert all(same(float(v), float(w)) for v, w in zip(typed, values, strict=True))


@pytest.mark.parametrize(("kind", "metric"), KIND_METRICS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_unit_weights_give_the_plain_metric(kind, metric, data):
    truth, outputs = data.draw(task_rows(kind))
    plain = metric_values(kind, metric, truth, outputs)
    assert isinstance(plain, float)
    ones = metric_values(kind, metric, truth, outputs, np.ones((2, len(truth)), dtype=np.int64))
    assert all(same(float(v), plain) for v in ones)
    as_floats = metric_values(kind, metric, truth, outputs, np.ones((1, len(truth))))
    assert same(float(as_floats[0]), plain)


def _sklearn(kind: str, metric: str, truth: np.ndarray, outputs: np.ndarray) -> float:
    if metric == "roc_auc":
        return sk.roc_auc_score(truth, outputs)
    if metric == "pr_auc":
        return sk.average_precision_score(truth, outputs)
    if metric in ("mse", "mae", "r2"):
        scorer = {"mse": sk.mean_squared_error, "mae": sk.mean_absolute_error, "r2": sk.r2_score}[
            metric
        ]
        return scorer(truth, outputs)
    predicted = get_kind(kind).predict(outputs)
    if metric == "accuracy":
        return sk.accuracy_score(truth, predicted)  # multilabel: exact match
    average = "binary" if metric == "f1" else "macro"
    return sk.f1_score(truth, predicted, average=average, zero_division=0)


@pytest.mark.parametrize(("kind", "metric"), KIND_METRICS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_plain_metric_equals_scikit_learn(kind, metric, data):
    truth, outputs = data.draw(task_rows(kind, min_rows=2))
    if metric in ("roc_auc", "pr_auc"):
        assume(0 < truth.sum() < len(truth))
    if metric == "r2":
        assume(truth.min() < truth.max())
    if kind == "multilabel" and metric == "macro_f1":
        assume(truth.shape[1] > 1)  # scikit-learn reads a single column as class labels
    expected = _sklearn(kind, metric, truth, outputs)
    assert abs(metric_values(kind, metric, truth, outputs) - expected) < 1e-9


@pytest.mark.parametrize(("kind", "metric"), KIND_METRICS)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_large_counts_in_small_dtypes_do_not_overflow(kind, metric, data):
    truth, outputs = data.draw(task_rows(kind, min_rows=20))
    counts = data.draw(arrays(np.int64, (2, len(truth)), elements=st.integers(150, 255)))
    expected = metric_values(kind, metric, truth, outputs, counts)
    typed = metric_values(kind, metric, truth, outputs, counts.astype(np.uint8))
    assert all(same(float(v), float(w)) for v, w in zip(typed, expected, strict=True))
    doubled = metric_values(kind, metric, truth, outputs, counts * 2)  # beyond a byte
    assert all(same(float(v), float(w)) for v, w in zip(doubled, expected, strict=True))


def test_undefined_rank_metrics_are_nan_per_resample():
    truth = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    counts = np.array([[1, 1, 1, 1], [2, 2, 0, 0], [0, 0, 1, 3]])
    auc = metric_values("binary", "roc_auc", truth, scores, counts)
    assert auc[0] == 0.75 and np.isnan(auc[1:]).all()
    average = metric_values("binary", "pr_auc", truth, scores, counts)
    assert np.isnan(average[1]) and average[2] == 1.0


def test_r2_of_a_resample_without_variance_is_zero():
    truth = np.array([1.0, 1.0, 3.0])
    counts = np.array([[2, 1, 0], [1, 1, 1]])
    values = metric_values("regression", "r2", truth, np.array([0.0, 2.0, 3.0]), counts)
    assert values[0] == 0.0 and values[1] == pytest.approx(1 - 2 / (8 / 3))


@pytest.mark.parametrize("kind", kind_names())
def test_a_metric_of_another_kind_is_refused(kind):
    foreign = next(
        m
        for other in kind_names()
        for m in get_kind(other).metrics
        if m not in get_kind(kind).metrics
    )
    with pytest.raises(ValueError, match=f"not a metric of {kind}"):
        metric_values(kind, foreign, np.zeros(2), np.zeros(2))
