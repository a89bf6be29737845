"""`train CONFIG`: train, compare with single-task baselines, store the run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_config_arguments, add_json_argument, add_runs_dir_argument
from mtl_core.cli.output import print_json, print_table
from mtl_core.config import load_config
from mtl_core.runs import RunStore


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser("train", help="train; prints per-task metrics; stores the run")
    add_config_arguments(parser, "train.epochs=5")
    add_runs_dir_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(run=run)


def _progress(event: dict[str, Any]) -> None:
    if event["type"] == "epoch":
        losses = " ".join(f"{k}={v['loss']:.4f}" for k, v in event["val"].items())
        print(f"epoch {event['epoch']}/{event['epochs']}  val loss: {losses}", file=sys.stderr)
    elif event["type"] == "seed":
        print(
            f"training the multi-task model again: seed {event['seed']} of {event['seeds']} ...",
            file=sys.stderr,
        )
    elif event["type"] == "baselines":
        print(
            f"training single-task baselines ({event.get('seeds', 1)} seed(s) each) ...",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    from mtl_core.experiment import run_experiment
    from mtl_core.viz.evidence import delta_m_text, verdict_rows
    from mtl_core.viz.training import times_text

    config = load_config(args.config, args.set)
    summary = run_experiment(
        config, RunStore(args.runs_dir), on_event=None if args.json else _progress
    )
    if args.json:
        print_json(summary)
        return 0
    print(
        f"run {summary['run_id']}: {times_text(summary)}, on {summary['device']} "
        f"({summary['steps_per_second']:.0f} steps/s, {summary['threads']} CPU thread(s)); "
        f"{summary['split']} metrics"
    )
    rows = []
    for name, task in summary["tasks"].items():
        rows.append({"task": name, "kind": task["kind"], **task["metrics"]})
    columns = [
        "task",
        "kind",
        "accuracy",
        "macro_f1",
        "roc_auc",
        "pr_auc",
        "f1",
        "mse",
        "mae",
        "r2",
    ]
    print_table(rows, [c for c in columns if any(c in r for r in rows)])
    if any(task.get("baseline_metrics") for task in summary["tasks"].values()):
        print()
        verdicts = verdict_rows(summary)
        print_table(verdicts, list(verdicts[0]))
        print(
            f"{delta_m_text(summary)} (positive = MTL better; 95% intervals over the test "
            "rows and seeds)"
        )
        print(f"seeds: {summary['noise']['seeds_reason']}")
    for warning in summary["warnings"]:
        print(f"warning: {warning}")
    return 0
