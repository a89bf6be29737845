"""`verify CONFIG --groups "a+b,c"`: train the grouping against all tasks together and each
task alone (at least 3 seeds each) and report Δm of each against all separate, and of the
grouping against all together, with 95% intervals; the winner only when its interval
excludes 0. Ctrl-C stops it and keeps the finished runs."""

from __future__ import annotations

import argparse
import sys

from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_config_arguments, add_json_argument, add_runs_dir_argument
from mtl_core.cli.output import print_json, print_table
from mtl_core.config import load_config
from mtl_core.runs import RunStore


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser(
        "verify", help="check a grouping against all together and all separate"
    )
    add_config_arguments(parser, "train.epochs=20")
    parser.add_argument(
        "--groups",
        required=True,
        help='the grouping: tasks joined by +, groups by commas, e.g. "a+b,c"',
    )
    add_runs_dir_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(run=run)


def _progress(done: int, total: int, step: str) -> None:
    print(f"[{done}/{total}] {step}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from mtl_core.sweep.verify import (
        check_groups,
        parse_groups,
        verify_grouping,
        verify_rows,
    )

    config = load_config(args.config, args.set)
    groups = parse_groups(args.groups)
    check_groups(config, groups)
    result = verify_grouping(
        config, groups, RunStore(args.runs_dir), on_progress=None if args.json else _progress
    ).to_json()
    if args.json:
        print_json(result)
        return 0
    print(
        f"{result['seeds']} seeds, {result['test_rows']} {result['split']} rows; "
        "Δm positive = better than what it is against"
    )
    rows = [
        {**row, "delta_m": f"{row['delta_m']:+.1%}" if row["delta_m"] is not None else "none"}
        for row in verify_rows(result)
    ]
    print_table(rows, ["arrangement", "groups", "against", "delta_m", "interval"])
    print(result["conclusion"])
    return 0
