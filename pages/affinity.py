"""Affinity page (to come): which tasks help each other."""

import streamlit as st

st.title("Affinity")
st.info(
    "This page will show task-affinity matrices (TAG lookahead), gradient conflicts between "
    "tasks, negative-transfer warnings and which tasks to train together. It is not built yet."
)
