"""Sources: every local format reads to the same table, the hub path fails offline with the
'cannot reach the hub' message (real `datasets`, HF_HUB_OFFLINE=1 from conftest), config
and split pickers read local cards, uploads are stored under a sanitised name."""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd
import pytest

from mtl_core.data.inspect import inspect_source
from mtl_core.data.sources import (
    UPLOAD_LIMIT_MB,
    config_names,
    load_source,
    safe_filename,
    save_upload,
    split_names,
)
from mtl_core.errors import UserError


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=40).round(3),
            "c": rng.choice(["a", "b"], 40),
            "y": rng.integers(0, 3, 40),
        }
    )


def _written(table, tmp_path, fmt):
    if fmt == "csv":
        table.to_csv(path := tmp_path / "t.csv", index=False)
    elif fmt == "tsv":
        table.to_csv(path := tmp_path / "t.tsv", index=False, sep="\t")
    elif fmt == "parquet":
        table.to_parquet(path := tmp_path / "t.parquet")
    elif fmt == "jsonl":
        table.to_json(path := tmp_path / "t.jsonl", orient="records", lines=True)
    elif fmt == "save_to_disk":
        datasets.Dataset.from_pandas(table).save_to_disk(path := tmp_path / "saved")
    else:  # a folder of CSV files with train/test splits
        (path := tmp_path / "folder").mkdir()
        table.iloc[:30].to_csv(path / "train.csv", index=False)
        table.iloc[30:].to_csv(path / "test.csv", index=False)
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "jsonl", "save_to_disk", "folder"])
def test_every_local_format_reads_the_same_rows(table, tmp_path, fmt):
    loaded = load_source(str(_written(table, tmp_path, fmt)))
    frame = pd.concat([split.to_pandas() for split in loaded.values()], ignore_index=True)
    pd.testing.assert_frame_equal(frame[["x", "c", "y"]], table, check_dtype=False)


@pytest.mark.parametrize("call", [load_source, config_names, split_names])
def test_unknown_hub_id_offline_says_no_network(call):
    with pytest.raises(
        UserError,
        match="cannot reach the Hugging Face hub for 'someone/"
        "no-such-dataset' .*local file or folder",
    ):
        call("someone/no-such-dataset")


def test_missing_local_path_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(UserError, match="no such file or folder"):
        load_source(str(tmp_path / "nothing" / "here.csv"))


def test_unknown_file_type(tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(UserError, match=r"model.pkl: unknown file type \(use one of"):
        load_source(str(tmp_path / "model.pkl"))


def test_config_and_split_pickers_read_local_cards():
    assert config_names("sample_data/multi_digits") == ["image", "pixels"]
    assert split_names("sample_data/multi_digits", "pixels") == ["train", "test"]


def test_inspect_counts_rows_first_and_types_a_sample(tmp_path):
    n = 500
    pd.DataFrame(
        {
            "row_id": np.arange(n),
            "v": np.random.default_rng(0).normal(size=n),
            "k": ["p", "q"] * (n // 2),
            "same": 1,
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    report = inspect_source(str(tmp_path / "t.csv"), sample_rows=100)
    assert report["splits"] == {"train": n} and report["inspected_rows"] == 100
    by = {c["column"]: c for c in report["columns"]}
    assert by["v"]["type"] == "numeric" and by["v"]["task_kind"] == "regression"
    assert by["k"]["task_kind"] == "binary"
    assert by["same"]["role"] == "ignore" and "single value" in by["same"]["reason"]


def test_id_like_column_is_proposed_as_ignored(tmp_path):
    n = 100
    pd.DataFrame(
        {"row_id": np.arange(n), "code": [f"u{i:04d}" for i in range(n)], "y": np.arange(n) % 2}
    ).to_csv(tmp_path / "t.csv", index=False)
    by = {c["column"]: c for c in inspect_source(str(tmp_path / "t.csv"))["columns"]}
    for column in ("row_id", "code"):
        assert by[column]["role"] == "ignore" and by[column]["type"] == "id-like"
        assert "id" in by[column]["reason"]


def test_upload_is_stored_under_a_sanitised_name(tmp_path):
    path = save_upload("../../etc/my data!.CSV", b"a,b\n1,2\n", folder=tmp_path)
    assert path.name == "my_data.csv" and tmp_path in path.parents
    assert path.read_bytes() == b"a,b\n1,2\n"
    assert save_upload("x.csv", b"a\n1\n", tmp_path) == save_upload("x.csv", b"a\n1\n", tmp_path)
    assert safe_filename("..") == "upload"


def test_upload_refuses_other_types_and_large_files(tmp_path):
    with pytest.raises(UserError, match="upload one of .csv"):
        save_upload("model.pkl", b"\x80", folder=tmp_path)
    with pytest.raises(UserError, match=f"larger than {UPLOAD_LIMIT_MB} MB"):
        save_upload("big.csv", b"0" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 1), folder=tmp_path)
