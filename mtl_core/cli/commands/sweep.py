"""`sweep CONFIG`: train every subset (or singles and pairs) of the experiment's tasks and
report, per task and partner set, Δ with its interval and verdict, and the grouping from
the measured pairs. Ctrl-C stops it and keeps the finished runs."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING

from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_config_arguments, add_json_argument, add_runs_dir_argument
from mtl_core.cli.output import format_number, print_json, print_table
from mtl_core.config import load_config
from mtl_core.runs import RunStore

if TYPE_CHECKING:  # the sweep loads torch: imported when the command runs
    from mtl_core.sweep.run import SweepResult


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser("sweep", help="task-combination sweep")
    add_config_arguments(parser, "analysis.sweep=all")
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local process pool (default) or Ray",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster address (with --engine ray; default: a local Ray)",
    )
    add_runs_dir_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(run=run)


def _progress(result: SweepResult) -> None:
    last = result.runs[-1]
    detail = f" ({last.error})" if last.error else ""
    print(
        f"[{result.done}/{result.total}] {' + '.join(last.subset)}: {last.status}{detail}",
        file=sys.stderr,
    )


def run(args: argparse.Namespace) -> int:
    from mtl_core.sweep import run_sweep
    from mtl_core.sweep.results import sweep_report, transfer_rows

    config = load_config(args.config, args.set)
    store, stop = RunStore(args.runs_dir), threading.Event()
    try:
        result = run_sweep(
            config,
            store,
            args.engine,
            args.address,
            on_progress=None if args.json else _progress,
            stop=stop,
        )
    except KeyboardInterrupt:
        stop.set()
        print("interrupted: finished runs are kept in the store", file=sys.stderr)
        return 130
    report = sweep_report(result, config.analysis.max_groups)
    if args.json:
        print_json(report)
        return 0
    print(
        f"sweep ({report['mode']}, {report['engine']}): {report['done']}/{report['total']} "
        f"runs{' (stopped)' if report['stopped'] else ''}. Δ: positive = better than alone."
    )
    rows = [
        {**row, "delta": f"{row['delta']:+.1%}" if row["delta"] is not None else "none"}
        for row in transfer_rows(report)
    ]
    print_table(rows, ["task", "partners", "delta", "delta_ci", "verdict"])
    for task, helpers in report["helped_by"].items():
        hurting = report["hurt_by"][task]
        print(
            f"{task}: helped by {', '.join(helpers) or 'no partner'}; hurt by "
            f"{', '.join(hurting) or 'no partner'} (verdicts: 95% interval and 3 seeds)"
        )
    if report["grouping"]:
        best = report["grouping"]["candidates"][0]
        groups = " | ".join(" + ".join(g) for g in best["groups"])
        print(f"suggested groups (score {format_number(best['score'])}): {groups}")
        overrides = "".join(f" --set {item}" for item in args.set)
        print(
            f"  ({report['grouping']['method']}); check it with: python -m mtl_core verify "
            f"{args.config}{overrides} --groups "
            f'"{",".join("+".join(g) for g in best["groups"])}"'
        )
    return 0
