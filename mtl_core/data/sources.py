"""Sources -> `datasets.DatasetDict`: an embedded sample, a local file or folder (CSV, TSV,
Parquet, JSON/JSONL, Arrow, a `save_to_disk` folder, an imagefolder), an uploaded file, or a
Hugging Face hub id. A CSV/TSV/JSON(L) file may come compressed (`.gz`, `.bz2`, `.xz`, or a
`.zip` holding one file); a CSV whose first row looks like data is flagged (`header_warning`).
Every failure becomes one UserError that names the source and says what to do."""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import lzma
import math
import re
import socket
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlparse

import datasets
import pandas as pd
import pyarrow as pa

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
_TEXT_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl")
_CSV_SUFFIXES = (".csv", ".tsv")
# Compressed text files: the suffix, and how to open the one file inside.
_COMPRESSED: dict[str, type[gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile] | None] = {
    ".gz": gzip.GzipFile,
    ".bz2": bz2.BZ2File,
    ".xz": lzma.LZMAFile,
    ".zip": None,
}
# What a damaged or cut-off archive raises while it is read.
_ARCHIVE_ERRORS = (EOFError, OSError, lzma.LZMAError, zipfile.BadZipFile, zlib.error)
Header = Literal["first_row", "none"]
# CSV/TSV files up to this size are parsed in memory; larger ones go through the `datasets`
# csv builder into a memory-mapped Arrow cache, so they never have to fit in memory at once.
IN_MEMORY_CSV_MB = 256
# Browser uploads: what the Data page accepts, and how large.
UPLOAD_SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".jsonl")
UPLOAD_LIMIT_MB = 50
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "pipes"}
NO_HUB = "use a local file or folder, an uploaded file, or an embedded sample"


def resolve_sample(source: str) -> Path | None:
    """`penguins` or `sample_data/penguins` -> absolute sample folder, else None."""
    name = source.removeprefix("sample_data/").strip("/")
    candidate = SAMPLES_DIR / name
    return candidate if name and "/" not in name and candidate.is_dir() else None


def is_hub_id(source: str) -> bool:
    """Whether `source` names a hub dataset (`name` or `owner/name`), not a sample or a local
    file or folder."""
    source = source.strip()
    if not source or resolve_sample(source) or Path(source).expanduser().exists():
        return False
    return source.count("/") <= 1 and not source.startswith((".", "/", "~"))


def _zip_member(path: Path) -> str:
    """The name of the one data file in a zip archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [
                n
                for n in archive.namelist()
                if not n.endswith("/") and not n.startswith("__MACOSX/")
            ]
    except (zipfile.BadZipFile, OSError) as error:
        raise _damaged(path, error) from None
    if len(names) != 1:
        listed = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        raise UserError(
            f"{path.name} holds {len(names)} files ({listed or 'none'}): the workbench reads one "
            "table per file; unzip it and choose one file (or a folder of them)"
        )
    return names[0]


def _open_inner(path: Path) -> IO[bytes] | io.BufferedIOBase:
    """The file's bytes, decompressed when it is an archive."""
    suffix = path.suffix.lower()
    if suffix not in _COMPRESSED:
        return path.open("rb")
    opener = _COMPRESSED[suffix]
    if opener is None:
        archive = zipfile.ZipFile(path)
        member = archive.open(_zip_member(path))
        archive.close()  # the member stays readable; closing it closes the file
        return member
    return opener(path, "rb")


def _damaged(path: Path, error: BaseException) -> UserError:
    detail = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
    return UserError(
        f"{path.name} is a damaged or incomplete archive ({detail}): download it "
        "again, or decompress it and use the inner file"
    )


def _head(path: Path, size: int = 65536) -> bytes:
    """The first `size` bytes of the file's (decompressed) content."""
    try:
        with _open_inner(path) as handle:
            return handle.read(size)
    except UserError:
        raise
    except _ARCHIVE_ERRORS as error:
        raise _damaged(path, error) from None


def _file_format(path: Path) -> str:
    """The suffix that decides how a file is read: its own, or for a compressed file that of
    the file inside (`x.csv.gz` -> `.csv`); without one, CSV vs JSON is told from the text."""
    suffix = path.suffix.lower()
    if suffix not in _COMPRESSED:
        return suffix
    inner = _zip_member(path) if suffix == ".zip" else path.stem
    inner_suffix = Path(inner).suffix.lower()
    if inner_suffix in _TEXT_SUFFIXES:
        return inner_suffix
    if inner_suffix in _FILE_BUILDERS:
        raise UserError(
            f"{path.name} holds a compressed {inner_suffix} file: decompress it "
            f"and use {Path(inner).name}"
        )
    return _sniff(path)


