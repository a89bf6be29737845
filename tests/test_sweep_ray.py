"""The Ray engine in Ray's local mode (one CPU): the same sweep as the process pool."""

from __future__ import annotations

import pytest

from mtl_core.config import config_from_dict
from mtl_core.runs import RunStore
from mtl_core.sweep import run_sweep

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_ray_local_sweep_trains_and_stores_every_subset(penguins_config):
    penguins_config["data"]["tasks"] = penguins_config["data"]["tasks"][:2]
    penguins_config["train"].update(epochs=1)
    penguins_config["analysis"] = {"sweep": "pairs", "sweep_workers": 1}
    store, seen = RunStore(), []
    result = run_sweep(
        config_from_dict(penguins_config),
        store,
        engine="ray",
        on_progress=lambda r: seen.append(r.done),
    )
    assert seen == [1, 2, 3]
    assert all(r.status == "completed" for r in result.runs), [r.error for r in result.runs]
    stored = {r["id"] for r in store.list_runs(include_baselines=True)}  # singles: baselines
    assert {r.run_id for r in result.runs} <= stored
    assert not ray.is_initialized()  # the sweep shut down the Ray it started
