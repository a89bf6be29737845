"""Properties of the pure analysis functions: gradient statistics from a Gramian and the
grouping search against brute force (the signal rules and warnings:
test_affinity_signals.py; the grouping rules: test_affinity_grouping.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.analysis.affinity import affinity_report
from mtl_core.analysis.gradients import conflict, cosine_matrix, magnitude_similarity
from mtl_core.analysis.grouping import (
    hoa_scores,
    pairwise_group_scores,
    select_groups,
    tag_grouping,
)
from mtl_core.errors import UserError

jacobians = st.integers(2, 5).flatmap(
    lambda t: st.lists(
        st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=6, max_size=6),
        min_size=t,
        max_size=t,
    )
)


@settings(max_examples=60, deadline=None)
@given(jacobians, st.randoms(use_true_random=False))
def test_gradient_statistics_match_their_definitions(rows, rng):
    jacobian = torch.tensor(rows, dtype=torch.float64)
    gramian = jacobian @ jacobian.T
    cosine, magnitude = cosine_matrix(gramian), magnitude_similarity(gramian)
    norms = jacobian.norm(dim=1)
    for i, j in itertools.product(range(len(rows)), repeat=2):
        if norms[i] > 1e-6 and norms[j] > 1e-6:
            expected = torch.dot(jacobian[i], jacobian[j]) / (norms[i] * norms[j])
            assert abs(cosine[i, j] - expected) < 1e-6
            phi = 2 * norms[i] * norms[j] / (norms[i] ** 2 + norms[j] ** 2)
            assert abs(magnitude[i, j] - phi) < 1e-6
    assert torch.allclose(cosine, cosine.T) and torch.allclose(magnitude, magnitude.T)
    assert (cosine.abs() <= 1).all() and ((magnitude >= 0) & (magnitude <= 1 + 1e-12)).all()
    assert torch.equal(conflict(gramian), cosine < 0)
    # Permuting the tasks permutes every statistic; scaling one gradient changes no cosine.
    order = list(range(len(rows)))
    rng.shuffle(order)
    permuted = jacobian[order]
    assert torch.allclose(cosine_matrix(permuted @ permuted.T), cosine[order][:, order])
    scaled = jacobian.clone()
    scaled[0] *= 3.0
    assert torch.allclose(cosine_matrix(scaled @ scaled.T), cosine, atol=1e-9)


def test_zero_gradient_is_neither_agreeing_nor_conflicting():
    jacobian = torch.tensor([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.5]])
    gramian = jacobian @ jacobian.T
    assert cosine_matrix(gramian)[1].tolist() == [0.0, 0.0, 0.0]
    assert not conflict(gramian)[1].any()
    assert magnitude_similarity(gramian)[0, 1] == 0.0
    assert conflict(gramian)[0, 2]


def _brute_force(tasks, scores):
    """Best partition score over admissible groups, by labelling every task with a group."""
    best = -np.inf
    for labels in itertools.product(range(len(tasks)), repeat=len(tasks)):
        blocks = {}
        for task, label in zip(tasks, labels, strict=True):
            blocks.setdefault(label, []).append(task)
        per_task = {}
        for block in blocks.values():
            values = scores[frozenset(block)]
            if len(block) > 1 and (min(values.values()) < 0 or sum(values.values()) <= 0):
                break  # a member worse off than alone, or no gain: not suggested
            per_task.update(values)
        else:
            best = max(best, float(np.mean([per_task[t] for t in tasks])))
    return best


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 4), st.lists(st.floats(-1, 1, allow_nan=False), min_size=16, max_size=16))
def test_exhaustive_grouping_finds_the_brute_force_optimum(count, values):
    tasks = [f"t{k}" for k in range(count)]
    matrix = np.array(values).reshape(4, 4)[:count, :count].tolist()
    scores = pairwise_group_scores(tasks, matrix)
    found = select_groups(tasks, scores, top=5)
    assert found[0].score == pytest.approx(_brute_force(tasks, scores))
    assert [g.score for g in found] == sorted((g.score for g in found), reverse=True)
    for grouping in found:
        assert sorted(t for g in grouping.groups for t in g) == sorted(tasks)  # a partition


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 4),
    st.integers(1, 3),
    st.lists(st.floats(-1, 1, allow_nan=False), min_size=16, max_size=16),
)
def test_overlapping_groups_cover_every_task_within_the_limit(count, max_groups, values):
    tasks = [f"t{k}" for k in range(count)]
    matrix = np.array(values).reshape(4, 4)[:count, :count].tolist()
    found = select_groups(
        tasks, pairwise_group_scores(tasks, matrix), max_groups, top=5, overlap=True
    )
    for grouping in found:
        assert set().union(*grouping.groups) == set(tasks)
        assert len(grouping.groups) <= max_groups or grouping.each_alone
    assert any(g.each_alone for g in found)
    partition = select_groups(tasks, pairwise_group_scores(tasks, matrix), max_groups)[0]
    assert found[0].score >= partition.score - 1e-12  # overlapping sets include partitions


def test_grouping_keeps_a_harmful_task_apart_and_states_scores():
    tasks = ["a", "b", "c"]
    lookahead = [[None, 0.5, -0.1], [0.4, None, -0.2], [-0.1, -0.3, None]]
    best = tag_grouping(tasks, lookahead)[0]
    assert best.groups == [["a", "b"], ["c"]]
    assert best.per_task == {"a": 0.5, "b": 0.4, "c": 0.0}
    assert best.score == pytest.approx(0.3)
    assert best.reasons[0].startswith("a and b: each step on one lowered the other's loss")
    forced = tag_grouping(tasks, lookahead, singleton_score=-1e6)[0]  # TAG's own convention
    assert all(len(g) > 1 for g in forced.groups)


def test_grouping_refuses_too_many_tasks():
    tasks = [f"t{k}" for k in range(10)]
    with pytest.raises(UserError, match="at most 9 tasks"):
        tag_grouping(tasks, [[0.0] * 10] * 10)


def test_hoa_predicts_a_triple_from_its_pairs():
    tasks = ["a", "b", "c"]
    pairs = {
        ("a", "b"): 0.1,
        ("a", "c"): -0.3,
        ("b", "a"): 0.2,
        ("b", "c"): 0.0,
        ("c", "a"): 0.05,
        ("c", "b"): 0.15,
    }
    matrix = hoa_scores(tasks, pairs)
    assert matrix[0] == [None, 0.1, -0.3]
    scores = pairwise_group_scores(tasks, matrix)
    assert scores[frozenset(tasks)]["a"] == pytest.approx(-0.1)  # mean of its two pairs
    assert scores[frozenset(tasks)]["c"] == pytest.approx(0.1)


def test_a_run_without_probes_is_a_user_error():
    with pytest.raises(UserError, match="affinity_every"):
        affinity_report({"tasks": ["a"], "probes": []})
    with pytest.raises(UserError):
        affinity_report(None)


def test_too_many_tasks_for_grouping_still_shows_the_matrices():
    from mtl_core.analysis.run_affinity import analyse_run
    from mtl_core.runs import RunStore

    tasks = [f"t{k}" for k in range(10)]
    store = RunStore()
    config = {
        "data": {"source": "x", "tasks": [{"name": t, "column": t} for t in tasks]},
        "model": {"architecture": "hard"},
        "weighting": {"method": "equal"},
    }
    run_id = store.create_run(config)
    eye = [[1.0 if i == j else 0.1 for j in range(10)] for i in range(10)]
    record = {
        "tasks": tasks,
        "every": 1,
        "optimizer": "Adam",
        "lr": 0.01,
        "probes": [
            {
                "step": s,
                "epoch": 1,
                "losses": [1.0] * 10,
                "lookahead": eye,
                "gramian": eye,
                "weights": [1.0] * 10,
            }
            for s in range(6)
        ],
    }
    store.write_json(run_id, "extras.json", {"affinity": record})
    store.finish_run(run_id, {"status": "completed", "tasks": {}}, None)
    result = analyse_run(store, run_id)
    assert result.groupings == [] and "at most 9 tasks" in result.grouping_error
    assert result.report.mean["cosine"]["t0", "t1"] == pytest.approx(0.1)
    assert result.to_json()["grouping"]["error"] == result.grouping_error


@pytest.mark.parametrize(
    "verdict,expected",
    [
        ("no detectable difference", "measured no gain beyond noise"),
        ("helped", "measured a gain for spend, churn"),
    ],
)
def test_a_suggestion_to_train_the_run_s_tasks_together_is_checked_against_its_verdicts(
    verdict, expected
):
    from mtl_core.analysis.run_affinity import analyse_run
    from mtl_core.runs import RunStore
    from tests.test_affinity_grouping import _synthetic_record

    record = _synthetic_record(0)
    pair = {
        **record,
        "tasks": ["spend", "churn"],
        "probes": [
            {
                **p,
                "lookahead": [r[:2] for r in p["lookahead"][:2]],
                "gramian": [[1.0, 0.0], [0.0, 1.0]],
                "weights": [1.0, 1.0],
            }
            for p in record["probes"]
        ],
    }
    store = RunStore()
    run_id = store.create_run(
        {
            "data": {"source": "x", "tasks": [{"name": t, "column": t} for t in pair["tasks"]]},
            "model": {"architecture": "hard"},
            "weighting": {"method": "equal"},
        }
    )
    store.write_extras(run_id, {"affinity": pair})
    task = {
        "kind": "regression",
        "primary_metric": "mse",
        "metrics": {"mse": 0.98},
        "baseline_metrics": {"mse": 1.0},
        "delta": 0.02,
        "delta_ci": [0.01, 0.03],
        "verdict": verdict,
        "noise": {"seeds": 3, "baseline_seeds": 3, "test_rows": 80},
    }
    store.finish_run(run_id, {"status": "completed", "tasks": {"spend": task, "churn": task}}, None)
    result = analyse_run(store, run_id)
    assert result.groupings[0].groups == [["spend", "churn"]]
    assert expected in result.measured_check
    assert result.to_json()["grouping"]["measured_check"] == result.measured_check
