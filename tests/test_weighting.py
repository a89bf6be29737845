"""Mathematical properties of the weighting methods, on tiny real models (no training)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mtl_core.config import ModelConfig, WeightingConfig
from mtl_core.data.tasks import TaskSpec
from mtl_core.errors import UserError
from mtl_core.models.base import MTLModel
from mtl_core.models.registry import architecture_names, build_model
from mtl_core.weighting.registry import build_weighting, weighting_class, weighting_names

# The contract tests run over every registered method; a new method is tested without
# editing a list. Methods whose weights depend on more than the losses are left out where
# that matters: PCGrad and GradVac visit tasks in a random order; RLW and GradDrop draw random
# numbers.
RANDOMISED = {"pcgrad", "gradvac", "rlw", "graddrop"}
DETERMINISTIC = [name for name in weighting_names() if name not in RANDOMISED]
GRADIENT_METHODS = [
    name for name in weighting_names() if weighting_class(name).cost_class == "gradient"
]
# Methods whose `update_every` amortises their work (the rest ignore it, and say so).
AMORTISED_GRADIENT = [name for name in GRADIENT_METHODS if weighting_class(name).amortised]
AMORTISED_LOSS = [
    name
    for name in weighting_names()
    if weighting_class(name).amortised and name not in GRADIENT_METHODS
]
REGRESSION = [TaskSpec(f"t{i}", f"t{i}", "regression") for i in range(3)]


class FixedHeads(nn.Module):
    """features = W x with x = 1; task i's loss is a_i · features (fixed a_i): task gradients
    on W are a_i ⊗ x, so their conflicts are chosen by the test. Only what a weighting
    method uses of a model: parameters and shared_parameters()."""

    def __init__(self, directions: torch.Tensor) -> None:
        super().__init__()
        self.task_names = [f"t{i}" for i in range(len(directions))]
        self.trunk = nn.Linear(2, directions.shape[1], bias=False)
        self.directions = directions

    def forward_with_features(self, x):
        features = self.trunk(x)
        return (
            {t: features @ self.directions[i] for i, t in enumerate(self.task_names)},
            [features],
        )

    def shared_parameters(self):
        return list(self.trunk.parameters())


def weighting(method: str, n_tasks: int = 3, **config):
    cfg = WeightingConfig(method=method, **config)
    return build_weighting(cfg, [f"t{i}" for i in range(n_tasks)])


def tiny_hard_model(architecture: str = "hard", tasks=REGRESSION) -> MTLModel:
    torch.manual_seed(0)
    return build_model(
        ModelConfig(architecture=architecture, shared=[8], head=[4]), tasks, "tabular", (5,)
    )


def losses_of(model: MTLModel, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 5, generator=generator)
    y = torch.randn(16, len(model.task_names), generator=generator)
    outputs = model(x)
    return torch.stack(
        [((outputs[t].squeeze(-1) - y[:, i]) ** 2).mean() for i, t in enumerate(model.task_names)]
    )


def shared_grad(model: MTLModel) -> torch.Tensor:
    return torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
            for p in model.shared_parameters()
        ]
    )


def per_task_gradients(model: MTLModel, losses: torch.Tensor) -> torch.Tensor:
    rows = [
        torch.autograd.grad(loss, model.shared_parameters(), retain_graph=True, allow_unused=True)
        for loss in losses
    ]
    return torch.stack(
        [
            torch.cat(
                [
                    (g if g is not None else torch.zeros_like(p)).flatten()
                    for g, p in zip(row, model.shared_parameters(), strict=True)
                ]
            )
            for row in rows
        ]
    )


@pytest.mark.parametrize("raw", [[1.0, 1.0, 1.0], [2.0, 0.5, 0.0], [0.1, 3.0, 7.0]])
@pytest.mark.parametrize("normalize", [False, True])
def test_static_weights_scale_gradients_exactly(raw, normalize):
    model = tiny_hard_model()
    losses = losses_of(model)
    gradients = per_task_gradients(model, losses)
    method = weighting(
        "static",
        params={"weights": {f"t{i}": w for i, w in enumerate(raw)}, "normalize": normalize},
    )
    weights = method.backward(losses, model, 0)
    expected = torch.tensor(raw) * (3 / sum(raw) if normalize else 1.0)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(shared_grad(model), expected @ gradients, rtol=1e-5, atol=1e-6)
    if normalize:
        assert weights.sum().item() == pytest.approx(3.0)


@pytest.mark.parametrize("method", ["pcgrad", "upgrad"])
@pytest.mark.parametrize(
    "directions",
    [[[1.0, 0.2], [-1.0, 0.5]], [[3.0, 1.0], [-0.2, -2.0]], [[1.0, 0.0], [-1.0, 0.01]]],
)
def test_update_does_not_conflict_with_either_task(method, directions):
    model = FixedHeads(torch.tensor(directions))
    losses = losses_of_fixed(model)
    gradients = per_task_gradients(model, losses)
    assert gradients[0] @ gradients[1] < 0  # the two tasks really conflict
    weighting(method, 2).backward(losses, model, 0)
    update = shared_grad(model)
    assert (gradients @ update >= -1e-5).all()
    assert update.norm() > 0


def losses_of_fixed(model: FixedHeads):
    outputs = model.forward_with_features(torch.ones(1, 2))[0]
    return torch.stack([outputs[t].sum() for t in model.task_names])


def test_mgda_weights_lie_on_the_simplex_and_give_the_min_norm_point():
    model = tiny_hard_model()
    losses = losses_of(model)
    gradients = per_task_gradients(model, losses)
    method = weighting("mgda", params={"epsilon": 1e-7, "max_iters": 5000})
    weights = method.backward(losses, model, 0)
    assert (weights >= -1e-6).all()
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-4)
    best = (weights @ gradients).norm()
    torch.manual_seed(1)
    others = torch.cat([torch.distributions.Dirichlet(torch.ones(3)).sample((2000,)), torch.eye(3)])
    assert best <= (others @ gradients).norm(dim=1).min() + 1e-4


def test_mgda_two_tasks_match_the_closed_form():
    model = FixedHeads(torch.tensor([[2.0, 0.3], [-0.5, 1.0]]))
    losses = losses_of_fixed(model)
    g1, g2 = per_task_gradients(model, losses)
    alpha = ((g2 - g1) @ g2 / (g1 - g2).norm() ** 2).clamp(0, 1)
    weights = weighting("mgda", 2, params={"epsilon": 1e-8, "max_iters": 10000}).backward(
        losses, model, 0
    )
    torch.testing.assert_close(weights, torch.stack([alpha, 1 - alpha]), atol=1e-3, rtol=0)


@pytest.mark.parametrize("method", ["uw", "imtl_l"])
def test_learned_log_variances_are_parameters_that_change(method):
    model = tiny_hard_model()
    scheme = weighting(method)
    learned = scheme.parameters()
    assert learned and all(isinstance(p, nn.Parameter) for p in learned)
    before = [p.detach().clone() for p in learned]
    optimizer = torch.optim.SGD([*model.parameters(), *learned], lr=0.1)
    losses = losses_of(model)
    scheme.backward(losses, model, 0)
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, learned, strict=True))


@pytest.mark.parametrize("method", DETERMINISTIC)
def test_permuting_tasks_permutes_weights(method):
    permutation = torch.tensor([2, 0, 1])
    model = tiny_hard_model()
    losses = losses_of(model)
    first = weighting(method).backward(losses, model, 0)
    model.zero_grad()
    losses = losses_of(model)
    second = weighting(method).backward(losses[permutation], model, 0)
    torch.testing.assert_close(second, first[permutation], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("method", AMORTISED_GRADIENT)
def test_update_every_recomputes_only_every_k_steps(method):
    model = tiny_hard_model()
    scheme = weighting(method, update_every=3)
    returned = []
    for step in range(7):
        model.zero_grad()
        losses = losses_of(model, seed=step)
        returned.append(scheme.backward(losses, model, step))
    assert [step for step, _ in scheme.gramians] == [0, 3, 6]
    torch.testing.assert_close(returned[1], returned[0])
    torch.testing.assert_close(returned[2], returned[0])
    torch.testing.assert_close(returned[4], returned[3])


def test_amortised_step_is_one_backward_of_the_weighted_sum():
    model = tiny_hard_model()
    scheme = weighting("upgrad", update_every=2)
    losses = losses_of(model)
    weights = scheme.backward(losses, model, 0)
    model.zero_grad()
    losses = losses_of(model, seed=1)
    gradients = per_task_gradients(model, losses)
    reused = scheme.backward(losses, model, 1)
    torch.testing.assert_close(reused, weights)
    torch.testing.assert_close(shared_grad(model), weights @ gradients, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("input_kind", ["tabular", "image"])
@pytest.mark.parametrize("architecture", architecture_names())
def test_jacobian_rows_are_each_tasks_gradient(architecture, input_kind):
    """The task cut is found from the graph: every path from a loss to a shared parameter
    (encoder, experts, gates) is counted, for every architecture and encoder."""
    torch.manual_seed(0)
    shape = (5,) if input_kind == "tabular" else (1, 8, 8)
    model = build_model(
        ModelConfig(architecture=architecture, shared=[8], head=[4]), REGRESSION, input_kind, shape
    )
    if not model.shared_parameters():
        pytest.skip(f"{architecture} shares no parameters")
    outputs = model(torch.randn(6, *shape))
    losses = torch.stack([outputs[t].pow(2).mean() for t in model.task_names])
    expected = per_task_gradients(model, losses)
    shared_ids = {id(p) for p in model.shared_parameters()}
    others = [p for p in model.parameters() if id(p) not in shared_ids]
    from mtl_core.weighting.jacobian import task_jacobian

    jacobian = task_jacobian(losses, model.shared_parameters(), others)
    torch.testing.assert_close(jacobian.matrix(), expected, rtol=1e-4, atol=1e-6)
    summed = torch.autograd.grad(losses.sum(), others, retain_graph=True, allow_unused=True)
    for got, want in zip(jacobian.other_grads, summed, strict=True):
        if want is None:
            assert got is None or not got.any()
        else:
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_jacobian_counts_a_shared_parameter_a_head_reads_directly_and_any_loss_form():
    """A shared tensor used inside each head (not only through the representation), and
    losses that are not a plain stack (the batched-VJP path): the same exact rows."""
    torch.manual_seed(0)
    trunk, scale = nn.Linear(3, 4), nn.Parameter(torch.randn(4))
    heads = [nn.Linear(4, 1) for _ in range(3)]
    x = torch.randn(7, 3)
    features = torch.tanh(trunk(x))
    losses = torch.stack([h(features * scale).pow(2).mean() * (i + 1) for i, h in enumerate(heads)])
    shared = [*trunk.parameters(), scale]
    from mtl_core.weighting.jacobian import task_jacobian

    def expected(values):
        return torch.stack(
            [
                torch.cat([g.flatten() for g in torch.autograd.grad(v, shared, retain_graph=True)])
                for v in values
            ]
        )

    torch.testing.assert_close(task_jacobian(losses, shared, []).matrix(), expected(losses))
    scaled = losses * torch.tensor([1.0, 0.5, 2.0])  # a Mul node, not a stack
    torch.testing.assert_close(task_jacobian(scaled, shared, []).matrix(), expected(scaled))


def test_gradient_methods_fall_back_to_a_plain_backward_without_shared_parameters():
    if "single_task" not in architecture_names():
        pytest.skip("no single_task architecture")
    model = tiny_hard_model("single_task")
    losses = losses_of(model)
    scheme = weighting("upgrad")
    weights = scheme.backward(losses, model, 0)
    torch.testing.assert_close(weights, torch.ones(3))
    assert any("no" in note for note in scheme.records([weights.tolist()])["weighting_notes"])


def test_records_hold_weights_per_step_and_symmetric_gramians():
    model = tiny_hard_model()
    scheme = weighting("upgrad")
    rows = []
    for step in range(3):
        model.zero_grad()
        losses = losses_of(model, seed=step)
        rows.append(scheme.backward(losses, model, step).tolist())
        expected = per_task_gradients(model, losses)
    records = scheme.records(rows)
    assert [r["weights"] for r in records["task_weights"]["steps"]] == rows
    last = torch.tensor(records["gramians"][-1]["matrix"])
    torch.testing.assert_close(last, expected @ expected.T, rtol=1e-4, atol=1e-6)


def test_loss_methods_probe_the_gramian_only_when_asked():
    model = tiny_hard_model()
    off, every_two = weighting("equal"), weighting("uw", gramian_every=2)
    for step in range(5):
        for scheme in (off, every_two):
            model.zero_grad()
            losses = losses_of(model, seed=step)
            scheme.backward(losses, model, step)
    assert off.gramians == []
    assert [step for step, _ in every_two.gramians] == [0, 2, 4]


def test_unknown_or_bad_parameters_are_user_errors_naming_the_key():
    with pytest.raises(UserError, match="weighting.params.mu"):
        weighting("upgrad", params={"mu": 1.0})
    with pytest.raises(UserError, match="weighting.params.c"):
        weighting("cagrad", params={"c": -1.0})
    with pytest.raises(UserError, match="weighting.params.weights"):
        weighting("static", params={"weights": {"nope": 1.0}})


def test_every_method_has_a_cost_class_and_descriptions():
    for name in weighting_names():
        scheme = weighting(name)
        assert scheme.cost_class in ("loss", "gradient")
        assert scheme.summary and scheme.helps_when
        assert "Cost class" in type(scheme).__doc__


@pytest.mark.parametrize("architecture", architecture_names())
def test_gradient_methods_give_every_other_parameter_the_gradient_of_the_summed_loss(architecture):
    model = tiny_hard_model(architecture)
    shared_ids = {id(p) for p in model.shared_parameters()}
    others = [p for p in model.parameters() if id(p) not in shared_ids]
    losses = losses_of(model)
    expected = torch.autograd.grad(losses.sum(), others, retain_graph=True, allow_unused=True)
    weighting("mgda").backward(losses, model, 0)
    for param, grad in zip(others, expected, strict=True):
        if grad is None:
            assert param.grad is None or not param.grad.any()
        else:
            torch.testing.assert_close(param.grad, grad, rtol=1e-5, atol=1e-6)


def test_gradnorm_pulls_on_the_exact_per_task_gradient_norms_at_the_last_shared_layer():
    """Step 0 (all loss ratios 1): d/dw_i Σ|w_j n_j − mean(w n)| = sign(n_i − mean n) · n_i
    with n_i = ‖∇_W L_i‖, computed here with one autograd.grad per task."""
    model = tiny_hard_model()
    scheme = weighting("gradnorm")
    losses = losses_of(model)
    layer = [p for p in model.shared_parameters() if p.ndim >= 2][-1]
    norms = torch.stack(
        [torch.autograd.grad(loss, layer, retain_graph=True)[0].norm() for loss in losses]
    )
    scheme.backward(losses, model, 0)
    torch.testing.assert_close(
        scheme.task_weights.grad, torch.sign(norms - norms.mean()) * norms, rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("method", AMORTISED_LOSS)
def test_adaptive_loss_methods_update_their_weights_only_every_k_steps(method):
    model = tiny_hard_model()
    scheme = weighting(method, update_every=3)
    learned = scheme.parameters() or list(scheme.scalarizer.parameters())  # w, FAMO's logits
    optimizer = torch.optim.SGD([*model.parameters(), *scheme.parameters()], lr=0.05)
    values = [torch.cat([p.detach().flatten() for p in learned]).clone()]
    for step in range(7):
        optimizer.zero_grad()
        losses = losses_of(model, seed=step)
        scheme.backward(losses, model, step)
        optimizer.step()
        scheme.after_step(model, step, lambda step=step: losses_of(model, seed=step))
        values.append(torch.cat([p.detach().flatten() for p in learned]).clone())
    changed = [int(not torch.allclose(values[s + 1], values[s])) for s in range(7)]
    assert changed == [1, 0, 0, 1, 0, 0, 1]
    assert "no effect" not in " ".join(scheme.notes)


@pytest.mark.parametrize("architecture", ["hard", "soft", "mmoe"])
@pytest.mark.parametrize("method", ["equal", "uw", "stch", "gradnorm", "upgrad"])
def test_a_jacobian_read_off_the_backward_is_exact_and_leaves_the_gradients_alone(
    method, architecture
):
    """A step that asks for the Jacobian (the affinity probe) gets this step's per-task
    gradients back and writes bit-identical `.grad` to a step without it."""
    from mtl_core.weighting import StepRequest

    plain, keeping = tiny_hard_model(architecture), tiny_hard_model(architecture)
    grads = []
    for model, keep in ((plain, False), (keeping, True)):
        scheme = weighting(method)
        losses = losses_of(model)
        result = scheme.step(StepRequest(losses, model, 0, record_jacobian=keep))
        grads.append([p.grad for p in model.parameters()])
        if keep:
            expected = per_task_gradients(model, losses)
            torch.testing.assert_close(result.jacobian.matrix(), expected, rtol=1e-4, atol=1e-6)
        else:
            assert result.jacobian is None
    for a, b in zip(*grads, strict=True):
        assert (a is None and b is None) or torch.equal(a, b)


def test_an_amortised_step_also_hands_over_its_jacobian():
    from mtl_core.weighting import StepRequest

    model = tiny_hard_model()
    scheme = weighting("upgrad", update_every=3)
    losses = losses_of(model)
    scheme.backward(losses, model, 0)
    model.zero_grad()
    losses = losses_of(model, seed=1)
    result = scheme.step(StepRequest(losses, model, 1, record_jacobian=True))  # step-0 weights
    torch.testing.assert_close(
        result.jacobian.matrix(), per_task_gradients(model, losses), rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_a_task_with_a_zero_gradient_gets_weight_zero_and_does_not_stall_the_others(method):
    """A task whose loss is scaled to 0 (a curriculum task not yet joined) has a zero row in
    J: it gets weight 0, the update follows the other tasks (MGDA's minimum-norm point would
    otherwise be 0), and no solver warns or returns NaN."""
    import warnings

    model = tiny_hard_model()
    losses = losses_of(model) * torch.tensor([1.0, 1.0, 0.0])
    rows = per_task_gradients(model, losses)
    assert rows[2].abs().sum() == 0 and rows[:2].abs().sum() > 0
    scheme = weighting(method)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        weights = scheme.backward(losses, model, 0)
    assert weights[2] == 0
    update = shared_grad(model)
    assert torch.isfinite(update).all() and update.norm() > 1e-3 * rows[:2].norm()
    if method in ("upgrad", "mgda", "dualproj", "imtl_g", "cagrad"):  # deterministic, stateless
        reference = build_weighting(WeightingConfig(method=method), ["t0", "t1"]).aggregator
        torch.testing.assert_close(update, reference(rows[:2]), rtol=1e-4, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(2, 7),
    seed=st.integers(0, 10**6),
    c=st.floats(0.0, 2.0),
    common=st.floats(0.0, 3.0),
)
def test_direct_cagrad_solve_gives_torchjds_update(rows, seed, c, common):
    """CAGrad's program handed to Clarabel directly gives the update torchjd's cvxpy program
    gives (same solver, same program: equal to the solver's tolerance)."""
    from torchjd.aggregation._cagrad import CAGradWeighting

    from mtl_core.weighting.methods.cagrad import DirectCAGradWeighting

    generator = torch.Generator().manual_seed(seed)
    jacobian = torch.randn(
        rows, 30, generator=generator, dtype=torch.float64
    ) + common * torch.randn(1, 30, generator=generator, dtype=torch.float64)
    gramian = jacobian @ jacobian.T
    expected = CAGradWeighting(c)(gramian) @ jacobian
    got = DirectCAGradWeighting(c)(gramian) @ jacobian
    assert torch.linalg.norm(got - expected) <= 1e-3 * torch.linalg.norm(expected) + 1e-9


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(
    rows=st.integers(2, 6),
    seed=st.integers(0, 10**6),
    common=st.floats(0.0, 2.0),
    max_norm=st.sampled_from([0.0, 1.0]),
)
def test_direct_nash_mtl_solves_follow_torchjds_weights_step_after_step(
    rows, seed, common, max_norm
):
    """Nash-MTL with its inner programs solved directly gives torchjd's weights on every step
    of a sequence (the state, warm start and stopping rule carry over)."""
    import warnings

    from torchjd.aggregation import NashMTL

    from mtl_core.weighting.methods.nash_mtl import DirectNashMTLWeighting

    generator = torch.Generator().manual_seed(seed)
    reference = NashMTL(rows, max_norm=max_norm, optim_niter=20).weighting
    direct = DirectNashMTLWeighting(rows, max_norm=max_norm, update_weights_every=1, optim_niter=20)
    base = torch.randn(1, 40, generator=generator)
    for _ in range(4):
        jacobian = torch.randn(rows, 40, generator=generator) + common * base
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cvxpy: "not DPP", on every torchjd solve
            expected = reference(jacobian)
        got = direct(jacobian)
        assert torch.allclose(got, expected, rtol=1e-3, atol=1e-5), (got, expected)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6), st.integers(0, 10**6), st.floats(0.0, 0.5))
