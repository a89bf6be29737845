"""MTL Workbench: Streamlit entry point. Navigation over pages/, a sidebar that always shows
the current experiment and where the user is, and the URL kept in sync with the settings."""

import streamlit as st

from pages.common import SidebarSummary, experiment, sync_link, teacher_mode

st.set_page_config(page_title="MTL Workbench", page_icon=":material/hub:", layout="wide")

PAGES = {
    "Workflow": [
        st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
        st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
        st.Page("pages/train.py", title="Train", icon=":material/play_circle:"),
        st.Page("pages/affinity.py", title="Affinity", icon=":material/grid_on:"),
        st.Page("pages/explain.py", title="Explain", icon=":material/insights:"),
        st.Page("pages/runs.py", title="Runs", icon=":material/history:"),
    ],
    "Learn": [st.Page("pages/lessons.py", title="Lessons", icon=":material/school:")],
}

page = st.navigation(PAGES)
experiment()  # the session's experiment exists (from a shared link, if any) before pages read it
teacher_mode()
summary = SidebarSummary()  # drawn now, so it is there even when a page stops early ...
sync_link()
page.run()
summary.update()  # ... and again once the page ran, so it shows what the page just changed
sync_link()
