"""Sharing architectures: properties every architecture must have (one output per task for
every modality, gradients reach every learnable parameter, shared/task parameters are what
autograd says they are, the representation modules produce the representation, same seed
-> same model), and the properties of each method from its paper."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mtl_core.config import ModelConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.data.text import HASH_BUCKETS
from mtl_core.errors import UserError
from mtl_core.models import build_model
from mtl_core.models.architectures.hard import HardSharing
from mtl_core.models.base import SHARED, Block
from mtl_core.models.registry import architecture_names, parameter_spec, presets, resolve_params
from mtl_core.models.summary import parameter_rows, preview_model, single_task_equivalent
from mtl_core.viz.architecture import SHARED_COLOR, architecture_diagram, mixing_heatmap
from mtl_core.viz.colors import task_colors

TASKS = [
    TaskSpec("kind", "kind", "multiclass", ("a", "b", "c")),
    TaskSpec("flag", "flag", "binary", ("no", "yes")),
    TaskSpec("size", "size", "regression"),
]
# The six DESIGN.md promises; every contract test below runs over all registered ones, so a
# new architecture is tested without editing a list.
DOCUMENTED = ["single_task", "hard", "soft", "cross_stitch", "mmoe", "ple"]
ALL = architecture_names()
# Variants that change which parameters are shared: each must keep every property.
VARIANTS = [(name, {}) for name in ALL] + [
    ("mmoe", {"gate": "shared", "experts": 3}),
    ("ple", {"levels": 1}),
    ("ple", {"levels": 3, "task_experts": 2, "shared_experts": 2}),
    ("cross_stitch", {"units_after": [0, 2], "per_channel": True}),
    ("cross_stitch", {"units_after": [1]}),
]
INPUTS = {
    "tabular": ((6,), lambda n: torch.randn(n, 6)),
    "image": ((1, 8, 8), lambda n: torch.rand(n, 1, 8, 8)),
    "text": ((12,), lambda n: torch.randint(0, HASH_BUCKETS, (n, 12))),
}


def make(
    architecture: str,
    params: dict | None = None,
    input_kind: str = "tabular",
    seed: int = 0,
    shared=(8, 6),
    head=(4,),
    tasks=TASKS,
):
    torch.manual_seed(seed)
    config = ModelConfig(
        architecture=architecture, shared=list(shared), head=list(head), params=params or {}
    )
    return build_model(config, tasks, input_kind, INPUTS[input_kind][0])


def batch(input_kind: str = "tabular", n: int = 5, seed: int = 1) -> torch.Tensor:
    torch.manual_seed(seed)
    return INPUTS[input_kind][1](n)


def trainable(model) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def test_the_registry_has_all_six():
    assert set(DOCUMENTED) <= set(ALL)


@pytest.mark.parametrize("input_kind", list(INPUTS))
@pytest.mark.parametrize("architecture", ALL)
def test_one_output_per_task_with_the_right_shape_for_every_modality(architecture, input_kind):
    model = make(architecture, input_kind=input_kind)
    outputs, features = model.forward_with_features(batch(input_kind, n=5))
    assert list(outputs) == [t.name for t in TASKS]
    for task in TASKS:
        assert outputs[task.name].shape == (5, task.output_dim)
    assert all(f.shape[0] == 5 for f in features)


@pytest.mark.parametrize("input_kind", list(INPUTS))
@pytest.mark.parametrize(("architecture", "params"), VARIANTS)
def test_gradients_reach_every_learnable_parameter(architecture, params, input_kind):
    # wide enough that no layer's ReLUs are all dead on the batch
    model = make(architecture, params, input_kind, shared=(32, 16), head=(16,))
    outputs = model(batch(input_kind, n=32))
    total = sum(out.pow(2).mean() for out in outputs.values())
    penalty = model.regularization()
    (total + (penalty if penalty is not None else 0)).backward()
    names = {id(p): n for n, p in model.named_parameters()}
    dead = [names[id(p)] for p in trainable(model) if p.grad is None or not p.grad.any()]
    assert not dead


@pytest.mark.parametrize(("architecture", "params"), VARIANTS)
def test_shared_and_task_parameters_are_what_each_loss_reaches(architecture, params):
    """A parameter is shared iff more than one task's loss (or the regularization, which
    every task's objective carries) reaches it in the autograd graph; else it is the one
    task's own. Together they are every trainable parameter, each once."""
    model = make(architecture, {**params, "alpha": 0.1} if architecture == "soft" else params)
    outputs = model(batch())
    params_ = trainable(model)
    penalty = model.regularization()
    reached_by_penalty = set()
    if penalty is not None:
        grads = torch.autograd.grad(penalty, params_, allow_unused=True, retain_graph=True)
        reached_by_penalty = {id(p) for p, g in zip(params_, grads, strict=True) if g is not None}
    reach: dict[int, set[str]] = {id(p): set() for p in params_}
    for name, out in outputs.items():
        grads = torch.autograd.grad(out.sum(), params_, allow_unused=True, retain_graph=True)
        for p, g in zip(params_, grads, strict=True):
            if g is not None or id(p) in reached_by_penalty:
                reach[id(p)].add(name)
    shared = {i for i, tasks in reach.items() if len(tasks) > 1}
    assert {id(p) for p in model.shared_parameters()} == shared
    own = model.task_parameters()
    assert set(own) == {t.name for t in TASKS}
    for name, plist in own.items():
        assert {id(p) for p in plist} == {i for i, t in reach.items() if t == {name}}
    listed = [id(p) for p in model.shared_parameters()] + [
        id(p) for plist in own.values() for p in plist
    ]
    assert sorted(listed) == sorted(reach)


