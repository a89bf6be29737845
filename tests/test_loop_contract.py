"""The contract between the training loop and a weighting method (`StepRequest` ->
`StepResult`): the Jacobian handed to the affinity probe is the Jacobian of the losses,
recording it changes no gradient, a step that did not ask records none, and a step's graph is
gone by its update. Also: the loop's unmasked fast path is only for fully labelled tasks."""

from __future__ import annotations

import dataclasses
import weakref

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.optimizer import register_optimizer_step_pre_hook

from mtl_core.config import ModelConfig, WeightingConfig, config_from_dict
from mtl_core.data.prepare import PreparedData, prepare_data
from mtl_core.data.tasks import TaskSpec
from mtl_core.models.registry import architecture_names, build_model
from mtl_core.train import loop
from mtl_core.train.loop import make_optimizer, train_model
from mtl_core.train.losses import task_losses
from mtl_core.train.probes import LookaheadProbe
from mtl_core.weighting.base import StepRequest, StepResult
from mtl_core.weighting.registry import build_weighting, weighting_names

TASKS = [TaskSpec(f"t{i}", f"t{i}", "regression") for i in range(3)]


def tiny_model(architecture: str):
    torch.manual_seed(0)
    return build_model(
        ModelConfig(architecture=architecture, shared=[8], head=[4]), TASKS, "tabular", (5,)
    )


def batch_losses(model, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 5, generator=generator)
    y = torch.randn(16, len(TASKS), generator=generator)
    outputs = model(x)
    return torch.stack(
        [((outputs[t.name].squeeze(-1) - y[:, i]) ** 2).mean() for i, t in enumerate(TASKS)]
    )


def jacobian_of(losses: torch.Tensor, shared: list[torch.Tensor]) -> torch.Tensor:
    """[T, D]: each task's gradient on the shared parameters, one autograd pass per task."""
    rows = []
    for loss in losses:
        grads = torch.autograd.grad(loss, shared, retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat(
                [
                    (torch.zeros_like(p) if g is None else g).flatten()
                    for g, p in zip(grads, shared, strict=True)
                ]
            )
        )
    return torch.stack(rows)


def one_step(
    method: str,
    architecture: str,
    step: int,
    update_every: int,
    gramian_every: int,
    record: bool,
    seed: int,
) -> tuple[StepResult, list, torch.Tensor | None]:
    """A method's step `step` on a fresh tiny model (after a step 0 when step > 0, so that an
    amortised method reuses its weights) -> (result, the parameters' grads, the Jacobian of
    the losses computed directly when `record` and something is shared)."""
    model = tiny_model(architecture)
    scheme = build_weighting(
        WeightingConfig(method=method, update_every=update_every, gramian_every=gramian_every),
        [t.name for t in TASKS],
    )
    if step:
        torch.manual_seed(seed)
        scheme.step(StepRequest(batch_losses(model, seed + 1), model, 0))
        model.zero_grad(set_to_none=True)
    losses = batch_losses(model, seed)
    shared = model.shared_parameters()
    expected = jacobian_of(losses, shared) if record and shared else None
    torch.manual_seed(seed)  # (RLW, PCGrad, GradVac and GradDrop draw random numbers)
    result = scheme.step(StepRequest(losses, model, step, record_jacobian=record))
    return result, [p.grad for p in model.parameters()], expected


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(
    method=st.sampled_from(weighting_names()),
    architecture=st.sampled_from(architecture_names()),
    step=st.integers(0, 4),
    update_every=st.sampled_from([1, 3]),
    gramian_every=st.sampled_from([0, 1, 2]),
    seed=st.integers(0, 10**6),
)
def test_the_recorded_jacobian_is_the_losses_own_and_changes_no_gradient(
    method, architecture, step, update_every, gramian_every, seed
):
    """Asked for, the Jacobian a method hands back equals the per-task gradients of the
    losses on the shared parameters, and the step's weights and `.grad` are bit-identical to
    the same step not asking; not asked for, none is recorded (even when the method computed
    one for itself: a gradient method, or a Gramian due)."""
    recorded, recorded_grads, expected = one_step(
        method, architecture, step, update_every, gramian_every, True, seed
    )
    plain, plain_grads, _ = one_step(
        method, architecture, step, update_every, gramian_every, False, seed
    )
    assert plain.jacobian is None
    assert torch.equal(recorded.weights, plain.weights)
    for a, b in zip(recorded_grads, plain_grads, strict=True):
        assert (a is None and b is None) or torch.equal(a, b)
    if architecture == "single_task":  # nothing shared: nothing to record
        assert recorded.jacobian is None
        return
    torch.testing.assert_close(recorded.jacobian.matrix(), expected, rtol=1e-4, atol=1e-6)


def test_backward_is_a_step_that_records_nothing():
    model, other = tiny_model("hard"), tiny_model("hard")
    weights = build_weighting(WeightingConfig(method="upgrad"), ["t0", "t1", "t2"]).backward(
        batch_losses(model, 0), model, 0
    )
    result = build_weighting(WeightingConfig(method="upgrad"), ["t0", "t1", "t2"]).step(
        StepRequest(batch_losses(other, 0), other, 0)
    )
    assert torch.equal(weights, result.weights) and result.jacobian is None
    for a, b in zip(model.parameters(), other.parameters(), strict=True):
        assert torch.equal(a.grad, b.grad)


@pytest.fixture
def penguins(penguins_config) -> PreparedData:
    return prepare_data(config_from_dict(penguins_config).data)


