"""Runs page: list and filter stored runs, compare them (metrics side by side, curves
overlaid), export one as a zip or file by file, load its config back into the app, delete
it."""

import pandas as pd
import streamlit as st

from mtl_core.analysis.verdicts import format_delta
from mtl_core.errors import UserError
from mtl_core.runs.store import CONFIG_FILE, EPOCHS_FILE, SUMMARY_FILE, WEIGHTS_FILE, zip_files
from mtl_core.viz.training import compare_curves, compare_table, compare_verdicts
from pages.common import requires, run_store, set_experiment, show_user_error

ROW_PX = 35  # a dataframe row's height
FILES = {
    CONFIG_FILE: ("config (YAML)", "application/yaml"),
    EPOCHS_FILE: ("metrics per epoch (CSV)", "text/csv"),
    SUMMARY_FILE: ("summary (JSON)", "application/json"),
    WEIGHTS_FILE: ("weights (safetensors)", "application/octet-stream"),
}


def one_file(run_id: str, files: dict[str, bytes]) -> None:
    """A download button per file a user may want on its own (the zip holds them all)."""
    present = [name for name in FILES if name in files]
    for column, name in zip(st.columns(len(present)), present, strict=True):
        label, mime = FILES[name]
        column.download_button(
            label,
            data=files[name],
            file_name=f"{run_id}-{name}",
            mime=mime,
            key=f"runs_file_{name}",
            icon=":material/download:",
        )


st.title("Runs")
store = run_store()
filters = st.columns([2, 2, 1])
text = filters[0].text_input("Filter (data, tasks, architecture, weighting)", key="runs_filter")
show_baselines = filters[2].checkbox("Show stored baselines", key="runs_baselines")
runs = store.list_runs(include_baselines=show_baselines)
statuses = sorted({r["status"] for r in runs})
chosen_status = filters[1].multiselect("Status", statuses, default=statuses, key="runs_status")
requires(bool(runs), "No runs yet: train one on the Train page.", "pages/train.py", "Go to Train")


def matches(run: dict) -> bool:
    haystack = " ".join(
        str(run.get(k) or "")
        for k in ("id", "name", "source", "tasks", "architecture", "weighting")
    )
    return run["status"] in chosen_status and text.lower() in haystack.lower()


shown = [r for r in runs if matches(r)]
table = pd.DataFrame(
    [
        {
            "run": r["id"],
            "name": r["name"],
            "status": r["status"],
            "data": r["source"],
            "tasks": r["tasks"],
            "architecture": r["architecture"],
            "weighting": r["weighting"],
            "device": r["device"],
            "seconds": (r["summary"] or {}).get("wall_seconds", r["seconds"]),
            "Δm [95% interval]": format_delta(
                (r["summary"] or {}).get("delta_m"), (r["summary"] or {}).get("delta_m_ci")
            ),
        }
        for r in shown
    ]
)
st.dataframe(table, hide_index=True, width="stretch")
st.caption(
    f"{len(shown)} of {len(runs)} runs. Δm: positive = multi-task better than the "
    "single-task baselines; the interval covers test-row sampling and seed noise "
    "(docs/evidence.md)."
)
ids = [r["id"] for r in shown]

st.subheader("Compare")
compared = st.multiselect("Runs to compare", ids, default=ids[:2], key="runs_compare")
if compared:
    summaries = {i: store.get_run(i)["summary"] for i in compared}
    compared_table = compare_table(summaries)
    st.dataframe(
        compared_table,
        hide_index=True,
        width="stretch",  # every row, up to 20
        height=ROW_PX * (min(len(compared_table), 20) + 1) + 3,
    )
    st.markdown(
        "**Verdicts** (delta against each run's own single-task baselines, 95% "
        "interval over test rows and seeds)"
    )
    st.dataframe(compare_verdicts(summaries), hide_index=True, width="stretch")
    st.plotly_chart(
        compare_curves({i: store.epochs(i) for i in compared}), width="stretch", key="runs_curves"
    )

st.subheader("One run")
picked = st.selectbox("Run", ids, key="runs_picked")
if picked:
    run = store.get_run(picked)
    if (run["summary"] or {}).get("message"):
        st.caption(run["summary"]["message"])
    load, export, delete = st.columns(3)
    if load.button("Load its config into the app", key="runs_load"):
        set_experiment(store.load_config(picked))
        st.success("Loaded: the Data, Model and Train pages now show this run's settings.")
    try:
        files = store.export_files(picked)  # read once: the zip and each file's button
    except UserError as error:
        show_user_error(error)
    else:
        export.download_button(
            "Export (zip: config, metrics, weights)",
            data=zip_files(picked, files),
            file_name=f"{picked}.zip",
            mime="application/zip",
            key="runs_export",
        )
        one_file(picked, files)
    sure = delete.checkbox("Yes, delete this run for good", key=f"runs_sure_{picked}")
    if delete.button("Delete", disabled=not sure, key="runs_delete", type="primary"):
        store.delete_run(picked)
        st.rerun()
