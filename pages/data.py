"""Data page: choose a source (sample, hub id, local path, upload), see its rows and column
roles, edit roles, types and task kinds, and look at the tasks before any training."""

import json

import pandas as pd
import streamlit as st

from mtl_core.config import config_from_dict, schema_defaults
from mtl_core.data.editing import (
    KINDS,
    ROLES,
    TYPES,
    add_source_task,
    apply_roles_table,
    remove_task,
    roles_table,
    set_task_metric,
)
from mtl_core.data.inspect import inspect_source, inspect_tasks
from mtl_core.data.sources import (
    UPLOAD_LIMIT_MB,
    UPLOAD_SUFFIXES,
    Header,
    config_names,
    is_hub_id,
    save_upload,
    split_names,
)
from mtl_core.errors import UserError
from mtl_core.kinds import get_kind
from mtl_core.samples import list_samples
from mtl_core.viz.colors import task_colors
from mtl_core.viz.data import association_heatmap, label_distribution
from pages.common import concept, experiment, show_user_error, stop
from pages.parts.splits import splits_section

SAMPLE, HUB, LOCAL, UPLOAD = (
    "Embedded sample",
    "Hugging Face hub",
    "Local file or folder",
    "Upload a file",
)
DEFAULT_ROW_CAP = 50_000
# Settings that name a source's columns or splits: back at the schema's defaults on a new one.
SOURCE_SETTINGS = (
    "inputs",
    "ignore",
    "column_types",
    "max_rows",
    "splits",
    "header",
    "column_names",
)

st.title("Data")
st.write("Pick a dataset, then mark target columns: each one becomes a task.")
concept("multi-task")


@st.cache_data(show_spinner="Reading the dataset ...")
def cached_inspect(
    source: str,
    config: str | None,
    revision: str | None = None,
    header: Header = "first_row",
    column_names: tuple[str, ...] | None = None,
) -> dict:
    return inspect_source(
        source,
        config,
        revision=revision,
        header=header,
        column_names=None if column_names is None else list(column_names),
    )


@st.cache_data(show_spinner="Asking the hub for configs ...", ttl=600)
def cached_configs(source: str, revision: str | None) -> list[str]:
    return config_names(source, revision)


@st.cache_data(show_spinner=False, ttl=600)
def cached_splits(source: str, config: str | None, revision: str | None) -> list[str]:
    return split_names(source, config, revision)


@st.cache_data(show_spinner="Preparing the tasks ...", max_entries=8)
def cached_task_report(data_json: str) -> dict:
    return inspect_tasks(config_from_dict({"data": json.loads(data_json)}).data)


def _stop_on(error: UserError) -> None:
    show_user_error(error)
    stop()


def _header_settings(source: str, warning: str | None) -> None:
    """A CSV's first row read as data or as the header (data.header, data.column_names);
    a change starts the source's tasks afresh, since its column names change."""
    if warning:
        st.warning(warning)
    no_header = st.checkbox(
        "The file has no header: read the first row as data (data.header: none)",
        value=exp["data"].get("header") == "none",
        key=f"no_header::{source}",
    )
    names = st.text_input(
        "Column names (optional, comma-separated; default c0, c1, ...)",
        value=", ".join(exp["data"].get("column_names") or []),
        key=f"column_names::{source}",
        disabled=not no_header,
    )
    given = [n.strip() for n in names.split(",") if n.strip()] if no_header else []
    wanted = ("none" if no_header else "first_row", given or None)
    if wanted != (exp["data"].get("header", "first_row"), exp["data"].get("column_names")):
        exp["data"].update(header=wanted[0], column_names=wanted[1], tasks=[])
        st.rerun()


exp = experiment()
samples = {f"sample_data/{s.name}": s for s in list_samples()}
kinds = [SAMPLE, HUB, LOCAL, UPLOAD]
saved_source = exp["data"]["source"]
start = 0 if saved_source in samples else 1 if is_hub_id(saved_source) else 2
kind = st.radio("Source", kinds, horizontal=True, key="source_kind", index=start)
config = revision = None
if kind == SAMPLE:
    names = list(samples)
    current = saved_source if saved_source in samples else names[0]
    source = st.selectbox(
        "Sample",
        names,
        index=names.index(current),
        format_func=lambda s: f"{samples[s].name}: {samples[s].description}",
    )
    configs = samples[source].configs
    if len(configs) > 1:
        saved = exp["data"].get("config")
        config = st.selectbox(
            "Config", configs, index=configs.index(saved) if saved in configs else 0
        )
