"""Explain page (to come): Captum attributions of the shared features."""

import streamlit as st

st.title("Explain")
st.info(
    "This page will show Captum attributions: which shared units each task relies on and "
    "which inputs drive each task. It is not built yet."
)
