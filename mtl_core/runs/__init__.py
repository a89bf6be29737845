"""The run store: a SQLite index plus one folder per run (config, metrics, weights)."""

from mtl_core.runs.store import RunStore, default_runs_dir

__all__ = ["RunStore", "default_runs_dir"]
