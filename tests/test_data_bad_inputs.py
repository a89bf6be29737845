"""Every bad input of issue 3 gives one UserError that names the file or column and says
what to do; the CLI turns it into one line on stderr and exit status 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mtl_core.config import config_from_dict
from mtl_core.data.images import image_channels
from mtl_core.data.prepare import prepare_data
from mtl_core.errors import UserError
from tests.conftest import REPO


def _prepare(source, tasks, **data):
    config = config_from_dict({"data": {"source": str(source), "tasks": tasks, **data}})
    return prepare_data(config.data)


def _task(column, **extra):
    return [{"name": column, "column": column, **extra}]


def _table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.choice(["a", "b", "c"], size=n),
            "label": rng.choice(["yes", "no"], size=n),
            "score": rng.normal(size=n),
        }
    )


def _write(tmp_path, name, content: bytes | str):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.fixture
def bad_files(tmp_path):
    """name -> (path, task column, words the message must hold)."""
    one_row = _table(1)
    garbage = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    return {
        "empty": (_write(tmp_path, "empty.csv", b""), "label", ["empty.csv", "empty"]),
        "header only": (
            _write(tmp_path, "header.csv", "x1,x2,label\n"),
            "label",
            ["header.csv", "no rows"],
        ),
        "one row": (
            _write(tmp_path, "one.csv", one_row.to_csv(index=False)),
            "label",
            ["one.csv", "only 1 row", "add rows"],
        ),
        "unreadable bytes": (
            _write(tmp_path, "bytes.csv", garbage),
            "label",
            ["bytes.csv", "unreadable bytes"],
        ),
        "wrong delimiter": (
            _write(tmp_path, "semi.csv", _table().to_csv(index=False, sep=";")),
            "label",
            ["semi.csv", "semicolons", "comma-separated"],
        ),
    }


@pytest.mark.parametrize(
    "case", ["empty", "header only", "one row", "unreadable bytes", "wrong delimiter"]
)
def test_bad_files_give_one_clear_message(bad_files, case):
    path, column, words = bad_files[case]
    with pytest.raises(UserError) as caught:
        _prepare(path, _task(column))
    for word in words:
        assert word in str(caught.value)


def test_target_with_one_class(tmp_path):
    table = _table().assign(label="yes")
    table.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(UserError, match="'label' has a single class"):
        _prepare(tmp_path / "t.csv", _task("label", kind="binary"))


def test_target_all_missing(tmp_path):
    table = _table().assign(score=np.nan)
    table.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(UserError, match="'score' has no labels"):
        _prepare(tmp_path / "t.csv", _task("score"))


def test_column_that_does_not_exist(tmp_path):
    _table().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(UserError, match="task column 'labl' is not in .*t.csv.*label"):
        _prepare(tmp_path / "t.csv", _task("labl"))
    with pytest.raises(UserError, match="input column 'x9' is not in"):
        _prepare(tmp_path / "t.csv", _task("label"), inputs=["x9"])


def _texts(n=60, seed=0):
    rng = np.random.default_rng(seed)
    words = ["good", "bad", "film", "plot", "actor", "boring", "great", "slow", "fun"]
    return [" ".join(rng.choice(words, size=6)) for _ in range(n)]


def test_text_column_chosen_as_numeric_input(tmp_path):
    _table().assign(review=_texts()).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(UserError, match="'review' holds text .* cannot be a numeric input"):
        _prepare(tmp_path / "t.csv", _task("label"), column_types={"review": "numeric"})
    with pytest.raises(UserError, match="'review' is free text.*input_type: text"):
        _prepare(tmp_path / "t.csv", _task("label"), input_type="tabular", inputs=["x1", "review"])


def test_image_column_with_mixed_sizes_is_resized(tmp_path):
    """Mixed sizes and modes are not an error: every image is resized to image_size."""
    folder = tmp_path / "images"
    rng = np.random.default_rng(0)
    for i in range(24):
        label = "cat" if i % 2 else "dog"
        (folder / label).mkdir(parents=True, exist_ok=True)
        size = (10 + 3 * i, 7 + i)
        mode = "RGB" if i % 3 else "L"
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(
            folder / label / f"{i}.png"
        )
    data = _prepare(folder, _task("label"), image_size=12)
    assert data.input_kind == "image"
    assert data.input_shape == (3, 12, 12)
    x = data.splits["train"].x
    assert x.dtype.is_floating_point and x.shape[1:] == (3, 12, 12)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert sum(len(s) for s in data.splits.values()) == 24


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_choosing_image_channels_closes_the_image_files(tmp_path):
    """Reading each image's mode (to choose 1 or 3 channels) leaves no file open (an open
    file's ResourceWarning, from mtl_core, surfaces as an unraisable exception)."""
    paths = []
    for i in range(3):
        Image.fromarray(np.zeros((4, 4), dtype=np.uint8), "L").save(tmp_path / f"{i}.png")
        paths.append({"bytes": None, "path": str(tmp_path / f"{i}.png")})
    assert image_channels(pd.Series(paths), "image") == 1


@pytest.fixture(scope="module")
def million_categories(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "ids.parquet"
    n = 1_000_000
    pd.DataFrame(
        {
            "code": [f"k{i}" for i in range(n)],
            "y": np.arange(n) % 2,
            "x": np.random.default_rng(0).normal(size=n),
        }
    ).to_parquet(path)
    return path


@pytest.mark.slow
def test_million_category_column(million_categories):
    with pytest.raises(UserError, match=r"'code' has 1,000,000 classes .* identifier"):
        _prepare(million_categories, _task("code"))
    with pytest.raises(UserError, match=r"'code' has \d+ categories .* ignored"):
        _prepare(million_categories, _task("y"), column_types={"code": "categorical"})
    data = _prepare(million_categories, _task("y"), max_rows=5000)
    assert data.input_columns == {str(million_categories): ["x"]}  # proposed as ignored


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "mtl_core", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_exits_2_with_one_line_for_bad_files(bad_files, tmp_path):
    for case in ("unreadable bytes",):
        path, _, words = bad_files[case]
        done = _cli("inspect", str(path))
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
        assert words[0] in done.stderr and "Traceback" not in done.stderr
    path, column, _ = bad_files["one row"]
    done = _cli("inspect", str(path), "--tasks", column)
    assert done.returncode == 2 and "only 1 row" in done.stderr
    assert done.stderr.count("\n") == 1
