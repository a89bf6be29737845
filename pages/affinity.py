"""Affinity page: which tasks help each other. Lookahead affinity and gradient relations of
a stored run (per epoch or over training), measured transfer, negative-transfer warnings
(confirmed vs suspected), a grouping suggestion, label association, and a task sweep."""

import streamlit as st

from mtl_core.analysis.run_affinity import analyse_run
from mtl_core.analysis.warnings import CAVEAT
from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.data.stats import association_matrix
from mtl_core.errors import UserError
from mtl_core.sweep.jobs import SweepJob
from mtl_core.viz.affinity import (
    epoch_curves,
    grouping_table,
    sweep_runs_table,
    task_heatmap,
    transfer_bars,
    transfer_table,
)
from mtl_core.viz.data import association_heatmap
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

st.title("Affinity")
st.write("Which tasks help each other, which hurt each other, and which to train together. "
         "Every matrix reads **row = task affected, column = task acting**: an entry is the "
         "effect of the column task on the row task.")
concept("affinity")
concept("negative-transfer")

store = run_store()
runs = [r for r in store.list_runs() if r["status"] in ("completed", "stopped")]
job = st.session_state.get("job")
latest = job.snapshot().run_id if job is not None else None


@st.cache_data(show_spinner="Reading the run's affinity ...", max_entries=8)
def cached_analysis(run_id: str, max_groups: int | None):
    return analyse_run(run_store(), run_id, max_groups)


@st.cache_data(show_spinner="Computing label association ...", max_entries=4)
def cached_association(run_id: str):
    config = config_from_dict(run_store().load_config(run_id))
    return association_matrix(prepare_data(config.data))


analysis = None
if not runs:
    st.info("No finished runs yet. Train one on the Train page (the affinity probe runs every "
            "`analysis.affinity_every` steps, 10 by default), then come back.")
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
    st.caption(f"{report.probes} probes, every {report.every} steps; the probe replays the "
               f"run's optimizer ({report.optimizer}, lr {report.lr:g}) on the shared "
               "parameters with one task's loss, and restores the weights.")
    options = ["mean over training", *report.epochs]
    chosen = st.select_slider("Epoch", options=options, value=options[0], key="affinity_epoch",
                              format_func=lambda o: o if isinstance(o, str) else f"epoch {o}")
    matrices = report.mean if isinstance(chosen, str) else report.per_epoch[chosen]
    when = chosen if isinstance(chosen, str) else f"epoch {chosen}"
    tabs = st.tabs(["Lookahead affinity", "Gradients", "Transfer and warnings",
                    "Which tasks together", "Label association"])
    with tabs[0]:
        st.plotly_chart(task_heatmap(
            report.tasks, matrices["lookahead"].values,
            f"Lookahead affinity Z(column → row), {when}", colorbar="Z"),
            width="stretch", key="heat_lookahead")
        st.caption("Z(i→j) = 1 − L_j(after a step on task i) / L_j(before), on the same batch. "
                   "Blue: the step on the column task lowered the row task's loss; red: raised "
                   "it. Compare entries with each other: the scale depends on the setup.")
        st.plotly_chart(epoch_curves(report, "lookahead", "Lookahead affinity per epoch"),
                        width="stretch", key="curve_lookahead")
    with tabs[1]:
        left, right = st.columns(2)
        left.plotly_chart(task_heatmap(report.tasks, matrices["cosine"].values,
                                       f"Gradient cosine, {when}", colorbar="cos"),
                          width="stretch", key="heat_cosine")
        right.plotly_chart(task_heatmap(report.tasks, matrices["conflict_rate"].values,
                                        f"Conflict rate (share of steps with cos < 0), {when}",
                                        signed=False, colorbar="share"),
                           width="stretch", key="heat_conflict")
        left.plotly_chart(task_heatmap(report.tasks, matrices["magnitude_similarity"].values,
                                       f"Magnitude similarity, {when}", signed=False,
                                       colorbar="Φ"),
                          width="stretch", key="heat_magnitude")
        right.plotly_chart(epoch_curves(report, "cosine", "Gradient cosine per epoch"),
                           width="stretch", key="curve_cosine")
        st.caption("From the task-gradient Gramian on the shared parameters. Magnitude "
                   "similarity near 0 means one task's gradient dominates the other's.")
    with tabs[2]:
        st.info(CAVEAT, icon=":material/info:")
        confirmed = [w for w in analysis.warnings if w.level == "confirmed"]
        suspected = [w for w in analysis.warnings if w.level == "suspected"]
        st.subheader(f"Confirmed negative transfer ({len(confirmed)})")
        for warning in confirmed:
            st.error(f"**CONFIRMED · {', '.join(warning.tasks)}** — {warning.evidence}. "
                     f"\n\nTry: {warning.advice}.", icon=":material/report:")
        if not confirmed:
            st.write("None: no task is worse than its single-task baseline beyond seed noise.")
        st.subheader(f"Suspected ({len(suspected)})")
        for warning in suspected:
            st.warning(f"**suspected · {warning.kind} · {', '.join(warning.tasks)}** — "
                       f"{warning.evidence}. \n\nTry: {warning.advice}.",
                       icon=":material/help:")
        if not suspected:
            st.write("No suspicious signal.")
        if any(v["delta"] is not None for v in analysis.transfer.values()):
            st.plotly_chart(transfer_bars(analysis.transfer), width="stretch", key="transfer")
            st.dataframe(transfer_table(analysis.transfer), hide_index=True, width="stretch")
        else:
            st.write("No single-task baselines in this run: train with baselines on to "
                     "measure transfer.")
    with tabs[3]:
        limit = min(len(report.tasks), 9)
        groups = st.slider("At most this many groups", 1, limit, min(analysis.max_groups, limit),
                           key="affinity_groups")
        candidates = (analysis.groupings if groups == analysis.max_groups
                      else cached_analysis(analysis.run_id, groups).groupings)
        if not candidates:
            st.info(analysis.grouping_error or "No grouping could be formed.")
        else:
            best = candidates[0]
            st.success("Suggested: " + "  |  ".join(" + ".join(g) for g in best.groups) +
                       f"  (score {best.score:.4g})", icon=":material/group_work:")
            st.caption("TAG selection: each task is scored by the mean lookahead affinity onto "
                       "it from its partners in its best group (alone = 0); the score is the "
                       "mean over tasks. Groups may overlap. Candidates, best first (per-task "
                       "columns: that task's score):")
            st.dataframe(grouping_table([c.to_json() for c in candidates]), hide_index=True,
                         width="stretch")
    with tabs[4]:
        try:
            st.plotly_chart(association_heatmap(cached_association(analysis.run_id)),
                            width="stretch", key="association")
            st.caption("Label association between tasks on the training rows: the zero-cost "
                       "look at relatedness, before any training.")
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
st.write("Trains the current experiment on task subsets, each stored as a run, and reports "
         "per task which partners help it (Δ against the task trained alone).")
