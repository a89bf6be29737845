"""The Lessons page shows each lesson's results table from the run store: the stored
variants' Δm, interval, gain and gradient agreement, '—' where a summary has no number."""

from streamlit.testing.v1 import AppTest

from mtl_core.lessons import lesson_experiment
from mtl_core.runs import RunStore
from tests.conftest import REPO
from tests.test_lessons import _probes, _store_run, _summary


def test_lessons_page_shows_the_stored_variants_of_a_lesson(private_run_store):
    store = RunStore(private_run_store)
    baseline = {"y1": 0.01, "y2": 0.1}
    equal = _summary({"y1": [0.02, 0.05, 0.08], "y2": [0.2, 0.4, 0.3]}, baseline)
    _store_run(
        store,
        lesson_experiment("gradient-conflict", "equal"),
        {**equal, "delta_m_ci": [-6.0, -2.0]},
        extras=_probes([-0.5, -0.5, 0.5, -0.5]),
    )
    _store_run(
        store,
        lesson_experiment("gradient-conflict", "upgrad"),
        _summary({"y1": [0.01, 0.04, 0.07], "y2": [0.2, 0.4, 0.3]}, baseline),
    )
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("pages/lessons.py").run()
    assert not at.exception, [e.message for e in at.exception]
    tables = [frame.value for frame in at.dataframe]
    assert len(tables) == 1  # only the conflict lesson has stored runs
    table = tables[0].set_index("variant")
    assert list(table.index) == ["Equal weighting", "UPGrad"]
    assert table.loc["Equal weighting", "Δm 95% interval"] == "[-600.0%, -200.0%]"
    assert table.loc["Equal weighting", "mean gradient cosine"] == "-0.25"
    assert table.loc["Equal weighting", "conflict rate"] == "75%"
    assert table.loc["UPGrad", "Δm 95% interval"] == "—"
    assert table.loc["UPGrad", "mean gradient cosine"] == "—"
    assert table.loc["UPGrad", "Δm gain over Equal weighting"] == "+50.0%"
    assert table.loc["UPGrad", "gain 95% interval (paired seeds)"] == "[+50.0%, +50.0%]"
