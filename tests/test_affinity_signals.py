"""Signals are evidence, not verdicts: probe measures count only beyond their own
probe-to-probe standard error, a measured verdict outranks them, and the measured part of
the warnings follows the verdict (one seed never makes a measured negative-transfer
warning, whatever the summary holds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.analysis.affinity import (
    affinity_report,
    conflict_is_signal,
    lookahead_is_signal,
    pair_table,
    standard_error,
)
from mtl_core.analysis.measured import measured_tasks
from mtl_core.analysis.verdicts import VERDICTS
from mtl_core.analysis.warnings import measured_warnings, negative_transfer_warnings


def _record(lookaheads, gramians, weights=None, tasks=("a", "b")):
    """One probe per lookahead matrix, 4 probes an epoch."""
    return {
        "tasks": list(tasks),
        "every": 10,
        "optimizer": "Adam",
        "lr": 0.001,
        "probes": [
            {
                "step": 10 * k,
                "epoch": 1 + k // 4,
                "losses": [1.0] * len(tasks),
                "lookahead": z,
                "gramian": g,
                "weights": weights[k] if weights else [1.0] * len(tasks),
            }
            for k, (z, g) in enumerate(zip(lookaheads, gramians, strict=True))
        ],
    }


def _noisy_lookahead(cross: float, spread: float, probes: int = 40, seed: int = 0):
    """Z(b→a) = cross + noise of sd `spread` per probe; both tasks' own Z = 0.5."""
    rng = np.random.default_rng(seed)
    return [[[0.5, cross + spread * rng.standard_normal()], [0.01, 0.5]] for _ in range(probes)]


