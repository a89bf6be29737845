"""Explain page: Captum attributions of a stored run's shared features, per task."""

import streamlit as st

from mtl_core.analysis.explain import Explainer, ExplainOptions
from mtl_core.analysis.explain.explainer import explain_device
from mtl_core.errors import UserError
from mtl_core.runs.load import load_trained
from mtl_core.viz.explain import (
    completeness_table,
    driver_bars,
    example_image_maps,
    expert_heatmap,
    image_maps,
    input_bars,
    mean_image_maps,
    similarity_heatmap,
    token_heatmap,
    unit_heatmap,
    unit_usage_bars,
)
from pages.common import (
    concept,
    requires,
    run_label,
    run_store,
    show_user_error,
    stop,
    teacher_mode,
)

st.title("Explain")
st.caption(
    "Which units of the shared representation each task relies on, whether tasks rely "
    "on the same ones, and which inputs drive them (Captum, on a copy of the model)."
)
concept("attribution")

runs = run_store().usable_runs()
requires(
    bool(runs),
    "No trained run yet: train one, then explain it here.",
    "pages/train.py",
    "Go to Train",
)


@st.cache_resource(max_entries=2, show_spinner="Loading the run ...")
def trained(run_id: str):
    return load_trained(run_store(), run_id)


labels = {r["id"]: run_label(r) for r in runs}
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="explain_run")
try:
    run = trained(run_id)
except UserError as error:
    show_user_error(error)
    stop()
data = run.data
split_rows = len(data.splits["test"]) or len(data.splits["validation"]) or len(data.splits["train"])

PREDICTED = "each example's predicted class"


def class_pickers(specs, run: str) -> list[tuple[str, str]]:
    """A class to explain per multiclass task (default: each example's predicted class)."""
    multiclass = [spec for spec in specs if spec.task_kind.explains_classes and spec.classes]
    if not multiclass:
        return []
    chosen = []
    for column, spec in zip(st.columns(3) * len(multiclass), multiclass, strict=False):
        label = column.selectbox(
            f"Class of {spec.name} to explain",
            [PREDICTED, *spec.classes],
            key=f"explain_class_{run}_{spec.name}",
            help="Attribute this class's score, the same for every example, instead of each "
            "example's predicted class.",
        )
        if label != PREDICTED:
            chosen.append((spec.name, label))
    return chosen


# Widgets whose choices depend on the run are keyed by it, so switching runs resets them.
with st.form("explain_options"):
    left, middle, right = st.columns(3)
    # Images cost a convolutional pass per path step: start smaller there.
    default_samples = min(256 if data.input_kind == "tabular" else 64, split_rows)
    samples = left.slider(
        "Examples to explain",
        1,
        max(2, min(1024, split_rows)),
        default_samples,
        key=f"explain_samples_{run_id}",
        help="Drawn from the test split (seeded); more is steadier and slower.",
    )
    steps = middle.number_input(
        "Integration steps",
        2,
        1000,
        50,
        key="explain_steps",
        help="Raise this when the completeness delta is large.",
    )
    baselines = {
        "tabular": ["zeros", "mean"],
        "image": ["zeros", "mean", "blur"],
        "text": ["zeros"],
    }.get(data.input_kind, ["zeros"])
    baseline = right.radio(
        "Baseline",
        baselines,
        horizontal=True,
        key=f"explain_baseline_{run_id}",
        format_func={
            "zeros": "padding" if data.input_kind == "text" else "zeros",
            "mean": "training mean",
            "blur": "blurred image",
        }.get,
        help="The reference input: attributions explain F(x) − F(baseline).",
    )
    tasks = st.multiselect(
        "Tasks", data.task_names, default=data.task_names, key=f"explain_tasks_{run_id}"
    )
    if teacher_mode():  # per-class profiles and SmoothGrad are advanced
        by_class, smoothgrad, noise = False, 0, 0.15
    else:
        left, middle, right = st.columns(3)
        by_class = left.checkbox(
            "One unit profile per class",
            key="explain_by_class",
            help="For multiclass tasks: a row per class instead of the predicted class.",
        )
        smoothgrad = middle.number_input(
            "SmoothGrad copies (0 = off)",
            0,
            50,
            0,
            key="explain_smoothgrad",
            disabled=data.input_kind == "text",
            help="Average input attributions over noisy copies.",
        )
        noise = right.number_input(
            "SmoothGrad noise (× input std)", 0.0, 2.0, 0.15, step=0.05, key="explain_noise"
        )
    chosen_classes = [] if teacher_mode() else class_pickers(data.tasks, run_id)
    submitted = st.form_submit_button("Explain", type="primary")


def explain(options: ExplainOptions) -> None:
    bar = st.progress(0.0, text="starting ...")
    try:
        explainer = Explainer(
            run.model, data, options, explain_device(run.config.train.device), run_id
        )
        explanation = explainer.explain(lambda done, message: bar.progress(done, text=message))
    except UserError as error:
        bar.empty()
        show_user_error(error)
        stop()
    bar.empty()
    st.session_state.explained = {"run": run_id, "explainer": explainer, "explanation": explanation}


def example_index() -> int:
    count = len(explanation.x)
    return st.slider("Example", 0, count - 1, 0, key="explain_example") if count > 1 else 0


def pick_clicked_unit() -> None:
    """A click on the unit heatmap picks that unit in the 'One unit' section."""
    points = st.session_state.unit_heatmap.selection.points
    if points:
        st.session_state.explain_unit = int(str(points[0]["x"]).removeprefix("u"))


def raise_steps() -> None:
    st.session_state.explain_steps = min(1000, 2 * int(st.session_state.explain_steps))
    st.session_state.explain_again = True


