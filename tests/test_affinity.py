"""Affinity end to end: the lookahead probe on related and unrelated tasks, the probe never
changing the trained model or the optimizer, and the optimizer replay it relies on."""

from __future__ import annotations

import copy
import weakref

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.optimizer import register_optimizer_step_pre_hook

from mtl_core.analysis.affinity import affinity_report
from mtl_core.analysis.grouping import tag_grouping
from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.data.synthetic import mmoe_synthetic
from mtl_core.data.tasks import TaskSpec
from mtl_core.models import build_model
from mtl_core.models.registry import architecture_names
from mtl_core.train.loop import make_optimizer, train_model
from mtl_core.train.losses import candidate_losses, task_losses
from mtl_core.train.probes import LookaheadProbe
from mtl_core.train.replay import replay_step

TASKS = ("twin_a", "twin_b", "loner")


def related_config(csv, epochs=3, every=2, **train) -> dict:
    return {
        "data": {
            "source": str(csv),
            "tasks": [{"name": n, "column": n, "kind": "regression"} for n in TASKS],
        },
        "model": {"architecture": "hard", "shared": [32, 32], "head": [16]},
        "train": {
            "epochs": epochs,
            "batch_size": 64,
            "lr": 0.003,
            "device": "cpu",
            "baselines": False,
            "patience": None,
            **train,
        },
        "analysis": {"affinity_every": every},
    }


@pytest.fixture(scope="module")
def related_csv(tmp_path_factory):
    """Two tasks driven by the same weight vector (MMoE synthetic with p = 1, independent
    noise) and one driven by an orthogonal vector (p = 0, same inputs), loaded as a CSV."""
    twins = mmoe_synthetic(p=1.0, n_rows=2000, dim=16, n_tasks=2, seed=0)
    apart = mmoe_synthetic(p=0.0, n_rows=2000, dim=16, n_tasks=2, seed=0)
    assert (twins["x0"] == apart["x0"]).all()  # same inputs, so only the targets differ
    frame = twins.rename(columns={"y1": "twin_a", "y2": "twin_b"})
    frame["loner"] = apart["y2"]
    path = tmp_path_factory.mktemp("related") / "related.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def related_data(related_csv):
    return prepare_data(config_from_dict(related_config(related_csv)).data)


@pytest.fixture(scope="module")
def related_run(related_csv, related_data):
    return train_model(config_from_dict(related_config(related_csv)), related_data)


@pytest.mark.slow
def test_related_pair_has_higher_lookahead_affinity_than_the_unrelated_task(related_run):
    report = affinity_report(related_run.extras["affinity"])
    z = report.mean["lookahead"]  # z[row, column] = Z(column → row)
    related = min(z["twin_a", "twin_b"], z["twin_b", "twin_a"])
    unrelated = max(
        z["loner", "twin_a"], z["twin_a", "loner"], z["loner", "twin_b"], z["twin_b", "loner"]
    )
    assert related > unrelated
    assert all(z[t, t] > 0 for t in TASKS)  # a step on a task lowers its own loss


def test_related_pair_has_higher_gradient_cosine(related_run):
    report = affinity_report(related_run.extras["affinity"])
    cosine, conflict = report.mean["cosine"], report.mean["conflict_rate"]
    assert cosine["twin_a", "twin_b"] > max(cosine["twin_a", "loner"], cosine["twin_b", "loner"])
    assert conflict["twin_a", "twin_b"] < min(
        conflict["twin_a", "loner"], conflict["twin_b", "loner"]
    )


def test_grouping_puts_the_related_pair_together(related_run):
    report = affinity_report(related_run.extras["affinity"])
    best = tag_grouping(report.tasks, report.mean["lookahead"].values)[0]
    assert any({"twin_a", "twin_b"} <= set(group) for group in best.groups)
    assert set().union(*best.groups) == set(TASKS)


def test_probe_records_are_json_ready_and_per_epoch(related_run):
    import json

    record = related_run.extras["affinity"]
    json.dumps(record, allow_nan=False)
    assert record["tasks"] == list(TASKS)
    assert [p["step"] for p in record["probes"]] == list(range(0, related_run.steps, 2))
    report = affinity_report(record)
    assert report.epochs == [1, 2, 3]
    assert report.weights == {t: [1.0, 1.0, 1.0] for t in TASKS}  # equal weighting


