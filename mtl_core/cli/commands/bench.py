"""`bench`: run the benchmarks in benchmarks/ (each `bench_*.py` exposes `run(quick)`), and
print their ratios against the reference measured in the same run."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from mtl_core.cli import Commands
from mtl_core.cli.arguments import add_json_argument
from mtl_core.cli.output import print_json
from mtl_core.errors import UserError

BENCH_DIR = Path(__file__).resolve().parents[3] / "benchmarks"


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser("bench", help="the benchmarks in benchmarks/")
    parser.add_argument("names", nargs="*", help="benchmark names (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"benchmarks.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot load the benchmark {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args: argparse.Namespace) -> int:
    available = {p.stem.removeprefix("bench_"): p for p in sorted(BENCH_DIR.glob("bench_*.py"))}
    unknown = [n for n in args.names if n not in available]
    if unknown:
        raise UserError(f"no benchmark '{unknown[0]}' (have: {', '.join(available)})")
    results = {}
    for name in args.names or list(available):
        if not args.json:
            print(f"running {name} ...", file=sys.stderr)
        results[name] = _load(available[name]).run(quick=args.quick)
        if not args.json:
            print(f"{name}:")
            for key, value in results[name].items():
                print(f"  {key}: {value}")
    if args.json:
        print_json(results)
    return 0
