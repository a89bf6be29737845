"""Files as they come: compressed CSV/TSV/JSON(L) files, headerless CSVs (flagged, then read
with `data.header: none`), and padded values and names."""

from __future__ import annotations

import bz2
import gzip
import lzma
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.data.inspect import inspect_source
from mtl_core.data.prepare import prepare_data
from mtl_core.data.sources import header_warning, load_source
from mtl_core.errors import UserError
from tests.conftest import REPO

ROWS = "age,work,hours,income\n" + "".join(
    f"{20 + i % 50},{['Private', 'State-gov', 'Self-emp'][i % 3]},{30 + i % 20},"
    f"{['<=50K', '>50K'][i % 2]}\n"
    for i in range(60)
)
# The census way: no header, a space after every comma.
HEADERLESS = "".join(
    f"{20 + i % 50}, {['Private', 'State-gov', 'Self-emp'][i % 3]}, {30 + i % 20}, "
    f"{['<=50K', '>50K'][i % 2]}\n"
    for i in range(60)
)
NAMES = ["age", "work", "hours", "income"]


def _frame(source: str, **options) -> pd.DataFrame:
    return load_source(source, **options)["train"].to_pandas()


def _compress(tmp_path: Path, name: str, text: str) -> Path:
    """`name` written compressed by its last suffix (the stdlib's own writers)."""
    path = tmp_path / name
    data = text.encode()
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    elif name.endswith(".bz2"):
        path.write_bytes(bz2.compress(data))
    elif name.endswith(".xz"):
        path.write_bytes(lzma.compress(data))
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(Path(name).stem, data)
    return path


@pytest.fixture
def plain(tmp_path) -> pd.DataFrame:
    path = tmp_path / "plain.csv"
    path.write_text(ROWS)
    return _frame(str(path))


@pytest.mark.parametrize("name", ["t.csv.gz", "t.csv.bz2", "t.csv.xz", "t.csv.zip", "t.gz"])
def test_compressed_csv_reads_like_the_plain_file(tmp_path, plain, name):
    frame = _frame(str(_compress(tmp_path, name, ROWS)))
    pd.testing.assert_frame_equal(frame, plain)
    assert len(frame) == 60 and list(frame.columns) == NAMES


def test_compressed_tsv_and_jsonl(tmp_path, plain):
    tsv = _compress(tmp_path, "t.tsv.gz", ROWS.replace(",", "\t"))
    pd.testing.assert_frame_equal(_frame(str(tsv)), plain)
    jsonl = _compress(tmp_path, "t.jsonl.xz", plain.to_json(orient="records", lines=True))
    assert _frame(str(jsonl)).to_dict("records") == plain.to_dict("records")


def test_a_gz_without_inner_type_that_is_neither_csv_nor_json_asks_to_rename(tmp_path):
    path = _compress(tmp_path, "notes.gz", "just words\nand more words\n")
    with pytest.raises(UserError, match=r"rename it .*notes\.csv\.gz"):
        load_source(str(path))


def test_a_zip_with_several_files_names_them(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train.csv", ROWS)
        archive.writestr("test.csv", ROWS)
    with pytest.raises(UserError, match=r"holds 2 files \(train\.csv, test\.csv\).*unzip") as info:
        load_source(str(path))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["cut.csv.gz", "cut.csv.xz", "cut.csv.zip"])
def test_a_truncated_archive_is_one_clear_message(tmp_path, name):
    path = _compress(tmp_path, name, ROWS * 50)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UserError, match="damaged or incomplete archive") as info:
        load_source(str(path))
    assert "\n" not in str(info.value) and "Traceback" not in str(info.value)


