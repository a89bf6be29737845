"""Affinity page: which tasks help each other. Per task the measured verdict with its delta
and interval; the compact task × task table (what is a signal, what is within noise) with a
card for each of the few real signals; a grouping suggestion with its reasons; the lookahead
and gradient heatmaps (per epoch or over training); label association; a task sweep."""

import streamlit as st

from mtl_core.analysis.affinity import MIN_PROBES
from mtl_core.analysis.run_affinity import analyse_run
from mtl_core.analysis.warnings import CAVEAT
from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.data.stats import association_matrix
from mtl_core.errors import UserError
from mtl_core.sweep.jobs import SweepJob, VerifyJob
from mtl_core.sweep.results import transfer_rows
from mtl_core.sweep.verify import verify_rows
from mtl_core.viz.affinity import (
    epoch_curves,
    grouping_table,
    measure_heatmap,
    pair_frame,
    sweep_runs_table,
    task_heatmap,
    transfer_bars,
    transfer_table,
)
from mtl_core.viz.data import association_heatmap
from mtl_core.viz.evidence import delta_m_text
from pages.common import (
    concept,
    experiment,
    run_label,
    run_store,
    show_user_error,
    stop,
    teacher_mode,
    validated_experiment,
)

MAX_SIGNAL_CARDS = 3

st.title("Affinity")
st.write(
    "Which tasks help each other, which hurt each other, and which to train together. "
    "Every matrix reads **row = task affected, column = task acting**: an entry is the "
    "effect of the column task on the row task."
)
concept("affinity")
concept("negative-transfer")

store = run_store()
runs = [r for r in store.list_runs() if r["status"] in ("completed", "stopped")]
job = st.session_state.get("job")
latest = job.snapshot().run_id if job is not None else None


@st.cache_data(show_spinner="Reading the run's affinity ...", max_entries=8)
def cached_analysis(run_id: str, max_groups: int | None, overlap: bool = False):
    return analyse_run(run_store(), run_id, max_groups, overlap=overlap)


@st.cache_data(show_spinner="Computing label association ...", max_entries=4)
def cached_association(run_id: str):
    config = config_from_dict(run_store().load_config(run_id))
    return association_matrix(prepare_data(config.data))


analysis = None
if not runs:
    st.info(
        "No finished runs yet. Train one on the Train page (the affinity probe runs every "
        "`analysis.affinity_every` steps, 10 by default), then come back."
    )
    st.page_link("pages/train.py", label="Go to Train", icon=":material/arrow_forward:")
else:
    ids = [r["id"] for r in runs]
    labels = {r["id"]: run_label(r) for r in runs}
    default = ids.index(latest) if latest in ids else 0
    run_id = st.selectbox("Run", ids, index=default, format_func=labels.get, key="affinity_run")
    try:
        analysis = cached_analysis(run_id, None)
    except UserError as error:
        st.info(str(error))