AGREE = [[1.0, 0.5], [0.5, 2.0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.integers(0, 2**16))
def test_standard_error_is_never_below_the_probe_to_probe_one(probes, seed):
    values = torch.from_numpy(np.random.default_rng(seed).normal(size=(probes, 2, 2)))
    se = standard_error(values)
    naive = values.std(dim=0) / math.sqrt(probes)
    assert torch.all(se >= naive - 1e-12)
    assert torch.equal(standard_error(torch.ones(probes, 2, 2)), torch.zeros(2, 2))


def test_drift_along_training_widens_the_standard_error():
    # Two halves of training at different levels: consecutive probes agree, blocks do not.
    drift = torch.cat([torch.full((20, 1, 1), -1.0), torch.full((20, 1, 1), 1.0)])
    drift += 0.01 * torch.from_numpy(np.random.default_rng(0).normal(size=(40, 1, 1)))
    assert standard_error(drift)[0, 0] > drift.std(dim=0)[0, 0] / math.sqrt(40) * 2


def test_a_negative_lookahead_within_its_noise_is_no_signal_and_beyond_it_is():
    noisy = affinity_report(_record(_noisy_lookahead(-0.03, 0.5), [AGREE] * 40))
    assert noisy.mean["lookahead"]["a", "b"] < 0
    assert abs(noisy.mean["lookahead"]["a", "b"]) < 2 * noisy.se["lookahead"]["a", "b"]
    assert [w for w in negative_transfer_warnings(None, noisy) if w.kind == "lookahead"] == []
    clear = affinity_report(_record(_noisy_lookahead(-0.03, 0.005), [AGREE] * 40))
    (warning,) = [w for w in negative_transfer_warnings(None, clear) if w.kind == "lookahead"]
    assert warning.level == "signal" and warning.tasks == ["b", "a"]
    assert "Z(b→a) = -0.03" in warning.evidence and "±" in warning.evidence
    # Significant but tiny next to the task's own step (under 5% of Z(a→a) = 0.5): no signal.
    tiny = affinity_report(_record(_noisy_lookahead(-0.01, 0.0005), [AGREE] * 40))
    assert not lookahead_is_signal(
        tiny.mean["lookahead"]["a", "b"], tiny.se["lookahead"]["a", "b"], 0.5, tiny.probes
    )


@pytest.mark.parametrize(
    "conflicts,probes,signal",
    [
        (6, 10, False),  # 60%: what a coin gives often enough
        (8, 8, True),  # every probe
        (14, 20, False),  # 70% of 20: 0.2 above 50%, the binomial 2 SE is 0.22
        (17, 20, True),
    ],
)
def test_conflict_must_be_significantly_above_one_half(conflicts, probes, signal):
    against = [[1.0, -0.5], [-0.5, 2.0]]
    gramians = [against] * conflicts + [AGREE] * (probes - conflicts)
    rng = np.random.default_rng(conflicts)
    order = rng.permutation(probes)
    report = affinity_report(
        _record([[[0.5, 0.0], [0.0, 0.5]]] * probes, [gramians[k] for k in order])
    )
    assert report.mean["conflict_rate"]["a", "b"] == pytest.approx(conflicts / probes)
    assert (
        conflict_is_signal(
            report.mean["conflict_rate"]["a", "b"], report.se["conflict_rate"]["a", "b"], probes
        )
        is signal
    )
    kinds = [w.kind for w in negative_transfer_warnings(None, report)]
    assert ("conflict" in kinds) is signal


def test_few_probes_make_no_signal():
    report = affinity_report(
        _record(_noisy_lookahead(-0.2, 0.0, probes=4), [[[1.0, -0.5], [-0.5, 2.0]]] * 4)
    )
    assert negative_transfer_warnings(None, report) == []


def test_a_collapsed_weight_is_a_signal_only_beyond_its_noise():
    gramians = [AGREE] * 8
    steady = affinity_report(_record(_noisy_lookahead(0.0, 0.0, 8), gramians, [[1.0, 0.01]] * 8))
    (warning,) = negative_transfer_warnings(None, steady)
    assert warning.kind == "weight" and warning.tasks == ["b"]
    jumping = affinity_report(
        _record(
            _noisy_lookahead(0.0, 0.0, 8),
            gramians,
            [
                [1.0, 0.01],
                [1.0, 0.01],
                [1.0, 0.01],
                [1.0, 0.01],
                [1.0, 0.001],
                [1.0, 0.3],
                [1.0, 0.001],
                [1.0, 0.3],
            ],
        )
    )
    assert negative_transfer_warnings(None, jumping) == []


def _task(delta, verdict=None, seeds=3, baseline_seeds=3, test_rows=52, ci=None, **extra):
    task = {
        "kind": "regression",
        "primary_metric": "mse",
        "delta": delta,
        "metrics": {"mse": 1.0 - delta},
        "baseline_metrics": {"mse": 1.0},
        "delta_ci": ci,
        "noise": {"seeds": seeds, "baseline_seeds": baseline_seeds, "test_rows": test_rows},
        **extra,
    }
    if verdict is not None:
        task.update(verdict=verdict, verdict_reason=f"stored reason: {verdict}")
    return task


def test_a_signal_against_a_measured_gain_is_contradicted_not_advice():
    report = affinity_report(_record(_noisy_lookahead(-0.03, 0.005), [AGREE] * 40))
    summary = {
        "tasks": {
            "a": _task(0.05, "helped", ci=[0.01, 0.09]),
            "b": _task(0.0, "no detectable difference", ci=[-0.02, 0.02]),
        }
    }
    (warning,) = negative_transfer_warnings(summary, report)
    assert warning.level == "contradicted" and warning.kind == "lookahead"
    assert "contradicted by the measured gain" in warning.evidence
    assert "Try" not in warning.advice and "outweighs" in warning.advice
    (row,) = pair_table(report, {"a": "helped"})
    assert row["lookahead_second_to_first_status"] == "contradicted"  # Z(b→a)
    assert row["lookahead_first_to_second_status"] == "within noise"


def test_measured_warnings_follow_the_verdict():
    summary = {
        "tasks": {
            "hurt": _task(-0.1, "hurt", ci=[-0.15, -0.05]),
            "lucky_number": _task(-0.3, "unlearnable", ci=[-0.6, 0.1]),
            "one_seed": _task(-0.08, "inconclusive", seeds=1, baseline_seeds=1, ci=[-0.12, -0.03]),
            "helped": _task(0.1, "helped", ci=[0.05, 0.15]),
            "same": _task(-0.01, "no detectable difference", ci=[-0.05, 0.03]),
        }
    }
    found = {w.tasks[0]: w for w in measured_warnings(summary)}
    assert set(found) == {"hurt", "lucky_number", "one_seed"}
    assert found["hurt"].level == "measured" and found["hurt"].kind == "negative transfer"
    assert "-10.0% [-15.0%, -5.0%] · hurt · 3 seeds, 52 test rows" in found["hurt"].evidence
    unlearnable = found["lucky_number"]
    assert unlearnable.level == "note" and unlearnable.kind == "unlearnable"
    assert "negative transfer" not in unlearnable.message
    assert "cannot be learned from these inputs" in unlearnable.evidence
    inconclusive = found["one_seed"]
    assert inconclusive.level == "note"
    assert "1 seed cannot tell it from seed noise" in inconclusive.evidence
    assert "52 test rows" in inconclusive.evidence and "train.seeds: 3" in inconclusive.advice


def test_an_old_summary_without_verdicts_still_reads_as_inconclusive():
    old = {
        "tasks": {
            "mass": {
                "kind": "regression",
                "delta": -0.2,
                "metrics": {"mse": 1.2},
                "baseline_metrics": {"mse": 1.0},
                "baseline_seeds": [{"mse": 1.0}, {"mse": 1.02}, {"mse": 0.98}],
            }
        }
    }
    (task,) = measured_tasks(old).values()
    assert task.verdict == "inconclusive" and task.metric == "mse"
    assert task.delta_ci is None and task.baseline_seeds == 3 and task.seeds == 1
    (warning,) = measured_warnings(old)
    assert warning.level == "note" and "stored before intervals" in warning.evidence


metric_values = st.floats(0.01, 10, allow_nan=False)
one_seed_task = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["regression", "binary", "multiclass"]),
        "delta": st.one_of(st.none(), st.floats(-1, 1, allow_nan=False)),
        "delta_ci": st.one_of(st.none(), st.tuples(st.floats(-1, 0), st.floats(-1, 0)).map(sorted)),
        "metrics": st.fixed_dictionaries({"mse": metric_values, "accuracy": metric_values}),
        "baseline_metrics": st.fixed_dictionaries(
            {"mse": metric_values, "accuracy": metric_values}
        ),
        "baseline_std": st.fixed_dictionaries({"mse": st.sampled_from([0.0, 1e-9, 0.5])}),
        "seeds": st.lists(st.fixed_dictionaries({"mse": metric_values}), max_size=1),
        "baseline_seeds": st.lists(st.fixed_dictionaries({"mse": metric_values}), max_size=1),
    },
    optional={
        "verdict": st.sampled_from(VERDICTS),
        "noise": st.fixed_dictionaries(
            {
                "seeds": st.integers(1, 5),
                "baseline_seeds": st.just(1),
                "test_rows": st.integers(1, 5000),
            }
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "mass"]), one_seed_task, min_size=1))
def test_one_seed_never_makes_a_measured_negative_transfer_warning(tasks):
    """Finding 1: one seed once produced CONFIRMED (a 0 std was taken as measured noise).
    Whatever a one-seed summary holds, even a stored "hurt", it is never measured."""
    summary = {"tasks": tasks}
    assert all(t.verdict not in ("hurt", "helped") for t in measured_tasks(summary).values())
    for warning in measured_warnings(summary):
        assert warning.level == "note" and warning.kind != "negative transfer"


