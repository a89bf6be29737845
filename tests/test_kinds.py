"""The task-kind contract, checked for every registered kind (a new kind is tested without
editing this file): head width, masked losses, the trivial predictor, metric directions and
defaults, and the config errors for a metric the kind lacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.config import config_from_dict
from mtl_core.data.tasks import TaskSpec
from mtl_core.errors import UserError
from mtl_core.kinds import get_kind, kind_names, primary_metric, resolve_metric
from mtl_core.train.losses import candidate_losses, task_loss

KINDS = kind_names()


def spec_of(kind: str, n_classes: int = 3) -> TaskSpec:
    classes = tuple(f"c{i}" for i in range(n_classes)) if get_kind(kind).is_classification else ()
    return TaskSpec("t", "t", kind, classes)


def labels(kind: str, n_rows: int, n_classes: int, seed: int) -> torch.Tensor:
    """Valid encoded targets of any kind: the predictions of random outputs, in the dtype
    and shape of the kind's placeholder targets."""
    kind_object = get_kind(kind)
    width = spec_of(kind, n_classes).output_dim
    raw = np.random.default_rng(seed).normal(size=(n_rows, width)) * 3
    empty = kind_object.empty_targets(n_rows, n_classes)
    return torch.as_tensor(kind_object.predict(raw)).to(empty.dtype).reshape(empty.shape)


def perfect_outputs(kind: str, truth: np.ndarray) -> np.ndarray:
    """Raw outputs that predict each row's own label: each row's trivial predictor fitted
    on that row alone (narrower class columns padded with very low logits)."""
    kind_object = get_kind(kind)
    rows = [kind_object.trivial_outputs(truth[i : i + 1], 1) for i in range(len(truth))]
    if rows[0].ndim == 1:
        return np.concatenate(rows)
    width = max(row.shape[1] for row in rows)
    return np.concatenate(
        [np.pad(row, ((0, 0), (0, width - row.shape[1])), constant_values=-1e9) for row in rows]
    )


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_registered_under_its_name_with_its_metrics(kind):
    kind_object = get_kind(kind)
    assert kind_object.name == kind and kind_object.label
    assert kind_object.default_metric in kind_object.metrics
    assert kind_object.error_metrics <= set(kind_object.metrics)
    for metric in kind_object.metrics:
        assert kind_object.higher_is_better(metric) is (metric not in kind_object.error_metrics)
    assert primary_metric(kind) == (
        kind_object.default_metric,
        kind_object.higher_is_better(kind_object.default_metric),
    )
    with pytest.raises(ValueError, match="unknown task kind"):
        get_kind(kind + "_nonexistent")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", [2, 5])
def test_head_width_fits_the_targets_and_the_predictions(kind, n_classes):
    spec = spec_of(kind, n_classes)
    outputs = torch.randn(7, spec.output_dim)
    target = labels(kind, 7, n_classes, seed=0)
    assert task_loss(spec, outputs, target, None).shape == ()
    assert len(get_kind(kind).predict(outputs.numpy())) == 7


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(2, 12))
def test_loss_is_finite_and_ignores_masked_rows(kind, seed, rows):
    spec = spec_of(kind)
    generator = torch.Generator().manual_seed(seed)
    outputs = torch.randn(rows, spec.output_dim, generator=generator, requires_grad=True)
    target = labels(kind, rows, 3, seed)
    mask = torch.rand(rows, generator=generator) < 0.6
    mask[0] = True
    loss = task_loss(spec, outputs, target, mask)
    assert torch.isfinite(loss) and loss >= 0
    assert torch.allclose(loss, task_loss(spec, outputs[mask], target[mask], None))
    moved = outputs.detach().clone()
    moved[~mask] += 100.0  # what the model says on unlabelled rows does not count
    assert torch.allclose(loss, task_loss(spec, moved, target, mask))
    loss.backward()
    assert not outputs.grad[~mask].any()
    nothing = task_loss(spec, outputs, target, torch.zeros(rows, dtype=torch.bool))
    assert nothing == 0 and nothing.requires_grad


@pytest.mark.parametrize("kind", KINDS)
def test_candidate_losses_are_each_candidates_task_loss(kind):
    spec = spec_of(kind)
    outputs = torch.randn(3, 9, spec.output_dim)
    target = labels(kind, 9, 3, seed=1)
    mask = torch.tensor([True, False] * 4 + [True])
    together = candidate_losses([spec], {"t": outputs}, {"t": target}, {"t": mask})
    for c in range(3):
        assert torch.allclose(together[c, 0], task_loss(spec, outputs[c], target, mask), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(3, 30))