if analysis is not None:
    report = analysis.report
    st.subheader("What was measured")
    for task in analysis.measured.values():
        st.markdown(f"**{task.task}** ({task.metric}): {task.label}")
    if analysis.delta_m is not None:
        st.markdown(
            delta_m_text({"delta_m": analysis.delta_m, "delta_m_ci": analysis.delta_m_ci})
            + " (positive = multi-task better)"
        )
    for warning in analysis.warnings:
        text = f"**{warning.kind} · {', '.join(warning.tasks)}** — {warning.evidence}."
        if warning.level == "measured":
            st.error(f"{text} \n\nTry: {warning.advice}.", icon=":material/report:")
        elif warning.level == "note":
            st.info(f"{text} \n\nTo know: {warning.advice}.", icon=":material/info:")
    st.caption(
        f"{report.probes} probes, every {report.every} steps; the probe replays the "
        f"run's optimizer ({report.optimizer}, lr {report.lr:g}) on the shared "
        "parameters with one task's loss, and restores the weights."
        + (
            f" Fewer than {MIN_PROBES} probes never make a signal: probe more often "
            "(a smaller analysis.affinity_every) or train longer."
            if report.probes < MIN_PROBES
            else ""
        )
    )
    options = ["mean over training", *report.epochs]
    chosen = st.select_slider(
        "Epoch shown in the heatmaps",
        options=options,
        value=options[0],
        key="affinity_epoch",
        format_func=lambda o: o if isinstance(o, str) else f"epoch {o}",
    )
    matrices = report.mean if isinstance(chosen, str) else report.per_epoch[chosen]
    when = chosen if isinstance(chosen, str) else f"epoch {chosen}"
    tabs = st.tabs(
        [
            "Task pairs",
            "Which tasks together",
            "Lookahead affinity",
            "Gradients",
            "Measured transfer",
            "Label association",
        ]
    )
    with tabs[0]:
        st.info(CAVEAT, icon=":material/info:")
        st.dataframe(pair_frame(analysis.pairs), hide_index=True, width="stretch")
        st.caption(
            "Mean ± standard error over the probes; Z(first → second): the effect "
            "of a step on the pair's first task on the second's loss. signal: beyond "
            "the noise rule (a positive Z: the step helped, negative: it hurt); within "
            "noise: not evidence either way; contradicted: a signal of harm to a task "
            "the run measurably helped."
        )
        signals = [w for w in analysis.warnings if w.level == "signal"]
        for warning in signals[:MAX_SIGNAL_CARDS]:
            st.warning(
                f"**signal · {warning.kind} · {', '.join(warning.tasks)}** — "
                f"{warning.evidence}. \n\nTry: {warning.advice}.",
                icon=":material/help:",
            )
        if len(signals) > MAX_SIGNAL_CARDS:
            st.caption(f"{len(signals) - MAX_SIGNAL_CARDS} more signals: see the table.")
        if not signals:
            st.write("No sign of harm beyond probe noise.")
        for warning in (w for w in analysis.warnings if w.level == "contradicted"):
            st.caption(
                f"contradicted · {warning.kind} · {', '.join(warning.tasks)}: {warning.evidence}."
            )
    with tabs[1]:
        limit = min(len(report.tasks), 9)
        left, right = st.columns([3, 1])
        groups = left.slider(
            "At most this many groups",
            1,
            limit,
            min(analysis.max_groups, limit),
            key="affinity_groups",
        )
        overlap = right.toggle("Overlapping groups (TAG)", key="affinity_overlap")
        candidates = (
            analysis.groupings
            if groups == analysis.max_groups and not overlap
            else cached_analysis(analysis.run_id, groups, overlap).groupings
        )
        if not candidates:
            st.info(analysis.grouping_error or "No grouping could be formed.")
        else:
            best = candidates[0]
            st.success(
                "Suggested: "
                + (
                    "each task alone"
                    if best.each_alone
                    else "  |  ".join(" + ".join(g) for g in best.groups)
                )
                + f"  (score {best.score:.4g})",
                icon=":material/group_work:",
            )
            st.markdown("\n".join(f"- {reason}" for reason in best.reasons))
            if analysis.measured_check and candidates is analysis.groupings:
                st.info(analysis.measured_check, icon=":material/science:")
            st.caption(
                "TAG scoring on the lookahead affinity, entries within noise counted "
                "as 0: a task scores the mean Z onto it from its partners (alone = 0); "
                "the score is the mean over tasks. A task joins a group only if it "
                "scores at least what it scores alone; 'each alone' is always a "
                "candidate. Candidates, best first (per-task columns: that task's "
                "score):"
            )
            st.dataframe(
                grouping_table([c.to_json() for c in candidates]), hide_index=True, width="stretch"
            )
    with tabs[2]:
        st.plotly_chart(
            measure_heatmap(
                report.tasks,
                "lookahead",
                matrices["lookahead"].values,
                f"Lookahead affinity Z(column → row), {when}",
                colorbar="Z",
            ),
            width="stretch",
            key="heat_lookahead",
        )
        st.caption(
            "Z(i→j) = 1 − L_j(after a step on task i) / L_j(before), on the same batch. "
            "Blue: the step on the column task lowered the row task's loss; red: raised "
            "it. The colour range comes from the off-diagonal entries; the diagonal "
            "(a task's step on itself) is grey. Compare entries with each other: the "
            "scale depends on the setup."
        )
        st.plotly_chart(
            epoch_curves(report, "lookahead", "Lookahead affinity per epoch"),
            width="stretch",
            key="curve_lookahead",
        )
    with tabs[3]:
        left, right = st.columns(2)
        left.plotly_chart(
            measure_heatmap(
                report.tasks,
                "cosine",
                matrices["cosine"].values,
                f"Gradient cosine, {when}",
                colorbar="cos",
            ),
            width="stretch",
            key="heat_cosine",
        )
        right.plotly_chart(
            measure_heatmap(
                report.tasks,
                "conflict_rate",
                matrices["conflict_rate"].values,
                f"Conflict rate (share of steps with cos < 0), {when}",
                colorbar="share",
            ),
            width="stretch",
            key="heat_conflict",
        )
        left.plotly_chart(
            measure_heatmap(
                report.tasks,
                "magnitude_similarity",
                matrices["magnitude_similarity"].values,
                f"Magnitude similarity, {when}",
                colorbar="Φ",
            ),
            width="stretch",
            key="heat_magnitude",
        )
        right.plotly_chart(
            epoch_curves(report, "cosine", "Gradient cosine per epoch"),
            width="stretch",
            key="curve_cosine",
        )
        st.caption(
            "From the task-gradient Gramian on the shared parameters. Cosine on its "
            "full scale [−1, 1]; magnitude similarity near 0 means one task's gradient "
            "dominates the other's."
        )
    with tabs[4]:
        if any(t.delta is not None for t in analysis.measured.values()):
            st.plotly_chart(transfer_bars(analysis.measured), width="stretch", key="transfer")
            st.dataframe(transfer_table(analysis.measured), hide_index=True, width="stretch")
        else:
            st.write(
                "No single-task baselines in this run: train with baselines on to measure transfer."
            )
    with tabs[5]:
        try:
            st.plotly_chart(
                association_heatmap(cached_association(analysis.run_id)),
                width="stretch",
                key="association",
            )
            st.caption(
                "Label association between tasks on the training rows: the zero-cost "
                "look at relatedness, before any training."
            )
        except UserError as error:
            show_user_error(error)