def test_a_signal_about_an_unlearnable_task_is_no_transfer_advice():
    """Z(b→a) < 0 beyond noise, but a is unlearnable (a noise target): its loss moving says
    nothing about transfer, so only a's note is shown."""
    report = affinity_report(_record(_noisy_lookahead(-0.03, 0.005), [AGREE] * 40))
    summary = {
        "tasks": {
            "a": _task(-0.02, "unlearnable", ci=[-0.05, 0.01]),
            "b": _task(0.0, "no detectable difference", ci=[-0.02, 0.02]),
        }
    }
    levels = {(w.level, tuple(w.tasks)) for w in negative_transfer_warnings(summary, report)}
    assert levels == {("note", ("a",))}
    summary["tasks"]["a"] = _task(0.0, "no detectable difference", ci=[-0.02, 0.02])
    assert ("signal", ("b", "a")) in {
        (w.level, tuple(w.tasks)) for w in negative_transfer_warnings(summary, report)
    }


records = st.tuples(
    st.integers(5, 30),
    st.floats(-0.05, 0.05),
    st.floats(0.0001, 0.05),
    st.integers(0, 2**16),
    st.sampled_from(VERDICTS),
    st.sampled_from(VERDICTS),
)


@settings(max_examples=60, deadline=None)
@given(records)
def test_the_pair_table_and_the_warnings_judge_a_lookahead_alike(drawn):
    """One rule: a negative Z(b→a) is a signal, contradicted or dropped in the pair table
    exactly when the warnings say so."""
    probes, cross, spread, seed, verdict_a, verdict_b = drawn
    report = affinity_report(
        _record(_noisy_lookahead(cross, spread, probes, seed), [AGREE] * probes)
    )
    summary = {
        "tasks": {
            "a": _task(0.05, verdict_a, ci=[0.01, 0.09]),
            "b": _task(0.0, verdict_b, ci=[0.01, 0.09]),
        }
    }
    verdicts = {t: m.verdict for t, m in measured_tasks(summary).items()}
    (row,) = pair_table(report, verdicts)
    status = row["lookahead_second_to_first_status"]  # Z(b→a)
    found = [w for w in negative_transfer_warnings(summary, report) if w.kind == "lookahead"]
    negative = report.mean["lookahead"]["a", "b"] < 0
    if status == "signal" and negative:
        assert [w.level for w in found] == ["signal"]
    elif status == "contradicted" and negative:
        assert [w.level for w in found] == ["contradicted"]
    else:
        assert found == []
        assert status in ("within noise", "about an unlearnable task") or not negative