@pytest.mark.parametrize(
    "optimizer,weight_decay,dropout",
    [
        ("adam", 0.0, 0.2),
        ("adamw", 0.01, 0.0),
        ("sgd", 0.001, 0.2),
    ],
)
def test_probe_leaves_the_trained_model_bit_identical(
    related_csv, related_data, optimizer, weight_decay, dropout
):
    def run(every):
        config = related_config(
            related_csv, epochs=2, every=every, optimizer=optimizer, weight_decay=weight_decay
        )
        config["model"]["dropout"] = dropout
        return train_model(config_from_dict(config), related_data)

    probed, plain = run(1), run(0)
    assert len(probed.extras["affinity"]["probes"]) == probed.steps
    assert "affinity" not in plain.extras
    a, b = probed.model.state_dict(), plain.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert probed.metrics == plain.metrics


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_probe_leaves_optimizer_state_and_grads_bit_identical(related_csv, related_data, optimizer):
    config = config_from_dict(related_config(related_csv, optimizer=optimizer, weight_decay=0.01))
    torch.manual_seed(0)
    model = build_model(config.model, related_data.tasks, "tabular", related_data.input_shape)
    split = related_data.splits["train"]

    def train(model, probe_every):
        optimizer = make_optimizer(config, list(model.parameters()))
        probe = LookaheadProbe(model, optimizer, related_data.tasks, probe_every)
        for step in range(6):
            rows = torch.arange(step * 64, (step + 1) * 64)
            x = split.x[rows]
            targets = {k: v[rows] for k, v in split.targets.items()}
            masks = {k: v[rows] for k, v in split.masks.items()}
            if probe_every:
                probe.measure(x, targets, masks, step, 1)
            optimizer.zero_grad(set_to_none=True)
            task_losses(related_data.tasks, model(x), targets, masks).sum().backward()
            if probe_every:  # also between backward and step: .grad must stay untouched
                probe.measure(x, targets, masks, step, 1)
            optimizer.step()
        return model, optimizer

    probed_model, probed_opt = train(copy.deepcopy(model), 1)
    plain_model, plain_opt = train(copy.deepcopy(model), 0)
    a, b = probed_model.state_dict(), plain_model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    for p, q in zip(probed_model.parameters(), plain_model.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)
    state_a, state_b = probed_opt.state_dict()["state"], plain_opt.state_dict()["state"]
    assert state_a.keys() == state_b.keys() and state_a
    for key in state_a:
        for name, value in state_a[key].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(state_b[key][name])), name


OPTIMIZERS = [
    (torch.optim.Adam, {"lr": 0.01}),
    (torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.95)}),
    (torch.optim.Adam, {"lr": 0.01, "maximize": True}),
    (torch.optim.SGD, {"lr": 0.1}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "dampening": 0.0}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.5, "dampening": 0.3}),
]


@pytest.mark.parametrize("warm_steps", [0, 3])
@pytest.mark.parametrize("factory,options", OPTIMIZERS)
def test_replay_equals_the_real_optimizer_step(factory, options, warm_steps):
    """For every candidate gradient, the replay lands where the optimizer itself would."""
    generator = torch.Generator().manual_seed(warm_steps)
    params = [
        torch.nn.Parameter(torch.randn(4, 3, generator=generator)),
        torch.nn.Parameter(torch.randn(5, generator=generator)),
        torch.nn.Parameter(torch.randn(2, 2, generator=generator)),
        torch.nn.Parameter(torch.randn(3, generator=generator)),
    ]
    # Two groups with their own rates; the last parameter had a gradient in the last warm
    # step only (another step count): the replay flattens what shares settings and state,
    # and must land where the step does.
    optimizer = factory(
        [{"params": params[:2]}, {"params": params[2:], "lr": options["lr"] * 3}], **options
    )
    for step in range(warm_steps):
        for p in params[:3] if step < warm_steps - 1 else params:  # the last: one step only
            p.grad = torch.randn(p.shape, generator=generator)
        optimizer.step()
    candidates = [torch.randn(3, *p.shape, generator=generator) for p in params]
    before = copy.deepcopy(optimizer.state_dict())
    replayed = replay_step(optimizer, params, candidates)
    assert str(optimizer.state_dict()) == str(before)  # only read
    for k in range(3):
        twin_params = [torch.nn.Parameter(p.detach().clone()) for p in params]
        twin = factory(
            [{"params": twin_params[:2]}, {"params": twin_params[2:], "lr": options["lr"] * 3}],
            **options,
        )
        twin.load_state_dict(copy.deepcopy(optimizer.state_dict()))
        for p, c in zip(twin_params, candidates, strict=True):
            p.grad = c[k].clone()
        twin.step()
        for p, r in zip(twin_params, replayed, strict=True):
            torch.testing.assert_close(r[k], p.detach(), rtol=1e-5, atol=1e-7)


