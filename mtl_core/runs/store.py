"""Run store: SQLite index (`runs.sqlite`) and one folder per run holding `config.yaml`,
`metrics.json` and `model.safetensors`. Files are written to a temporary name and renamed,
so an interrupted write never leaves a half file behind."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import yaml

from mtl_core.errors import UserError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    source TEXT,
    architecture TEXT,
    weighting TEXT,
    tasks TEXT,
    device TEXT,
    seconds REAL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def default_runs_dir() -> Path:
    """`$MTL_RUNS_DIR`, else `runs/` in the working directory."""
    return Path(os.environ.get("MTL_RUNS_DIR", "runs")).resolve()


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class RunStore:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).resolve() if root else default_runs_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.root / "runs.sqlite", timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def run_dir(self, run_id: str) -> Path:
        """The run's folder; refuses ids that could escape the store."""
        if not _RUN_ID.match(run_id):
            raise UserError(f"'{run_id}' is not a run id (see `python -m mtl_core runs`)")
        return self.root / run_id

    def create_run(self, config: dict[str, Any]) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        data, model, weighting = config["data"], config["model"], config["weighting"]
        tasks = ",".join(t["name"] for t in data["tasks"])
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO runs (id, name, created, status, source, architecture, weighting,"
                " tasks) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                (run_id, config.get("name"), time.time(), data["source"],
                 model["architecture"], weighting["method"], tasks),
            )
        atomic_write(self.run_dir(run_id) / "config.yaml",
                     yaml.safe_dump(config, sort_keys=False).encode())
        return run_id

    def add_epoch(self, run_id: str, record: dict[str, Any]) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)",
                       (run_id, record["epoch"], json.dumps(record)))

    def finish_run(self, run_id: str, summary: dict[str, Any], weights: dict | None) -> None:
        folder = self.run_dir(run_id)
        if weights is not None:
            from safetensors.torch import save

            atomic_write(folder / "model.safetensors",
                         save({k: v.detach().cpu().contiguous() for k, v in weights.items()}))
        atomic_write(folder / "metrics.json", json.dumps(summary, indent=2).encode())
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE runs SET status=?, device=?, seconds=?, summary=? WHERE id=?",
                (summary["status"], summary.get("device"), summary.get("seconds"),
                 json.dumps(summary), run_id),
            )

    def write_json(self, run_id: str, name: str, document: Any) -> None:
        """Store a JSON document (e.g. extras.json) in the run's folder."""
        atomic_write(self.run_dir(run_id) / name, json.dumps(document).encode())

    def read_json(self, run_id: str, name: str) -> Any | None:
        path = self.run_dir(run_id) / name
        return json.loads(path.read_text()) if path.is_file() else None

    def list_runs(self) -> list[dict[str, Any]]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created DESC").fetchall()
        return [self._row(row) for row in rows]

    def get_run(self, run_id: str) -> dict[str, Any]:
        self.run_dir(run_id)
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise UserError(f"no run '{run_id}' in {self.root}")
        return self._row(row)

    def epochs(self, run_id: str) -> list[dict[str, Any]]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT record FROM epochs WHERE run_id=? ORDER BY epoch",
                              (run_id,)).fetchall()
        return [json.loads(r["record"]) for r in rows]

    def load_config(self, run_id: str) -> dict[str, Any]:
        return yaml.safe_load((self.run_dir(run_id) / "config.yaml").read_text())

    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        record = dict(row)
        record["summary"] = json.loads(record["summary"]) if record["summary"] else None
        return record
