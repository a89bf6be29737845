"""The grouping suggestion: a partition by default, "each alone" always a candidate, never
a group with a negative score, never worse than each alone, an unlearnable task alone, and
on a synthetic run the related pair together and the noise task with no one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.analysis.affinity import affinity_report
from mtl_core.analysis.grouping import pairwise_group_scores, select_groups, tag_grouping
from mtl_core.config import AnalysisConfig

TASKS = ["spend", "churn", "independent", "noise"]


def _synthetic_record(seed: int, probes: int = 40):
    """spend and churn lower each other's loss (+0.04 per step, small probe noise); the
    independent task neither helps nor is helped; the noise task's effects are pure probe
    noise (mean 0, sd 0.05). Every task's own step lowers its loss by 0.5."""
    rng = np.random.default_rng(seed)
    mean = np.zeros((4, 4))
    mean[0, 1] = mean[1, 0] = 0.04
    np.fill_diagonal(mean, 0.5)
    spread = np.full((4, 4), 0.002)
    spread[[0, 1], [1, 0]] = 0.01
    spread[3, :] = spread[:, 3] = 0.05
    return {
        "tasks": TASKS,
        "every": 5,
        "optimizer": "Adam",
        "lr": 0.001,
        "probes": [
            {
                "step": 5 * k,
                "epoch": 1 + k // 10,
                "losses": [1.0] * 4,
                "lookahead": (mean + spread * rng.standard_normal((4, 4))).tolist(),
                "gramian": np.eye(4).tolist(),
                "weights": [1.0] * 4,
            }
            for k in range(probes)
        ],
    }


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31))
def test_the_related_pair_goes_together_and_the_noise_task_with_no_one(seed):
    report = affinity_report(_synthetic_record(seed))
    groupings = tag_grouping(
        TASKS,
        report.mean["lookahead"].values,
        standard_errors=report.se["lookahead"].values,
        probes=report.probes,
    )
    best = groupings[0]
    assert ["spend", "churn"] in best.groups
    assert ["noise"] in best.groups and ["independent"] in best.groups
    reasons = dict(zip(map(tuple, best.groups), best.reasons, strict=True))
    assert reasons[("spend", "churn")].startswith(
        "spend and churn: each step on one lowered the other's loss (Z(spend→churn) = +0.0"
    )
    assert " ± " in reasons[("spend", "churn")]
    # A 2-SE rule passes about 5% of pure-noise entries, so the reason may name a chance
    # "helper"; what must hold is that the noise task stays alone and says so.
    assert reasons[("noise",)].startswith("noise alone: ")


def test_an_unlearnable_task_is_always_alone_and_says_why():
    tasks = ["a", "b", "lucky_number"]
    helpful = [[None, 0.3, 0.3], [0.3, None, 0.3], [0.3, 0.3, None]]
    (best, *_) = tag_grouping(tasks, helpful, unlearnable=["lucky_number"])
    assert best.groups == [["a", "b"], ["lucky_number"]]
    assert best.reasons[1] == (
        "lucky_number alone: it is unlearnable from these inputs "
        "(neither model beats the trivial predictor), so no partner "
        "can help it"
    )
    for grouping in tag_grouping(tasks, helpful, unlearnable=["lucky_number"], overlap=True):
        assert all(len(g) == 1 for g in grouping.groups if "lucky_number" in g)


def test_the_default_limit_is_the_number_of_tasks():
    assert AnalysisConfig().max_groups is None
    tasks = [f"t{k}" for k in range(5)]
    alone_is_best = [[None if i == j else -0.1 for j in range(5)] for i in range(5)]
    best = tag_grouping(tasks, alone_is_best)[0]
    assert best.each_alone and len(best.groups) == 5
    assert best.reasons == [f"t{k} alone: no partner helps it beyond noise" for k in range(5)]


def test_each_alone_is_a_candidate_even_beyond_the_limit():
    tasks = ["a", "b", "c"]
    found = tag_grouping(
        tasks, [[None, 0.2, 0.1], [0.2, None, 0.1], [0.1, 0.1, None]], max_groups=1
    )
    assert found[0].groups == [["a", "b", "c"]]
    assert found[-1].each_alone and len(found) == 2


matrices = st.integers(2, 6).flatmap(
    lambda n: st.lists(
        st.lists(st.one_of(st.none(), st.floats(-1, 1, allow_nan=False)), min_size=n, max_size=n),
        min_size=n,
        max_size=n,
    )
)


@settings(max_examples=80, deadline=None)
@given(matrices, st.data())
def test_the_default_suggestion_is_a_partition_never_negative_never_worse_than_alone(matrix, data):
    tasks = [f"t{k}" for k in range(len(matrix))]
    unlearnable = data.draw(st.lists(st.sampled_from(tasks), unique=True, max_size=2))
    scores = pairwise_group_scores(tasks, matrix)
    found = select_groups(tasks, scores, unlearnable=unlearnable)
    each_alone = [g for g in found if g.each_alone]
    assert len(each_alone) == 1 and each_alone[0].score == 0.0
    best = found[0]
    assert best.score >= each_alone[0].score
    for grouping in found:
        assert sorted(t for g in grouping.groups for t in g) == sorted(tasks)
        for group in grouping.groups:
            if len(group) > 1:
                values = scores[frozenset(group)]
                assert min(values.values()) >= 0 and sum(values.values()) > 0
                assert not set(group) & set(unlearnable)
        assert len(grouping.reasons) == len(grouping.groups)


@pytest.mark.parametrize("overlap", [False, True])
def test_the_sweeps_call_still_works_with_the_config_default(overlap):
    tasks = ["a", "b", "c"]
    scores = pairwise_group_scores(tasks, [[None, 0.2, -0.1], [0.1, None, 0.0], [0.0, 0.0, None]])
    best = select_groups(tasks, scores, AnalysisConfig().max_groups, top=10, overlap=overlap)[0]
    assert ["a", "b"] in best.groups and ["c"] in best.groups
    assert best.reasons[0].startswith("a and b: each scores at least as well as alone")


def test_a_reason_marks_the_entries_it_counted_as_noise():
    tasks = ["a", "b", "c"]
    z = [[1.0, 0.1, 0.1], [0.1, 1.0, 0.1], [0.1, 0.01, 1.0]]  # Z(b→c) = 0.01: noise
    se = [[0.01] * 3 for _ in range(3)]
    best = tag_grouping(tasks, z, standard_errors=se, probes=20)[0]
    assert best.groups == [["a", "b", "c"]]
    assert best.per_task["c"] == pytest.approx(0.05)  # (0.1 + 0) / 2
    assert "Z(b→c) = +0.01 ± 0.01 (within noise)" in best.reasons[0]
    assert (
        "Z(a→c) = +0.1 ± 0.01;" in best.reasons[0] or "Z(a→c) = +0.1 ± 0.01," in (best.reasons[0])
    )
