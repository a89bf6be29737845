"""MTL Workbench: Streamlit entry point. Navigation over pages/, and a sidebar that always
shows the current experiment."""

import streamlit as st

from pages.common import experiment, sidebar_summary

st.set_page_config(page_title="MTL Workbench", page_icon=":material/hub:", layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
    st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
    st.Page("pages/train.py", title="Train", icon=":material/play_circle:"),
    st.Page("pages/affinity.py", title="Affinity", icon=":material/grid_on:"),
    st.Page("pages/explain.py", title="Explain", icon=":material/insights:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/history:"),
]

page = st.navigation(PAGES)
experiment()  # make sure the session has an experiment before any page reads it
sidebar_summary()
page.run()
