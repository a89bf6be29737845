"""`inspect SOURCE`: columns, inferred roles and task kinds, row counts per split; with
`--tasks a,b,...` also the task statistics and the label association matrix."""

from __future__ import annotations

import argparse
from typing import Any

from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_json_argument
from mtl_core.cli.output import print_json, print_table
from mtl_core.config import config_from_dict


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser("inspect", help="columns, inferred roles and task kinds")
    parser.add_argument("source", help="sample name, local file/folder, or hub id")
    parser.add_argument("--config", default=None, help="dataset config name")
    parser.add_argument(
        "--revision",
        default=None,
        help="branch, tag or commit of a hub dataset (default: its latest)",
    )
    parser.add_argument(
        "--tasks", default=None, help="comma-separated target columns: add task statistics"
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=None,
        help="seeded sample of at most this many rows for --tasks",
    )
    parser.add_argument(
        "--header",
        choices=["first_row", "none"],
        default="first_row",
        help="CSV/TSV: none reads the first row as data (data.header)",
    )
    parser.add_argument(
        "--column-names", default=None, help="comma-separated names for a file without a header"
    )
    add_json_argument(parser)
    parser.set_defaults(run=run)


def _task_report(args: argparse.Namespace) -> dict[str, Any]:
    from mtl_core.data.inspect import inspect_tasks

    columns = [c.strip() for c in args.tasks.split(",") if c.strip()]
    config = config_from_dict(
        {
            "data": {
                "source": args.source,
                "config": args.config,
                "revision": args.revision,
                "max_rows": args.max_rows,
                "header": args.header,
                "column_names": _column_names(args),
                "tasks": [{"name": c, "column": c} for c in columns],
            }
        }
    )
    return inspect_tasks(config.data)


def _column_names(args: argparse.Namespace) -> list[str] | None:
    return None if args.column_names is None else args.column_names.split(",")


def run(args: argparse.Namespace) -> int:
    from mtl_core.data.inspect import inspect_source  # loads `datasets`: only when needed

    report: dict[str, Any] = inspect_source(
        args.source,
        args.config,
        revision=args.revision,
        header=args.header,
        column_names=_column_names(args),
    )
    if args.tasks:
        report["tasks"] = _task_report(args)
    if args.json:
        print_json(report)
        return 0
    print(f"{report['source']}: " + ", ".join(f"{k} {v} rows" for k, v in report["splits"].items()))
    print_table(report["columns"], ["column", "role", "type", "task_kind", "missing", "reason"])
    if report["header_warning"]:
        print(f"warning: {report['header_warning']} (here: --header none)")
    if args.tasks:
        tasks = report["tasks"]
        print()
        print_table(tasks["task_statistics"], ["task", "kind", "labelled", "missing_share"])
        association = tasks["association"]
        print()
        rows = [
            {"task": name, **dict(zip(association["tasks"], values, strict=True))}
            for name, values in zip(association["tasks"], association["values"], strict=True)
        ]
        print_table(rows, ["task", *association["tasks"]])
        for stats in tasks["task_statistics"]:
            for warning in stats["warnings"]:
                print(f"warning: {warning}")
        for warning in tasks["input_warnings"]:
            print(f"warning: {warning}")
    return 0