def test_a_headerless_file_is_flagged_and_read_whole_with_header_none(tmp_path):
    path = _compress(tmp_path, "census.gz", HEADERLESS)
    report = inspect_source(str(path))
    assert report["splits"] == {"train": 59}, "the first row became the header"
    assert "data.header: none" in report["header_warning"]
    named = _frame(str(path), header="none", column_names=NAMES)
    assert list(named.columns) == NAMES and len(named) == 60
    assert named.iloc[0].tolist() == [20, "Private", 30, "<=50K"]
    numbered = inspect_source(str(path), header="none")
    assert [c["column"] for c in numbered["columns"]] == ["c0", "c1", "c2", "c3"]
    assert numbered["splits"] == {"train": 60} and numbered["header_warning"] is None


def test_an_all_numeric_header_is_flagged(tmp_path):
    path = tmp_path / "wine.csv"
    path.write_text("".join(f"{7.4 + i / 10},{0.7 + i / 100},{5 + i % 3}\n" for i in range(30)))
    assert header_warning(str(path), load_source(str(path))) is not None


@pytest.mark.parametrize(
    "source",
    [
        "sample_data/penguins/data/penguins.csv",
        "examples/data/tweets_irony.csv",
        "examples/data/tweets_sentiment.csv",
    ],
)
def test_ordinary_headers_are_not_flagged(source):
    path = str(REPO / source)
    assert header_warning(path, load_source(path)) is None


def test_an_ordinary_header_over_numbers_is_not_flagged(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text(ROWS)
    assert header_warning(str(path), load_source(str(path))) is None
    assert header_warning("penguins", load_source("penguins")) is None


def test_wrong_count_of_column_names_names_both_counts(tmp_path):
    path = tmp_path / "census.csv"
    path.write_text(HEADERLESS)
    with pytest.raises(UserError, match="has 2 names but census.csv has 4 columns"):
        load_source(str(path), header="none", column_names=["a", "b"])


def test_column_names_without_header_none_is_a_config_error():
    with pytest.raises(UserError, match="set header: none"):
        config_from_dict(
            {
                "data": {
                    "source": "penguins",
                    "column_names": ["a"],
                    "tasks": [{"name": "s", "column": "species"}],
                }
            }
        )


def test_spaces_are_stripped_from_values_and_names(tmp_path):
    path = tmp_path / "padded.csv"
    path.write_text(" age , work \n" + "".join(f"{i}, Private \n" for i in range(20)))
    frame = _frame(str(path))
    assert list(frame.columns) == ["age", "work"]
    assert set(frame["work"]) == {"Private"}


def test_training_data_reads_a_headerless_file_with_its_names(tmp_path):
    path = _compress(tmp_path, "census.csv.bz2", HEADERLESS)
    data = config_from_dict(
        {
            "data": {
                "source": str(path),
                "header": "none",
                "column_names": NAMES,
                "tasks": [{"name": "income", "column": "income"}],
            }
        }
    ).data
    prepared = prepare_data(data)
    assert sum(len(split.masks["income"]) for split in prepared.splits.values()) == 60
    assert set(prepared.input_columns[str(path)]) == {"age", "work", "hours"}


@pytest.mark.slow
def test_cli_inspects_a_gzipped_csv(tmp_path):
    path = _compress(tmp_path, "x.csv.gz", ROWS)
    done = subprocess.run(
        [sys.executable, "-m", "mtl_core", "inspect", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "train 60 rows" in done.stdout and "warning" not in done.stdout


@pytest.mark.slow
def test_the_data_page_flags_a_headerless_file_and_reads_it_with_header_none(tmp_path):
    path = tmp_path / "census.csv"
    path.write_text(HEADERLESS)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.radio(key="source_kind").set_value("Local file or folder").run()
    at.text_input(key="local_path").input(str(path)).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("data.header: none" in w.value for w in at.warning)
    at.checkbox(key=f"no_header::{path}").check().run()
    at.text_input(key=f"column_names::{path}").input(", ".join(NAMES)).run()
    assert not at.exception, [e.message for e in at.exception]
    data = at.session_state.experiment["data"]
    assert (data["source"], data["header"], data["column_names"]) == (str(path), "none", NAMES)
    assert not any("data.header" in w.value for w in at.warning)
    assert any("60 rows" in m.value for m in at.markdown)
