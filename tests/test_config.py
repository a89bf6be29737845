"""Config validation: unknown keys, wrong types and impossible values name the key."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtl_core.config import apply_overrides, config_from_dict, load_config, to_dict
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
    raw = {"data": {"source": "x", "tasks": [{"name": "a", "column": "a"},
                                              {"name": "a", "column": "b"}]}}
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
