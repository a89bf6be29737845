"""Train page: start a background training job, watch per-task curves, stop it."""

import streamlit as st

from mtl_core.experiment.jobs import TrainingJob
from mtl_core.train.device import available_accelerators, resolve_device
from mtl_core.viz.training import loss_curves, metrics_table, times_text
from pages.common import experiment, run_store, teacher_mode, validated_experiment
from pages.parts.verdicts import show_verdicts

st.title("Train")
exp = experiment()
train = exp["train"]
left, middle, right = st.columns(3)
# Bounds widen to a loaded config's values (a run, a link), so such a config never crashes;
# the optimisation widgets below have no upper bound for the same reason.
epochs, lr, batch = int(train["epochs"]), float(train["lr"]), int(train["batch_size"])
train["epochs"] = left.number_input("Epochs", 1, max(1000, epochs), epochs)
train["lr"] = middle.number_input("Learning rate", min(1e-6, lr), max(1.0, lr), lr, format="%.6g")
train["batch_size"] = right.number_input("Batch size", 1, max(4096, batch), batch)
train["baselines"] = st.checkbox(
    "Also train single-task baselines (to measure transfer)", value=bool(train["baselines"])
)
OPTIMIZERS, SCHEDULES = ["adam", "adamw", "sgd"], ["constant", "cosine", "step"]
MONITORS = {
    "normalised_loss": "mean normalised task loss",
    "loss": "mean task loss",
    "metric": "mean primary metric (accuracy, macro-F1, MSE)",
}
if not teacher_mode():  # the optimiser's details are advanced
    with st.expander("Optimisation, early stopping and seeds"):
        a, b, c = st.columns(3)
        train["optimizer"] = a.selectbox(
            "Optimizer", OPTIMIZERS, OPTIMIZERS.index(train["optimizer"])
        )
        train["schedule"] = b.selectbox(
            "Learning-rate schedule", SCHEDULES, SCHEDULES.index(train["schedule"])
        )
        train["weight_decay"] = c.number_input(
            "Weight decay", 0.0, None, float(train["weight_decay"]), format="%.4f"
        )
        clip = a.number_input(
            "Gradient clipping (max norm, 0 = off)", 0.0, None, float(train.get("grad_clip") or 0.0)
        )
        train["grad_clip"] = clip or None
        patience = b.number_input(
            "Early-stopping patience (epochs, 0 = off)", 0, None, int(train.get("patience") or 0)
        )
        train["patience"] = patience or None
        monitor = train["monitor"]
        train["monitor"] = c.selectbox(
            "Early stopping watches",
            list(MONITORS),
            list(MONITORS).index(monitor),
            format_func=MONITORS.get,
        )
        seeds = train.get("seeds", "auto")
        seed_choices = ["auto", *range(1, 11)]
        train["seeds"] = a.selectbox(
            "Seeds (multi-task and each baseline)",
            seed_choices,
            seed_choices.index(seeds) if seeds in seed_choices else 0,
            format_func=lambda s: (
                "auto (3 on small test sets or unclear results, else 1)" if s == "auto" else str(s)
            ),
            help="Intervals need seeds: one seed can never confirm that a task was helped or "
            "hurt. See docs/evidence.md.",
        )
        train["amp"] = b.checkbox("Mixed precision (bf16, CUDA only)", value=bool(train.get("amp")))
        device = train["device"]
        devices = ["auto", "cpu", *available_accelerators()]
        devices += [device] if device not in devices else []  # (from a link: reported on Train)
        train["device"] = a.selectbox(
            "Device",
            devices,
            devices.index(device),
            format_func=lambda d: (
                f"auto (here: {resolve_device('auto').type})" if d == "auto" else d
            ),
            help="auto takes a CUDA GPU, then Apple's MPS, then the CPU.",
        )
        finished = [r["id"] for r in run_store().usable_runs()]
        warm = train.get("warm_start")
        options = [None, *finished] if warm in (None, *finished) else [None, warm, *finished]
        train["warm_start"] = c.selectbox(
            "Warm start: shared layers from run",
            options,
            options.index(warm),
            format_func=lambda run_id: "none (random init)" if run_id is None else run_id,
        )
        names = [t["name"] for t in exp["data"]["tasks"]]
        if len(names) > 1:
            st.markdown("**Curriculum**: a task can join later; its loss then ramps in linearly.")
            joins = dict(train.get("curriculum") or {})
            columns = st.columns(min(4, len(names)))
            train["curriculum"] = {}
            for i, name in enumerate(names):
                epoch = columns[i % len(columns)].number_input(
                    f"{name} joins at epoch",
                    1,
                    None,
                    int(joins.get(name, 1)),
                    key=f"curriculum::{name}",
                )
                if epoch > 1:
                    train["curriculum"][name] = int(epoch)
            train["curriculum_ramp"] = st.number_input(
                "Ramp length (epochs from 0 to full weight)", 0, None, int(train["curriculum_ramp"])
            )


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
    speed = f", {snap.steps_per_second:.0f} steps/s" if snap.steps_per_second else ""
    st.progress(
        snap.progress, text=f"{snap.phase}: epoch {len(snap.history)}/{snap.epochs}{speed}{eta}"
    )
    if snap.history:
        names = list(snap.history[-1]["val"])
        st.plotly_chart(loss_curves(snap.history, names), width="stretch", key="curves")
    if snap.state == "failed":
        st.error(snap.error)
    elif snap.state == "finished":
        summary = snap.summary
        st.success(f"Run {summary['run_id']}: {times_text(summary)}, on {summary['device']}")
        for warning in summary["warnings"]:
            st.warning(warning)
        if show_verdicts(summary):
            with st.expander("Every metric"):
                st.dataframe(metrics_table(summary), hide_index=True, width="stretch")
        else:
            st.dataframe(metrics_table(summary), hide_index=True, width="stretch")
    if running and snap.state != "running":
        st.rerun()


progress_panel()
