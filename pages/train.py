"""Train page: start a background training job, watch per-task curves, stop it."""

import streamlit as st

from mtl_core.train.jobs import TrainingJob
from mtl_core.viz.training import loss_curves, metrics_table
from pages.common import experiment, run_store, validated_experiment

st.title("Train")
exp = experiment()
train = exp["train"]
left, middle, right = st.columns(3)
train["epochs"] = left.number_input("Epochs", 1, 1000, int(train["epochs"]))
train["lr"] = middle.number_input("Learning rate", 1e-5, 1.0, float(train["lr"]), format="%.4f")
train["batch_size"] = right.number_input("Batch size", 1, 4096, int(train["batch_size"]))
train["baselines"] = st.checkbox("Also train single-task baselines (to measure transfer)",
                                 value=bool(train["baselines"]))

config = validated_experiment()
job: TrainingJob | None = st.session_state.get("job")
running = job is not None and job.snapshot().state == "running"

start_col, stop_col = st.columns(2)
if start_col.button("Train", type="primary", disabled=running or config is None, key="train"):
    st.session_state.job = job = TrainingJob(config, run_store()).start()
    running = True
if stop_col.button("Stop", disabled=not running, key="stop"):
    job.stop()


@st.fragment(run_every="1s" if running else None)
def progress_panel() -> None:
    if job is None:
        st.info("Press Train to start. Training runs in the background; you can leave the page.")
        return
    snap = job.snapshot()
    eta = f", about {snap.eta_seconds:.0f}s left" if snap.eta_seconds else ""
    st.progress(snap.progress, text=f"{snap.phase}: epoch {len(snap.history)}/{snap.epochs}{eta}")
    if snap.history:
        names = list(snap.history[-1]["val"])
        st.plotly_chart(loss_curves(snap.history, names), width="stretch", key="curves")
    if snap.state == "failed":
        st.error(snap.error)
    elif snap.state == "finished":
        summary = snap.summary
        st.success(f"Run {summary['run_id']}: {summary['status']} in {summary['seconds']:.1f}s "
                   f"on {summary['device']}")
        for warning in summary["warnings"]:
            st.warning(warning)
        st.dataframe(metrics_table(summary), hide_index=True, width="stretch")
        if summary["delta_m"] is not None:
            st.metric("Δm (positive = multi-task better)", f"{summary['delta_m']:+.2%}")
    if running and snap.state != "running":
        st.rerun()


progress_panel()
