"""The embedded sample datasets in sample_data/: where they are and what their cards say."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mtl_core.errors import UserError

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "sample_data"


@dataclass(frozen=True)
class SampleInfo:
    name: str
    path: Path
    description: str
    license: str
    configs: list[str] = field(default_factory=list)
    suggested_tasks: list[str] = field(default_factory=list)


def _card_header(card: Path) -> dict:
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    if not text.startswith("---"):
        return {}
    header = text.split("---", 2)[1]
    return yaml.safe_load(header) or {}


def _info(folder: Path) -> SampleInfo:
    header = _card_header(folder / "README.md")
    configs = [c["config_name"] for c in header.get("configs", []) if "config_name" in c]
    return SampleInfo(
        name=folder.name,
        path=folder,
        description=str(header.get("description", header.get("pretty_name", folder.name))),
        license=str(header.get("license", "unknown")),
        configs=configs,
        suggested_tasks=list(header.get("suggested_tasks", [])),
    )


def list_samples() -> list[SampleInfo]:
    """Every folder of sample_data/ that has a dataset card, by name."""
    return [
        _info(folder)
        for folder in sorted(SAMPLES_DIR.iterdir())
        if folder.is_dir() and (folder / "README.md").is_file()
    ]


def sample_path(name: str) -> Path:
    folder = SAMPLES_DIR / name
    if not name or "/" in name or not (folder / "README.md").is_file():
        names = ", ".join(s.name for s in list_samples())
        raise UserError(f"no embedded sample '{name}' (available: {names})")
    return folder
