"""`samples`: list the embedded datasets."""

from __future__ import annotations

import argparse

from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_json_argument
from mtl_core.cli.output import print_json, print_table
from mtl_core.samples import list_samples


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser("samples", help="list embedded datasets")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    samples = list_samples()
    if args.json:
        print_json(
            [
                {
                    "name": s.name,
                    "path": str(s.path),
                    "description": s.description,
                    "license": s.license,
                    "configs": s.configs,
                    "suggested_tasks": s.suggested_tasks,
                }
                for s in samples
            ]
        )
    else:
        print_table(
            [{"name": s.name, "description": s.description} for s in samples],
            ["name", "description"],
        )
    return 0
