"""Model page: the sharing architecture and how task losses are weighted."""

import streamlit as st

from mtl_core.models.registry import architecture_names
from mtl_core.weighting.registry import weighting_names
from pages.common import experiment

st.title("Model")
exp = experiment()
model, weighting = exp["model"], exp["weighting"]

architectures = architecture_names()
model["architecture"] = st.selectbox(
    "Sharing architecture", architectures, index=architectures.index(model["architecture"])
    if model["architecture"] in architectures else 0)
widths = st.text_input("Shared layer widths", ", ".join(map(str, model["shared"])))
head = st.text_input("Task head widths", ", ".join(map(str, model["head"])))
try:
    model["shared"] = [int(w) for w in widths.split(",") if w.strip()]
    model["head"] = [int(w) for w in head.split(",") if w.strip()]
except ValueError:
    st.error("Layer widths must be whole numbers separated by commas, e.g. 64, 64")
model["dropout"] = st.slider("Dropout", 0.0, 0.5, float(model["dropout"]), 0.05)

methods = weighting_names()
weighting["method"] = st.selectbox(
    "Loss weighting", methods,
    index=methods.index(weighting["method"]) if weighting["method"] in methods else 0)
st.page_link("pages/train.py", label="Next: train", icon=":material/arrow_forward:")
