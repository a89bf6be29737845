"""Runs page: every stored run."""

import pandas as pd
import streamlit as st

from pages.common import run_store

st.title("Runs")
runs = run_store().list_runs()
if not runs:
    st.info("No runs yet: train one on the Train page.")
    st.stop()
table = pd.DataFrame([
    {"run": r["id"], "status": r["status"], "data": r["source"], "tasks": r["tasks"],
     "architecture": r["architecture"], "weighting": r["weighting"], "seconds": r["seconds"],
     "Δm": (r["summary"] or {}).get("delta_m")}
    for r in runs
])
st.dataframe(table, hide_index=True, width="stretch")
