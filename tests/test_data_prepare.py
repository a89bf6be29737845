"""prepare_data on tables built here and on the samples: modalities (tabular, text, image),
tasks from several datasets (masks and source index), overrides, the row cap, multilabel
targets, and a property test: random small tables give a valid task set or a UserError."""

from __future__ import annotations

import json
import string

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.data.text import HASH_BUCKETS, hash_texts
from mtl_core.errors import UserError
from mtl_core.models.encoders import HashedTextEncoder, build_encoder
from tests.conftest import REPO


def _prepare(**data):
    return prepare_data(config_from_dict({"data": data}).data)


def _tweets(**extra):
    return _prepare(
        source=str(REPO / "examples/data/tweets_sentiment.csv"),
        inputs=["text"],
        tasks=[
            {"name": "sentiment", "column": "sentiment"},
            {
                "name": "irony",
                "column": "irony",
                "inputs": ["tweet"],
                "source": str(REPO / "examples/data/tweets_irony.csv"),
            },
        ],
        **extra,
    )


def test_penguins_tabular_inputs_never_include_targets():
    data = _prepare(
        source="penguins",
        tasks=[{"name": "species", "column": "species"}, {"name": "mass", "column": "body_mass_g"}],
    )
    assert data.input_kind == "tabular"
    assert not any(n.startswith(("species", "body_mass_g")) for n in data.feature_names)
    train = data.splits["train"]
    assert train.x.dtype == torch.float32 and train.x.shape[1] == data.input_shape[0]
    assert train.targets["species"].dtype == torch.long
    assert (train.sources == 0).all()


def test_tasks_from_two_datasets_share_one_text_input():
    data = _tweets()
    assert data.input_kind == "text" and data.input_shape == (128,)
    assert data.source_names[1].endswith("tweets_irony.csv")
    for split in data.splits.values():
        assert split.x.dtype == torch.long and split.x.shape == (len(split), 128)
        assert int(split.x.min()) >= 0 and int(split.x.max()) < HASH_BUCKETS
        # each task is labelled exactly on the rows of its own dataset
        assert torch.equal(split.masks["sentiment"], split.sources == 0)
        assert torch.equal(split.masks["irony"], split.sources == 1)
    total = sum(len(s) for s in data.splits.values())
    assert total == 600 + 300


def test_every_hashed_id_reads_as_the_ngrams_behind_it():
    """Attribution charts label token ids with text: every id of every split has a label,
    and every n-gram named in a label hashes to that id and occurs in some text."""
    from mtl_core.data.text import _bucket, text_ngrams

    data = _tweets(text={"max_tokens": 24, "word_ngrams": 2, "char_ngrams": 3})
    ids = {int(t) for split in data.splits.values() for t in split.x.unique()} - {0}
    assert ids <= set(data.token_texts)
    settings = config_from_dict(
        {
            "data": {
                "source": "x",
                "tasks": [{"name": "t", "column": "t"}],
                "text": {"word_ngrams": 2, "char_ngrams": 3},
            }
        }
    ).data.text
    texts = pd.concat(
        [
            pd.read_csv(REPO / "examples/data/tweets_sentiment.csv")["text"],
            pd.read_csv(REPO / "examples/data/tweets_irony.csv")["tweet"],
        ]
    )
    grams = {g for text in texts for g in text_ngrams(text, settings)}
    for token in sorted(ids)[:200]:
        for label in data.token_texts[token].split(" / "):
            gram = label[1:-1] if label.startswith("[") else label
            full = f"c:{gram}" if label.startswith("[") else f"w:{gram}"
            assert full in grams and _bucket(full) == token


def test_text_settings_shape_the_tensor():
    data = _tweets(text={"max_tokens": 16, "word_ngrams": 1, "char_ngrams": 0})
    x = data.splits["train"].x
    assert x.shape[1] == 16
    words = (x != 0).sum(dim=1)
    assert int(words.max()) <= 16 and int(words.min()) >= 3  # unigrams only: 3..5 words


def test_hashing_is_deterministic_and_pads_with_zero():
    config = config_from_dict({"data": {"source": "x", "tasks": [{"name": "t", "column": "t"}]}})
    texts = pd.Series(["the cat sat", "", None, "the cat sat"])
    ids = hash_texts(texts, config.data.text)
    assert np.array_equal(ids[0], ids[3])
    assert (ids[1] == 0).all() and (ids[2] == 0).all()
    assert (ids[0] != 0).sum() > 3


def test_text_encoder_is_an_embedding_bag_mean_without_padding():
    torch.manual_seed(0)
    encoder = HashedTextEncoder(dim=8)
    bag = torch.nn.EmbeddingBag(HASH_BUCKETS, 8, mode="mean", padding_idx=0)
    bag.weight.data.copy_(encoder.embedding.weight.data)
    x = torch.randint(1, HASH_BUCKETS, (5, 12))
    x[:, 7:] = 0
    x[4] = 0
    assert torch.allclose(encoder(x), bag(x), atol=1e-6)