def test_trivial_outputs_are_constant_and_beaten_by_perfect_outputs(kind, seed, rows):
    """The trivial predictor says the same for every row; outputs predicting every row's own
    label score at least as well on every metric, and better wherever labels differ."""
    kind_object = get_kind(kind)
    truth = labels(kind, rows, 3, seed).numpy()
    trivial = kind_object.trivial_outputs(truth, rows)
    assert trivial.shape[0] == rows and (trivial == trivial[:1]).all()
    perfect = perfect_outputs(kind, truth)
    varied = len(np.unique(truth, axis=0)) > 1
    for metric in kind_object.metrics:
        best = kind_object.metric_values(metric, truth, perfect)
        base = kind_object.metric_values(metric, truth, trivial)
        if np.isnan(base):  # a rank metric on labels without both classes
            continue
        sign = 1 if kind_object.higher_is_better(metric) else -1
        assert sign * (best - base) >= -1e-12, metric
        if varied:
            assert sign * (best - base) > 0, metric


def test_trivial_predictors_score_as_chance():
    truth = np.array([1, 0, 1, 1, 0, 1])
    binary = get_kind("binary")
    constant = binary.trivial_outputs(truth, 6)
    assert binary.metric_values("roc_auc", truth, constant) == 0.5
    assert binary.metric_values("accuracy", truth, constant) == pytest.approx(4 / 6)
    assert binary.metric_values("pr_auc", truth, constant) == pytest.approx(4 / 6)
    classes = np.array([2, 0, 2, 1, 2])
    multiclass = get_kind("multiclass")
    assert multiclass.metric_values(
        "accuracy", classes, multiclass.trivial_outputs(classes, 5)
    ) == pytest.approx(0.6)
    values = np.array([1.0, 4.0, -2.0, 7.5])
    regression = get_kind("regression")
    mean = regression.trivial_outputs(values, 4)
    assert regression.metric_values("r2", values, mean) == pytest.approx(0.0, abs=1e-12)
    assert regression.metric_values("mse", values, mean) == pytest.approx(values.var())
    sets = np.array([[1, 0], [1, 1], [1, 0]])
    multilabel = get_kind("multilabel")
    majority = multilabel.predict(multilabel.trivial_outputs(sets, 3))
    assert (majority == [1, 0]).all()


@pytest.mark.parametrize("kind", KINDS)
def test_a_task_metric_outside_its_kind_is_a_config_error_naming_the_key(kind):
    foreign = next(
        m for other in KINDS for m in get_kind(other).metrics if m not in get_kind(kind).metrics
    )
    assert resolve_metric(kind, None, "t") == get_kind(kind).default_metric
    tasks = [
        {"name": "a", "column": "a"},
        {"name": "mass", "column": "m", "kind": kind, "metric": foreign},
    ]
    with pytest.raises(UserError) as error:
        config_from_dict({"data": {"source": "sample_data/penguins", "tasks": tasks}})
    choices = ", ".join(get_kind(kind).metrics)
    assert str(error.value).startswith("config error at 'data.tasks.1.metric'")
    assert f"'{foreign}' is not a metric of {kind} task 'mass' (choose one of: {choices})" in str(
        error.value
    )


def test_a_metric_of_an_inferred_kind_is_checked_when_the_data_is_prepared():
    from mtl_core.data.prepare import prepare_data

    config = config_from_dict(
        {
            "data": {
                "source": "sample_data/penguins",
                "tasks": [
                    {"name": "species", "column": "species"},
                    {"name": "mass", "column": "body_mass_g", "metric": "roc_auc"},
                ],
            }
        }
    )
    with pytest.raises(
        UserError,
        match=r"config error at 'data.tasks\[1\].metric': 'roc_auc' "
        r"is not a metric of regression task 'mass' "
        r"\(choose one of: mse, mae, r2\)",
    ):
        prepare_data(config.data)
    chosen = config_from_dict(
        {
            "data": {
                "source": "sample_data/penguins",
                "tasks": [
                    {"name": "mass", "column": "body_mass_g", "metric": "r2"},
                    {"name": "species", "column": "species"},
                ],
            }
        }
    )
    specs = prepare_data(chosen.data).tasks
    assert [(s.metric, s.higher_is_better) for s in specs] == [("r2", True), ("accuracy", True)]