if teacher_mode():  # sweeps train many runs: an advanced tool, hidden when teaching
    stop()
st.divider()
st.header("Sweep: train task combinations")
exp = experiment()
names = [t["name"] for t in exp["data"]["tasks"]]
sweep_job: SweepJob | None = st.session_state.get("sweep_job")
sweeping = sweep_job is not None and sweep_job.snapshot().state == "running"
st.write(
    "Trains the current experiment on task subsets (on the experiment's own rows and "
    "inputs), each stored as a run, and reports per task and partners Δ against the task "
    "trained alone (its single-task baselines, the ones Train uses), with the 95% "
    "interval and the verdict."
)
chosen_tasks = st.multiselect("Tasks", names, default=names, key="sweep_tasks", disabled=sweeping)
left, middle, right = st.columns(3)
mode = left.radio(
    "Subsets",
    ["pairs", "all"],
    key="sweep_mode",
    disabled=sweeping,
    format_func={"pairs": "singles + pairs (HOA)", "all": "every subset"}.get,
)
workers = middle.number_input("Parallel runs", 1, 16, 2, key="sweep_workers", disabled=sweeping)
engine = right.radio(
    "Engine",
    ["local", "ray"],
    key="sweep_engine",
    disabled=sweeping,
    format_func={"local": "local processes", "ray": "Ray"}.get,
)
address = (
    st.text_input(
        "Ray cluster address (empty: a local Ray)", key="sweep_address", disabled=sweeping
    )
    if engine == "ray"
    else ""
)
config = validated_experiment()
start_col, stop_col = st.columns(2)
if start_col.button(
    "Start sweep",
    type="primary",
    key="sweep_start",
    disabled=sweeping or config is None or len(chosen_tasks) < 2,
):
    sweep_config = config.model_copy(
        update={
            "analysis": config.analysis.model_copy(
                update={"sweep": mode, "sweep_tasks": chosen_tasks, "sweep_workers": int(workers)}
            )
        }
    )
    st.session_state.sweep_job = sweep_job = SweepJob(
        sweep_config, store, engine, address or None
    ).start()
    sweeping = True