elif kind == HUB:
    left, right = st.columns([3, 1])
    source = left.text_input(
        "Dataset id on the Hugging Face hub",
        placeholder="owner/name",
        value=saved_source if is_hub_id(saved_source) else "",
        key="hub_id",
    ).strip()
    revision = (
        right.text_input(
            "Revision (optional)",
            value=exp["data"].get("revision") or "",
            key="hub_revision",
            placeholder="main",
            help="A branch, tag or commit of the dataset, so that a run can "
            "be repeated on exactly the same data; empty: its latest version.",
        ).strip()
        or None
    )
    if source:
        try:
            configs = cached_configs(source, revision)
            config = (
                st.selectbox("Config", configs)
                if len(configs) > 1
                else (configs[0] if configs else None)
            )
            st.caption("Splits: " + ", ".join(cached_splits(source, config, revision)))
        except UserError as error:
            _stop_on(error)
elif kind == LOCAL:
    source = st.text_input(
        "Path to a file (CSV, TSV, Parquet, JSON/JSONL, Arrow; CSV/TSV/JSON "
        "also as .gz, .bz2, .xz or .zip) or folder "
        "(CSV/Parquet files, save_to_disk, imagefolder)",
        value="" if saved_source in samples else saved_source,
        key="local_path",
    ).strip()
    config = (
        st.text_input(
            "Config (optional)", value=exp["data"].get("config") or "", key="local_config"
        ).strip()
        or None
    )
else:
    upload = st.file_uploader(
        f"Upload a file ({', '.join(s.lstrip('.') for s in UPLOAD_SUFFIXES)}; at most "
        f"{UPLOAD_LIMIT_MB} MB). It is only read as data, never executed.",
        type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
        key="upload",
    )
    source = ""
    if upload is not None:
        try:
            source = str(save_upload(upload.name, upload.getvalue()))
        except UserError as error:
            _stop_on(error)

if not source:
    st.info("Choose a sample, enter a hub id or a path, or upload a file to continue.")
    stop()

same_source = (source, config, revision) == (
    exp["data"]["source"],
    exp["data"].get("config"),
    exp["data"].get("revision"),
)
header = exp["data"].get("header", "first_row") if same_source else "first_row"
given_names = exp["data"].get("column_names") if same_source else None
try:
    report = cached_inspect(
        source, config, revision, header, None if given_names is None else tuple(given_names)
    )
except UserError as error:
    if header == "none":  # e.g. a wrong count of column names: let them be fixed here
        show_user_error(error)
        _header_settings(source, None)
    _stop_on(error)

if not same_source:  # a new source starts with no tasks and its columns' settings at the defaults
    fresh = schema_defaults()["data"]
    exp["data"].update(
        {key: fresh[key] for key in SOURCE_SETTINGS},
        source=source,
        config=config,
        revision=revision,
        tasks=[],
    )

if report["header_warning"] or header == "none":
    _header_settings(source, report["header_warning"])

rows_total = sum(report["splits"].values())
st.markdown(" · ".join(f"**{name}**: {rows:,} rows" for name, rows in report["splits"].items()))
first_split = next(iter(report["splits"].values()))
cap_default = exp["data"].get("max_rows") or min(first_split, DEFAULT_ROW_CAP)
cap = st.number_input(
    "Row cap per split (larger splits are a seeded random sample)",
    min_value=10,
    value=int(cap_default),
    step=1000,
    key=f"cap::{source}",
)
exp["data"]["max_rows"] = int(cap) if cap < max(report["splits"].values()) else None
if exp["data"]["max_rows"]:
    st.info(
        f"Training uses a seeded sample of {int(cap):,} rows per split "
        f"(of {rows_total:,} rows in all); change the cap to use more."
    )
splits_section(exp["data"], report["splits"], f"{source}::{config}")
if report["inspected_rows"] < first_split:
    st.caption(
        f"Column types are inferred from a seeded sample of {report['inspected_rows']:,} rows."
    )

