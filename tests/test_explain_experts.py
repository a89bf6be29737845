"""Experts x tasks (MMoE, PLE): each level's expert attributions add up to the change they
are defined against, a task whose gate picks one expert gets all its share there, a task
gets exactly nothing through an expert its output does not reach, and models without
experts have no expert view."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.analysis.explain import Explainer, ExplainOptions
from mtl_core.config import ModelConfig
from mtl_core.models import build_model
from tests.test_explain import TASKS, make_data


def explained(
    architecture: str, params: dict, seed: int = 0, n_steps: int = 64, rows: int = 24, model=None
):
    torch.manual_seed(seed)
    x = torch.randn(rows, 6)
    model = model or build_model(
        ModelConfig(architecture=architecture, shared=[8], head=[4], params=params),
        TASKS,
        "tabular",
        (6,),
    )
    return Explainer(model, make_data(x), ExplainOptions(samples=rows, n_steps=n_steps)).explain()


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    experts=st.integers(1, 5),
    gate=st.sampled_from(["per_task", "shared"]),
)
def test_mmoe_expert_attributions_add_up_and_shares_are_fractions(seed, experts, gate):
    explanation = explained("mmoe", {"experts": experts, "gate": gate}, seed, n_steps=128)
    (level,) = explanation.experts
    assert level.experts == [f"expert {i + 1}" for i in range(experts)]
    assert level.tasks == ["kind", "flag", "size"]
    assert np.allclose(level.share.sum(axis=1), 1.0)
    assert (level.share >= 0).all()
    for completeness in level.completeness:
        assert completeness.relative < 0.02, completeness


def test_a_gate_that_picks_one_expert_gives_it_the_whole_share():
    torch.manual_seed(3)
    model = build_model(
        ModelConfig(architecture="mmoe", shared=[8], head=[4], params={"experts": 3}),
        TASKS,
        "tabular",
        (6,),
    )
    with torch.no_grad():
        gate = model.gates["flag"].gate
        gate.weight.zero_()
        gate.bias.copy_(torch.tensor([-40.0, 40.0, -40.0]))  # softmax -> expert 2 only
    level = explained("mmoe", {}, model=model).experts[0]
    flag = level.share[level.tasks.index("flag")]
    assert flag[1] > 0.999 and flag[0] < 1e-3 and flag[2] < 1e-3
    kind = level.share[level.tasks.index("kind")]
    assert (kind > 0.01).all()  # an ordinary gate mixes them all


def test_ple_tasks_get_nothing_through_other_tasks_top_experts():
    explanation = explained("ple", {"levels": 2, "task_experts": 1, "shared_experts": 2})
    assert [level.title for level in explanation.experts] == ["level 1", "level 2"]
    top = explanation.experts[-1]
    assert top.experts == ["kind", "flag", "size", "shared 1", "shared 2"]
    for row, task in enumerate(top.tasks):
        for column, expert in enumerate(top.experts):
            if expert in top.tasks and expert != task:
                assert top.share[row, column] == 0.0
            else:
                assert top.share[row, column] > 0.0
    lower = explanation.experts[0]  # every expert of the lower level feeds the shared gate
    assert (lower.share > 0).all()
    for level in explanation.experts:
        assert all(c.relative < 0.05 for c in level.completeness)


def test_models_without_experts_have_no_expert_view():
    explanation = explained("hard", {})
    assert explanation.experts == []
    assert explanation.to_json()["experts"] == []
    document = explained("mmoe", {"experts": 2}).to_json()["experts"]
    assert document[0]["experts"] == ["expert 1", "expert 2"]
    assert set(document[0]["tasks"]) == {"kind", "flag", "size"}
    assert abs(sum(document[0]["tasks"]["size"]["share"]) - 1.0) < 1e-5
