"""Every lesson sets up an experiment that validates, uses registered methods and loads; each
lesson's results table finds its variants' stored runs and reads their evidence."""

import math

import pytest

from mtl_core.config import config_from_dict, to_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.errors import UserError
from mtl_core.experiment.run import run_experiment
from mtl_core.lessons import (
    LESSONS,
    RESULT_COLUMNS,
    lesson,
    lesson_experiment,
    lesson_results,
    paired_gain,
    seed_delta_m,
)
from mtl_core.models.registry import architecture_names
from mtl_core.runs import RunStore
from mtl_core.weighting.registry import weighting_names


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_lesson_experiment_is_valid_and_its_data_loads(item):
    config = config_from_dict(lesson_experiment(item.key))
    assert config.model.architecture in architecture_names()
    assert config.weighting.method in weighting_names()
    data = prepare_data(config.data)
    assert [t.name for t in data.tasks] == [t.name for t in config.data.tasks]
    for variant in item.variants:
        chosen = to_dict(config_from_dict(lesson_experiment(item.key, variant.key)))
        for dotted, value in variant.settings.items():
            section, name = dotted.split(".")
            assert chosen[section][name] == value, (variant.key, dotted)
        assert chosen["weighting"]["method"] in weighting_names()
        assert chosen["model"]["architecture"] in architecture_names()


def test_variant_keys_and_labels_are_unique_within_a_lesson():
    for item in LESSONS:
        assert len({v.key for v in item.variants}) == len(item.variants), item.key
        assert len({v.label for v in item.variants}) == len(item.variants), item.key


def test_the_conflict_lesson_compares_equal_weighting_with_gradient_methods():
    item = lesson("gradient-conflict")
    methods = {v.settings["weighting.method"] for v in item.variants}
    assert {"equal", "upgrad", "pcgrad"} <= methods
    assert item.experiment["data"]["source"] == "sample_data/gradient_conflict"
    assert item.experiment["analysis"]["affinity_every"] > 0
    assert item.shows_conflict


def test_lessons_do_not_share_mutable_state():
    first = lesson_experiment(LESSONS[0].key)
    first["train"]["epochs"] = 999
    assert lesson_experiment(LESSONS[0].key)["train"]["epochs"] != 999
    variant = LESSONS[0].variants[0]
    lesson_experiment(LESSONS[0].key, variant.key)["data"]["config"] = "changed"
    assert variant.settings["data.config"] != "changed"


def test_unknown_lesson_or_variant_is_a_user_error():
    with pytest.raises(UserError, match="no lesson"):
        lesson_experiment("nope")
    with pytest.raises(UserError, match="no variant 'p9'.*p1.0"):
        lesson_experiment(LESSONS[0].key, "p9")


# --- the results table, on runs stored in a temporary store --------------------------------


def _store_run(
    store: RunStore,
    experiment: dict,
    summary: dict,
    status: str = "completed",
    extras: dict | None = None,
) -> str:
    """A run as training stores it: its full config, then its summary (and extras)."""
    run_id = store.create_run(to_dict(config_from_dict(experiment)))
    if status == "failed":
        store.fail_run(run_id, "boom")
        return run_id
    if extras is not None:
        store.write_json(run_id, "extras.json", extras)
    store.finish_run(run_id, {"run_id": run_id, "status": status, **summary}, None)
    return run_id


def _probes(cosines: list[float]) -> dict:
    """Extras with an affinity record whose probes have unit gradients at the given cosines."""
    return {
        "affinity": {
            "tasks": ["y1", "y2"],
            "every": 5,
            "optimizer": "Adam",
            "lr": 0.003,
            "probes": [
                {
                    "step": 5 * k,
                    "epoch": 1,
                    "losses": [1.0, 1.0],
                    "lookahead": [[0.1, 0.0], [0.0, 0.1]],
                    "gramian": [[1.0, c], [c, 1.0]],
                    "weights": [1.0, 1.0],
                }
                for k, c in enumerate(cosines)
            ],
        }
    }


