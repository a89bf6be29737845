"""Lessons page: one-click experiments with what to look for, and each lesson's results so
far (its variants' stored runs)."""

import pandas as pd
import streamlit as st

from mtl_core.lessons import LESSONS, Lesson, lesson_experiment, lesson_results
from pages.common import concept, run_store, set_experiment

st.title("Lessons")
st.write(
    "Each lesson sets up an experiment in one click and tells you what to look for. "
    "Your current settings are replaced; runs you already trained stay on the Runs page."
)
concept("multi-task")


def results_view(item: Lesson, frame: pd.DataFrame) -> pd.DataFrame:
    """The results table as shown: Δm and its interval as percentages, '—' where a run's
    summary has no number."""

    def percent(value: float) -> str:
        return "—" if pd.isna(value) else f"{value:+.1%}"

    def plain(value: float) -> str:
        return "—" if pd.isna(value) else f"{value:+.2f}"

    def interval(low_column: str, high_column: str) -> list[str]:
        return [
            "—" if pd.isna(low) or pd.isna(high) else f"[{low:+.1%}, {high:+.1%}]"
            for low, high in zip(frame[low_column], frame[high_column], strict=True)
        ]

    shown = pd.DataFrame(
        {
            "variant": frame["variant"],
            "runs": frame["runs"],
            "seeds": frame["seeds"],
            "Δm": frame["delta_m"].map(percent),
            "Δm 95% interval": interval("delta_m_low", "delta_m_high"),
        }
    )
    if item.reference:
        reference = next(v.label for v in item.variants if v.key == item.reference)
        shown[f"Δm gain over {reference}"] = frame["gain"].map(percent)
        shown["gain 95% interval (paired seeds)"] = interval("gain_low", "gain_high")
    if item.shows_conflict:
        shown["mean gradient cosine"] = frame["mean_cosine"].map(plain)
        shown["conflict rate"] = frame["conflict_rate"].map(
            lambda value: "—" if pd.isna(value) else f"{value:.0%}"
        )
    shown["newest run"] = frame["run_id"]
    return shown


store = run_store()
for item in LESSONS:
    with st.container(border=True):
        st.subheader(item.title)
        st.write(item.question)
        st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(item.steps, 1)))
        st.caption(f"What to look for: {item.look_for}")
        variant = None
        if item.variants:
            labels = {v.label: v.key for v in item.variants}
            label = st.radio("Variant", list(labels), horizontal=True, key=f"variant::{item.key}")
            variant = labels[label]
        if st.button("Start this lesson", key=f"lesson::{item.key}", type="primary"):
            set_experiment(lesson_experiment(item.key, variant))
            st.switch_page("pages/train.py")
        results = lesson_results(item, store)
        if results.empty:
            st.caption(
                "No stored runs of this lesson yet: its results appear here once you train it."
            )
        else:
            st.markdown(
                "**Results so far** (the newest run of each variant; Δm > 0 means "
                "the multi-task model beats the single-task networks)"
            )
            if item.reference:
                st.caption(
                    "The gain compares each seed with the same seed of the reference "
                    "run, so the noise both share (baselines, initial weights) "
                    "cancels: a gain interval above 0 is a gain beyond seed noise."
                )
            st.dataframe(results_view(item, results), hide_index=True)