if submitted or st.session_state.pop("explain_again", False):
    if not tasks:
        st.warning("Pick at least one task.")
        stop()
    explain(
        ExplainOptions(
            samples=int(samples),
            n_steps=int(steps),
            baseline=baseline,
            tasks=tuple(tasks),
            by_class=by_class,
            smoothgrad=int(smoothgrad),
            noise=float(noise),
            classes=tuple(c for c in chosen_classes if c[0] in tasks),
        )
    )

state = st.session_state.get("explained")
if not state or state["run"] != run_id:
    st.info("Choose the options and press Explain (a few seconds).")
    stop()
explainer, explanation = state["explainer"], state["explanation"]
units = explanation.units
options = explanation.options

st.caption(
    f"{len(explanation.x)} {explanation.split} examples · {options.n_steps} steps · "
    f"baseline {options.baseline} · {explanation.device} · {explanation.seconds:.1f}s"
)
table = completeness_table(explanation)
if (table["more steps?"] == "yes").any():
    st.warning(
        "Some attributions do not add up to F(x) − F(baseline) within 5%: the integral "
        "needs more steps.",
        icon=":material/warning:",
    )
    st.button(f"Rerun with {min(1000, 2 * options.n_steps)} steps", on_click=raise_steps)
with st.expander("Completeness: do the attributions add up?"):
    st.write(
        "Integrated Gradients and conductance split F(x) − F(baseline) exactly in the "
        "limit; delta is what the finite sum misses, per example."
    )
    st.dataframe(table, hide_index=True, width="stretch")

st.subheader("Shared units × tasks")
where = (
    "the shared representation"
    if units.shared
    else "each task's own representation (units at the same position)"
)
method = "layer integrated gradients" if explanation.input_kind == "text" else "conductance"
st.write(
    f"Each row shows how a task's output splits over the units of {where} "
    f"(mean |{method}|, as a share of the row); units that serve the same tasks "
    "are clustered next to each other."
)
st.plotly_chart(
    unit_heatmap(units),
    width="stretch",
    key="unit_heatmap",
    on_select=pick_clicked_unit,
    selection_mode="points",
)
st.caption("Click a cell to look at that unit below.")
left, right = st.columns([2, 3])
with left:
    st.plotly_chart(similarity_heatmap(units), key="similarity")
with right:
    st.write(
        "**Which tasks use the same units?** The cosine similarity of two rows' unit "
        "profiles: near 1, the tasks draw on the same units; near 0, on different ones."
    )
    if not units.shared:
        st.caption(
            "This architecture gives each task its own representation, so similarity "
            "compares units at the same position of different modules."
        )

if explanation.experts:
    st.subheader("Experts × tasks")
    st.write(
        "How much of each task's output comes through each expert (mean |layer "
        "integrated gradients| summed over the expert's units, as a share of the task's "
        "row). Each example keeps its own gate weights, so this is what the experts "
        "deliver to the task, not just how much its gate mixes them (the gate weights "
        "are on the Model page). 0: the task's output does not reach that expert."
    )
    for level in explanation.experts:
        st.plotly_chart(expert_heatmap(level), width="stretch", key=f"experts::{level.title}")

st.subheader("One unit")
ranked = units.ranked_units()
unit = st.selectbox(
    "Unit (most used first)", ranked, format_func=lambda u: f"u{u}", key="explain_unit"
)
st.write(f"How much of each task's attribution flows through unit u{unit}.")
st.plotly_chart(unit_usage_bars(units, unit), width="stretch", key="unit_usage")
if explanation.input_kind == "text":
    st.caption(
        "Which inputs drive a unit needs inputs on a continuous path; token ids are "
        "not, so this view is for tabular and image runs."
    )
elif unit not in explanation.drivers:
    bar = st.progress(0.0, text=f"inputs that drive unit {unit} ...")
    explainer.add_drivers(explanation, unit, lambda done, message: bar.progress(done, text=message))
    bar.empty()
if unit in explanation.drivers:
    st.write(f"Which inputs reach each task through unit u{unit} (mean |neuron conductance|).")
if explanation.input_kind == "tabular":
    st.plotly_chart(driver_bars(explanation, unit), width="stretch", key="drivers")
elif explanation.input_kind == "image":
    st.plotly_chart(
        image_maps(
            {t: abs(v).mean(axis=0) for t, v in explanation.drivers[unit].items()}, signed=False
        ),
        width="stretch",
        key="drivers",
    )

st.subheader("Inputs per task")
if explanation.input_kind == "tabular":
    st.write(
        "Mean |Integrated Gradients| of each input feature, per task side by side: the "
        "features each task's prediction rests on."
    )
    st.plotly_chart(input_bars(explanation), width="stretch", key="inputs")
elif explanation.input_kind == "text":
    index = example_index()
    st.write(
        "One example's tokens and each task's signed attribution to them (Layer "
        "Integrated Gradients at the token embedding): red pushes the task's output up, "
        "blue pushes it down."
    )
    st.plotly_chart(token_heatmap(explanation, index), width="stretch", key="tokens")
    st.caption(
        "Tokens are word n-grams and, in brackets, character n-grams, hashed into "
        "ids; where two n-grams share an id, both are shown (a / b)."
    )
else:
    st.write(
        "Where each task looks, on average over the examples (mean |Integrated "
        "Gradients| per pixel)."
    )
    st.plotly_chart(mean_image_maps(explanation), width="stretch", key="inputs")
    index = example_index()
    st.write(
        "One example and each task's signed attribution: red pushes the task's output "
        "up, blue pushes it down."
    )
    st.plotly_chart(example_image_maps(explanation, index), width="stretch", key="example")
