"""Rebuild the data files of the embedded samples from their origins.

    python sample_data/build_samples.py

- penguins:        the CSV bundled in the `palmerpenguins` package (a dev dependency).
- mmoe_synthetic:  `mtl_core.data.synthetic.mmoe_synthetic`, one config per p.
- gradient_conflict: `mtl_core.data.synthetic.gradient_conflict_synthetic`, one config.
- multi_digits:    scikit-learn's bundled `load_digits()`, as images and as pixels.

Only the `data/` folder of each sample is rewritten; the dataset cards (README.md) are
written by hand and declare the configs and splits built here. The output is
deterministic: running the script twice gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from importlib import resources
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from PIL import Image
from sklearn.datasets import load_digits

SAMPLES_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(SAMPLES_DIR.parent))

from mtl_core.data.synthetic import gradient_conflict_synthetic, mmoe_synthetic  # noqa: E402

MMOE_P_VALUES = (1.0, 0.5, 0.0, -0.5)
MMOE_SPLIT_ROWS = {"train": 8000, "validation": 1000, "test": 1000}
MMOE_SEED = 0
# Fewer than 500 test rows: `train.seeds: auto` then trains 3 seeds (docs/evidence.md).
CONFLICT_SPLIT_ROWS = {"train": 2000, "validation": 400, "test": 400}
CONFLICT_SEED = 0

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0
CLOSED_LOOP_DIGITS = frozenset({0, 4, 6, 8, 9})
NO_YES = ["no", "yes"]
DIGIT_TASK_FEATURES = {
    "digit": datasets.ClassLabel(names=[str(d) for d in range(10)]),
    "parity": datasets.ClassLabel(names=["even", "odd"]),
    "ge5": datasets.ClassLabel(names=NO_YES),
    "closed_loop": datasets.ClassLabel(names=NO_YES),
}
# Random floats barely compress; splitting their bytes into streams before zstd saves ~35%.
FLOAT_PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 19,
    "use_dictionary": False,
    "use_byte_stream_split": True,
}


def fresh_data_dir(sample: str) -> Path:
    """Empty `sample_data/<sample>/data/`, so no stale file survives a rebuild."""
    data_dir = SAMPLES_DIR / sample / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    return data_dir


def build_penguins() -> None:
    """The package's penguins.csv cell for cell, except that `NA` becomes an empty cell."""
    source = resources.files("palmerpenguins") / "data" / "penguins.csv"
    with source.open(newline="", encoding="utf-8") as lines:
        rows = [["" if cell == "NA" else cell for cell in row] for row in csv.reader(lines)]
    target = fresh_data_dir("penguins") / "penguins.csv"
    with target.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)


def mmoe_config_name(p: float) -> str:
    """1.0 -> "p1.0", -0.5 -> "p-0.5"."""
    return f"p{p:.1f}"


def write_float_splits(frame: pd.DataFrame, split_rows: dict[str, int], folder: Path) -> None:
    """Consecutive row blocks of `frame` as `<split>.parquet` files in `folder`."""
    start = 0
    for split, rows in split_rows.items():
        part = frame.iloc[start : start + rows]
        table = datasets.Dataset.from_pandas(part, preserve_index=False).data.table
        pq.write_table(table, folder / f"{split}.parquet", **FLOAT_PARQUET_OPTIONS)
        start += rows


def build_mmoe_synthetic() -> None:
    """One folder per p with train/validation/test Parquet files, same x for every p."""
    data_dir = fresh_data_dir("mmoe_synthetic")
    for p in MMOE_P_VALUES:
        frame = mmoe_synthetic(p, n_rows=sum(MMOE_SPLIT_ROWS.values()), seed=MMOE_SEED)
        config_dir = data_dir / mmoe_config_name(p)
        config_dir.mkdir()
        write_float_splits(frame, MMOE_SPLIT_ROWS, config_dir)


def build_gradient_conflict() -> None:
    """train/validation/test Parquet files of the generator's default recipe."""
    frame = gradient_conflict_synthetic(
        n_rows=sum(CONFLICT_SPLIT_ROWS.values()), seed=CONFLICT_SEED
    )
    write_float_splits(frame, CONFLICT_SPLIT_ROWS, fresh_data_dir("gradient_conflict"))


def digit_tasks(digits: np.ndarray) -> dict[str, list[int]]:
    """Class indices of the four tasks; see the multi_digits card for their meaning."""
    return {
        "digit": digits.tolist(),
        "parity": (digits % 2).tolist(),
        "ge5": (digits >= 5).astype(int).tolist(),
        "closed_loop": [int(d in CLOSED_LOOP_DIGITS) for d in digits],
    }


def png_bytes(pixels: np.ndarray) -> dict[str, bytes | None]:
    """An 8x8 grid of 0..16 counts -> an 8-bit grayscale PNG (0..255), as `Image` storage."""
    gray = np.rint(pixels * (255 / 16)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def digits_splits(n_rows: int) -> dict[str, np.ndarray]:
    """Seeded 80/20 row indices, each split in the original order."""
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(n_rows)
    n_test = round(n_rows * DIGITS_TEST_FRACTION)
    return {"train": np.sort(order[n_test:]), "test": np.sort(order[:n_test])}


def image_config(images: np.ndarray, digits: np.ndarray) -> datasets.Dataset:
    features = datasets.Features({"image": datasets.Image(), **DIGIT_TASK_FEATURES})
    columns = {"image": [png_bytes(image) for image in images], **digit_tasks(digits)}
    return datasets.Dataset.from_dict(columns, features=features)


def pixels_config(images: np.ndarray, digits: np.ndarray) -> datasets.Dataset:
    flat = images.reshape(len(images), -1).astype(np.int64)
    pixel_names = [f"px{i}" for i in range(flat.shape[1])]
    features = datasets.Features(
        {**{name: datasets.Value("int64") for name in pixel_names}, **DIGIT_TASK_FEATURES}
    )
    columns = {name: flat[:, i].tolist() for i, name in enumerate(pixel_names)}
    return datasets.Dataset.from_dict(columns | digit_tasks(digits), features=features)


def build_multi_digits() -> None:
    """Configs "image" and "pixels": the same rows and the same train/test split."""
    bunch = load_digits()
    data_dir = fresh_data_dir("multi_digits")
    for name, make in (("image", image_config), ("pixels", pixels_config)):
        (data_dir / name).mkdir()
        for split, rows in digits_splits(len(bunch.target)).items():
            dataset = make(bunch.images[rows], bunch.target[rows])
            dataset.to_parquet(data_dir / name / f"{split}.parquet")


def main() -> None:
    datasets.disable_progress_bars()
    build_penguins()
    build_mmoe_synthetic()
    build_gradient_conflict()
    build_multi_digits()
    for path in sorted(p for p in SAMPLES_DIR.glob("*/data/**/*") if p.is_file()):
        print(f"{path.relative_to(SAMPLES_DIR)}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