def test_famo_steps_follow_torchjds_famo(n_tasks, seed, min_loss):
    """The closed-form weights give the gradient of torchjd's scalarization (any logits,
    losses over several scales, a lower bound b), and the logits torchjd's `update` then
    learns are the same, step after step."""
    from torchjd.scalarization import FAMO

    generator = torch.Generator().manual_seed(seed)
    scheme = weighting("famo", n_tasks=n_tasks)
    ours = scheme.scalarizer
    bound = torch.full((n_tasks,), min_loss)
    ours.min_losses.copy_(bound)
    reference = FAMO(n_tasks, min_losses=bound.clone(), lr=0.025, weight_decay=1e-3)
    for _ in range(4):
        losses = (
            min_loss
            + torch.rand(n_tasks, generator=generator)
            * 10 ** torch.randint(-2, 3, (n_tasks,), generator=generator).double().float()
        )
        leaf = losses.clone().requires_grad_()
        (expected,) = torch.autograd.grad(reference(leaf), leaf)
        torch.testing.assert_close(ours.weights_for(losses), expected, rtol=1e-5, atol=1e-7)
        after = min_loss + (losses - min_loss) * (0.5 + torch.rand(n_tasks, generator=generator))
        ours.update(after)
        reference.update(after)
        torch.testing.assert_close(ours._w, reference._w)