@pytest.mark.parametrize("method", ["equal", "uw", "gradnorm", "famo", "upgrad", "nash_mtl"])
def test_the_probe_measures_the_same_from_the_jacobian_a_step_hands_it(
    penguins, penguins_config, method
):
    """What the probe records from the Jacobian a weighting step handed back equals what it
    records from its own forward and Jacobian of the same batch."""
    config = config_from_dict(penguins_config)
    torch.manual_seed(3)
    model = build_model(config.model, penguins.tasks, "tabular", penguins.input_shape)
    optimizer = make_optimizer(config, list(model.parameters()))
    split = penguins.splits["train"]
    x = split.x[:64]
    targets = {k: v[:64] for k, v in split.targets.items()}
    masks = {k: v[:64] for k, v in split.masks.items()}
    own = LookaheadProbe(model, optimizer, penguins.tasks, 1).measure(x, targets, masks, 0, 1)
    scheme = build_weighting(WeightingConfig(method=method), penguins.task_names)
    losses = task_losses(penguins.tasks, model(x), targets, masks)
    result = scheme.step(StepRequest(losses, model, 0, record_jacobian=True))
    assert result.jacobian is not None
    handed = LookaheadProbe(model, optimizer, penguins.tasks, 1).measure(
        x, targets, masks, 0, 1, losses, result.jacobian
    )
    for field in ("losses", "lookahead", "gramian"):
        torch.testing.assert_close(
            torch.tensor(getattr(handed, field)),
            torch.tensor(getattr(own, field)),
            rtol=1e-4,
            atol=1e-6,
            equal_nan=True,
        )


@pytest.mark.parametrize("method", ["equal", "gradnorm", "upgrad"])
def test_no_steps_graph_lives_on_to_its_update(penguins, penguins_config, monkeypatch, method):
    """Every step's losses (and so its graph, kept for the probe or by a gradient method's
    Jacobian) are gone when the optimizer steps, probed step or not; the same weak reference
    sees them alive during their backward."""
    step_losses: list[weakref.ref] = []
    alive_in_backward: list[bool] = []
    original = loop.task_losses

    def spied(*args, **kwargs):
        losses = original(*args, **kwargs)
        if losses.requires_grad:
            step_losses.append(weakref.ref(losses))
            losses.register_hook(
                lambda grad: alive_in_backward.append(step_losses[-1]() is not None)
            )
        return losses

    alive_at_update: list[bool] = []
    monkeypatch.setattr(loop, "task_losses", spied)
    handle = register_optimizer_step_pre_hook(
        lambda *_: alive_at_update.append(step_losses[-1]() is not None)
    )
    try:
        config = {
            **penguins_config,
            "weighting": {"method": method},
            "analysis": {"affinity_every": 2},
        }
        config["train"]["epochs"] = 1
        result = train_model(config_from_dict(config), penguins)
    finally:
        handle.remove()
    assert len(alive_at_update) == result.steps > 2
    assert not any(alive_at_update)
    assert len(alive_in_backward) >= result.steps and all(alive_in_backward)


def relabelled(data: PreparedData, values: dict[str, float]) -> PreparedData:
    """`data` with the training targets of each task's unlabelled rows set to `values`."""
    train = data.splits["train"]
    targets = dict(train.targets)
    for name, value in values.items():
        target = train.targets[name].clone()
        target[~train.masks[name]] = torch.tensor(value, dtype=target.dtype)
        targets[name] = target
    splits = {**data.splits, "train": dataclasses.replace(train, targets=targets)}
    return dataclasses.replace(data, splits=splits)


def test_a_partly_labelled_task_never_trains_on_its_unlabelled_rows(penguins, penguins_config):
    """`sex` lacks labels on some training rows, so it must not take the loop's unmasked
    path for fully labelled tasks: whatever its (and body_mass's) unlabelled rows hold as
    targets, training gives bit-identical losses, weights and model."""
    masks = penguins.splits["train"].masks
    assert int((~masks["sex"]).sum()) >= 7 and int((~masks["body_mass"]).sum()) >= 1
    assert bool(masks["species"].all())  # (species takes the fast path, and may)
    config = config_from_dict(penguins_config)
    runs = [
        train_model(config, relabelled(penguins, values))
        for values in ({"sex": 0, "body_mass": 0.0}, {"sex": 1, "body_mass": 40.0})
    ]
    first, second = runs
    assert [r["train_loss"] for r in first.history] == [r["train_loss"] for r in second.history]
    assert first.task_weights == second.task_weights
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key


@pytest.mark.parametrize("method", ["equal", "upgrad"])
def test_the_probe_measures_the_raw_losses_when_task_factors_scale_them(
    penguins, penguins_config, method
):
    """A task weight scales the loss the method trains on, not what the probe measures: the
    first probe (step 0: same model, same batch, no optimizer state yet) records the same
    losses, Gramian and lookahead with `sex` weighted 3 as with weight 1."""
    config = {**penguins_config, "weighting": {"method": method}, "analysis": {"affinity_every": 4}}
    config["train"]["epochs"] = 1

    def first_probe(weight: float) -> dict:
        tasks = [
            dataclasses.replace(t, weight=weight) if t.name == "sex" else t for t in penguins.tasks
        ]
        data = dataclasses.replace(penguins, tasks=tasks)
        return train_model(config_from_dict(config), data).extras["affinity"]["probes"][0]

    plain, weighted = first_probe(1.0), first_probe(3.0)
    assert plain["step"] == weighted["step"] == 0
    for field in ("losses", "gramian", "lookahead"):
        torch.testing.assert_close(
            torch.tensor(weighted[field], dtype=torch.float64),
            torch.tensor(plain[field], dtype=torch.float64),
            rtol=1e-5,
            atol=1e-7,
        )
