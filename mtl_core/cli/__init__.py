"""`python -m mtl_core ...`: one module per command, each with `add_parser` and `run`."""

from __future__ import annotations

import argparse
from typing import TypeAlias

# What a command's `add_parser(commands)` receives: the top-level parser's subcommands.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
