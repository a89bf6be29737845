"""Shareable links: settings survive the round trip through URL parameters."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.config import schema_defaults
from mtl_core.errors import UserError
from mtl_core.share import experiment_to_params, params_to_experiment
from pages.common import DEFAULT_EXPERIMENT


@settings(max_examples=50, deadline=None)
@given(
    epochs=st.integers(1, 500),
    lr=st.floats(1e-5, 1.0, allow_nan=False),
    shared=st.lists(st.integers(1, 256), min_size=1, max_size=3),
    arch=st.sampled_from(["hard"]),
    baselines=st.booleans(),
    tasks=st.lists(
        st.sampled_from(["species", "sex", "island"]), min_size=1, max_size=3, unique=True
    ),
)
def test_link_round_trip_reproduces_the_setup(epochs, lr, shared, arch, baselines, tasks):
    experiment = params_to_experiment({}, DEFAULT_EXPERIMENT)
    experiment["train"].update(epochs=epochs, lr=lr, baselines=baselines, patience=epochs)
    experiment["model"].update(shared=shared, architecture=arch)
    experiment["data"]["tasks"] = [{"name": t, "column": t} for t in tasks]
    params = experiment_to_params(experiment)
    assert all(isinstance(v, str) for v in params.values())
    restored = params_to_experiment(params, DEFAULT_EXPERIMENT)
    assert restored["train"]["epochs"] == restored["train"]["patience"] == epochs
    assert restored["train"]["lr"] == pytest.approx(lr)
    assert restored["train"]["baselines"] == baselines
    assert restored["model"]["shared"] == shared
    assert [t["column"] for t in restored["data"]["tasks"]] == tasks


def test_renamed_task_keeps_name_and_column():
    params = {"tasks": "mass:body_mass_g,species"}
    restored = params_to_experiment(params, DEFAULT_EXPERIMENT)
    assert [(t["name"], t["column"]) for t in restored["data"]["tasks"]] == [
        ("mass", "body_mass_g"),
        ("species", "species"),
    ]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"epochs": "ten"}, "'epochs'"),
        ({"shared": "64,x"}, "'shared'"),
        ({"epochs": "0"}, "train.epochs"),
        ({"optimizer": "rmsprop"}, "train.optimizer"),
    ],
)
def test_bad_link_parameters_are_named(params, needle):
    with pytest.raises(UserError, match=needle):
        params_to_experiment(params, DEFAULT_EXPERIMENT)


def test_method_parameters_travel_in_the_link():
    experiment = params_to_experiment({}, DEFAULT_EXPERIMENT)
    experiment["model"].update(architecture="mmoe", params={"experts": 8, "gate": "shared"})
    experiment["weighting"].update(method="static", params={"weights": {"species": 2.0}})
    restored = params_to_experiment(experiment_to_params(experiment), DEFAULT_EXPERIMENT)
    assert restored["model"]["params"] == {"experts": 8, "gate": "shared"}
    assert restored["weighting"]["params"] == {"weights": {"species": 2.0}}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"arch": "mmoe", "arch_params": '{"n_experts":8}'}, "'model.params.n_experts'"),
        ({"arch": "mmoe", "arch_params": '{"experts":"many"}'}, "'model.params.experts'"),
        ({"arch": "nope"}, "'model.architecture'"),
        ({"weighting": "nope"}, "'weighting.method'"),
        ({"weighting": "cagrad", "weighting_params": '{"c":"big"}'}, "'weighting.params.c'"),
    ],
)
def test_a_link_with_a_wrong_architecture_or_method_setting_is_named(params, needle):
    with pytest.raises(UserError, match=f"this link's settings are not valid: .*{needle}"):
        params_to_experiment(params, DEFAULT_EXPERIMENT)


def test_broken_parameter_json_is_named():
    with pytest.raises(UserError, match="'arch_params'"):
        params_to_experiment({"arch_params": "{oops"}, DEFAULT_EXPERIMENT)


# Settings no readable parameter carries, each a valid non-default value.
OTHER_SETTINGS = [
    ("data", "max_rows", 120),
    ("data", "ignore", ["year"]),
    ("data", "revision", "v1.0"),
    ("data", "header", "none"),
    ("data", "column_types", {"island": "categorical"}),
    ("data", "inputs", ["bill_length_mm"]),
    (
        "data",
        "splits",
        {
            "train": "train",
            "validation": None,
            "test": None,
            "val_fraction": 0.2,
            "test_fraction": 0.1,
            "seed": 3,
        },
    ),
    ("train", "schedule", "cosine"),
    ("train", "weight_decay", 0.01),
    ("train", "grad_clip", 1.0),
    ("train", "monitor", "metric"),
    ("train", "amp", True),
    ("train", "baseline_seeds", 3),
    ("train", "curriculum", {"sex": 2}),
    ("train", "threads", 3),
    ("train", "patience", None),
    ("train", "warm_start", "20261124-000000-abcdef"),
    ("analysis", "affinity_every", 5),
    ("analysis", "sweep", "all"),
]
SECOND_DATASET_TASK = {
    **schema_defaults()["data"]["tasks"][0],
    "name": "y1",
    "column": "y1",
    "kind": "regression",
    "weight": 2.0,
    "source": "sample_data/mmoe_synthetic",
    "config": "p0.5",
}


@settings(max_examples=40, deadline=None)
@given(
    chosen=st.lists(st.sampled_from(range(len(OTHER_SETTINGS))), unique=True),
    second_dataset=st.booleans(),
    binary_sex=st.booleans(),
)
def test_a_link_carries_every_setting_not_only_the_readable_ones(
    chosen, second_dataset, binary_sex
):
    """Whatever else differs from the defaults (data settings, training options, analysis,
    a task's kind or weight, a task from a second dataset) comes back from the link."""
    experiment = params_to_experiment({}, DEFAULT_EXPERIMENT)
    for index in chosen:
        section, key, value = OTHER_SETTINGS[index]
        experiment[section][key] = value
    if second_dataset:
        experiment["data"]["tasks"].append(dict(SECOND_DATASET_TASK))
    if binary_sex:
        experiment["data"]["tasks"][1].update(kind="binary", weight=0.5)
    restored = params_to_experiment(experiment_to_params(experiment), DEFAULT_EXPERIMENT)
    assert restored == experiment


def test_task_settings_for_a_task_the_link_lacks_are_named():
    with pytest.raises(UserError, match="'task_more'.*'ghost'"):
        params_to_experiment({"task_more": '{"ghost":{"kind":"binary"}}'}, DEFAULT_EXPERIMENT)
    with pytest.raises(UserError, match="'train_more' must be a JSON object"):
        params_to_experiment({"train_more": "[1]"}, DEFAULT_EXPERIMENT)


def test_the_apps_first_experiment_has_the_schemas_defaults():
    """The app starts from a sample and three tasks; everything else is the schema's default
    (one home for defaults: a config file that leaves a setting out gets the same)."""
    defaults = schema_defaults()
    for section in ("model", "weighting", "train", "analysis"):
        assert DEFAULT_EXPERIMENT[section] == defaults[section]
    data = {k: v for k, v in DEFAULT_EXPERIMENT["data"].items() if k not in ("source", "tasks")}
    assert data == {k: v for k, v in defaults["data"].items() if k not in ("source", "tasks")}
    assert experiment_to_params(DEFAULT_EXPERIMENT)["epochs"] == str(defaults["train"]["epochs"])