@pytest.mark.parametrize(("architecture", "params"), VARIANTS)
def test_representation_modules_output_the_representation_in_order(architecture, params):
    model = make(architecture, params)
    hooked: list[torch.Tensor] = []
    handles = [
        m.register_forward_hook(lambda _m, _i, out: hooked.append(out))
        for m in model.representation_modules()
    ]
    _, features = model.forward_with_features(batch())
    for h in handles:
        h.remove()
    assert len(features) == len(model.representation_modules()) == len(hooked)
    assert len(features) in (1, len(TASKS))
    for feature, out in zip(features, hooked, strict=True):
        assert torch.equal(feature, out)


@pytest.mark.parametrize(("architecture", "params"), VARIANTS)
def test_same_seed_same_model_and_outputs(architecture, params):
    x = batch()
    first, second = make(architecture, params, seed=3), make(architecture, params, seed=3)
    other = make(architecture, params, seed=4)
    for name, out in first(x).items():
        assert torch.equal(out, second(x)[name])
        assert not torch.equal(out, other(x)[name])


@pytest.mark.parametrize(("architecture", "params"), VARIANTS)
def test_diagram_blocks_hold_every_parameter_once_and_link_to_known_blocks(architecture, params):
    model = make(architecture, params)
    blocks = model.blocks()
    assert all(isinstance(b, Block) for b in blocks)
    keys = [b.key for b in blocks]
    assert len(keys) == len(set(keys))
    assert all(i in keys for b in blocks for i in b.inputs)
    assert sum(b.params for b in blocks) == sum(p.numel() for p in model.parameters())
    heads = [b for b in blocks if b.key.startswith("head:")]
    assert [b.owner for b in heads] == [t.name for t in TASKS]


# --- single_task, soft, cross_stitch -------------------------------------------------------


def test_single_task_shares_nothing_and_each_output_depends_on_its_tower_only():
    model = make("single_task")
    assert model.shared_parameters() == []
    x = batch()
    before = model(x)
    with torch.no_grad():
        for p in model.towers["flag"].parameters():
            p.add_(1.0)
    after = model(x)
    assert torch.equal(before["kind"], after["kind"]) and torch.equal(before["size"], after["size"])
    assert not torch.equal(before["flag"], after["flag"])


def test_soft_with_alpha_zero_is_single_task_with_independent_gradients():
    soft, single = make("soft", {"alpha": 0.0}), make("single_task")
    x = batch()
    for name, out in soft(x).items():
        assert torch.equal(out, single(x)[name])
    assert soft.regularization() is None
    outputs = soft(x)
    for task, tower_name in itertools.product(soft.task_names, soft.task_names):
        grads = torch.autograd.grad(
            outputs[task].sum(),
            list(soft.towers[tower_name].parameters()),
            allow_unused=True,
            retain_graph=True,
        )
        assert all(g is None for g in grads) == (task != tower_name)


@pytest.mark.parametrize(("alpha", "n_tasks"), [(0.5, 2), (0.01, 3), (3.0, 3)])
def test_soft_penalty_and_its_gradient_match_the_pairwise_formula(alpha, n_tasks):
    tasks = TASKS[:n_tasks]
    model = make("soft", {"alpha": alpha}, tasks=tasks)
    bodies = [
        dict(t.encoder.named_parameters()) | dict(t.levels.named_parameters())
        for t in model.towers.values()
    ]
    expected = alpha * sum(
        (a[k] - b[k]).pow(2).sum() for a, b in itertools.combinations(bodies, 2) for k in a
    )
    penalty = model.regularization()
    torch.testing.assert_close(penalty, expected)
    penalty.backward()
    for i, body in enumerate(bodies):
        for key, param in body.items():
            analytic = (
                2 * alpha * sum(body[key] - other[key] for j, other in enumerate(bodies) if j != i)
            )
            torch.testing.assert_close(param.grad, analytic.detach())
    for tower in model.towers.values():
        assert all(p.grad is None for p in tower.head.parameters())


