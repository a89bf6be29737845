"""The embedded sample datasets in sample_data/: where they are and what their cards say.

Each sample is a folder that `datasets.load_dataset(str(path), config)` loads offline:
data files (CSV or Parquet) plus a dataset card, README.md, whose YAML header gives the
description, license, columns, suggested tasks and the configs with their data files.
`sample_data/build_samples.py` rebuilds the data files from their origins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mtl_core.errors import UserError

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "sample_data"
CARD_NAME = "README.md"
HEADER_FENCE = "---"


@dataclass(frozen=True)
class SampleInfo:
    """What a sample's card says about it. `configs` lists the default config first."""

    name: str
    path: Path
    description: str
    license: str
    configs: list[str] = field(default_factory=list)
    suggested_tasks: list[str] = field(default_factory=list)
    default_config: str | None = None


def card_header(card: Path) -> dict:
    """The YAML header of a dataset card, {} when the card has none."""
    lines = card.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != HEADER_FENCE:
        return {}
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == HEADER_FENCE)
    except StopIteration:
        return {}
    header = yaml.safe_load("\n".join(lines[1:end]))
    return header if isinstance(header, dict) else {}


def _default_config(configs: list[dict]) -> str | None:
    named = [c for c in configs if "config_name" in c]
    chosen = next((c for c in named if c.get("default")), named[0] if named else None)
    return chosen["config_name"] if chosen else None


def _info(folder: Path) -> SampleInfo:
    header = card_header(folder / CARD_NAME)
    declared = [c for c in header.get("configs") or [] if isinstance(c, dict)]
    default = _default_config(declared)
    names = [c["config_name"] for c in declared if "config_name" in c]
    return SampleInfo(
        name=folder.name,
        path=folder,
        description=str(header.get("description") or header.get("pretty_name") or folder.name),
        license=str(header.get("license", "unknown")),
        configs=sorted(names, key=lambda name: name != default),
        suggested_tasks=[str(task) for task in header.get("suggested_tasks") or []],
        default_config=default,
    )


def _sample_folders() -> list[Path]:
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(f for f in SAMPLES_DIR.iterdir() if f.is_dir() and (f / CARD_NAME).is_file())


def list_samples() -> list[SampleInfo]:
    """Every folder of sample_data/ that has a dataset card, sorted by name."""
    return [_info(folder) for folder in _sample_folders()]


def sample_path(name: str) -> Path:
    """Absolute folder of the sample `name`; UserError naming the available samples."""
    folder = SAMPLES_DIR / name
    if not name or "/" in name or "\\" in name or folder not in _sample_folders():
        available = ", ".join(f.name for f in _sample_folders()) or "none"
        raise UserError(f"no embedded sample '{name}': available samples are {available}")
    return folder
