"""`runs`: list stored runs."""

from __future__ import annotations

import argparse

from mtl_core.analysis.verdicts import format_delta
from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_json_argument, add_runs_dir_argument
from mtl_core.cli.output import print_json, print_table
from mtl_core.runs import RunStore


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser("runs", help="list stored runs")
    add_runs_dir_argument(parser)
    parser.add_argument(
        "--all", action="store_true", help="also list the stored single-task baselines"
    )
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    runs = RunStore(args.runs_dir).list_runs(include_baselines=args.all)
    if args.json:
        print_json(runs)
        return 0
    rows = [
        {
            **r,
            "delta_m": format_delta(
                (r["summary"] or {}).get("delta_m"), (r["summary"] or {}).get("delta_m_ci")
            ),
        }
        for r in runs
    ]
    print_table(
        rows, ["id", "status", "source", "architecture", "weighting", "tasks", "seconds", "delta_m"]
    )
    return 0
