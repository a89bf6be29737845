"""What every page shares: the current experiment in session state, the sidebar summary,
cached data loading and user-error display. Not a page itself."""

from __future__ import annotations

import copy
from typing import Any

import streamlit as st

from mtl_core.config import config_from_dict
from mtl_core.errors import UserError
from mtl_core.runs import RunStore

DEFAULT_EXPERIMENT: dict[str, Any] = {
    "name": None,
    "data": {
        "source": "sample_data/penguins",
        "config": None,
        "inputs": "auto",
        "tasks": [
            {"name": "species", "column": "species"},
            {"name": "sex", "column": "sex"},
            {"name": "body_mass_g", "column": "body_mass_g"},
        ],
    },
    "model": {"architecture": "hard", "shared": [64, 64], "head": [32], "dropout": 0.0},
    "weighting": {"method": "equal"},
    "train": {"epochs": 60, "batch_size": 32, "lr": 0.003, "optimizer": "adam",
              "device": "auto", "seed": 0, "patience": 15, "baselines": True},
}


def experiment() -> dict[str, Any]:
    """The current experiment (a plain config dict) of this browser tab."""
    if "experiment" not in st.session_state:
        st.session_state.experiment = copy.deepcopy(DEFAULT_EXPERIMENT)
    return st.session_state.experiment


def validated_experiment():
    """The experiment as a validated config, or None after showing the problem."""
    try:
        return config_from_dict(experiment())
    except UserError as error:
        st.error(str(error), icon=":material/error:")
        return None


@st.cache_resource
def run_store() -> RunStore:
    return RunStore()


def sidebar_summary() -> None:
    exp = experiment()
    with st.sidebar:
        st.caption("Current experiment")
        tasks = ", ".join(t["name"] for t in exp["data"]["tasks"]) or "none chosen"
        st.markdown(
            f"**Data:** `{exp['data']['source']}`  \n"
            f"**Tasks:** {tasks}  \n"
            f"**Architecture:** {exp['model']['architecture']}  \n"
            f"**Weighting:** {exp['weighting']['method']}  \n"
            f"**Device:** {exp['train']['device']}"
        )


def show_user_error(error: UserError) -> None:
    st.error(str(error), icon=":material/error:")