def test_image_sample_gives_float_images_in_unit_range():
    data = _prepare(
        source="multi_digits",
        config="image",
        image_size=8,
        tasks=[{"name": "digit", "column": "digit"}, {"name": "parity", "column": "parity"}],
    )
    x = data.splits["train"].x
    assert data.input_kind == "image" and data.input_shape == (1, 8, 8)
    assert x.shape[1:] == (1, 8, 8) and float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    encoder, width = build_encoder(data.input_kind, data.input_shape)
    assert encoder(x[:4]).shape == (4, width)
    # the sample's own test split is used; validation is carved from train
    assert len(data.splits["test"]) == 359


def test_type_overrides_and_ignored_columns():
    data = _prepare(
        source="penguins",
        column_types={"year": "categorical"},
        ignore=["island"],
        tasks=[{"name": "species", "column": "species"}],
    )
    assert "year=2007" in data.feature_names
    assert not any(n.startswith("island") for n in data.feature_names)


def test_row_cap_is_a_seeded_sample():
    def rows(seed):
        data = _prepare(
            source="penguins",
            max_rows=100,
            splits={"seed": seed},
            tasks=[{"name": "mass", "column": "body_mass_g"}],
        )
        assert sum(len(s) for s in data.splits.values()) == 100
        return data.splits["train"].x

    assert torch.equal(rows(0), rows(0))
    assert not torch.equal(rows(0), rows(1))


def test_multilabel_list_column(tmp_path):
    rng = np.random.default_rng(0)
    labels = ["red", "green", "blue"]
    with (tmp_path / "t.jsonl").open("w") as handle:
        for _ in range(60):
            chosen = [lab for lab in labels if rng.random() < 0.4]
            handle.write(json.dumps({"x": float(rng.normal()), "tags": chosen}) + "\n")
    data = _prepare(source=str(tmp_path / "t.jsonl"), tasks=[{"name": "tags", "column": "tags"}])
    task = data.tasks[0]
    assert task.kind == "multilabel" and task.classes == ("blue", "green", "red")
    target = data.splits["train"].targets["tags"]
    assert target.shape == (len(data.splits["train"]), 3)
    assert set(target.unique().tolist()) <= {0.0, 1.0}


_cells = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from(["a", "b", "c", "a long free text value here"]),
    st.text(string.ascii_letters + " ", max_size=12),
)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.integers(1, 4), st.integers(0, 40), st.data())
def test_random_tables_give_tasks_or_a_user_error(tmp_path, n_columns, n_rows, draw):
    columns = {
        f"c{i}": draw.draw(st.lists(_cells, min_size=n_rows, max_size=n_rows))
        for i in range(n_columns)
    }
    frame = pd.DataFrame(
        {k: pd.Series(v, dtype=object).infer_objects() for k, v in columns.items()}
    )
    path = tmp_path / f"t{draw.draw(st.integers(0, 10**9))}.csv"
    frame.to_csv(path, index=False)
    targets = draw.draw(st.lists(st.sampled_from(list(columns)), min_size=1, unique=True))
    try:
        data = _prepare(source=str(path), tasks=[{"name": t, "column": t} for t in targets])
    except UserError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert [t.name for t in data.tasks] == targets
    for split in data.splits.values():
        for task in data.tasks:
            assert split.masks[task.name].dtype == torch.bool
            assert len(split.targets[task.name]) == len(split) == len(split.masks[task.name])
            if task.kind in ("binary", "multiclass"):
                labels = split.targets[task.name][split.masks[task.name]]
                assert len(labels) == 0 or int(labels.max()) < len(task.classes)
    assert all(torch.isfinite(s.x).all() for s in data.splits.values())


def test_tabular_tasks_from_two_datasets_need_the_same_input_columns(tmp_path):
    rng = np.random.default_rng(0)
    first = pd.DataFrame(
        {"x1": rng.normal(size=50), "x2": rng.normal(size=50), "a": rng.choice(["p", "q"], 50)}
    )
    second = pd.DataFrame({"x1": rng.normal(size=30), "b": rng.normal(size=30)})
    first.to_csv(tmp_path / "first.csv", index=False)
    second.to_csv(tmp_path / "second.csv", index=False)
    tasks = [
        {"name": "a", "column": "a"},
        {"name": "b", "column": "b", "source": str(tmp_path / "second.csv")},
    ]
    with pytest.raises(UserError, match="input column 'x2' is not in .*second.csv"):
        _prepare(source=str(tmp_path / "first.csv"), tasks=tasks)
    data = _prepare(source=str(tmp_path / "first.csv"), inputs=["x1"], tasks=tasks)
    train = data.splits["train"]
    assert data.feature_names == ["x1"]
    assert torch.equal(train.masks["a"], train.sources == 0)
    assert torch.equal(train.masks["b"], train.sources == 1)
