"""Import every module of a package, so that each registers itself (architectures,
weighting methods, CLI commands): adding one is adding one file."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def import_all(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    return [
        importlib.import_module(f"{package}.{info.name}")
        for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name)
        if not info.name.startswith("_")
    ]
