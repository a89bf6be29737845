"""Train page under AppTest: a job survives leaving the page, and Stop ends it as 'stopped'."""

import time

from streamlit.testing.v1 import AppTest

from mtl_core.runs import RunStore
from tests.conftest import REPO


def test_leaving_and_coming_back_keeps_the_job_and_stop_ends_it():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.session_state.experiment["train"].update(epochs=1000, baselines=False, patience=None)
    at.switch_page("pages/train.py").run()
    at.button(key="train").click().run()
    job = at.session_state.job
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert at.session_state.job is job and job.snapshot().state == "running"
    assert not at.button(key="stop").disabled
    at.button(key="stop").click().run()
    job.join(60)
    at.run()
    assert not at.exception
    assert at.success and "stopped" in at.success[0].value
    assert len(job.snapshot().history) < 1000
    assert RunStore().list_runs()[0]["status"] == "stopped"


def test_a_diverging_run_is_shown_as_a_warning_not_an_error():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.session_state.experiment["train"].update(epochs=5, baselines=False, lr=1e6, optimizer="sgd")
    at.switch_page("pages/train.py").run()
    at.button(key="train").click().run()
    at.session_state.job.join(60)
    deadline = time.time() + 30
    while time.time() < deadline and not at.success:
        at.run()
    assert not at.exception and not at.error
    assert "diverged" in at.success[0].value
    assert any("learning rate" in w.value for w in at.warning)


def test_curriculum_widgets_reach_the_config():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("pages/train.py").run()
    at.number_input(key="curriculum::sex").set_value(5).run()
    assert not at.exception
    assert at.session_state.experiment["train"]["curriculum"] == {"sex": 5}


def test_a_loaded_config_beyond_the_usual_ranges_does_not_crash_the_page():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params.update({"epochs": "5000", "patience": "5000"})
    at.run()
    at.session_state.experiment["train"].update(
        weight_decay=3.0, grad_clip=5000.0, curriculum={"sex": 4000}, curriculum_ramp=2000
    )
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.message for e in at.exception]
    train = at.session_state.experiment["train"]
    assert train["patience"] == 5000 and train["curriculum"] == {"sex": 4000}


def test_the_results_table_shows_a_baseline_column_only_when_baselines_were_trained():
    from mtl_core.viz.training import metrics_table

    tasks = {
        "a": {"kind": "regression", "metrics": {"loss": 0.2, "mse": 0.5, "r2": 0.7}},
        "b": {"kind": "binary", "metrics": {"loss": 0.3, "accuracy": 0.9}},
    }
    alone = metrics_table({"tasks": tasks})
    assert "single-task" not in alone.columns
    assert list(alone["metric"]) == ["mse", "r2", "accuracy"]  # the loss is not a metric row
    with_baselines = {
        name: {**task, "baseline_metrics": {m: v / 2 for m, v in task["metrics"].items()}}
        for name, task in tasks.items()
    }
    table = metrics_table({"tasks": with_baselines})
    assert list(table["single-task"]) == [0.25, 0.35, 0.45]


def test_the_device_can_be_forced_from_the_page_and_a_missing_one_is_reported():
    """The Train page offers auto, the CPU and the accelerators this machine has; forcing the
    CPU reaches the config, and a device from a link that this machine lacks is kept in the
    picker (no crash) and reported as one clear message, not a traceback."""
    import torch

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("pages/train.py").run()
    picker = next(s for s in at.selectbox if s.label == "Device")
    assert picker.options[:2] == ["auto (here: cpu)", "cpu"] or torch.cuda.is_available()
    picker.set_value("cpu").run()
    assert not at.exception
    assert at.session_state.experiment["train"]["device"] == "cpu"
    if torch.cuda.is_available():
        return
    linked = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    linked.query_params.update({"device": "cuda", "epochs": "1", "baselines": "0"})
    linked.run()
    linked.switch_page("pages/train.py").run()
    assert not linked.exception, [e.message for e in linked.exception]
    assert next(s for s in linked.selectbox if s.label == "Device").value == "cuda"
    linked.button[0].click().run()
    for _ in range(60):
        if any("no CUDA GPU" in e.value for e in [*linked.error, *linked.warning]):
            break
        time.sleep(0.5)
        linked.run()
    assert not linked.exception, [e.message for e in linked.exception]
    assert any("no CUDA GPU" in e.value for e in [*linked.error, *linked.warning])