def _sniff(path: Path) -> str:
    """`.jsonl` for text that starts like JSON, `.tsv`/`.csv` for a tab/comma first line."""
    text = _head(path).decode("utf-8", errors="replace").lstrip()
    first = text.splitlines()[0] if text else ""
    if first.startswith(("{", "[")):
        return ".jsonl"
    if "\t" in first:
        return ".tsv"
    if "," in first:
        return ".csv"
    raise UserError(
        f"cannot tell whether {path.name} holds CSV or JSON: rename it with the "
        f"inner type, e.g. {path.stem}.csv{path.suffix} or {path.stem}.jsonl"
        f"{path.suffix}"
    )


def _check_text_file(path: Path, suffix: str) -> None:
    """Empty files and non-UTF-8 bytes get their own message before `datasets` sees them."""
    if path.stat().st_size == 0:
        raise UserError(f"{path.name} is empty (0 bytes): choose a file with a header and rows")
    if suffix not in _TEXT_SUFFIXES:
        return
    head = _head(path)
    if not head:
        raise UserError(f"{path.name} is empty (no rows inside): choose a file with rows")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the read boundary
            raise UserError(
                f"{path.name} has unreadable bytes (not UTF-8 text at byte {error.start}): "
                "save it as a UTF-8 CSV/JSON file, or pick the right file"
            ) from None
    if b"\x00" in head:
        raise UserError(
            f"{path.name} has unreadable bytes (binary content): save it as a UTF-8 text file"
        )


def _check_delimiter(path: Path, suffix: str, loaded: datasets.DatasetDict) -> None:
    """A CSV read as one column whose name holds `;`, tabs or `|` used another delimiter."""
    if suffix not in _CSV_SUFFIXES:
        return
    names = next(iter(loaded.values())).column_names
    if len(names) != 1:
        return
    for mark, word in _OTHER_DELIMITERS.items():
        if mark in names[0]:
            raise UserError(
                f"{path.name} was read as a single column '{names[0][:40]}': it seems to use "
                f"{word} as the delimiter; save it comma-separated (or as .tsv for tabs)"
            )


def _headerless_names(path: Path, sep: str, column_names: list[str] | None) -> list[str]:
    """Names for a file without a header: `column_names`, checked against the first row's
    field count, or c0..cN-1."""
    text = _head(path).decode("utf-8", errors="replace")
    first = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    if column_names is None:
        return [f"c{i}" for i in range(len(first))]
    if len(column_names) != len(first):
        raise UserError(
            f"data.column_names has {len(column_names)} names but {path.name} has "
            f"{len(first)} columns: give one name per column"
        )
    return [name.strip() for name in column_names]


def _load_file(
    path: Path, header: Header = "first_row", column_names: list[str] | None = None
) -> datasets.DatasetDict:
    suffix = _file_format(path)
    builder = _FILE_BUILDERS.get(suffix)
    if builder is None:
        known = ", ".join(sorted(_FILE_BUILDERS))
        raise UserError(
            f"cannot read {path.name}: unknown file type (use one of {known}, "
            "optionally compressed as .gz, .bz2, .xz or .zip)"
        )
    _check_text_file(path, suffix)
    name, builder_kwargs = builder
    kwargs: dict[str, Any] = dict(builder_kwargs)
    if name == "csv":
        kwargs["skipinitialspace"] = True
        if header == "none":
            names = _headerless_names(path, kwargs.get("sep", ","), column_names)
            kwargs |= {"header": None, "names": names}
    try:
        if name == "csv" and path.stat().st_size <= IN_MEMORY_CSV_MB * 2**20 / _ratio(path):
            loaded = _read_csv_in_memory(path, kwargs)
        else:
            loaded = datasets.load_dataset(name, data_files={"train": str(path)}, **kwargs)
            if name == "csv":
                loaded = _stripped(loaded)
    except ValueError as error:
        if "corresponds to no data" in str(error):
            raise UserError(f"{path.name} has a header but no rows: add data rows") from None
        raise
    except UserError:
        raise
    except _ARCHIVE_ERRORS as error:
        if path.suffix.lower() in _COMPRESSED:
            raise _damaged(path, error) from None
        raise
    _check_delimiter(path, suffix, loaded)
    return loaded


def _ratio(path: Path) -> int:
    """How much larger than the file its parsed table is taken to be (text compresses ~8x)."""
    return 8 if path.suffix.lower() in _COMPRESSED else 1


def _stripped(loaded: datasets.DatasetDict) -> datasets.DatasetDict:
    """Column names and string values without leading or trailing spaces."""
    loaded = loaded.rename_columns(
        {c: c.strip() for c in next(iter(loaded.values())).column_names if c != c.strip()}
    )
    features = next(iter(loaded.values())).features
    text = [
        c
        for c, f in features.items()
        if isinstance(f, datasets.Value) and f.dtype in ("string", "large_string")
    ]
    if not text:
        return loaded
    return loaded.map(
        lambda batch: {c: [v.strip() if isinstance(v, str) else v for v in batch[c]] for c in text},
        batched=True,
    )


