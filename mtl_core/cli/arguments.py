"""The command-line arguments several commands share: an experiment config with `--set`
overrides, the run store folder, and `--json`."""

from __future__ import annotations

import argparse


def add_config_arguments(parser: argparse.ArgumentParser, example: str) -> None:
    """CONFIG and repeatable `--set KEY=VALUE` overrides (`example`: one, for the help)."""
    parser.add_argument("config", help="experiment config (YAML or JSON)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config value, e.g. --set {example}",
    )


def add_runs_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-dir", default=None, help="run store folder (default: ./runs)")


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")
