"""The verdict arithmetic (docs/evidence.md): paired bootstrap intervals, seed noise, their
combination, Δm, and the verdict rule. Each test would fail if a rule drifted (Δm as a sum,
the interval threshold, one seed confirming)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.analysis.bootstrap import (
    TaskEvidence,
    TaskOutputs,
    combine,
    compare,
    relative_delta,
    resample_counts,
)
from mtl_core.analysis.verdicts import MIN_SEEDS, VERDICTS, task_verdict
from mtl_core.config import TrainConfig
from mtl_core.experiment.seeds import AUTO_SEEDS, extended_plan, initial_plan


def _evidence(
    delta=0.1, ci=(0.05, 0.15), seeds=3, baseline_seeds=3, mtl_over=1.0, base_over=1.0
) -> TaskEvidence:
    return TaskEvidence(
        delta=delta,
        bootstrap_ci=ci,
        seed_ci=None,
        delta_ci=ci,
        test_rows=100,
        seeds=seeds,
        baseline_seeds=baseline_seeds,
        mtl_over_trivial=mtl_over,
        baseline_over_trivial=base_over,
    )


@given(
    delta=st.floats(-1, 1),
    low=st.floats(-1, 1),
    width=st.floats(0, 1),
    seeds=st.integers(1, MIN_SEEDS - 1),
    baseline_seeds=st.integers(1, 10),
)
def test_fewer_than_three_seeds_never_confirm(delta, low, width, seeds, baseline_seeds):
    for mtl, base in ((seeds, baseline_seeds), (baseline_seeds, seeds)):
        verdict = task_verdict(_evidence(delta, (low, low + width), mtl, base)).verdict
        assert verdict in VERDICTS
        assert verdict not in ("helped", "hurt")


@pytest.mark.parametrize(
    ("ci", "expected"),
    [
        ((0.001, 0.2), "helped"),
        ((-0.2, -0.001), "hurt"),
        ((-0.01, 0.2), "no detectable difference"),
        ((0.0, 0.2), "no detectable difference"),
        ((-0.2, 0.0), "no detectable difference"),
    ],
)
def test_the_interval_decides_with_three_seeds(ci, expected):
    assert task_verdict(_evidence(0.05, ci)).verdict == expected


def test_an_interval_excluding_zero_from_one_seed_is_inconclusive_and_says_why():
    verdict = task_verdict(_evidence(-0.3, (-0.4, -0.2), seeds=1, baseline_seeds=1))
    assert verdict.verdict == "inconclusive"
    assert "seed" in verdict.reason and "train.seeds" in verdict.reason


def test_a_task_no_model_learns_is_unlearnable_never_hurt():
    verdict = task_verdict(_evidence(-0.5, (-0.6, -0.4), mtl_over=-0.01, base_over=0.0))
    assert verdict.verdict == "unlearnable"
    learnt = task_verdict(_evidence(-0.5, (-0.6, -0.4), mtl_over=-0.01, base_over=0.02))
    assert learnt.verdict == "hurt"


def test_relative_delta_is_signed_so_that_positive_means_multi_task_better():
    assert relative_delta(0.9, 0.8, higher_is_better=True) == pytest.approx(0.125)
    assert relative_delta(2.0, 4.0, higher_is_better=False) == pytest.approx(0.5)
    assert math.isnan(float(relative_delta(1.0, 0.0, True)))


@given(rows=st.integers(1, 60), resamples=st.integers(1, 40), seed=st.integers(0, 99))
def test_each_resample_draws_as_many_rows_as_the_test_split(rows, resamples, seed):
    counts = resample_counts(rows, resamples, seed)
    assert counts.shape == (resamples, rows)
    assert np.all(counts.sum(axis=1) == rows) and np.all(counts >= 0)


@given(delta=st.floats(-1, 1), below=st.floats(0, 1), above=st.floats(0, 1), half=st.floats(0, 1))
def test_seed_noise_widens_the_bootstrap_interval(delta, below, above, half):
    low, high = combine(delta, (delta - below, delta + above), half)
    assert low <= delta - below + 1e-12 and high >= delta + above - 1e-12
    assert low <= delta - half + 1e-12 and high >= delta + half - 1e-12
    assert combine(delta, (delta - below, delta + above), None) == pytest.approx(
        (delta - below, delta + above)
    )


def _regression(rng, rows, noise_mtl, noise_base, seeds=1, labelled=None):
    truth = rng.normal(size=rows)
    mask = np.ones(rows, bool) if labelled is None else labelled
    return TaskOutputs(
        kind="regression",
        metric="mse",
        truth=truth,
        mask=mask,
        mtl=[truth + rng.normal(scale=noise_mtl, size=rows) for _ in range(seeds)],
        baseline=[truth + rng.normal(scale=noise_base, size=rows) for _ in range(seeds)],
        trivial=np.zeros(rows),
    )


def test_delta_m_is_the_mean_of_the_task_deltas():
    rng = np.random.default_rng(0)
    tasks = {
        "a": _regression(rng, 300, 0.5, 1.0),
        "b": _regression(rng, 300, 1.0, 0.5),
        "c": _regression(rng, 300, 0.8, 0.8),
    }
    evidence = compare(tasks, resamples=200)
    deltas = [evidence.tasks[n].delta for n in tasks]
    assert evidence.delta_m == pytest.approx(np.mean(deltas))
    assert evidence.delta_m != pytest.approx(np.sum(deltas))
    low, high = evidence.delta_m_ci
    assert low < evidence.delta_m < high


def test_the_bootstrap_interval_covers_the_true_delta_at_its_nominal_rate():
    """Population MSEs are the noise variances, so the true delta is known:
    -(0.8² - 1²) / 1² = 0.36. A 95% interval must cover it in at least 90% of 200 runs."""
    rng = np.random.default_rng(1)
    true_delta = -(0.8**2 - 1.0) / 1.0
    covered = 0
    for _ in range(200):
        truth = np.zeros(150)
        task = TaskOutputs(
            kind="regression",
            metric="mse",
            truth=truth,
            mask=np.ones(150, bool),
            mtl=[rng.normal(scale=0.8, size=150)],
            baseline=[rng.normal(scale=1.0, size=150)],
            trivial=truth,
        )
        low, high = (
            compare({"t": task}, resamples=400, seed=int(rng.integers(1 << 30)))
            .tasks["t"]
            .bootstrap_ci
        )
        covered += low <= true_delta <= high
    assert covered >= 180


def test_unlabelled_rows_do_not_count_and_are_reported():
    rng = np.random.default_rng(2)
    labelled = rng.random(200) < 0.7
    task = _regression(rng, 200, 0.5, 1.0, labelled=labelled)
    scrambled = TaskOutputs(
        task.kind,
        task.metric,
        np.where(labelled, task.truth, 1e6),
        task.mask,
        task.mtl,
        task.baseline,
        task.trivial,
    )
    first, second = compare({"t": task}, 300).tasks["t"], compare({"t": scrambled}, 300).tasks["t"]
    assert first.test_rows == int(labelled.sum())
    assert first.delta == pytest.approx(second.delta)
    assert first.bootstrap_ci == pytest.approx(second.bootstrap_ci)


def test_seed_noise_appears_with_two_seeds_and_widens_the_interval():
    rng = np.random.default_rng(3)
    one = compare({"t": _regression(rng, 400, 0.7, 1.0, seeds=1)}, 300).tasks["t"]
    three = compare({"t": _regression(rng, 400, 0.7, 1.0, seeds=3)}, 300).tasks["t"]
    assert one.seed_ci is None and one.delta_ci == pytest.approx(one.bootstrap_ci)
    assert three.seed_ci is not None and three.seeds == 3 and three.baseline_seeds == 3
    assert three.delta_ci[0] <= three.bootstrap_ci[0] and three.delta_ci[1] >= three.bootstrap_ci[1]


def test_noise_target_is_unlearnable_and_a_learnt_one_is_not():
    rng = np.random.default_rng(4)
    rows = 400
    noise = TaskOutputs(
        kind="regression",
        metric="mse",
        truth=rng.normal(size=rows),
        mask=np.ones(rows, bool),
        mtl=[rng.normal(scale=0.1, size=rows) for _ in range(3)],
        baseline=[rng.normal(scale=0.1, size=rows) for _ in range(3)],
        trivial=np.zeros(rows),
    )
    learnt = _regression(rng, rows, 0.5, 0.5, seeds=3)
    evidence = compare({"noise": noise, "learnt": learnt}, 300)
    assert task_verdict(evidence.tasks["noise"]).verdict == "unlearnable"
    assert task_verdict(evidence.tasks["learnt"]).verdict != "unlearnable"


def test_auto_seeds_are_three_on_a_small_test_split_and_one_on_a_large_one():
    auto = TrainConfig()
    assert initial_plan(auto, 52).seeds == AUTO_SEEDS == initial_plan(auto, 52).baseline_seeds
    assert initial_plan(auto, 5000).seeds == 1
    assert initial_plan(TrainConfig(seeds=2), 52).seeds == 2
    assert initial_plan(TrainConfig(seeds=2, baseline_seeds=4), 52).baseline_seeds == 4
    assert "52 rows" in initial_plan(auto, 52).reason


def test_auto_seeds_grow_when_one_seed_leaves_an_interval_across_zero():
    rng = np.random.default_rng(5)
    plan = initial_plan(TrainConfig(), 5000)
    crossing = compare({"t": _regression(rng, 300, 1.0, 1.0)}, 200)
    clear = compare({"t": _regression(rng, 300, 0.3, 1.0)}, 200)
    assert extended_plan(TrainConfig(), plan, crossing).seeds == AUTO_SEEDS
    assert extended_plan(TrainConfig(), plan, clear) is None
    assert (
        extended_plan(TrainConfig(seeds=1), initial_plan(TrainConfig(seeds=1), 5000), crossing)
        is None
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000))
def test_swapping_the_models_flips_the_delta_sign_for_a_symmetric_metric(seed):
    rng = np.random.default_rng(seed)
    rows = 200
    truth = rng.integers(0, 2, size=rows)
    logits = [rng.normal(size=rows) + truth * 1.5, rng.normal(size=rows) + truth * 0.5]
    forward = TaskOutputs(
        "binary", "accuracy", truth, np.ones(rows, bool), [logits[0]], [logits[1]], np.zeros(rows)
    )
    backward = TaskOutputs(
        "binary", "accuracy", truth, np.ones(rows, bool), [logits[1]], [logits[0]], np.zeros(rows)
    )
    a, b = compare({"t": forward}, 100).tasks["t"], compare({"t": backward}, 100).tasks["t"]
    assert (a.delta > 0) == (b.delta < 0) or a.delta == b.delta == 0
