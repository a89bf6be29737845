"""Sources -> `datasets.DatasetDict`: an embedded sample, a local file or folder, or a
Hugging Face hub id. Every failure becomes one UserError that says what to do."""

from __future__ import annotations

from pathlib import Path

import datasets

from mtl_core.errors import UserError
from mtl_core.samples import SAMPLES_DIR

_FILE_BUILDERS = {
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"sep": "\t"}),
    ".parquet": ("parquet", {}),
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".arrow": ("arrow", {}),
}


def resolve_sample(source: str) -> Path | None:
    """`penguins` or `sample_data/penguins` -> absolute sample folder, else None."""
    name = source.removeprefix("sample_data/").strip("/")
    candidate = SAMPLES_DIR / name
    return candidate if name and "/" not in name and candidate.is_dir() else None


def _load_file(path: Path) -> datasets.DatasetDict:
    builder = _FILE_BUILDERS.get(path.suffix.lower())
    if builder is None:
        known = ", ".join(sorted(_FILE_BUILDERS))
        raise UserError(f"cannot read {path.name}: unknown file type (use one of {known})")
    name, kwargs = builder
    return datasets.load_dataset(name, data_files={"train": str(path)}, **kwargs)


def _load_folder(path: Path, config: str | None) -> datasets.DatasetDict:
    if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
        loaded = datasets.load_from_disk(str(path))
        return loaded if isinstance(loaded, datasets.DatasetDict) else datasets.DatasetDict(
            {"train": loaded}
        )
    return datasets.load_dataset(str(path), config)


def _hub_message(source: str, error: Exception) -> str:
    text = str(error)
    if "gated" in text:
        return f"'{source}' is a gated dataset: log in with `hf auth login` and accept its terms"
    if "Revision" in text:
        return f"'{source}': that revision does not exist on the Hugging Face hub"
    if isinstance(error, ConnectionError) or "OfflineModeIsEnabled" in text or "reach" in text:
        return (
            f"cannot reach the Hugging Face hub for '{source}' (no network or offline mode): "
            "use a local file or folder, or an embedded sample"
        )
    return (
        f"'{source}' is neither a local file or folder nor a dataset on the Hugging Face hub: "
        "check the spelling or path"
    )


def load_source(source: str, config: str | None = None) -> datasets.DatasetDict:
    """Load `source` as a DatasetDict; raises UserError with a readable message."""
    source = source.strip()
    if not source:
        raise UserError("no data source given: pick a sample, a file or a hub id")
    sample = resolve_sample(source)
    path = sample or Path(source).expanduser()
    try:
        if path.is_file():
            loaded = _load_file(path)
        elif path.is_dir():
            loaded = _load_folder(path.resolve(), config)
        elif source.count("/") > 1 or source.startswith((".", "/", "~")):
            raise UserError(f"no such file or folder: {source}")
        else:
            loaded = datasets.load_dataset(source, config)
    except UserError:
        raise
    except (FileNotFoundError, ConnectionError) as error:
        if path.exists():
            raise UserError(f"no readable data files in {source}: {error}") from None
        raise UserError(_hub_message(source, error)) from None
    except ValueError as error:
        if "BuilderConfig" in str(error) or "config" in str(error).lower():
            raise UserError(f"'{source}' has no config '{config}': {error}") from None
        raise UserError(f"cannot read {source}: {error}") from None
    except Exception as error:  # datasets/pyarrow parse errors have many types
        raise UserError(f"cannot read {source}: {type(error).__name__}: {error}") from None
    if not isinstance(loaded, datasets.DatasetDict):
        loaded = datasets.DatasetDict({"train": loaded})
    if all(len(split) == 0 for split in loaded.values()):
        raise UserError(f"{source} has no rows: check the file")
    return loaded
