"""Config validation: unknown keys, wrong types and impossible values name the key."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtl_core.config import (
    apply_overrides,
    config_from_dict,
    load_config,
    schema_defaults,
    to_dict,
    with_defaults,
)
from mtl_core.errors import UserError

MINIMAL = {"data": {"source": "penguins", "tasks": [{"name": "a", "column": "a"}]}}


def test_minimal_config_fills_documented_defaults():
    config = config_from_dict(MINIMAL)
    assert config.model.architecture == "hard"
    assert config.weighting.method == "equal"
    assert config.train.device == "auto"
    assert config.data.splits.val_fraction == 0.15


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"modle": {}}, "modle"),
        ({"train": {"epochs": "many"}}, "train.epochs"),
        ({"train": {"epochs": 0}}, "train.epochs"),
        ({"train": {"lr": -1}}, "train.lr"),
        ({"model": {"shared": [64, 0]}}, "model.shared"),
        ({"train": {"optimizer": "adamm"}}, "train.optimizer"),
        ({"data": {"source": "x", "tasks": []}}, "data.tasks"),
        ({"data": {"source": "x", "tasks": [{"name": "a"}]}}, "data.tasks.0.column"),
    ],
)
def test_bad_values_name_the_key(patch, key):
    raw = {**MINIMAL, **patch}
    with pytest.raises(UserError, match=rf"'{key}'"):
        config_from_dict(raw)


def test_duplicate_task_names_are_rejected():
    raw = {
        "data": {
            "source": "x",
            "tasks": [{"name": "a", "column": "a"}, {"name": "a", "column": "b"}],
        }
    }
    with pytest.raises(UserError, match="repeated: a"):
        config_from_dict(raw)


def test_overrides_set_nested_values_parsed_as_yaml():
    raw = apply_overrides(MINIMAL, ["train.epochs=7", "model.shared=[8, 4]", "name=x"])
    config = config_from_dict(raw)
    assert config.train.epochs == 7 and config.model.shared == [8, 4] and config.name == "x"
    assert "train" not in MINIMAL  # the input is not mutated


def test_override_without_equals_is_a_user_error():
    with pytest.raises(UserError, match="key=value"):
        apply_overrides(MINIMAL, ["train.epochs"])


@given(epochs=st.integers(1, 10_000), lr=st.floats(1e-6, 10, allow_nan=False), seed=st.integers())
def test_round_trip_through_dict_is_lossless(epochs, lr, seed):
    raw = {**MINIMAL, "train": {"epochs": epochs, "lr": lr, "seed": seed}}
    config = config_from_dict(raw)
    assert config_from_dict(to_dict(config)) == config


def test_load_config_reports_broken_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(path)


def test_load_config_reports_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "nope.yaml")


# Architecture and weighting names and their `params` are checked when the config is loaded
# (against the registries' specs), not only when the model or the method is built.
@pytest.mark.parametrize(
    ("patch", "key", "problem"),
    [
        ({"model": {"architecture": "hardd"}}, "model.architecture", "unknown architecture"),
        (
            {"model": {"architecture": "hard", "params": {"n_experts": 8}}},
            "model.params.n_experts",
            "has no parameter 'n_experts'",
        ),
        (
            {"model": {"architecture": "mmoe", "params": {"n_experts": 8}}},
            "model.params.n_experts",
            "its parameters: experts, gate",
        ),
        (
            {"model": {"architecture": "mmoe", "params": {"experts": "eight"}}},
            "model.params.experts",
            "expected a whole number",
        ),
        (
            {"model": {"architecture": "mmoe", "params": {"experts": 0}}},
            "model.params.experts",
            "at least",
        ),
        (
            {"model": {"architecture": "mmoe", "params": {"gate": "some"}}},
            "model.params.gate",
            "not one of",
        ),
        (
            {"model": {"architecture": "cross_stitch", "params": {"per_channel": "yes"}}},
            "model.params.per_channel",
            "true or false",
        ),
        ({"weighting": {"method": "nope"}}, "weighting.method", "unknown method 'nope'"),
        (
            {"weighting": {"method": "upgrad", "params": {"mu": 1.0}}},
            "weighting.params.mu",
            "has no parameter 'mu'",
        ),
        (
            {"weighting": {"method": "cagrad", "params": {"c": "big"}}},
            "weighting.params.c",
            "expected a number",
        ),
        (
            {"weighting": {"method": "cagrad", "params": {"c": -1.0}}},
            "weighting.params.c",
            "at least",
        ),
    ],
)
def test_unknown_architectures_methods_and_their_params_name_the_key(patch, key, problem):
    with pytest.raises(UserError, match=rf"^config error at '{key}': .*{problem}"):
        config_from_dict({**MINIMAL, **patch})


def test_registry_choices_are_listed_in_the_message():
    from mtl_core.models.registry import architecture_names
    from mtl_core.weighting.registry import weighting_names

    with pytest.raises(UserError) as architecture:
        config_from_dict({**MINIMAL, "model": {"architecture": "nope"}})
    with pytest.raises(UserError) as method:
        config_from_dict({**MINIMAL, "weighting": {"method": "nope"}})
    assert f"(choose one of: {', '.join(architecture_names())})" in str(architecture.value)
    assert f"(choose one of: {', '.join(weighting_names())})" in str(method.value)


def test_valid_architecture_and_method_params_load_unchanged():
    raw = {
        **MINIMAL,
        "model": {"architecture": "mmoe", "params": {"experts": 3}},
        "weighting": {"method": "static", "params": {"weights": {"a": 2.0}}},
    }
    config = config_from_dict(raw)
    assert config.model.params == {"experts": 3}
    assert config.weighting.params == {"weights": {"a": 2.0}}


def test_overrides_are_checked_against_the_registries_too(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: {source: penguins, tasks: [{name: a, column: a}]}\n")
    with pytest.raises(UserError, match="'model.params.experts'"):
        load_config(path, ["model.architecture=mmoe", "model.params.experts=1.5"])


def test_with_defaults_fills_in_what_validation_would_and_keeps_what_is_given():
    partial = {
        "data": {
            "source": "penguins",
            "tasks": [{"name": "a", "column": "a"}],
            "splits": {"seed": 4},
        },
        "model": {"architecture": "mmoe", "params": {"experts": 2}},
        "train": {"epochs": 3, "curriculum": {"a": 2}},
    }
    filled = with_defaults(partial)
    assert filled == to_dict(config_from_dict(partial))
    assert filled["data"]["splits"]["seed"] == 4 and filled["train"]["epochs"] == 3
    assert "splits" in partial["data"] and "lr" not in partial["train"]  # input untouched


def test_with_defaults_leaves_an_incomplete_config_incomplete_where_nothing_defaults():
    filled = with_defaults({"train": {"epochs": "many"}})
    assert "source" not in filled["data"] and "tasks" not in filled["data"]
    assert filled["train"]["epochs"] == "many"  # not validated: the page shows the error


def test_schema_defaults_are_the_documented_ones_and_a_fresh_copy():
    defaults = schema_defaults()
    assert (defaults["train"]["epochs"], defaults["train"]["batch_size"]) == (50, 128)
    assert defaults["model"]["architecture"] == "hard"
    defaults["train"]["epochs"] = 1
    assert schema_defaults()["train"]["epochs"] == 50


def test_a_task_kind_is_any_registered_kind_and_nothing_else():
    from mtl_core.kinds import kind_names

    for kind in kind_names():
        task = {"name": "t", "column": "c", "kind": kind}
        assert config_from_dict({"data": {"source": "s", "tasks": [task]}}).data.tasks[0].kind
    with pytest.raises(UserError, match=r"data\.tasks\.0\.kind.*unknown task kind 'ordinal'"):
        config_from_dict(
            {"data": {"source": "s", "tasks": [{"name": "t", "column": "c", "kind": "ordinal"}]}}
        )