def test_vectorised_and_per_task_probes_agree(related_data):
    config = config_from_dict(related_config("unused.csv"))
    torch.manual_seed(1)
    model = build_model(config.model, related_data.tasks, "tabular", related_data.input_shape)
    optimizer = make_optimizer(config, list(model.parameters()))
    split = related_data.splits["train"]
    x, rows = split.x[:64], slice(0, 64)
    targets = {k: v[rows] for k, v in split.targets.items()}
    masks = {k: v[rows] for k, v in split.masks.items()}
    fast = LookaheadProbe(model, optimizer, related_data.tasks, 1, vectorize=True)
    slow = LookaheadProbe(model, optimizer, related_data.tasks, 1, vectorize=False)
    a, b = fast.measure(x, targets, masks, 0, 1), slow.measure(x, targets, masks, 0, 1)
    assert fast.vectorize  # the hard-sharing model needs no fallback
    torch.testing.assert_close(
        torch.tensor(a.lookahead), torch.tensor(b.lookahead), rtol=1e-4, atol=1e-6
    )
    torch.testing.assert_close(
        torch.tensor(a.gramian), torch.tensor(b.gramian), rtol=1e-4, atol=1e-7
    )


def test_a_task_without_labels_in_the_batch_gets_no_affinity(related_data):
    config = config_from_dict(related_config("unused.csv"))
    model = build_model(config.model, related_data.tasks, "tabular", related_data.input_shape)
    probe = LookaheadProbe(
        model, make_optimizer(config, list(model.parameters())), related_data.tasks, 1
    )
    split = related_data.splits["train"]
    targets = {k: v[:32] for k, v in split.targets.items()}
    masks = {k: v[:32].clone() for k, v in split.masks.items()}
    masks["loner"][:] = False
    record = probe.measure(split.x[:32], targets, masks, 0, 1)
    row = TASKS.index("loner")
    assert all(v != v for v in record.lookahead[row])  # NaN: L_loner(before) is 0
    assert record.gramian[row][row] == 0.0
    stored = probe.to_json()["probes"][0]["lookahead"][row]
    assert stored == [None, None, None]


def test_single_task_or_switched_off_runs_have_no_probe(related_data):
    config = config_from_dict(related_config("unused.csv"))
    model = build_model(config.model, related_data.tasks, "tabular", related_data.input_shape)
    optimizer = make_optimizer(config, list(model.parameters()))
    assert LookaheadProbe.for_training(0, model, optimizer, related_data.tasks) is None
    assert LookaheadProbe.for_training(10, model, optimizer, related_data.tasks[:1]) is None
    assert LookaheadProbe.for_training(10, model, optimizer, related_data.tasks) is not None