def test_soft_penalty_pulls_towers_together_and_their_distance_shows_it():
    model = make("soft", {"alpha": 1.0})
    start = model.regularization().item()
    (before,) = model.mixing(batch()).values()
    assert before.kind == "distance" and before.rows == model.task_names
    np.testing.assert_allclose(np.diag(before.values), 0.0, atol=1e-6)
    np.testing.assert_allclose(before.values, before.values.T, rtol=1e-5)
    assert (before.values[~np.eye(3, dtype=bool)] > 1.0).all()  # independent random towers
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(20):
        optimizer.zero_grad()
        model.regularization().backward()
        optimizer.step()
    assert model.regularization().item() < 0.1 * start
    (after,) = model.mixing(batch()).values()
    assert (after.values < 0.5 * before.values + 1e-6).all()


def test_cross_stitch_initial_alpha_is_convex_by_default_and_as_configured():
    mix = make("cross_stitch").mixing(batch())
    assert len(mix) == 2  # after each of the two shared layers
    for m in mix.values():
        np.testing.assert_allclose(np.diag(m.values), 0.9, rtol=1e-6)
        np.testing.assert_allclose(m.values.sum(axis=1), 1.0, rtol=1e-6)
    custom = make("cross_stitch", {"alpha_self": 0.7, "alpha_other": 0.2, "units_after": [0]})
    (m,) = custom.mixing(batch()).values()
    np.testing.assert_allclose(m.values, np.where(np.eye(3, dtype=bool), 0.7, 0.2), rtol=1e-6)


def test_cross_stitch_unit_learning_rate_multiplies_the_step_of_alpha():
    model = make("cross_stitch", {"unit_lr": 50.0})
    groups = model.optimizer_groups(1e-3)
    assert [g["lr"] for g in groups] == [1e-3, 5e-2]
    optimizer = torch.optim.Adam(groups)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    sum(o.pow(2).mean() for o in model(batch()).values()).backward()
    optimizer.step()
    # Adam's first step moves a parameter by lr·|g|/(|g| + eps): lr unless g is tiny
    for name, param in model.named_parameters():
        moved = (param.detach() - before[name]).abs()
        expected = 5e-2 if name.startswith("units.") else 1e-3
        assert moved.max().item() == pytest.approx(expected, rel=1e-3)
        assert (moved <= expected * (1 + 1e-5)).all()


def test_frozen_units_keep_alpha_and_are_not_shared_parameters():
    model = make("cross_stitch", {"train_units": False})
    unit_ids = {id(p) for p in model.units.parameters()}
    assert not any(id(p) in unit_ids for p in model.shared_parameters())
    assert all(not p.requires_grad for p in model.units.parameters())


# --- mmoe and ple --------------------------------------------------------------------------


@pytest.mark.parametrize("gate", ["per_task", "shared"])
def test_mmoe_gates_are_a_softmax_and_the_mix_is_their_weighted_sum(gate):
    model = make("mmoe", {"experts": 5, "gate": gate})
    x = batch(n=9)
    encoded = model.encoder(x)
    stacked = torch.stack([e(encoded) for e in model.experts], dim=1)
    _, features = model.forward_with_features(x)
    for gate_mix, feature in zip(model.gates.values(), features, strict=True):
        weights = gate_mix.weights(encoded)
        assert (weights >= 0).all()
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(9))
        torch.testing.assert_close(feature, (weights[:, :, None] * stacked).sum(dim=1))
    (mix,) = model.mixing(x).values()
    assert mix.values.shape == (3, 5)
    np.testing.assert_allclose(mix.values.sum(axis=1), 1.0, rtol=1e-5)
    if gate == "shared":
        assert len(features) == 1 and np.allclose(mix.values, mix.values[0])


def test_mmoe_with_one_expert_is_hard_sharing():
    """One expert: every gate is 1, so y_k = h_k(expert(x)) — hard sharing with the expert
    as its trunk. Copying the weights over gives the same function."""
    mmoe, hard = make("mmoe", {"experts": 1}), make("hard")
    assert isinstance(hard, HardSharing)
    hard.trunk.load_state_dict(mmoe.experts[0].state_dict())
    hard.heads.load_state_dict(mmoe.heads.state_dict())
    x = batch(n=20)
    for name, out in hard(x).items():
        torch.testing.assert_close(mmoe(x)[name], out)


