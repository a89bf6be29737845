"""`affinity RUN`: a stored run's task-affinity and gradient matrices, the compact pair
table with what is a signal and what is within noise, per task the measured verdict with
its delta and interval, the grouping suggestion with its reasons, and the warnings."""

from __future__ import annotations

import argparse

from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_json_argument, add_runs_dir_argument
from mtl_core.cli.output import format_number, print_json, print_table
from mtl_core.runs import RunStore


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser(
        "affinity", help="affinity and gradient-conflict matrices, verdicts, grouping, warnings"
    )
    parser.add_argument("run_id", metavar="RUN", help="run id (see `python -m mtl_core runs`)")
    parser.add_argument(
        "--groups",
        type=int,
        default=None,
        help="at most this many groups in the suggestion (default: the "
        "run's analysis.max_groups, else one per task)",
    )
    add_runs_dir_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(run=run)


def _print_matrix(title: str, tasks: list[str], values: list[list[float | None]]) -> None:
    print(f"\n{title}")
    rows = [
        {"row \\ column": task, **{c: format_number(v) for c, v in zip(tasks, row, strict=True)}}
        for task, row in zip(tasks, values, strict=True)
    ]
    print_table(rows, ["row \\ column", *tasks])


def run(args: argparse.Namespace) -> int:
    from mtl_core.analysis.run_affinity import analyse_run
    from mtl_core.viz.affinity import pair_rows

    result = analyse_run(RunStore(args.runs_dir), args.run_id, args.groups)
    if args.json:
        print_json(result.to_json())
        return 0
    report = result.report
    print(
        f"run {result.run_id} ({result.status}): {report.probes} probes every {report.every} "
        f"steps, {report.optimizer} lr={report.lr:g}. Entries: effect of the column task on "
        "the row task."
    )
    print("\nmeasured per task (delta: positive = multi-task better):")
    for task in result.measured.values():
        print(f"  {task.task} ({task.metric}): {task.label}")
    for name, title in [
        ("lookahead", "lookahead affinity Z(column -> row)"),
        ("cosine", "gradient cosine"),
        ("conflict_rate", "gradient conflict rate (share of steps, cos < 0)"),
        ("magnitude_similarity", "gradient magnitude similarity"),
    ]:
        _print_matrix(title, report.tasks, report.mean[name].values)
    print("\ntask pairs (mean ± standard error over probes):")
    rows = pair_rows(result.pairs)
    print_table(rows, list(rows[0]) if rows else ["pair"])
    print(
        f"\ngrouping suggestion (at most {result.max_groups} groups):"
        + (f" none: {result.grouping_error}" if result.grouping_error else "")
    )
    for candidate in result.groupings[:5]:
        groups = " | ".join(", ".join(g) for g in candidate.groups)
        print(f"  score {candidate.score:+.4g}: {groups}")
        for reason in candidate.reasons:
            print(f"    - {reason}")
    if result.measured_check:
        print(f"  {result.measured_check}")
    print()
    for warning in result.warnings:
        print(f"{warning.level.upper()} ({warning.kind}): {warning.message}")
    return 0
