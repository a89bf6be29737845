"""Parse the command line, dispatch to a command module, and turn user errors into one
line on stderr with exit status 2 (never a traceback; MTL_DEBUG=1 shows one)."""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from mtl_core.errors import UserError
from mtl_core.plugins import import_all

# Commands are the modules of mtl_core/cli/commands/, each with `add_parser(subparsers)` and
# `run(args) -> int`; this is the order `--help` lists them in (others follow by name).
COMMAND_ORDER = (
    "samples",
    "inspect",
    "train",
    "runs",
    "affinity",
    "sweep",
    "verify",
    "explain",
    "bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mtl_core", description="MTL Workbench: multi-task learning from the CLI."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = import_all("mtl_core.cli.commands")
    rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
    for module in sorted(
        modules, key=lambda m: (rank.get(m.__name__.rsplit(".", 1)[-1], 99), m.__name__)
    ):
        module.add_parser(commands)
    return parser


def quiet_libraries() -> None:
    """Keep stdout clean for --json and stderr free of progress bars. Set through the
    environment, so that commands which never load `datasets` do not pay for importing it."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("DATASETS_VERBOSITY", "error")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet_libraries()
    try:
        return args.run(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("MTL_DEBUG"):
            traceback.print_exc()
        print(
            f"internal error ({type(error).__name__}: {error}); rerun with MTL_DEBUG=1 "
            "for details and please report it",
            file=sys.stderr,
        )
        return 1
