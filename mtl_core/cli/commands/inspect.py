"""`inspect SOURCE`: columns, inferred roles and task kinds, row counts per split."""

from __future__ import annotations

from typing import Any

from mtl_core.cli.output import print_json, print_table
from mtl_core.data.inspect import inspect_source


def add_parser(commands) -> None:
    parser = commands.add_parser("inspect", help="columns, inferred roles and task kinds")
    parser.add_argument("source", help="sample name, local file/folder, or hub id")
    parser.add_argument("--config", default=None, help="dataset config name")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args) -> int:
    report: dict[str, Any] = inspect_source(args.source, args.config)
    if args.json:
        print_json(report)
        return 0
    print(f"{report['source']}: " + ", ".join(f"{k} {v} rows" for k, v in report["splits"].items()))
    print_table(report["columns"], ["column", "role", "type", "task_kind", "missing", "reason"])
    return 0
