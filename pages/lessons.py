"""Lessons page: one-click experiments with what to look for."""

import streamlit as st

from mtl_core.lessons import LESSONS, lesson_experiment
from pages.common import concept, set_experiment

st.title("Lessons")
st.write("Each lesson sets up an experiment in one click and tells you what to look for. "
         "Your current settings are replaced; runs you already trained stay on the Runs page.")
concept("multi-task")

for item in LESSONS:
    with st.container(border=True):
        st.subheader(item.title)
        st.write(item.question)
        st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(item.steps, 1)))
        st.caption(f"What to look for: {item.look_for}")
        variant = None
        if item.variants:
            label = st.radio("Variant", list(item.variants), horizontal=True,
                             key=f"variant::{item.key}")
            variant = item.variants[label]
        if st.button("Start this lesson", key=f"lesson::{item.key}", type="primary"):
            set_experiment(lesson_experiment(item.key, variant))
            st.switch_page("pages/train.py")
