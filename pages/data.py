"""Data page: choose a source and the target columns that become tasks."""

import pandas as pd
import streamlit as st

from mtl_core.data.inspect import inspect_source
from mtl_core.errors import UserError
from mtl_core.samples import list_samples
from pages.common import experiment, show_user_error

st.title("Data")
st.write("Pick a dataset, then tick the target columns: each one becomes a task.")


@st.cache_data(show_spinner="Reading the dataset ...")
def cached_inspect(source: str, config: str | None) -> dict:
    return inspect_source(source, config)


exp = experiment()
samples = {f"sample_data/{s.name}": s for s in list_samples()}
kind = st.radio("Source", ["Embedded sample", "Local file or folder, or hub id"],
                horizontal=True, key="source_kind",
                index=0 if exp["data"]["source"] in samples else 1)
if kind == "Embedded sample":
    names = list(samples)
    current = exp["data"]["source"] if exp["data"]["source"] in samples else names[0]
    source = st.selectbox("Sample", names, index=names.index(current),
                          format_func=lambda s: f"{samples[s].name}: {samples[s].description}")
    configs = samples[source].configs
    config = st.selectbox("Config", configs) if len(configs) > 1 else None
else:
    source = st.text_input("Path or hub id", value="" if exp["data"]["source"] in samples
                           else exp["data"]["source"])
    config = st.text_input("Config (optional)", value=exp["data"].get("config") or "") or None

if not source:
    st.info("Enter a path or a hub id to continue.")
    st.stop()

try:
    report = cached_inspect(source, config)
except UserError as error:
    show_user_error(error)
    st.stop()

st.caption(" · ".join(f"{name}: {rows:,} rows" for name, rows in report["splits"].items()))
columns = pd.DataFrame(report["columns"])
st.dataframe(columns, hide_index=True, width="stretch")

candidates = [c["column"] for c in report["columns"] if c["task_kind"]]
if source != exp["data"]["source"] or config != exp["data"].get("config"):
    chosen_before: list[str] = []
else:
    chosen_before = [t["column"] for t in exp["data"]["tasks"] if t["column"] in candidates]
chosen = st.multiselect("Tasks (target columns)", candidates, default=chosen_before,
                        key=f"tasks::{source}::{config}")
kinds = {c["column"]: c["task_kind"] for c in report["columns"]}
if chosen:
    st.write("Inferred task kinds: " + ", ".join(f"**{c}**: {kinds[c]}" for c in chosen))
exp["data"].update(source=source, config=config,
                   tasks=[{"name": c, "column": c} for c in chosen])
if not chosen:
    st.warning("Choose at least one target column; two or more make it multi-task.")
else:
    st.page_link("pages/model.py", label="Next: choose the model", icon=":material/arrow_forward:")