def _read_csv_in_memory(path: Path, kwargs: dict[str, Any]) -> datasets.DatasetDict:
    """A small CSV parsed by pandas (the parser `datasets`' csv builder uses too) into an
    in-memory Dataset: the same columns and types, without writing an Arrow cache copy.
    Names and string values lose their leading and trailing spaces."""
    try:
        with _open_inner(path) as handle:
            frame = pd.read_csv(handle, **kwargs)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path.name} has no header and no rows: check the file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        first = str(error).strip().splitlines()[0][:160]
        raise UserError(
            f"cannot parse {path.name} ({first}): check its delimiter and quoting"
        ) from None
    if frame.empty:
        raise UserError(f"{path.name} has a header but no rows: add data rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].str.strip()
    # Fingerprint from the file's identity: hashing every row would cost more than parsing.
    stat = path.stat()
    identity = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{kwargs.get('names')}"
    fingerprint = hashlib.sha256(identity.encode())
    table = pa.Table.from_pandas(frame, preserve_index=False)
    dataset = datasets.Dataset(table, fingerprint=fingerprint.hexdigest()[:16])
    return datasets.DatasetDict({"train": dataset})


def _looks_numeric(name: str) -> bool:
    """`38`, `7.4`, and pandas' renamed repeats of them (`0.7.1`)."""
    for candidate in (name, re.sub(r"\.\d+$", "", name)):
        try:
            if math.isfinite(float(candidate)):
                return True
        except ValueError:
            continue
    return False


def header_warning(source: str, loaded: datasets.DatasetDict) -> str | None:
    """For a local CSV/TSV file read with its first row as the header: a message when that
    row looks like data (every name a number, or a number naming every numeric column)."""
    path = resolve_sample(source) or Path(source.strip()).expanduser()
    if not path.is_file() or _file_format(path) not in _CSV_SUFFIXES:
        return None
    split = next(iter(loaded.values()))
    names = split.column_names
    numeric = [
        c
        for c, f in split.features.items()
        if isinstance(f, datasets.Value) and f.dtype.startswith(("int", "uint", "float"))
    ]
    if not (all(map(_looks_numeric, names)) or (numeric and all(map(_looks_numeric, numeric)))):
        return None
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return (
        f"the first row of {path.name} looks like data, not a header (columns named "
        f"{shown}): if the file has no header, set data.header: none (and optionally "
        "data.column_names: [...]) so that the row is read as data"
    )


def _load_folder(path: Path, config: str | None) -> datasets.DatasetDict:
    if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
        loaded = datasets.load_from_disk(str(path))
        return (
            loaded
            if isinstance(loaded, datasets.DatasetDict)
            else datasets.DatasetDict({"train": loaded})
        )
    return datasets.load_dataset(str(path), config)


HUB_CONNECT_TIMEOUT_S = 3.0


def hub_reachable(endpoint: str | None = None, timeout: float = HUB_CONNECT_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub opens within `timeout`. Without this check a
    machine with no network waits through huggingface_hub's retries (about 30 s) before
    failing."""
    from huggingface_hub import constants

    url = urlparse(endpoint or constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def _require_hub(source: str) -> None:
    """Fail fast, with the hub's one-line message, when the hub cannot be reached (in offline
    mode `datasets` fails fast by itself)."""
    if not datasets.config.HF_HUB_OFFLINE and not hub_reachable():
        raise UserError(hub_message(source, ConnectionError("no connection to the hub")))


def _hub_only(source: str, revision: str | None) -> None:
    """A revision names a version of a hub dataset; a local source has none."""
    if revision is not None:
        raise UserError(
            f"a revision ('{revision}') only applies to datasets on the Hugging Face "
            f"hub, and {source} is local: remove the revision"
        )


def hub_message(source: str, error: Exception, revision: str | None = None) -> str:
    """One line for the hub's failures (see apis.md 4.3): which one it is, and what to do."""
    text = str(error)
    if "gated" in text:
        return (
            f"'{source}' is a gated dataset: accept its terms on its page on the hub, then "
            "log in here with `hf auth login`"
        )
    if text.startswith("Revision"):
        return (
            f"'{source}' has no revision '{revision or 'main'}' on the Hugging Face hub: check the "
            "branch, tag or commit, or leave the revision empty for the latest version"
        )
    if isinstance(error, ConnectionError) or "OfflineModeIsEnabled" in text or "reach" in text:
        return (
            f"cannot reach the Hugging Face hub for '{source}' (no network or offline mode): "
            f"{NO_HUB}"
        )
    return (
        f"'{source}' is neither a local file or folder nor a dataset on the Hugging Face hub "
        "(or it is private): check the spelling or path"
    )


def _read_error(source: str, error: Exception) -> UserError:
    cause = error.__cause__ or error.__context__
    detail = f"{type(cause).__name__}: {cause}" if cause else f"{type(error).__name__}: {error}"
    detail = detail.splitlines()[0][:200] if detail else type(error).__name__
    return UserError(f"cannot read {source} ({detail}): check that the file is well formed")


def load_source(
    source: str,
    config: str | None = None,
    revision: str | None = None,
    header: Header = "first_row",
    column_names: list[str] | None = None,
) -> datasets.DatasetDict:
    """Load `source` as a DatasetDict (memory-mapped Arrow); `revision` (a branch, tag or
    commit) for a hub dataset; `header` and `column_names` for a local CSV/TSV file (see
    `DataConfig`). Raises UserError with a readable message for every failure."""
    source = source.strip()
    if not source:
        raise UserError("no data source given: pick a sample, a file or a hub id")
    sample = resolve_sample(source)
    path = sample or Path(source).expanduser()
    try:
        if path.is_file():
            _hub_only(source, revision)
            loaded = _load_file(path, header, column_names)
        elif path.is_dir():
            _hub_only(source, revision)
            loaded = _load_folder(path.resolve(), config)
        elif not is_hub_id(source):
            raise UserError(f"no such file or folder: {source}")
        else:
            _require_hub(source)
            loaded = datasets.load_dataset(source, config, revision=revision)
    except UserError:
        raise
    except (FileNotFoundError, ConnectionError) as error:
        if path.exists():
            raise UserError(f"no readable data files in {source}: {error}") from None
        raise UserError(hub_message(source, error, revision)) from None
    except ValueError as error:
        if "BuilderConfig" in str(error) or "config" in str(error).lower():
            raise UserError(f"'{source}' has no config '{config}': {error}") from None
        raise UserError(f"cannot read {source}: {error}") from None
    except Exception as error:  # datasets/pyarrow parse errors have many types
        raise _read_error(source, error) from None
    if not isinstance(loaded, datasets.DatasetDict):
        loaded = datasets.DatasetDict({"train": loaded})
    if all(len(split) == 0 for split in loaded.values()):
        raise UserError(f"{source} has no rows: check the file")
    return loaded


def config_names(source: str, revision: str | None = None) -> list[str]:
    """Config names of a hub dataset or a local folder with a dataset card ([] for a file)."""
    sample = resolve_sample(source)
    path = sample or Path(source).expanduser()
    if path.is_file():
        return []
    if not path.is_dir():
        _require_hub(source)
    try:
        if path.is_dir():
            return list(datasets.get_dataset_config_names(str(path)))
        return list(datasets.get_dataset_config_names(source, revision=revision))
    except (FileNotFoundError, ConnectionError) as error:
        raise UserError(hub_message(source, error, revision)) from None
    except Exception as error:  # a malformed card or an unusual hub answer
        raise _read_error(source, error) from None


def split_names(source: str, config: str | None = None, revision: str | None = None) -> list[str]:
    """Split names of a hub dataset or a local folder."""
    sample = resolve_sample(source)
    path = sample or Path(source).expanduser()
    if path.is_file():
        return ["train"]
    if not path.is_dir():
        _require_hub(source)
    try:
        if path.is_dir():
            return list(datasets.get_dataset_split_names(str(path), config_name=config))
        return list(datasets.get_dataset_split_names(source, config_name=config, revision=revision))
    except (FileNotFoundError, ConnectionError) as error:
        raise UserError(hub_message(source, error, revision)) from None
    except Exception as error:
        raise _read_error(source, error) from None


def safe_filename(name: str) -> str:
    """A file name without folders or odd characters: `../../a b.csv` -> `a_b.csv`."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem if dot else base).strip("_") or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix) if dot else ""
    return f"{stem[:80]}.{suffix.lower()}" if suffix else stem[:80]


def save_upload(name: str, content: bytes, folder: Path | None = None) -> Path:
    """Write an uploaded file under a temp folder with a sanitised name; the file is only
    ever parsed as data (never executed, never unpickled)."""
    clean = safe_filename(name)
    if not clean.endswith(UPLOAD_SUFFIXES):
        raise UserError(f"cannot use {clean}: upload one of {', '.join(UPLOAD_SUFFIXES)}")
    if len(content) > UPLOAD_LIMIT_MB * 1024 * 1024:
        raise UserError(f"{clean} is larger than {UPLOAD_LIMIT_MB} MB: use a local path instead")
    # One folder per content hash: the same upload maps to the same path (and cache entry).
    digest = hashlib.sha256(content).hexdigest()[:16]
    target = Path(folder or Path(tempfile.gettempdir()) / "mtl-uploads") / digest / clean
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target
