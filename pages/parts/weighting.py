"""The loss-weighting part of the Model page: pick a method (grouped by cost class), set its
parameters, and see what a stored run's weighting did (task weights, gradient cosines)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from mtl_core.errors import UserError
from mtl_core.viz.weighting import conflict_share, gradient_cosine_figure, task_weights_figure
from mtl_core.weighting.base import COST_CLASSES
from mtl_core.weighting.catalogue import MethodInfo, method_info, methods_by_cost_class, params_for
from pages.common import concept, run_label, run_store, teacher_mode

COST_HINTS = {
    "loss": "About the cost of equal weighting (1.0-1.1x): the losses are combined, then one "
    "backward. FAMO (a second, gradient-free forward) costs about 1.45x and GradNorm "
    "(per-task gradient norms) about 1.55x on a small MLP, or about 1.05x when they "
    "update every 10 steps.",
    "gradient": "Per step, one gradient per task on the shared layers: about 1.7-2.4x the time "
    "of equal weighting on a small MLP, about 0.8x LibMTL's one-backward-per-task "
    "loop (CAGrad and Nash-MTL include a small convex solve; see "
    "benchmarks/bench_weighting.py). Recomputing every 10 steps brings that to "
    "about 1.0x.",
}


AMORTISED_HELP = {
    "gradient": "1: every step (full cost). k > 1: the Jacobian and the weights are computed "
    "every k steps; in between one ordinary backward reuses the last weights "
    "(Nash-MTL's authors use 50-100).",
    "loss": "1: every step, as in the paper. k > 1: the method's extra work (FAMO: the second "
    "forward of the batch; GradNorm: the per-task gradient norms) and its weight "
    "update happen every k steps; in between the last weights are reused.",
}


def weighting_section(exp: dict[str, Any]) -> None:
    """Method picker, the chosen method's parameters, and a stored run's weighting charts."""
    st.subheader("Loss weighting")
    concept("weighting")
    weighting = exp.setdefault("weighting", {"method": "equal"})
    info = _pick_method(weighting)
    weighting["params"] = params_for(info.name, weighting.get("params") or {})
    task_names = [t["name"] for t in exp.get("data", {}).get("tasks", [])]
    _method_parameters(info, weighting, task_names)
    _run_charts()


def _follow(key: str, value: Any) -> None:
    """Let widget `key` show `value` from the experiment when the experiment changed elsewhere
    (a shared link, another page); otherwise keep what the user last set in the widget."""
    shadow = f"{key}__synced"
    if key not in st.session_state or st.session_state.get(shadow) != value:
        st.session_state[key] = value
    st.session_state[shadow] = value


def _settled(key: str) -> Any:
    """The widget's value, remembered as what the experiment now holds."""
    st.session_state[f"{key}__synced"] = st.session_state[key]
    return st.session_state[key]


def _pick_method(weighting: dict[str, Any]) -> MethodInfo:
    grouped = methods_by_cost_class()
    current = weighting.get("method", "equal")
    current_class = next(
        (cost for cost, infos in grouped.items() if any(i.name == current for i in infos)), "loss"
    )
    classes = [cost for cost in COST_CLASSES if grouped.get(cost)]
    _follow("weighting_cost_class", current_class)
    st.radio(
        "Kind of method",
        classes,
        format_func=lambda c: COST_CLASSES[c],
        horizontal=True,
        key="weighting_cost_class",
    )
    cost = _settled("weighting_cost_class")
    st.caption(COST_HINTS[cost])
    infos = grouped[cost]
    names = [i.name for i in infos]
    by_name = {i.name: i for i in infos}
    key = f"weighting_method_{cost}"
    _follow(key, current if current in names else names[0])
    st.radio(
        "Method",
        names,
        format_func=lambda n: by_name[n].title,
        captions=[
            f"{i.summary} Helps when: {i.helps_when[0].lower()}{i.helps_when[1:]}" for i in infos
        ],
        key=key,
    )
    chosen = weighting["method"] = _settled(key)
    return by_name[chosen]