st.subheader("Columns")
st.caption(
    "Set a column's role to **target** to make it a task. Id-like and constant "
    "columns are proposed as ignored; the reason column says why."
)
table = pd.DataFrame(roles_table(report, exp["data"]))
edited = st.data_editor(
    table,
    hide_index=True,
    width="stretch",
    key=f"roles::{source}::{config}",
    disabled=["column", "inferred kind", "missing", "distinct", "reason"],
    column_config={
        "role": st.column_config.SelectboxColumn("role", options=list(ROLES), required=True),
        "type": st.column_config.SelectboxColumn("type", options=list(TYPES), required=True),
        "task kind": st.column_config.SelectboxColumn(
            "task kind", options=list(KINDS), required=True
        ),
        "missing": st.column_config.NumberColumn("missing", format="percent"),
    },
)
exp["data"].update(apply_roles_table(edited.to_dict("records"), report, exp["data"]))
with st.expander("Tasks from other datasets (same kind of input)", icon=":material/join:"):
    st.caption(
        "Related labels often live in different datasets. Each dataset's rows label "
        "only its own task; training draws batches from all of them."
    )
    for task in [t for t in exp["data"]["tasks"] if t.get("source")]:
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.write(f"**{task['name']}**: column `{task['column']}` of `{task['source']}`")
        if right.button("Remove", key=f"remove_task::{task['name']}"):
            exp["data"].update(remove_task(exp["data"], task["name"]))
            st.rerun()
    extra_source = st.text_input(
        "Another dataset: sample, path or hub id", key="extra_source"
    ).strip()
    if extra_source:
        try:
            extra = cached_inspect(extra_source, None)
        except UserError as error:
            show_user_error(error)
        else:
            targets = [c["column"] for c in extra["columns"] if c["task_kind"]]
            left, middle = st.columns(2)
            extra_column = left.selectbox("Target column", targets, key="extra_column")
            extra_inputs = middle.multiselect(
                "Its input columns (empty: same type as the experiment's inputs)",
                [c["column"] for c in extra["columns"] if c["column"] != extra_column],
                key="extra_inputs",
            )
            extra_name = st.text_input("Task name", value=extra_column or "", key="extra_name")
            if st.button("Add task", key="add_extra_task", disabled=not extra_column):
                try:
                    exp["data"].update(
                        add_source_task(
                            exp["data"], extra_name, extra_column, extra_source, inputs=extra_inputs
                        )
                    )
                except UserError as error:
                    show_user_error(error)
                else:
                    st.rerun()

if not exp["data"]["tasks"]:
    st.warning("Mark at least one column as a target; two or more make it multi-task.")
    stop()

st.subheader("Tasks before training")
try:
    tasks = cached_task_report(json.dumps(exp["data"], sort_keys=True))
except UserError as error:
    _stop_on(error)
shape = " x ".join(map(str, tasks["input_shape"]))
st.write(
    f"Input: **{tasks['input_kind']}** ({shape}) from "
    + "; ".join(", ".join(cols) for cols in tasks["input_columns"].values())
    + " · split rows: "
    + ", ".join(f"{k} {v:,}" for k, v in tasks["split_rows"].items())
)
for stats in tasks["task_statistics"]:
    for warning in stats["warnings"]:
        st.warning(warning, icon=":material/warning:")
colors = task_colors([s["task"] for s in tasks["task_statistics"]])
columns = st.columns(min(3, len(tasks["task_statistics"])))
for i, stats in enumerate(tasks["task_statistics"]):
    with columns[i % len(columns)]:
        st.plotly_chart(
            label_distribution(stats, colors[stats["task"]]), key=f"dist::{stats['task']}"
        )
        defined = f"{stats['definition']} · " if stats["definition"] else ""
        st.caption(f"{defined}{stats['missing_share']:.1%} of its rows have no label")
        metrics = get_kind(stats["kind"]).metrics
        metric = st.selectbox(
            "Judged by",
            metrics,
            index=metrics.index(stats["metric"]),
            key=f"metric::{stats['task']}",
            help="The metric that decides whether multi-task learning helped this task "
            "(Δm, verdicts, sweeps); its kind's default unless you choose another.",
        )
        if metric != stats["metric"]:
            exp["data"].update(set_task_metric(exp["data"], stats["task"], stats["kind"], metric))
            st.rerun()
if len(tasks["task_statistics"]) > 1:
    st.markdown(
        "**Label association between tasks** (training split): correlation for "
        "binary/regression pairs (signed), Cramér's V between classes and the "
        "correlation ratio for classes vs numbers (0..1). A first, cheap look at "
        "relatedness; empty cells have too few rows labelled for both tasks."
    )
    st.plotly_chart(association_heatmap(tasks["association"]), key="association")
st.page_link("pages/model.py", label="Next: choose the model", icon=":material/arrow_forward:")