def test_results_table_reads_each_variants_newest_run(tmp_path):
    store = RunStore(tmp_path)
    key = "gradient-conflict"
    equal = lesson_experiment(key, "equal")
    _store_run(store, equal, {"delta_m": -0.5}, extras=_probes([-0.5, -0.5, 0.5, -0.5]))
    other_seed = lesson_experiment(key, "equal")
    other_seed["train"]["seed"] = 7
    newest_equal = _store_run(
        store,
        other_seed,
        {"delta_m": -0.4, "delta_m_ci": [-0.6, -0.2], "noise": {"seeds": 3}},
        extras=_probes([-0.8, -0.6, 0.2, -0.4, -0.4]),
    )
    upgrad = _store_run(store, lesson_experiment(key, "upgrad"), {"delta_m": -0.1})
    _store_run(store, lesson_experiment(key, "pcgrad"), {}, status="failed")
    longer = lesson_experiment(key, "pcgrad")
    longer["train"]["epochs"] += 5  # no longer the lesson's budget: not its variant
    _store_run(store, longer, {"delta_m": 0.3})
    _store_run(store, lesson_experiment("negative-transfer", "p0.0"), {"delta_m": 0.2})

    table = lesson_results(lesson(key), store)
    assert list(table.columns) == RESULT_COLUMNS
    assert list(table["variant"]) == ["Equal weighting", "UPGrad"]  # the lesson's order
    first, second = table.iloc[0], table.iloc[1]
    assert first["run_id"] == newest_equal and first["runs"] == 2 and first["seeds"] == 3
    assert (first["delta_m"], first["delta_m_low"], first["delta_m_high"]) == (-0.4, -0.6, -0.2)
    assert first["mean_cosine"] == pytest.approx(-0.4)
    assert first["conflict_rate"] == pytest.approx(0.8)
    assert second["run_id"] == upgrad and second["runs"] == 1 and second["seeds"] == 1
    assert second["delta_m"] == -0.1
    for column in ("delta_m_low", "delta_m_high", "mean_cosine", "conflict_rate", "gain"):
        assert math.isnan(second[column]), column  # no interval, no probes: shown as '—'


def test_results_table_of_the_other_lessons(tmp_path):
    store = RunStore(tmp_path)
    mmoe = lesson_experiment("negative-transfer", "p-0.5-mmoe")
    _store_run(store, mmoe, {"delta_m": 0.05}, extras=_probes([-0.9]))
    _store_run(store, lesson_experiment("negative-transfer", "p-0.5"), {"delta_m": -0.2})
    table = lesson_results(lesson("negative-transfer"), store)
    assert list(table["variant"]) == ["p = -0.5 (opposed)", "p = -0.5, MMoE"]
    assert list(table["delta_m"]) == [-0.2, 0.05]
    assert table["mean_cosine"].isna().all()  # this lesson does not report conflict
    assert lesson_results(lesson("digits-affinity"), store).empty
    _store_run(store, lesson_experiment("digits-affinity"), {"delta_m": 0.01})
    assert list(lesson_results(lesson("digits-affinity"), store)["variant"]) == ["lesson"]


def _summary(
    mse: dict[str, list[float]],
    baseline: dict[str, float],
    auc: list[float] | None = None,
    auc_baseline: float = 0.8,
) -> dict:
    """A summary as training writes it: per-seed metrics, their means, deltas and Δm."""
    tasks = {}
    for name, seeds in mse.items():
        mean = sum(seeds) / len(seeds)
        tasks[name] = {
            "kind": "regression",
            "primary_metric": "mse",
            "metrics": {"mse": mean},
            "baseline_metrics": {"mse": baseline[name]},
            "delta": -(mean - baseline[name]) / baseline[name],
            "seeds": [{"mse": value} for value in seeds],
        }
    if auc is not None:  # higher is better
        mean = sum(auc) / len(auc)
        tasks["flag"] = {
            "kind": "binary",
            "primary_metric": "roc_auc",
            "metrics": {"roc_auc": mean},
            "baseline_metrics": {"roc_auc": auc_baseline},
            "delta": (mean - auc_baseline) / auc_baseline,
            "seeds": [{"roc_auc": value} for value in auc],
        }
    deltas = [task["delta"] for task in tasks.values()]
    return {
        "tasks": tasks,
        "delta_m": sum(deltas) / len(deltas),
        "noise": {"seeds": len(next(iter(mse.values())))},
    }


