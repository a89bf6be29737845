"""The sweep section of the Affinity page: a sweep, then "Verify this grouping" as a
background job with progress, ending in the table of Δm with intervals and the verdict."""

from __future__ import annotations

import time

import pytest

from tests.test_affinity_page import affinity_page


def _until_enabled(at, key: str, seconds: float = 300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(2)
        at.run()
        if at.button(key=key).disabled:  # the job is no longer running
            return
    raise AssertionError(f"{key} still running after {seconds} s")


@pytest.mark.slow
def test_a_sweeps_grouping_is_verified_from_the_page(penguins_config):
    at = affinity_page()
    at.session_state.experiment["train"].update(epochs=2)
    at.multiselect(key="sweep_tasks").set_value(["species", "sex"])
    at.button(key="sweep_start").click().run()
    _until_enabled(at, "sweep_stop")
    assert not at.exception, [e.message for e in at.exception]
    transfer = next(
        d.value for d in at.dataframe if {"partners", "delta_ci"} <= set(d.value.columns)
    )
    assert set(transfer["task"]) == {"species", "sex"}
    assert transfer["delta_ci"].str.startswith("[").all()  # every Δ shows its interval
    assert any("from measured pairs (higher-order approximation" in s.value for s in at.success)
    at.button(key="verify_start").click().run()
    _until_enabled(at, "verify_stop")
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "against" in d.value.columns)
    assert table["arrangement"].tolist() == [
        "all separate",
        "all together",
        "suggestion",
        "suggestion",
    ]
    assert table["interval"].iloc[1].startswith("[")
    conclusion = at.info[-1].value
    assert "wins" in conclusion or "no detectable difference" in conclusion
