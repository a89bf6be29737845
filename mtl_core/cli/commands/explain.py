"""`explain RUN`: Captum attributions of a stored run's shared features per task: which units
each task relies on, how similar the tasks' unit profiles are, which inputs each task uses,
and (with --unit) which inputs drive a unit; with the completeness delta of each."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

import numpy as np

from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_json_argument, add_runs_dir_argument
from mtl_core.cli.output import format_number, print_json, print_table
from mtl_core.errors import UserError
from mtl_core.runs import RunStore

if TYPE_CHECKING:
    from mtl_core.analysis.explain import Explanation

TOP = 5


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser("explain", help="attributions of the shared features per task")
    parser.add_argument("run_id", metavar="RUN", help="a stored run id (see `runs`)")
    parser.add_argument("--samples", type=int, default=256, help="examples to explain")
    parser.add_argument(
        "--steps", type=int, default=50, help="integration steps (raise it when the delta is large)"
    )
    parser.add_argument(
        "--baseline",
        default="zeros",
        help="reference input: zeros, mean (training mean) or blur (images)",
    )
    parser.add_argument(
        "--task",
        action="append",
        default=None,
        metavar="TASK",
        help="explain only this task (repeatable; default: all)",
    )
    parser.add_argument(
        "--class",
        dest="classes",
        action="append",
        default=[],
        metavar="TASK=CLASS",
        help="explain this class of a multiclass task (default: predicted)",
    )
    parser.add_argument(
        "--by-class", action="store_true", help="one unit profile per class of each multiclass task"
    )
    parser.add_argument(
        "--smoothgrad",
        type=int,
        default=0,
        metavar="K",
        help="average input attributions over K noisy copies (SmoothGrad)",
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.15,
        help="SmoothGrad noise, as a fraction of the inputs' std",
    )
    parser.add_argument(
        "--unit",
        type=int,
        action="append",
        default=[],
        help="also show which inputs drive this unit (repeatable)",
    )
    parser.add_argument("--split", default=None, help="split to sample (default: test)")
    parser.add_argument(
        "--batch-size", type=int, default=4096, help="interpolated rows per pass (bounds memory)"
    )
    add_runs_dir_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(run=run)


def _classes(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    parsed = []
    for pair in pairs:
        task, sep, label = pair.partition("=")
        if not sep or not task or not label:
            raise UserError(f"--class expects TASK=CLASS, got '{pair}'")
        parsed.append((task, label))
    return tuple(parsed)


def _progress(fraction: float, message: str) -> None:
    print(f"\r{fraction:4.0%} {message:<40}", end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    # Captum and torch load here, not when the CLI builds its parser.
    from mtl_core.analysis.explain import ExplainOptions, run_explainer

    options = ExplainOptions(
        samples=args.samples,
        n_steps=args.steps,
        baseline=args.baseline,
        tasks=tuple(args.task) if args.task else None,
        classes=_classes(args.classes),
        by_class=args.by_class,
        smoothgrad=args.smoothgrad,
        noise=args.noise,
        internal_batch_size=args.batch_size,
        split=args.split,
    )
    explainer = run_explainer(RunStore(args.runs_dir), args.run_id, options)
    progress = None if args.json else _progress
    for unit in args.unit:
        explainer.check_unit(unit)
    explanation = explainer.explain(progress)
    for unit in args.unit:
        explainer.add_drivers(explanation, unit, progress)
    if progress:
        print(file=sys.stderr)
    if args.json:
        print_json(explanation.to_json())
    else:
        _print_report(explanation)
    return 0


def _print_report(explanation: Explanation) -> None:
    units = explanation.units
    print(
        f"run {explanation.run_id} ({explanation.architecture}): {len(explanation.x)} "
        f"{explanation.split} examples, {explanation.options.n_steps} steps, baseline "
        f"{explanation.options.baseline}, on {explanation.device} in "
        f"{explanation.seconds:.1f}s"
    )
    print("\ncompleteness (delta = sum of attributions - (F(x) - F(baseline))):")
    rows = [
        {
            "attribution": f"units -> {r}",
            "relative": c.relative,
            "mean |delta|": c.mean_abs_delta,
            "more steps?": c.needs_more_steps,
        }
        for r, c in zip(units.rows, units.completeness, strict=True)
    ]
    rows += [
        {
            "attribution": f"inputs -> {t}",
            "relative": a.completeness.relative,
            "mean |delta|": a.completeness.mean_abs_delta,
            "more steps?": a.completeness.needs_more_steps,
        }
        for t, a in explanation.inputs.items()
    ]
    rows += [
        {
            "attribution": f"experts ({level.title}) -> {t}",
            "relative": c.relative,
            "mean |delta|": c.mean_abs_delta,
            "more steps?": c.needs_more_steps,
        }
        for level in explanation.experts
        for t, c in zip(level.tasks, level.completeness, strict=True)
    ]
    print_table(rows, ["attribution", "mean |delta|", "relative", "more steps?"])
    if any(r["more steps?"] for r in rows):
        print("some deltas are large: rerun with a larger --steps")
    kind = "shared" if units.shared else "per-task (same positions)"
    print(
        f"\ntop units of the {kind} representation ({units.importance.shape[1]} units), "
        "share of each task's attribution:"
    )
    for row, share in zip(units.rows, units.share, strict=True):
        top = np.argsort(-share, kind="stable")[:TOP]
        print(f"  {row}: " + ", ".join(f"u{u} {share[u]:.2f}" for u in top))
    print("\nsimilarity of the unit profiles (cosine):")
    similarity = units.similarity
    print_table(
        [
            {"": a, **{b: float(similarity[i, j]) for j, b in enumerate(units.rows)}}
            for i, a in enumerate(units.rows)
        ],
        ["", *units.rows],
    )
    for level in explanation.experts:
        print(f"\nshare of each task's attribution through each expert ({level.title}):")
        print_table(
            [
                {"": task, **dict(zip(level.experts, map(float, share), strict=True))}
                for task, share in zip(level.tasks, level.share, strict=True)
            ],
            ["", *level.experts],
        )
    if explanation.input_kind == "tabular":
        print("\ntop inputs per task (mean |integrated gradients|):")
        for task, attribution in explanation.inputs.items():
            _print_top(task, attribution.mean_abs(), explanation.feature_names)
        for unit, per_task in explanation.drivers.items():
            print(f"\ninputs that drive unit {unit} (mean |neuron conductance|):")
            for task, values in per_task.items():
                _print_top(task, np.abs(values).mean(axis=0), explanation.feature_names)
    else:
        print(
            f"\n{explanation.input_kind} inputs: per-task attribution maps are in --json "
            "and on the Explain page"
        )


def _print_top(task: str, values: np.ndarray, names: list[str]) -> None:
    top = np.argsort(-values, kind="stable")[:TOP]
    print(f"  {task}: " + ", ".join(f"{names[i]} {format_number(float(values[i]))}" for i in top))
