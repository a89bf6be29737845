"""One single-task number per task: `train`'s baselines, the sweep's singles and the
baselines every subset run compares with are the same stored runs (one key, reused), on
the same rows."""

from __future__ import annotations

import pytest

from mtl_core.config import config_from_dict
from mtl_core.experiment import run_experiment
from mtl_core.runs import RunStore
from mtl_core.sweep import run_sweep


@pytest.mark.slow
def test_the_sweeps_singles_are_the_train_runs_baselines(penguins_config):
    penguins_config["data"]["tasks"] = penguins_config["data"]["tasks"][:2]
    penguins_config["train"].update(epochs=2, baselines=True)
    penguins_config["analysis"] = {"sweep": "pairs", "sweep_workers": 2}
    config = config_from_dict(penguins_config)
    store = RunStore()
    trained = run_experiment(config, store)
    result = run_sweep(config, store)
    runs = result.completed()
    assert set(runs) == {("species",), ("sex",), ("species", "sex")}
    pair = runs[("species", "sex")].summary
    for task in ("species", "sex"):
        shown = trained["tasks"][task]
        single = runs[(task,)]
        assert single.summary["tasks"][task]["baseline_runs"] == shown["baseline_runs"]
        assert single.run_id == shown["baseline_runs"][0]
        assert single.summary["tasks"][task]["metrics"] == shown["baseline_metrics"]
        assert single.summary["tasks"][task]["baseline_reused"] == len(shown["baseline_runs"])
        # the pair run's delta is against those same baselines, on the same test rows
        assert pair["tasks"][task]["baseline_runs"] == shown["baseline_runs"]
        assert pair["tasks"][task]["baseline_metrics"] == shown["baseline_metrics"]
        assert pair["tasks"][task]["noise"]["test_rows"] == shown["noise"]["test_rows"]
    baselines = [r for r in store.list_runs(include_baselines=True) if r["baseline_key"]]
    assert len(baselines) == sum(
        len(trained["tasks"][t]["baseline_runs"]) for t in ("species", "sex")
    )  # none trained twice