def test_seed_delta_m_averages_to_the_summarys_delta_m_for_either_metric_direction():
    summary = _summary({"y1": [0.02, 0.03, 0.04]}, {"y1": 0.01}, auc=[0.9, 0.7, 0.8])
    per_seed = seed_delta_m(summary)
    assert per_seed == pytest.approx([(-1.0 + 0.125) / 2, (-2.0 - 0.125) / 2, (-3.0 + 0) / 2])
    assert sum(per_seed) / 3 == pytest.approx(summary["delta_m"])
    del summary["tasks"]["y1"]["seeds"]
    assert seed_delta_m(summary) is None


def test_paired_gain_takes_out_what_the_runs_share():
    baseline = {"y1": 0.01, "y2": 0.1}
    # Seeds differ a lot from one another, but the gradient method beats equal weighting by
    # the same amount on each: the paired gain is exact and its interval has no width.
    equal = _summary({"y1": [0.02, 0.05, 0.08], "y2": [0.2, 0.4, 0.3]}, baseline)
    method = _summary({"y1": [0.01, 0.04, 0.07], "y2": [0.2, 0.4, 0.3]}, baseline)
    assert paired_gain(method, equal) == pytest.approx((0.5, 0.5, 0.5))
    uneven = _summary({"y1": [0.01, 0.045, 0.07], "y2": [0.2, 0.4, 0.3]}, baseline)
    gain, low, high = paired_gain(uneven, equal)
    assert gain == pytest.approx(0.5 - 0.5 / 6) and low < gain < high
    single = _summary({"y1": [0.015], "y2": [0.2]}, baseline)
    one_seed = paired_gain(single, _summary({"y1": [0.02], "y2": [0.2]}, baseline))
    assert one_seed[0] == pytest.approx(0.25) and math.isnan(one_seed[1])  # no interval
    assert math.isnan(paired_gain(single, equal)[0])  # 1 seed against 3: nothing to pair
    at_baseline = _summary({"y1": [0.01], "y2": [0.2]}, baseline)
    assert seed_delta_m(at_baseline) is None  # no direction to read off a zero delta


def test_results_table_gain_pairs_runs_from_the_same_first_seed(tmp_path):
    store = RunStore(tmp_path)
    key, baseline = "gradient-conflict", {"y1": 0.01, "y2": 0.1}
    _store_run(
        store,
        lesson_experiment(key, "equal"),
        _summary({"y1": [0.02, 0.05, 0.08], "y2": [0.2, 0.4, 0.3]}, baseline),
    )
    _store_run(
        store,
        lesson_experiment(key, "upgrad"),
        _summary({"y1": [0.01, 0.04, 0.07], "y2": [0.2, 0.4, 0.3]}, baseline),
    )
    other_seed = lesson_experiment(key, "pcgrad")
    other_seed["train"]["seed"] = 3
    _store_run(
        store, other_seed, _summary({"y1": [0.01, 0.04, 0.07], "y2": [0.2, 0.4, 0.3]}, baseline)
    )
    table = lesson_results(lesson(key), store).set_index("variant")
    assert math.isnan(table.loc["Equal weighting", "gain"])  # the reference itself
    assert tuple(table.loc["UPGrad", ["gain", "gain_low", "gain_high"]]) == pytest.approx(
        (0.5, 0.5, 0.5)
    )
    assert math.isnan(table.loc["PCGrad", "gain"])  # seeds 3..5 are not seeds 0..2


@pytest.mark.slow
def test_the_conflict_lessons_tasks_conflict_when_trained(tmp_path):
    """Equal weighting on the lesson's data and model, briefly: the probe sees the tasks'
    gradients on the shared parameters point against each other in most steps, and the
    results table reports it."""
    experiment = lesson_experiment("gradient-conflict", "equal")
    experiment["train"] |= {"device": "cpu", "baselines": False}
    store = RunStore(tmp_path)
    summary = run_experiment(config_from_dict(experiment), store)
    assert summary["status"] == "completed"
    row = lesson_results(lesson("gradient-conflict"), store).iloc[0]
    assert row["run_id"] == summary["run_id"]
    assert row["mean_cosine"] < 0
    assert row["conflict_rate"] >= 0.7