chosen_tasks = st.multiselect("Tasks", names, default=names, key="sweep_tasks",
                              disabled=sweeping)
left, middle, right = st.columns(3)
mode = left.radio("Subsets", ["pairs", "all"], key="sweep_mode", disabled=sweeping,
                  format_func={"pairs": "singles + pairs (HOA)", "all": "every subset"}.get)
workers = middle.number_input("Parallel runs", 1, 16, 2, key="sweep_workers",
                              disabled=sweeping)
engine = right.radio("Engine", ["local", "ray"], key="sweep_engine", disabled=sweeping,
                     format_func={"local": "local processes", "ray": "Ray"}.get)
address = st.text_input("Ray cluster address (empty: a local Ray)", key="sweep_address",
                        disabled=sweeping) if engine == "ray" else ""
config = validated_experiment()
start_col, stop_col = st.columns(2)
if start_col.button("Start sweep", type="primary", key="sweep_start",
                    disabled=sweeping or config is None or len(chosen_tasks) < 2):
    sweep_config = config.model_copy(update={"analysis": config.analysis.model_copy(update={
        "sweep": mode, "sweep_tasks": chosen_tasks, "sweep_workers": int(workers)})})
    st.session_state.sweep_job = sweep_job = SweepJob(
        sweep_config, store, engine, address or None).start()
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
        st.plotly_chart(task_heatmap(report["tasks"], report["pair_matrix"]["values"],
                                     "Δ of the row task when trained with the column task "
                                     "(vs alone)", colorbar="Δ"),
                        width="stretch", key="sweep_pairs")
        for task, helpers in report["helped_by"].items():
            st.write(f"**{task}** is helped by: {', '.join(helpers) or 'no partner (yet)'}")
        if report["grouping"]:
            best = report["grouping"]["candidates"][0]
            st.success("Suggested from the sweep: " +
                       "  |  ".join(" + ".join(g) for g in best["groups"]) +
                       f"  (score {best['score']:.4g}; {report['grouping']['method']})")
    if sweeping and snap.state != "running":
        st.rerun()


sweep_panel()