@pytest.mark.parametrize("architecture", architecture_names())
def test_probe_works_on_every_architecture(related_data, architecture):
    """Same numbers vectorised or per task, a Gramian equal to the one of directly computed
    per-task gradients, and an unchanged model, whatever the sharing."""
    config = config_from_dict(related_config("unused.csv"))
    config = config.model_copy(
        update={"model": config.model.model_copy(update={"architecture": architecture})}
    )
    torch.manual_seed(2)
    model = build_model(config.model, related_data.tasks, "tabular", related_data.input_shape)
    optimizer = make_optimizer(config, list(model.parameters()))
    if not model.shared_parameters():  # nothing shared (single_task): nothing to probe
        assert LookaheadProbe.for_training(1, model, optimizer, related_data.tasks) is None
        return
    split = related_data.splits["train"]
    x = split.x[:48]
    targets = {k: v[:48] for k, v in split.targets.items()}
    masks = {k: v[:48] for k, v in split.masks.items()}
    before = copy.deepcopy(model.state_dict())
    fast = LookaheadProbe(model, optimizer, related_data.tasks, 1).measure(x, targets, masks, 0, 1)
    slow = LookaheadProbe(model, optimizer, related_data.tasks, 1, vectorize=False).measure(
        x, targets, masks, 0, 1
    )
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    torch.testing.assert_close(
        torch.tensor(fast.lookahead), torch.tensor(slow.lookahead), rtol=1e-4, atol=1e-6
    )
    model.eval()
    losses = task_losses(related_data.tasks, model(x), targets, masks)
    shared = [p for p in model.shared_parameters()]
    rows = [
        torch.cat(
            [
                g.reshape(-1)
                for g in torch.autograd.grad(
                    loss, shared, retain_graph=True, allow_unused=True, materialize_grads=True
                )
            ]
        )
        for loss in losses
    ]
    direct = torch.stack(rows) @ torch.stack(rows).T
    torch.testing.assert_close(torch.tensor(fast.gramian), direct, rtol=1e-4, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(
    kinds=st.lists(
        st.sampled_from(["regression", "binary", "multiclass", "multilabel"]),
        min_size=1,
        max_size=4,
    ),
    complete=st.lists(st.booleans(), min_size=4, max_size=4),
    rows=st.integers(1, 9),
    count=st.integers(1, 4),
    seed=st.integers(0, 10**6),
)
def test_candidate_losses_equal_each_candidates_task_losses(kinds, complete, rows, count, seed):
    """The probe's batched lookahead losses are `task_losses` of each candidate, for every
    task kind and any pattern of missing labels (none labelled included); a mask of `None`
    (a task whose every label is present, as the training loop passes it) computes what an
    all-true mask does."""
    generator = torch.Generator().manual_seed(seed)
    tasks = [TaskSpec(f"t{i}", f"t{i}", kind) for i, kind in enumerate(kinds)]
    width = {"regression": 1, "binary": 1, "multiclass": 3, "multilabel": 3}
    outputs = {t.name: torch.randn(count, rows, width[t.kind], generator=generator) for t in tasks}
    targets = {
        t.name: {
            "regression": lambda: torch.randn(rows, generator=generator),
            "binary": lambda: torch.randint(0, 2, (rows,), generator=generator),
            "multiclass": lambda: torch.randint(0, 3, (rows,), generator=generator),
            "multilabel": lambda: torch.randint(0, 2, (rows, 3), generator=generator),
        }[t.kind]()
        for t in tasks
    }
    masks = {t.name: torch.rand(rows, generator=generator) < 0.7 for t in tasks}
    expected = torch.stack(
        [
            task_losses(tasks, {n: o[c] for n, o in outputs.items()}, targets, masks)
            for c in range(count)
        ]
    )
    torch.testing.assert_close(candidate_losses(tasks, outputs, targets, masks), expected)
    full = {name: torch.ones(rows, dtype=torch.bool) for name in masks}
    unmasked = {
        name: None if whole else full[name] for name, whole in zip(masks, complete, strict=False)
    }
    for c in range(count):
        candidate = {n: o[c] for n, o in outputs.items()}
        torch.testing.assert_close(
            task_losses(tasks, candidate, targets, unmasked),
            task_losses(tasks, candidate, targets, full),
        )
    torch.testing.assert_close(
        candidate_losses(tasks, outputs, targets, unmasked),
        candidate_losses(tasks, outputs, targets, full),
    )


@pytest.mark.parametrize(
    "shared,head,dropout", [([16], [8], 0.0), ([16, 12, 8], [], 0.0), ([16, 8], [4], 0.3)]
)
def test_hard_sharings_batched_candidates_equal_vmapped_forwards(shared, head, dropout):
    """The probe's fast lookahead for hard sharing (batched trunk products, heads run once on
    every candidate's features) gives what vmapping the model's own forward gives."""
    from torch.func import functional_call, vmap

    from mtl_core.config import ModelConfig

    tasks = [
        TaskSpec("a", "a", "regression"),
        TaskSpec("b", "b", "multiclass", classes=("x", "y", "z")),
    ]
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(architecture="hard", shared=shared, head=head, dropout=dropout),
        tasks,
        "tabular",
        (6,),
    )
    model.eval()  # the probe's mode when the model has dropout
    names = [
        n for n, p in model.named_parameters() if any(p is q for q in model.shared_parameters())
    ]
    params = dict(model.named_parameters())
    candidates = {n: params[n].detach() + 0.1 * torch.randn(4, *params[n].shape) for n in names}
    x = torch.randn(10, 6)
    fast = model.candidate_outputs(x, candidates)
    assert fast is not None

    def forward(*values):
        return functional_call(model, dict(zip(names, values, strict=True)), (x,))

    reference = vmap(forward)(*candidates.values())
    for name in ("a", "b"):
        torch.testing.assert_close(fast[name], reference[name])
    model.train()  # with dropout drawing there is no fast path
    assert (model.candidate_outputs(x, candidates) is None) == (dropout > 0)


@pytest.mark.parametrize("method", ["equal", "upgrad"])
def test_the_graph_kept_for_a_probe_is_released_before_the_update(
    related_csv, related_data, monkeypatch, method
):
    """A probe step keeps its graph for the probe's Jacobian; it must be gone by the optimizer
    step (else it lives on through the next forward: twice the activations in memory)."""
    from mtl_core.train import loop

    step_losses: list[weakref.ref] = []
    original = loop.task_losses

    def spied(*args, **kwargs):
        losses = original(*args, **kwargs)
        step_losses.append(weakref.ref(losses))
        return losses

    alive_at_update: list[bool] = []
    monkeypatch.setattr(loop, "task_losses", spied)
    handle = register_optimizer_step_pre_hook(
        lambda *_: alive_at_update.append(step_losses[-1]() is not None)
    )
    try:
        config = related_config(related_csv, epochs=1, every=2)
        config["weighting"] = {"method": method}
        train_model(config_from_dict(config), related_data)
    finally:
        handle.remove()
    probed, plain = alive_at_update[0::2], alive_at_update[1::2]
    assert probed and not any(probed)
    assert plain and not any(plain)  # (every step's graph dies before its update)
