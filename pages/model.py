"""Model page: the sharing architecture (picker, presets from the papers, its parameters, a
diagram of shared and per-task blocks, parameter counts against single-task networks, the
learned mixing of a stored run) and how task losses are weighted."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from mtl_core.config import ModelConfig, config_from_dict
from mtl_core.data.prepare import PreparedData, prepare_data
from mtl_core.errors import UserError
from mtl_core.models.registry import Param, architecture_class, architecture_names, presets
from mtl_core.models.summary import parameter_rows, preview_model, single_task_equivalent
from mtl_core.runs.load import load_trained
from mtl_core.viz.architecture import architecture_diagram, mixing_heatmap
from pages.common import (
    concept,
    experiment,
    run_label,
    run_store,
    show_user_error,
    teacher_mode,
    validated_experiment,
)
from pages.parts.weighting import weighting_section

MIXING_ROWS = 2048  # rows of a run's data the gate weights are averaged over

st.title("Model")
exp = experiment()
model = exp["model"]


@st.cache_resource(show_spinner="Preparing the data ...", max_entries=4)
def prepared(data_json: str) -> PreparedData:
    return prepare_data(config_from_dict({"data": json.loads(data_json)}).data)


@st.cache_resource(show_spinner="Loading the run ...", max_entries=4)
def trained_run(run_id: str):
    return load_trained(run_store(), run_id)


def param_widget(param: Param, value: Any, column) -> Any:
    """A widget for one `model.params` entry, drawn from its spec."""
    label = param.title
    if param.kind == "bool":
        return column.toggle(label, value=bool(value), help=param.help)
    if param.kind == "choice":
        return column.selectbox(
            label, param.choices, index=param.choices.index(value), help=param.help
        )
    if param.kind == "int":
        return int(
            column.number_input(
                label,
                value=int(value),
                step=1,
                help=param.help,
                min_value=param.minimum,
                max_value=param.maximum,
            )
        )
    if param.kind == "float":
        return column.number_input(
            label,
            value=None if value is None else float(value),
            help=param.help,
            format="%g",
            min_value=param.minimum,
            placeholder="derived",
        )
    text = column.text_input(
        label,
        "" if value is None else ", ".join(map(str, value)),
        help=param.help,
        placeholder="default",
    )
    try:
        return [int(v) for v in text.split(",") if v.strip()] or None
    except ValueError:
        column.error(f"'{label}' takes whole numbers separated by commas, e.g. 0, 2")
        return value


# --- architecture and preset -----------------------------------------------------------
st.subheader("Sharing architecture")
concept("sharing")
names = architecture_names()
previous = model["architecture"]
model["architecture"] = st.selectbox(
    "Architecture",
    names,
    index=names.index(previous) if previous in names else 0,
    format_func=lambda n: n.replace("_", "-"),
)
cls = architecture_class(model["architecture"])
spec = {p.name: p for p in cls.params}
model["params"] = {k: v for k, v in (model.get("params") or {}).items() if k in spec}
st.caption(cls.summary)

choices = presets(model["architecture"])
if choices:
    pick, apply = st.columns([4, 1], vertical_alignment="bottom")
    chosen = pick.selectbox("Preset", list(choices), key=f"preset_{model['architecture']}")
    if apply.button("Apply preset", key="apply_preset"):
        preset = choices[chosen]
        model.update(
            shared=list(preset["shared"]), head=list(preset["head"]), params=dict(preset["params"])
        )
        st.rerun()

advanced = not teacher_mode()  # teacher mode keeps the picker, presets, diagram and counts
if advanced:
    left, middle, right = st.columns(3)
    widths = left.text_input(cls.shared_label, ", ".join(map(str, model["shared"])))
    head = middle.text_input(cls.head_label, ", ".join(map(str, model["head"])))
    try:
        model["shared"] = [int(w) for w in widths.split(",") if w.strip()]
        model["head"] = [int(w) for w in head.split(",") if w.strip()]
    except ValueError:
        st.error("Layer widths must be whole numbers separated by commas, e.g. 64, 64")
    model["dropout"] = right.slider("Dropout", 0.0, 0.5, float(model["dropout"]), 0.05)

if spec and advanced:
    columns = st.columns(min(3, len(spec)))
    for i, param in enumerate(spec.values()):
        try:  # a bad value from a config file or link: say so, start the widget at the default
            current = param.check(model["params"].get(param.name, param.default))
        except UserError as error:
            show_user_error(error)
            current = param.default
        value = param_widget(param, current, columns[i % len(columns)])
        if value == param.default:
            model["params"].pop(param.name, None)
        else:
            model["params"][param.name] = value

# --- diagram and parameter counts ------------------------------------------------------
config = validated_experiment()
if config is not None:
    try:
        data = prepared(json.dumps(exp["data"], sort_keys=True, default=str))
        model_config = ModelConfig(**model)
        built = preview_model(model_config, data.tasks, data.input_kind, data.input_shape)
        single = single_task_equivalent(model_config, data.tasks, data.input_kind, data.input_shape)
    except UserError as error:
        show_user_error(error)
    else:
        diagram, counts = st.columns([3, 2])
        diagram.plotly_chart(
            architecture_diagram(built.blocks(), data.task_names), width="stretch", key="diagram"
        )
        counts.caption(
            f"Parameters for {len(data.tasks)} tasks on {data.input_kind} inputs. "
            "'only T': what only task T's loss reaches (soft sharing's penalty "
            "reaches every task); the diagram's colours show which task a block "
            "belongs to."
        )
        counts.dataframe(parameter_rows(built, single), hide_index=True, width="stretch")
        ratio = sum(p.numel() for p in built.parameters()) / max(
            1, sum(p.numel() for p in single.parameters())
        )
        counts.caption(
            f"{ratio:.2f}× the parameters of one independent network per task "
            "(what the single-task baselines train)."
        )

# --- learned mixing of a stored run ----------------------------------------------------
st.subheader("Learned mixing")
label = model["architecture"].replace("_", "-")
if not cls.mixing_help:
    st.caption(
        f"{label} learns no mixing to inspect: cross-stitch (α matrices), MMoE and PLE "
        "(gate weights per task) and soft sharing (how far the towers drifted) do."
    )
else:
    runs = [r for r in run_store().usable_runs() if r["architecture"] == model["architecture"]]
    if not runs:
        st.info(
            f"Train a {label} model to see what it learned. {cls.mixing_help}",
            icon=":material/info:",
        )
        st.page_link("pages/train.py", label="Train", icon=":material/arrow_forward:")
    else:
        labels = {r["id"]: run_label(r) for r in runs}
        run_id = st.selectbox("Stored run", list(labels), format_func=labels.get, key="mixing_run")
        try:
            run = trained_run(run_id)
            split = next(s for s in ("test", "validation", "train") if len(run.data.splits[s]))
            mixes = run.model.mixing(run.data.splits[split].x[:MIXING_ROWS])
        except UserError as error:
            show_user_error(error)
        else:
            st.caption(f"{cls.mixing_help} Run {run_id}, {split} rows.")
            columns = st.columns(min(2, max(1, len(mixes))))
            for i, (title, mix) in enumerate(mixes.items()):
                columns[i % len(columns)].plotly_chart(
                    mixing_heatmap(mix, title), width="stretch", key=f"mix{i}"
                )

weighting_section(exp)
st.page_link("pages/train.py", label="Next: train", icon=":material/arrow_forward:")