def test_ple_gates_see_only_their_own_and_the_shared_experts():
    model = make("ple", {"levels": 2, "task_experts": 2, "shared_experts": 1})
    mixes = model.mixing(batch(n=7))
    assert list(mixes) == ["gate weights, level 1", "gate weights, level 2"]
    first, top = mixes.values()
    assert first.rows == [t.name for t in TASKS] + ["shared gate"]
    assert top.rows == [t.name for t in TASKS]
    for k in range(len(TASKS)):
        row = top.values[k]
        visible = ~np.isnan(row)
        expected = np.zeros(7, dtype=bool)
        expected[2 * k : 2 * k + 2] = expected[6] = True
        assert (visible == expected).all()
        np.testing.assert_allclose(row[visible].sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(first.values[-1].sum(), 1.0, rtol=1e-5)


def test_ple_with_one_level_has_no_shared_gate():
    model = make("ple", {"levels": 1})
    assert model.levels[0].shared_gate is None


# --- model.params --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("architecture", "params", "message"),
    [
        ("mmoe", {"expert": 3}, "model.params.expert"),
        ("mmoe", {"experts": 2.5}, "model.params.experts"),
        ("mmoe", {"experts": 0}, "model.params.experts"),
        ("mmoe", {"gate": "some"}, "model.params.gate"),
        ("soft", {"alpha": "big"}, "model.params.alpha"),
        ("soft", {"alpha": -1}, "model.params.alpha"),
        ("cross_stitch", {"units_after": 1}, "model.params.units_after"),
        ("cross_stitch", {"units_after": [5]}, "model.params.units_after"),
        ("cross_stitch", {"train_units": "yes"}, "model.params.train_units"),
        ("hard", {"alpha": 1}, "model.params.alpha"),
    ],
)
def test_bad_params_are_user_errors_naming_the_key(architecture, params, message):
    with pytest.raises(UserError, match=message.replace(".", r"\.")):
        make(architecture, params)


@pytest.mark.parametrize("architecture", ALL)
def test_presets_are_valid_configs(architecture):
    for preset in presets(architecture).values():
        resolved = resolve_params(architecture, preset["params"])
        assert set(resolved) == {p.name for p in parameter_spec(architecture)}
        make(architecture, preset["params"], shared=preset["shared"], head=preset["head"])


# --- what the Model page shows -------------------------------------------------------------


@pytest.mark.parametrize(("architecture", "params"), VARIANTS)
def test_parameter_table_adds_up_and_compares_with_single_task(architecture, params):
    config = ModelConfig(architecture=architecture, shared=[8, 6], head=[4], params=params)
    model = preview_model(config, TASKS, "tabular", (6,))
    single = single_task_equivalent(config, TASKS, "tabular", (6,))
    rows = {row["part"]: row for row in parameter_rows(model, single)}
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    parts = [v[architecture] for k, v in rows.items() if k != "total"]
    assert sum(parts) + frozen == rows["total"][architecture]
    assert rows["total"]["single-task"] == sum(p.numel() for p in single.parameters())
    assert rows["shared"]["single-task"] == 0
    if architecture in ("single_task", "soft"):  # the same towers, shared or not
        assert rows["total"][architecture] == rows["total"]["single-task"]


def test_preview_leaves_the_global_random_state_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    preview_model(ModelConfig(architecture="mmoe"), TASKS, "tabular", (6,))
    assert torch.equal(torch.rand(3), expected)


# Laying out three PLE levels of two experts each takes seconds: that one in the full suite.
DIAGRAM_VARIANTS = [
    pytest.param(*variant, marks=pytest.mark.slow)
    if variant[0] == "ple" and variant[1].get("levels") == 3
    else variant
    for variant in VARIANTS
]


@pytest.mark.parametrize(("architecture", "params"), DIAGRAM_VARIANTS)
def test_diagram_draws_one_box_per_block_in_its_owners_colour(architecture, params):
    model = make(architecture, params)
    blocks = model.blocks()
    figure = architecture_diagram(blocks, model.task_names)
    boxes = [s for s in figure.layout.shapes if s.type == "rect"]
    assert len(boxes) == len(blocks)
    colors = task_colors(model.task_names)
    for block, box in zip(blocks, boxes, strict=True):
        assert box.fillcolor == (SHARED_COLOR if block.owner == SHARED else colors[block.owner])


def test_mixing_heatmap_shows_the_values_with_blank_unseen_cells():
    mix = make("ple", {"levels": 1}).mixing(batch())["gate weights, level 1"]
    heat = mixing_heatmap(mix, "level 1").data[0]
    assert list(heat.y) == mix.rows and list(heat.x) == mix.columns
    np.testing.assert_array_equal(np.isnan(np.asarray(heat.z, dtype=float)), np.isnan(mix.values))