def test_famo_backward_gives_the_gradient_of_its_scalarization():
    """The step back-propagates the losses with the closed-form weights: the same gradient as
    back-propagating torchjd's scalarized loss."""
    from torchjd.scalarization import FAMO

    model = tiny_hard_model()
    scheme = weighting("famo")
    with torch.no_grad():
        scheme.scalarizer._w.copy_(torch.tensor([0.3, -0.2, 0.5]))
    reference = FAMO(3)
    with torch.no_grad():
        reference._w.copy_(scheme.scalarizer._w)
    reference(losses_of(model)).backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    weights = scheme.backward(losses_of(model), model, 0)
    assert torch.isclose(weights.sum(), torch.tensor(1.0))
    for param, grad in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(param.grad, grad, rtol=1e-5, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 7), st.integers(0, 10**6), st.sampled_from([1e-3, 0.1, 1.0, 10.0]))
def test_stch_weights_are_the_gradient_of_torchjds_scalarization(n_tasks, seed, mu):
    """Closed-form STCH weights = d/dL of torchjd's STCH, for losses over several scales
    (where a small μ makes the soft maximum nearly hard)."""
    from torchjd.scalarization import STCH

    generator = torch.Generator().manual_seed(seed)
    losses = (
        torch.rand(n_tasks, generator=generator, dtype=torch.float64)
        * 10 ** torch.randint(-2, 3, (n_tasks,), generator=generator).double()
    )
    leaf = losses.clone().requires_grad_()
    (expected,) = torch.autograd.grad(STCH(mu=mu)(leaf), leaf)
    got = weighting("stch", n_tasks=n_tasks, params={"mu": mu}).scalarizer.weights_for(losses)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-12)