if stop_col.button("Stop sweep", key="sweep_stop", disabled=not sweeping):
    sweep_job.stop()


@st.fragment(run_every="2s" if sweeping else None)
def sweep_panel() -> None:
    if sweep_job is None:
        st.caption("Choose at least two tasks and press Start sweep.")
        return
    snap = sweep_job.snapshot()
    report = snap.report
    done, total = (report["done"], report["total"]) if report else (0, 0)
    label = {"running": "running", "finished": "finished", "failed": "failed"}[snap.state]
    if report and report["stopped"]:
        label = "stopped (finished runs are kept in the store)"
    st.progress(snap.progress, text=f"Sweep {label}: {done}/{total or '?'} runs")
    if snap.error:
        st.error(snap.error)
    if report and report["runs"]:
        st.dataframe(sweep_runs_table(report), hide_index=True, width="stretch")
        st.dataframe(
            transfer_rows(report),
            hide_index=True,
            width="stretch",
            column_config={"delta": st.column_config.NumberColumn(format="percent")},
        )
        st.plotly_chart(
            task_heatmap(
                report["tasks"],
                report["pair_matrix"]["values"],
                "Δ of the row task when trained with the column task (vs alone)",
                colorbar="Δ",
            ),
            width="stretch",
            key="sweep_pairs",
        )
        for task, helpers in report["helped_by"].items():
            st.write(
                f"**{task}** is helped by: {', '.join(helpers) or 'no partner (yet)'}; "
                f"hurt by: {', '.join(report['hurt_by'][task]) or 'no partner'} "
                "(verdicts: 95% interval, 3 seeds)"
            )
        if report["grouping"]:
            best = report["grouping"]["candidates"][0]
            st.success(
                "Suggested from the sweep: "
                + "  |  ".join(" + ".join(g) for g in best["groups"])
                + f"  (score {best['score']:.4g}; {report['grouping']['method']})"
            )
    if sweeping and snap.state != "running":
        st.rerun()


sweep_panel()

verify_job: VerifyJob | None = st.session_state.get("verify_job")
verifying = verify_job is not None and verify_job.snapshot().state == "running"
swept = sweep_job.snapshot().report if sweep_job is not None else None
suggested = swept["grouping"]["candidates"][0]["groups"] if swept and swept["grouping"] else None
verify_col, verify_stop_col = st.columns(2)
if verify_col.button(
    "Verify this grouping",
    key="verify_start",
    disabled=verifying or sweeping or suggested is None,
    help="Trains the suggestion, all tasks together and each task alone, "
    "with at least 3 seeds, and compares them with 95% intervals",
):
    st.session_state.verify_job = verify_job = VerifyJob(sweep_job.config, store, suggested).start()
    verifying = True
if verify_stop_col.button("Stop verifying", key="verify_stop", disabled=not verifying):
    verify_job.stop()


@st.fragment(run_every="2s" if verifying else None)
def verify_panel() -> None:
    if verify_job is None:
        return
    snap = verify_job.snapshot()
    groups = " | ".join(" + ".join(g) for g in verify_job.groups)
    st.progress(snap.progress, text=f"Verify {groups}: {snap.step}")
    if snap.error:
        st.error(snap.error)
    if snap.result:
        st.dataframe(
            verify_rows(snap.result),
            hide_index=True,
            width="stretch",
            column_config={"delta_m": st.column_config.NumberColumn(format="percent")},
        )
        st.info(snap.result["conclusion"])
    if verifying and snap.state != "running":
        st.rerun()


verify_panel()
