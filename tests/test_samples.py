"""The embedded samples load offline as documented; the MMoE generator behaves as the paper says."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.data.synthetic import gradient_conflict_synthetic, mmoe_synthetic, mmoe_weights
from mtl_core.errors import UserError
from mtl_core.samples import SAMPLES_DIR, list_samples, sample_path

PENGUIN_COLUMNS = [
    "species",
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "sex",
    "year",
]
MMOE_CONFIGS = {"p1.0": 1.0, "p0.5": 0.5, "p0.0": 0.0, "p-0.5": -0.5}
MMOE_SPLITS = {"train": 8000, "validation": 1000, "test": 1000}
MMOE_COLUMNS = [f"x{i}" for i in range(100)] + ["y1", "y2"]
DIGIT_TASKS = ["digit", "parity", "ge5", "closed_loop"]
DIGIT_SPLITS = {"train": 1438, "test": 359}


def load_sample(name: str, config: str | None = None) -> datasets.DatasetDict:
    return datasets.load_dataset(str(sample_path(name)), config)


@pytest.fixture(scope="module")
def digits() -> dict[str, datasets.DatasetDict]:
    return {config: load_sample("multi_digits", config) for config in ("image", "pixels")}


def test_list_samples_names_the_three_with_their_cards():
    samples = {s.name: s for s in list_samples()}
    assert {"penguins", "mmoe_synthetic", "multi_digits"} <= set(samples)
    for sample in samples.values():
        assert sample.path == SAMPLES_DIR / sample.name
        assert sample.description and sample.license != "unknown"
        assert sample.suggested_tasks
    assert samples["mmoe_synthetic"].configs == ["p0.5", "p1.0", "p0.0", "p-0.5"]
    assert samples["mmoe_synthetic"].default_config == "p0.5"
    assert samples["multi_digits"].configs == ["image", "pixels"]


def test_unknown_sample_names_the_available_ones():
    with pytest.raises(UserError, match="penguins.*multi_digits|multi_digits.*penguins"):
        sample_path("no_such_sample")
    with pytest.raises(UserError):
        sample_path("../sample_data")


def test_penguins_load_offline_with_missing_values_kept():
    loaded = load_sample("penguins")
    assert list(loaded) == ["train"]
    train = loaded["train"]
    assert train.num_rows == 344
    assert train.column_names == PENGUIN_COLUMNS
    frame = train.to_pandas()
    assert frame["sex"].isna().sum() == 11
    assert frame["body_mass_g"].isna().sum() == 2
    assert set(frame["species"]) == {"Adelie", "Chinstrap", "Gentoo"}


@pytest.mark.parametrize("config", list(MMOE_CONFIGS))
def test_mmoe_configs_load_with_splits_and_match_the_generator(config):
    loaded = load_sample("mmoe_synthetic", config)
    assert {split: ds.num_rows for split, ds in loaded.items()} == MMOE_SPLITS
    train = loaded["train"]
    assert train.column_names == MMOE_COLUMNS
    assert {feature.dtype for feature in train.features.values()} == {"float32"}
    generated = mmoe_synthetic(MMOE_CONFIGS[config], n_rows=sum(MMOE_SPLITS.values()), seed=0)
    shipped = loaded["test"].to_pandas()
    np.testing.assert_allclose(shipped.to_numpy(), generated.iloc[-1000:].to_numpy(), rtol=1e-5)


def test_mmoe_default_config_is_p05():
    default = load_sample("mmoe_synthetic")["validation"].to_pandas()
    chosen = load_sample("mmoe_synthetic", "p0.5")["validation"].to_pandas()
    assert default.equals(chosen)


def test_label_correlation_rises_with_p():
    def label_correlation(p: float) -> float:
        frame = mmoe_synthetic(p, n_rows=5000, seed=0)
        return float(np.corrcoef(frame["y1"], frame["y2"])[0, 1])

    correlations = [label_correlation(p) for p in (1.0, 0.5, 0.0, -0.5)]
    assert correlations == sorted(correlations, reverse=True)
    assert correlations[0] > 0.9
    assert abs(correlations[2]) < 0.1


def test_generator_is_seeded():
    first = mmoe_synthetic(0.3, n_rows=200, dim=10, seed=7)
    assert first.equals(mmoe_synthetic(0.3, n_rows=200, dim=10, seed=7))
    assert not first.equals(mmoe_synthetic(0.3, n_rows=200, dim=10, seed=8))
    assert list(first.columns) == [f"x{i}" for i in range(10)] + ["y1", "y2"]
    assert set(first.dtypes.astype(str)) == {"float32"}


def test_same_seed_gives_the_same_inputs_for_every_p():
    inputs = [f"x{i}" for i in range(20)]
    low = mmoe_synthetic(-0.5, n_rows=100, dim=20, seed=3)
    high = mmoe_synthetic(0.9, n_rows=100, dim=20, seed=3)
    assert low[inputs].equals(high[inputs])


@settings(max_examples=50, deadline=None)
@given(
    p=st.floats(-1.0, 1.0),
    dim=st.integers(3, 64),
    seed=st.integers(0, 2**32 - 1),
    c=st.floats(0.01, 10.0),
)
def test_weight_cosines_equal_p(p, dim, seed, c):
    weights = mmoe_weights(p, dim=dim, seed=seed, c=c, n_tasks=3)
    norms = np.linalg.norm(weights, axis=1)
    np.testing.assert_allclose(norms, c, rtol=1e-9)
    cosines = (weights @ weights.T) / np.outer(norms, norms)
    np.testing.assert_allclose([cosines[0, 1], cosines[0, 2]], p, atol=1e-9)
    np.testing.assert_allclose(cosines[1, 2], p * p, atol=1e-9)


def test_more_tasks_add_target_columns():
    frame = mmoe_synthetic(0.5, n_rows=50, dim=8, n_tasks=4)
    assert [c for c in frame.columns if c.startswith("y")] == ["y1", "y2", "y3", "y4"]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"p": 1.5}, "p"),
        ({"p": float("nan")}, "p"),
        ({"p": 0.5, "n_rows": 0}, "n_rows"),
        ({"p": 0.5, "dim": 1}, "dim"),
        ({"p": 0.5, "n_tasks": 0}, "n_tasks"),
        ({"p": 0.5, "c": 0.0}, "c"),
        ({"p": 0.5, "noise": -0.1}, "noise"),
        ({"p": 0.5, "n_sines": -1}, "n_sines"),
        ({"p": 0.5, "seed": -1}, "seed"),
        ({"p": 0.5, "n_rows": 10.5}, "n_rows"),
    ],
)
def test_bad_generator_arguments_are_user_errors(arguments, named):
    with pytest.raises(UserError, match=rf"\b{named}\b"):
        mmoe_synthetic(**arguments)


def test_multi_digits_configs_share_rows_and_splits(digits):
    for config, loaded in digits.items():
        assert {split: ds.num_rows for split, ds in loaded.items()} == DIGIT_SPLITS, config
    image_train, pixels_train = digits["image"]["train"], digits["pixels"]["train"]
    assert image_train.column_names == ["image", *DIGIT_TASKS]
    assert pixels_train.column_names == [f"px{i}" for i in range(64)] + DIGIT_TASKS
    assert isinstance(image_train.features["image"], datasets.Image)
    assert image_train["digit"] == pixels_train["digit"]


def test_multi_digits_image_is_the_scaled_pixels(digits):
    image = np.asarray(digits["image"]["test"][0]["image"])
    pixels = np.array([digits["pixels"]["test"][0][f"px{i}"] for i in range(64)])
    assert image.shape == (8, 8)
    np.testing.assert_array_equal(image.ravel(), np.rint(pixels * 255 / 16))


@pytest.mark.parametrize("config", ["image", "pixels"])
def test_multi_digits_tasks_follow_the_digit(digits, config):
    features = digits[config]["train"].features
    assert all(isinstance(features[task], datasets.ClassLabel) for task in DIGIT_TASKS)
    assert features["parity"].names == ["even", "odd"]
    for split in DIGIT_SPLITS:
        frame = digits[config][split].select_columns(DIGIT_TASKS).to_pandas()
        digit = frame["digit"]
        assert (frame["parity"] == digit % 2).all()
        assert (frame["ge5"] == (digit >= 5)).all()
        assert (frame["closed_loop"] == digit.isin([0, 4, 6, 8, 9])).all()
    assert sorted(set(digits[config]["train"]["digit"])) == list(range(10))


def test_suggested_tasks_are_columns_of_the_default_config():
    for sample in list_samples():
        columns = load_sample(sample.name, sample.default_config)["train"].column_names
        assert set(sample.suggested_tasks) <= set(columns), sample.name


CONFLICT_SPLITS = {"train": 2000, "validation": 400, "test": 400}
CONFLICT_COLUMNS = [f"x{i}" for i in range(10)] + ["y1", "y2"]


def test_gradient_conflict_sample_loads_and_matches_the_generator():
    loaded = load_sample("gradient_conflict")
    assert {split: ds.num_rows for split, ds in loaded.items()} == CONFLICT_SPLITS
    assert loaded["train"].column_names == CONFLICT_COLUMNS
    assert {feature.dtype for feature in loaded["train"].features.values()} == {"float32"}
    generated = gradient_conflict_synthetic(n_rows=sum(CONFLICT_SPLITS.values()), seed=0)
    shipped = loaded["test"].to_pandas()
    np.testing.assert_allclose(shipped.to_numpy(), generated.iloc[-400:].to_numpy(), rtol=1e-6)


def test_gradient_conflict_generator_is_seeded():
    first = gradient_conflict_synthetic(n_rows=300, dim=6, seed=4)
    assert first.equals(gradient_conflict_synthetic(n_rows=300, dim=6, seed=4))
    assert not first.equals(gradient_conflict_synthetic(n_rows=300, dim=6, seed=5))
    assert list(first.columns) == [f"x{i}" for i in range(6)] + ["y1", "y2"]
    assert set(first.dtypes.astype(str)) == {"float32"}


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_sines=st.integers(1, 3))
def test_gradient_conflict_targets_are_opposed_and_y2_adds_what_y1_ignores(seed, n_sines):
    frame = gradient_conflict_synthetic(n_rows=4000, seed=seed, n_sines=n_sines, noise=0.0)
    y1, y2 = frame["y1"].to_numpy(np.float64), frame["y2"].to_numpy(np.float64)
    # The shared signal enters with opposite signs: strongly negative label correlation.
    assert np.corrcoef(y1, y2)[0, 1] < -0.3
    # Without noise y1 is the tanh of one projection; what y2 adds (y1 + y2, the sines of
    # other directions) is independent of it, so a trunk that carries y1 explains none of it.
    assert np.abs(y1).max() <= 1.0
    assert abs(np.corrcoef(y1, y1 + y2)[0, 1]) < 0.1


def test_gradient_conflict_default_correlation_is_strongly_negative():
    frame = gradient_conflict_synthetic()
    assert np.corrcoef(frame["y1"], frame["y2"])[0, 1] < -0.55


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"n_rows": 0}, "n_rows"),
        ({"dim": 2}, "dim"),
        ({"n_sines": 0}, "n_sines"),
        ({"seed": -1}, "seed"),
        ({"scale": 0.0}, "scale"),
        ({"frequency": float("inf")}, "frequency"),
        ({"sharpness": -1.0}, "sharpness"),
        ({"noise": -0.1}, "noise"),
    ],
)
def test_bad_gradient_conflict_arguments_are_user_errors(arguments, named):
    with pytest.raises(UserError, match=rf"gradient_conflict_synthetic: {named}\b"):
        gradient_conflict_synthetic(**arguments)
