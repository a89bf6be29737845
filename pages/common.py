"""What every page shares: the current experiment in session state, shareable links, teacher
mode, the sidebar (experiment summary and where the user is in the flow), concept
explainers, cached data loading and user-error display. Not a page itself."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from mtl_core.concepts import CONCEPTS
from mtl_core.config import config_from_dict, with_defaults
from mtl_core.errors import UserError
from mtl_core.runs import RunStore, default_runs_dir
from mtl_core.share import experiment_to_params, params_to_experiment

# The app's first experiment: a sample and three of its tasks; every other setting is the
# schema's default (mtl_core/config/schema.py), as in a config file that leaves it out.
DEFAULT_EXPERIMENT: dict[str, Any] = with_defaults(
    {
        "data": {
            "source": "sample_data/penguins",
            "tasks": [
                {"name": "species", "column": "species"},
                {"name": "sex", "column": "sex"},
                {"name": "body_mass_g", "column": "body_mass_g"},
            ],
        },
    }
)
FLOW = [
    ("Data", "pages/data.py"),
    ("Model", "pages/model.py"),
    ("Train", "pages/train.py"),
    ("Affinity", "pages/affinity.py"),
    ("Explain", "pages/explain.py"),
    ("Runs", "pages/runs.py"),
]


def experiment() -> dict[str, Any]:
    """The current experiment (a plain config dict) of this browser tab. On the tab's first
    run, settings in the URL (a shared link) replace the defaults."""
    if "experiment" not in st.session_state:
        st.session_state.experiment = copy.deepcopy(DEFAULT_EXPERIMENT)
        link = {k: v for k, v in st.query_params.to_dict().items() if k != "teacher"}
        if link:
            try:
                st.session_state.experiment = params_to_experiment(link, DEFAULT_EXPERIMENT)
            except UserError as error:
                st.session_state.link_error = str(error)
    return st.session_state.experiment


def set_experiment(new: dict[str, Any]) -> None:
    """Make `new` the current experiment; settings it leaves out are the schema's defaults."""
    st.session_state.experiment = with_defaults(new)


def validated_experiment():
    """The experiment as a validated config, or None after showing the problem."""
    try:
        return config_from_dict(experiment())
    except UserError as error:
        st.error(str(error), icon=":material/error:")
        return None


def teacher_mode() -> bool:
    """Teacher mode hides advanced controls; `?teacher=1` in a link turns it on."""
    if "teacher" not in st.session_state:
        st.session_state.teacher = st.query_params.get("teacher") == "1"
    return bool(st.session_state.teacher)


def sync_link() -> None:
    """Keep the URL's query parameters equal to the current experiment."""
    params = experiment_to_params(experiment())
    if teacher_mode():
        params["teacher"] = "1"
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def share_link() -> str:
    params = experiment_to_params(experiment())
    if teacher_mode():
        params["teacher"] = "1"
    base = str(st.context.url or "").split("?")[0]
    return f"{base}?{urlencode(params)}"


@st.cache_resource
def _store_at(folder: str) -> RunStore:
    return RunStore(folder)


def run_store() -> RunStore:
    """The run store of this server (one per folder, so `MTL_RUNS_DIR` is honoured)."""
    return _store_at(str(default_runs_dir()))


def run_label(run: dict[str, Any]) -> str:
    """How a stored run is named in the pages' run pickers: id, tasks, architecture/weighting,
    and its status when it did not complete."""
    label = f"{run['id']} · {run['tasks']} · {run['architecture']}/{run['weighting']}"
    return label if run["status"] == "completed" else f"{label} · {run['status']}"


def _flow_status(exp: dict[str, Any]) -> dict[str, bool]:
    has_runs = run_store().count_runs() > 0  # every rerun: a COUNT, not every summary
    return {
        "Data": bool(exp["data"]["tasks"]),
        "Model": bool(exp["model"]["architecture"]),
        "Train": has_runs,
        "Affinity": has_runs,
        "Explain": has_runs,
        "Runs": has_runs,
    }


_SUMMARY = "_sidebar_summary"


class SidebarSummary:
    """The sidebar's view of the current experiment (data, tasks, model, progress, share link)
    in a placeholder that `update` redraws, above the teacher-mode toggle."""

    def __init__(self) -> None:
        st.session_state[_SUMMARY] = self  # so that `stop` can redraw it
        with st.sidebar:
            if "link_error" in st.session_state:
                st.warning(st.session_state.pop("link_error"))
            self._placeholder = st.empty()
            st.toggle("Teacher mode (hide advanced controls)", key="teacher")
        self.update()

    def update(self) -> None:
        exp = experiment()
        with self._placeholder.container():
            st.caption("Current experiment")
            tasks = ", ".join(t["name"] for t in exp["data"]["tasks"]) or "none chosen"
            config = f" ({exp['data']['config']})" if exp["data"].get("config") else ""
            st.markdown(
                f"**Data:** `{exp['data']['source']}`{config}  \n"
                f"**Tasks:** {tasks}  \n"
                f"**Architecture:** {exp['model']['architecture']}  \n"
                f"**Weighting:** {exp['weighting']['method']}  \n"
                f"**Device:** {exp['train']['device']}"
            )
            done = _flow_status(exp)
            st.caption(
                "Progress: "
                + " → ".join(f"{'✓' if done[name] else '○'} {name}" for name, _ in FLOW)
            )
            with st.popover("Share this setup", icon=":material/link:"):
                st.caption("Anyone opening this link gets the same experiment settings.")
                st.code(share_link(), language=None, wrap_lines=True)


def stop() -> None:
    """End the page here, after redrawing the sidebar summary and the URL with what the page
    changed so far (app.py redraws them after a page that runs to its end)."""
    summary = st.session_state.get(_SUMMARY)
    if summary is not None:
        summary.update()
    sync_link()
    st.stop()


def concept(key: str) -> None:
    """A short explanation of one concept, folded away."""
    title, text = CONCEPTS[key]
    with st.expander(title, icon=":material/school:"):
        st.write(text)


def requires(condition: bool, message: str, page: str, label: str) -> None:
    """Stop the page with a message and a link to where the missing piece is made."""
    if not condition:
        st.info(message, icon=":material/info:")
        st.page_link(page, label=label, icon=":material/arrow_forward:")
        stop()


def show_user_error(error: UserError) -> None:
    st.error(str(error), icon=":material/error:")


def _leave_legacy_page_mode() -> None:
    """Until st.navigation has run once in the server process, Streamlit treats pages/ as a
    legacy multipage folder and runs a deep-linked page file directly, bypassing app.py
    (no sidebar, and pages/common.py listed as a page). Switch the process over and rerun
    through app.py."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_page_mode()