def _method_parameters(info: MethodInfo, weighting: dict[str, Any], tasks: list[str]) -> None:
    params = weighting["params"]
    if info.name == "static":
        _static_weights(params, tasks)
    if teacher_mode():  # the method's own knobs and its cost settings are advanced
        return
    for name, spec in info.params.items():
        key = f"weighting_{info.name}_{name}"
        if spec.integer:
            _follow(key, int(params.get(name, spec.default)))
            st.number_input(
                name,
                min_value=None if spec.low is None else int(spec.low),
                max_value=None if spec.high is None else int(spec.high),
                step=1,
                help=spec.help,
                key=key,
            )
        else:
            _follow(key, float(params.get(name, spec.default)))
            st.number_input(
                name, min_value=spec.low, max_value=spec.high, help=spec.help, format="%g", key=key
            )
        params[name] = _settled(key)
    if info.amortised:
        _follow("weighting_update_every", int(weighting.get("update_every", 1)))
        st.number_input(
            "Recompute the weights every k steps",
            min_value=1,
            max_value=1000,
            key="weighting_update_every",
            help=AMORTISED_HELP[info.cost_class],
        )
        weighting["update_every"] = _settled("weighting_update_every")
    else:
        weighting.pop("update_every", None)
    if info.cost_class == "gradient":
        weighting.pop("gramian_every", None)
    else:
        _follow("weighting_gramian_every", int(weighting.get("gramian_every", 0)))
        st.number_input(
            "Record gradient conflicts every N steps (0 = off)",
            min_value=0,
            max_value=10000,
            key="weighting_gramian_every",
            help="Takes the per-task gradients on the shared layers every N steps, only to "
            "chart their cosines after training; costs one Jacobian each time.",
        )
        weighting["gramian_every"] = _settled("weighting_gramian_every")
        if not weighting["gramian_every"]:
            weighting.pop("gramian_every")


def _static_weights(params: dict[str, Any], tasks: list[str]) -> None:
    if not tasks:
        st.info("Choose tasks on the Data page to set their weights.")
        return
    given = dict(params.get("weights") or {})
    weights = {}
    for name in tasks:
        key = f"weighting_static_{name}"
        _follow(key, float(given.get(name, 1.0)))
        st.slider(f"Weight of {name}", 0.0, 5.0, step=0.05, key=key)
        weights[name] = _settled(key)
    params["weights"] = weights
    _follow("weighting_static_normalize", bool(params.get("normalize", False)))
    st.toggle(
        "Normalise so the weights sum to the number of tasks",
        key="weighting_static_normalize",
        help="Keeps the overall step size of equal weighting; only the ratios matter.",
    )
    params["normalize"] = _settled("weighting_static_normalize")
    total = sum(weights.values())
    if total <= 0:
        st.error("At least one task needs a weight above 0.")
    elif params["normalize"]:
        scaled = ", ".join(f"{n} {w * len(tasks) / total:.2f}" for n, w in weights.items())
        st.caption(f"Weights used: {scaled}")


def _run_charts() -> None:
    st.markdown("##### What the weighting did in a stored run")
    runs = run_store().usable_runs()
    if not runs:
        st.info("No stored runs yet: train one on the Train page, then come back here.")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/arrow_forward:")
        return
    labels = {r["id"]: run_label(r) for r in runs}
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="weighting_run")
    try:
        extras = run_store().read_extras(run_id)
    except UserError as error:
        st.error(str(error), icon=":material/error:")
        return
    task_weights = extras.get("task_weights")
    if not task_weights or not task_weights.get("steps"):
        st.info("This run recorded no task weights (it was trained before they were recorded).")
        return
    for note in extras.get("weighting_notes", []):
        st.warning(note, icon=":material/info:")
    title = method_info(task_weights["method"]).title if task_weights.get("method") else ""
    st.caption(f"Method: {title}")
    st.plotly_chart(task_weights_figure(task_weights), key="weighting_weights_chart")
    gramians = extras.get("gramians") or []
    if not gramians:
        st.info(
            "No gradient cosines for this run: gradient-based methods record them every "
            "time they compute the weights; for loss-based ones set 'Record gradient "
            "conflicts every N steps' before training."
        )
        return
    names = task_weights["tasks"]
    st.plotly_chart(gradient_cosine_figure(gramians, names), key="weighting_cosine_chart")
    shares = conflict_share(gramians, names)
    st.caption(
        "Share of recorded steps in conflict (cosine < 0): "
        + ", ".join(f"{pair} {share:.0%}" for pair, share in shares.items())
    )
