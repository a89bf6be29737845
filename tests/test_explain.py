"""Properties of the attributions: completeness (sums match F(x) - F(baseline) within the
reported delta), a unit no head reads gets exactly zero, neuron conductance adds up to the
layer conductance of its unit, per-task representations, images, and clear user errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mtl_core.analysis.explain import Explainer, ExplainOptions, cosine_similarity
from mtl_core.analysis.explain.units import cluster_order
from mtl_core.config import ModelConfig
from mtl_core.data.prepare import PreparedData, SplitTensors
from mtl_core.data.tasks import TaskSpec
from mtl_core.errors import UserError
from mtl_core.models import MTLModel, build_model
from mtl_core.models.registry import architecture_names

TASKS = [
    TaskSpec("kind", "kind", "multiclass", ("a", "b", "c")),
    TaskSpec("flag", "flag", "binary", ("no", "yes")),
    TaskSpec("size", "size", "regression"),
]


def make_data(x: torch.Tensor, tasks=TASKS, input_kind="tabular") -> PreparedData:
    n = len(x)
    targets = {t.name: torch.zeros(n) for t in tasks}
    masks = {t.name: torch.ones(n, dtype=torch.bool) for t in tasks}
    split = SplitTensors(x, targets, masks)
    width = int(np.prod(x.shape[1:]))
    return PreparedData(
        list(tasks),
        {"train": split, "validation": split, "test": split},
        input_kind,
        tuple(x.shape[1:]),
        [f"f{i}" for i in range(width)],
    )


def hard_model(n_features: int, seed: int, shared=(16, 8)) -> MTLModel:
    torch.manual_seed(seed)
    return build_model(ModelConfig(shared=list(shared), head=[8]), TASKS, "tabular", (n_features,))


def task_outputs(model, x, task, target):
    with torch.no_grad():
        out = model(x)[task]
    return out[:, target] if isinstance(target, int) else out.gather(1, target[:, None])[:, 0]


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), baseline=st.sampled_from(["zeros", "mean"]))
def test_input_attributions_sum_to_output_change_within_the_reported_delta(seed, baseline):
    torch.manual_seed(seed)
    x = torch.randn(24, 6)
    data = make_data(x)
    model = hard_model(6, seed)
    explainer = Explainer(model, data, ExplainOptions(samples=24, n_steps=64, baseline=baseline))
    explanation = explainer.explain()
    for spec in TASKS:
        attribution = explanation.inputs[spec.name]
        with torch.no_grad():
            predicted = model(explainer.x)[spec.name].argmax(1) if spec.output_dim > 1 else 0
        change = (
            task_outputs(model, explainer.x, spec.name, predicted)
            - task_outputs(model, explainer.baseline, spec.name, predicted)
        ).numpy()
        gap = np.abs(attribution.values.sum(axis=1) - change)
        assert gap.max() <= attribution.completeness.max_abs_delta + 1e-5
        # A smooth small MLP with 64 Gauss-Legendre steps is nearly exact.
        assert not attribution.completeness.needs_more_steps


@pytest.mark.slow
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_unit_conductances_are_complete_and_profiles_are_well_formed(seed):
    torch.manual_seed(seed)
    x = torch.randn(16, 5)
    model = hard_model(5, seed)
    explainer = Explainer(model, make_data(x), ExplainOptions(samples=16, n_steps=64))
    explanation = explainer.explain()
    units = explanation.units
    assert units.rows == ["kind", "flag", "size"]
    for completeness in units.completeness:
        assert completeness.mean_abs_change > 0
        assert not completeness.needs_more_steps
    share = units.share
    assert np.allclose(share.sum(axis=1), 1.0)
    assert sorted(units.order) == list(range(8))


def test_a_unit_no_head_reads_gets_zero_attribution():
    torch.manual_seed(0)
    x = torch.randn(32, 6)
    model = hard_model(6, 0)
    dead = 3
    with torch.no_grad():
        for head in model.heads.values():
            head[0].weight[:, dead] = 0.0
    explanation = Explainer(model, make_data(x), ExplainOptions(samples=32, n_steps=20)).explain()
    importance = explanation.units.importance
    assert np.all(importance[:, dead] == 0.0)
    alive = np.delete(importance, dead, axis=1)
    assert alive.sum(axis=1).min() > 0


@pytest.mark.slow
def test_neuron_conductance_adds_up_to_the_units_layer_conductance():
    torch.manual_seed(1)
    x = torch.randn(12, 5)
    model = hard_model(5, 1, shared=(8,))
    options = ExplainOptions(samples=12, n_steps=200)
    explainer = Explainer(model, make_data(x), options)
    explanation = explainer.explain()
    unit = explanation.units.ranked_units()[0]
    drivers = explainer.add_drivers(explanation, unit)
    assert set(drivers) == {"kind", "flag", "size"}
    for row, task in enumerate(explanation.units.row_tasks):
        through_unit = np.abs(drivers[task].sum(axis=1)).mean()
        # mean |sum over inputs| <= mean |layer conductance| of the unit, equal when each
        # example's conductance keeps its sign (the sums match example by example).
        assert through_unit <= explanation.units.importance[row, unit] + 1e-3
    assert unit in explanation.drivers
    with pytest.raises(UserError, match="unit 99 does not exist"):
        explainer.add_drivers(explanation, 99)


def test_per_class_rows_and_a_chosen_class():
    x = torch.randn(20, 4)
    model = hard_model(4, 2)
    by_class = Explainer(
        model, make_data(x), ExplainOptions(samples=20, n_steps=8, by_class=True)
    ).explain()
    assert by_class.units.rows == ["kind: a", "kind: b", "kind: c", "flag", "size"]
    chosen = Explainer(
        model,
        make_data(x),
        ExplainOptions(samples=20, n_steps=8, classes=(("kind", "b"),), tasks=("kind",)),
    ).explain()
    assert chosen.units.rows == ["kind: b"]
    assert np.allclose(chosen.units.importance[0], by_class.units.importance[1])
    assert list(chosen.inputs) == ["kind"]


class TwoTowers(MTLModel):
    """A per-task representation: each task reads its own tower (like soft sharing)."""

    architecture = "test_two_towers"

    def __init__(self, tasks, width=4):
        super().__init__(tasks, "tabular", (width,), ModelConfig())
        self.towers = nn.ModuleDict(
            {t.name: nn.Sequential(nn.Linear(width, 6), nn.Tanh()) for t in tasks}
        )
        self.heads = nn.ModuleDict({t.name: nn.Linear(6, t.output_dim) for t in tasks})

    def forward_with_features(self, x):
        features = [self.towers[name](x) for name in self.task_names]
        outputs = {
            name: self.heads[name](f) for name, f in zip(self.task_names, features, strict=True)
        }
        return outputs, features

    def representation_modules(self):
        return [self.towers[name] for name in self.task_names]

    def shared_parameters(self):
        return []

    def task_parameters(self):
        return {
            n: [*self.towers[n].parameters(), *self.heads[n].parameters()] for n in self.task_names
        }

    def blocks(self):
        return []


def test_per_task_representation_uses_each_tasks_own_module():
    torch.manual_seed(3)
    tasks = TASKS[1:]
    model = TwoTowers(tasks)
    with torch.no_grad():
        model.heads["flag"].weight[:, 2] = 0.0
    x = torch.randn(16, 4)
    explanation = Explainer(model, make_data(x, tasks), ExplainOptions(samples=16)).explain()
    units = explanation.units
    assert not units.shared
    assert units.importance[0, 2] == 0.0  # flag's own tower unit 2 feeds nothing
    assert units.importance[1, 2] > 0.0  # size's tower unit 2 is a different unit
    for completeness in units.completeness:
        assert not completeness.needs_more_steps


class TinyCNN(MTLModel):
    """Hard sharing over a convolutional encoder, for image inputs [N, 1, 8, 8]."""

    architecture = "test_tiny_cnn"

    def __init__(self, tasks):
        super().__init__(tasks, "image", (1, 8, 8), ModelConfig())
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 3, 3, padding=1), nn.Softplus(), nn.AvgPool2d(2), nn.Flatten()
        )
        self.trunk = nn.Sequential(nn.Linear(48, 10), nn.Softplus())
        self.heads = nn.ModuleDict({t.name: nn.Linear(10, t.output_dim) for t in tasks})

    def forward_with_features(self, x):
        features = self.trunk(self.encoder(x))
        return {n: h(features) for n, h in self.heads.items()}, [features]

    def representation_modules(self):
        return [self.trunk]

    def shared_parameters(self):
        return [*self.encoder.parameters(), *self.trunk.parameters()]

    def task_parameters(self):
        return {n: list(h.parameters()) for n, h in self.heads.items()}

    def blocks(self):
        return []


@pytest.mark.parametrize("baseline", ["zeros", "blur"])
def test_images_get_per_task_maps_that_are_complete(baseline):
    torch.manual_seed(4)
    x = torch.rand(10, 1, 8, 8)
    model = TinyCNN(TASKS)
    explanation = Explainer(
        model,
        make_data(x, input_kind="image"),
        ExplainOptions(samples=10, n_steps=64, baseline=baseline),
    ).explain()
    for attribution in explanation.inputs.values():
        assert attribution.values.shape == (10, 1, 8, 8)
        assert attribution.mean_abs().shape == (1, 8, 8)
        assert not attribution.completeness.needs_more_steps
    document = explanation.to_json()
    assert np.array(document["inputs"]["kind"]["mean_abs_map"]).shape == (8, 8)


def test_blurred_baseline_keeps_the_mean_and_removes_detail():
    from mtl_core.analysis.explain.context import gaussian_blur

    images = torch.rand(3, 2, 16, 16)
    blurred = gaussian_blur(images, sigma=2.0)
    assert blurred.shape == images.shape
    assert torch.allclose(blurred.mean(), images.mean(), atol=0.02)
    assert blurred.std() < 0.5 * images.std()


def test_smoothgrad_runs_and_reports_a_delta_per_noisy_copy():
    torch.manual_seed(5)
    x = torch.randn(8, 4)
    explanation = Explainer(
        hard_model(4, 5), make_data(x), ExplainOptions(samples=8, n_steps=16, smoothgrad=3)
    ).explain()
    for attribution in explanation.inputs.values():
        assert np.isfinite(attribution.values).all()
        assert attribution.completeness.mean_abs_change > 0


def test_cosine_similarity_and_cluster_order_properties():
    rng = np.random.default_rng(0)
    rows = np.abs(rng.normal(size=(4, 12)))
    rows[2] = 0.0
    similarity = cosine_similarity(rows)
    assert np.allclose(similarity, similarity.T)
    assert np.allclose(np.diag(similarity)[[0, 1, 3]], 1.0)
    assert np.all(similarity[2] == 0.0)
    assert np.allclose(cosine_similarity(rows * 7.0), similarity)
    assert sorted(cluster_order(rows)) == list(range(12))


def test_original_model_is_untouched_and_stays_in_train_mode():
    model = hard_model(4, 6)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    Explainer(model, make_data(torch.randn(8, 4)), ExplainOptions(samples=8, n_steps=4)).explain()
    assert model.training
    assert all(p.requires_grad for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    "options, message",
    [
        (ExplainOptions(samples=0), "samples must be at least 1"),
        (ExplainOptions(n_steps=1), "steps must be at least 2"),
        (ExplainOptions(baseline="blur"), "blur baseline is for images"),
        (ExplainOptions(tasks=("nope",)), "no task 'nope'"),
        (ExplainOptions(classes=(("flag", "yes"),)), "only be chosen for a multiclass task"),
        (ExplainOptions(classes=(("kind", "z"),)), "has no class 'z'"),
        (ExplainOptions(split="holdout"), "no split 'holdout'"),
    ],
)
def test_bad_options_are_user_errors_that_name_the_problem(options, message):
    with pytest.raises(UserError, match=message):
        Explainer(hard_model(4, 0), make_data(torch.randn(8, 4)), options)


@pytest.mark.parametrize("architecture", architecture_names())
def test_every_architecture_is_explained_on_its_own_representation(architecture):
    torch.manual_seed(7)
    x = torch.randn(12, 6)
    model = build_model(
        ModelConfig(architecture=architecture, shared=[8], head=[4]), TASKS, "tabular", (6,)
    )
    explanation = Explainer(model, make_data(x), ExplainOptions(samples=12, n_steps=32)).explain()
    units = explanation.units
    assert units.rows == ["kind", "flag", "size"]
    assert units.shared == (len(model.representation_modules()) == 1)
    assert np.isfinite(units.importance).all() and (units.importance.sum(axis=1) > 0).all()
    for completeness in [
        *units.completeness,
        *(a.completeness for a in explanation.inputs.values()),
    ]:
        assert completeness.relative < 0.2


def test_text_tokens_and_units_are_complete_and_padding_gets_nothing():
    torch.manual_seed(8)
    ids = torch.randint(1, 500, (10, 12))
    ids[:, 9:] = 0  # padding at the end of every row
    model = build_model(ModelConfig(shared=[8], head=[4]), TASKS, "text", (12,))
    explanation = Explainer(
        model, make_data(ids, input_kind="text"), ExplainOptions(samples=10, n_steps=64)
    ).explain()
    for attribution in explanation.inputs.values():
        assert attribution.values.shape == (10, 12)
        assert np.all(attribution.values[:, 9:] == 0.0)
        assert np.abs(attribution.values[:, :9]).sum() > 0
        assert not attribution.completeness.needs_more_steps
    for completeness in explanation.units.completeness:
        assert not completeness.needs_more_steps
    assert len(explanation.to_json()["inputs"]["kind"]["tokens"]) == 10
    explainer = Explainer(
        model, make_data(ids, input_kind="text"), ExplainOptions(samples=4, n_steps=4)
    )
    with pytest.raises(UserError, match="token ids cannot"):
        explainer.add_drivers(explainer.explain(), 0)
    for options, message in [
        (ExplainOptions(baseline="mean"), "baseline is padding"),
        (ExplainOptions(smoothgrad=2), "set smoothgrad to 0"),
    ]:
        with pytest.raises(UserError, match=message):
            Explainer(model, make_data(ids, input_kind="text"), options)


def test_a_model_with_non_finite_outputs_is_a_user_error():
    model = hard_model(4, 9)
    with torch.no_grad():
        model.heads["size"][-1].bias.fill_(float("nan"))
    with pytest.raises(UserError, match="task 'size' is not finite"):
        Explainer(model, make_data(torch.randn(8, 4)), ExplainOptions(samples=8))
