"""Run store: SQLite index (`runs.sqlite`) and one folder per run holding `config.yaml`,
`metrics.json`, `metrics.csv`, `model.safetensors` and `extras.json`. The file names live
here only: other modules go through RunStore's methods (or these constants). Files are
written to a temporary name and renamed, so an interrupted write never leaves a half file
behind. A running run records its process id and a heartbeat; opening the store marks a
'running' run whose process is gone (killed, crashed) as 'interrupted'."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import tempfile
import time
import uuid
import zipfile
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mtl_core.errors import UserError

# The files of a run's folder.
CONFIG_FILE = "config.yaml"  # the validated experiment config
SUMMARY_FILE = "metrics.json"  # the run summary (`train --json`'s document)
EPOCHS_FILE = "metrics.csv"  # per-epoch metrics
WEIGHTS_FILE = "model.safetensors"  # the trained model's state dict
EXTRAS_FILE = "extras.json"  # what analyses recorded during training (task weights, probes)
# Statuses of a run that stored a trained model: a stopped run keeps its best checkpoint and a
# diverged one its last good checkpoint; failed and interrupted runs stored none.
USABLE_STATUSES = ("completed", "stopped", "diverged")

# Model outputs on the test rows, per model and seed: what a run's intervals are computed from.
TEST_OUTPUTS = "test_outputs.safetensors"

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
    summary TEXT,
    pid INTEGER,
    heartbeat REAL,
    baseline_key TEXT,
    host TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_ADDED_COLUMNS = {"pid": "INTEGER", "heartbeat": "REAL", "baseline_key": "TEXT", "host": "TEXT"}
STALE_AFTER = 6 * 3600  # a heartbeat this old means the run is gone even if its pid is reused


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
            present = {row["name"] for row in db.execute("PRAGMA table_info(runs)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
        self.mark_interrupted()

    def mark_interrupted(self) -> list[str]:
        """Mark 'running' runs whose process is gone as 'interrupted'; returns their ids."""
        host, now = socket.gethostname(), time.time()
        with closing(self._connect()) as db, db:
            rows = db.execute(
                "SELECT id, pid, host, heartbeat FROM runs WHERE status='running'"
            ).fetchall()
            gone = [
                r["id"]
                for r in rows
                if (r["host"] == host and r["pid"] and not _process_alive(r["pid"]))
                or (r["heartbeat"] or 0) < now - STALE_AFTER
            ]
            for run_id in gone:
                db.execute("UPDATE runs SET status='interrupted' WHERE id=?", (run_id,))
        return gone

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

    def create_run(self, config: dict[str, Any], baseline_key: str | None = None) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        data, model, weighting = config["data"], config["model"], config["weighting"]
        tasks = ",".join(t["name"] for t in data["tasks"])
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO runs (id, name, created, status, source, architecture, weighting,"
                " tasks, pid, host, heartbeat, baseline_key)"
                " VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    config.get("name"),
                    time.time(),
                    data["source"],
                    model["architecture"],
                    weighting["method"],
                    tasks,
                    os.getpid(),
                    socket.gethostname(),
                    time.time(),
                    baseline_key,
                ),
            )
        atomic_write(
            self.run_dir(run_id) / CONFIG_FILE, yaml.safe_dump(config, sort_keys=False).encode()
        )
        return run_id

    def add_epoch(self, run_id: str, record: dict[str, Any]) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)",
                (run_id, record["epoch"], json.dumps(record)),
            )
            db.execute("UPDATE runs SET heartbeat=? WHERE id=?", (time.time(), run_id))

    def finish_run(self, run_id: str, summary: dict[str, Any], weights: dict | None) -> None:
        folder = self.run_dir(run_id)
        if weights is not None:
            from safetensors.torch import save

            atomic_write(
                folder / WEIGHTS_FILE,
                save({k: v.detach().cpu().contiguous() for k, v in weights.items()}),
            )
        atomic_write(folder / SUMMARY_FILE, json.dumps(summary, indent=2).encode())
        atomic_write(folder / EPOCHS_FILE, epochs_csv(self.epochs(run_id)).encode())
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE runs SET status=?, device=?, seconds=?, summary=? WHERE id=?",
                (
                    summary["status"],
                    summary.get("device"),
                    summary.get("seconds"),
                    json.dumps(summary),
                    run_id,
                ),
            )

    def fail_run(self, run_id: str, message: str) -> None:
        """An unexpected error ended the run: keep what it stored, say why."""
        summary = {"run_id": run_id, "status": "failed", "message": message}
        self.write_json(run_id, SUMMARY_FILE, summary)
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE runs SET status='failed', summary=? WHERE id=?",
                (json.dumps(summary), run_id),
            )

    def find_baseline(self, key: str) -> dict[str, Any] | None:
        """The newest completed baseline run with this key (same data, model, budget, seed,
        task), or None."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT * FROM runs WHERE baseline_key=? AND status='completed' "
                "ORDER BY created DESC LIMIT 1",
                (key,),
            ).fetchone()
        return self._row(row) if row else None

    def delete_run(self, run_id: str) -> None:
        folder = self.run_dir(run_id)
        self.get_run(run_id)
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM epochs WHERE run_id=?", (run_id,))
            db.execute("DELETE FROM runs WHERE id=?", (run_id,))
        shutil.rmtree(folder, ignore_errors=True)

    def export_files(self, run_id: str) -> dict[str, bytes]:
        """The run's files by name: config.yaml, metrics.json, metrics.csv (per epoch, as it
        stands), extras and the weights (model.safetensors) when training has stored them."""
        folder = self.run_dir(run_id)
        run = self.get_run(run_id)
        files = {EPOCHS_FILE: epochs_csv(self.epochs(run_id)).encode()}
        if not (folder / SUMMARY_FILE).is_file():
            files[SUMMARY_FILE] = json.dumps(run, indent=2).encode()
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.name not in files:
                files[path.name] = path.read_bytes()
        return files

    def export_zip(self, run_id: str) -> bytes:
        """The run's files (`export_files`) as a zip, in a folder named after the run."""
        return zip_files(run_id, self.export_files(run_id))

    def write_json(self, run_id: str, name: str, document: Any) -> None:
        """Store a JSON document (e.g. extras.json) in the run's folder."""
        atomic_write(self.run_dir(run_id) / name, json.dumps(document).encode())

    def read_json(self, run_id: str, name: str) -> Any | None:
        """A JSON document of the run's folder, or None when the run has none by that name."""
        path = self.run_dir(run_id) / name
        return json.loads(path.read_text()) if path.is_file() else None

    def write_extras(self, run_id: str, extras: dict[str, Any]) -> None:
        """Store what analyses recorded during training (`TrainResult.extras`)."""
        self.write_json(run_id, EXTRAS_FILE, extras)

    def read_extras(self, run_id: str) -> dict[str, Any]:
        """What analyses recorded during training; {} for a run that stored none."""
        return self.read_json(run_id, EXTRAS_FILE) or {}

    def weights_path(self, run_id: str) -> Path:
        """Where the run's trained weights are (the file exists once training stored them)."""
        return self.run_dir(run_id) / WEIGHTS_FILE

    def load_weights(self, run_id: str) -> dict[str, Any]:
        """The run's trained state dict (torch tensors, on the CPU); UserError when the run
        stored none."""
        from safetensors.torch import load_file

        path = self.weights_path(run_id)
        if not path.is_file():
            raise UserError(f"run '{run_id}' has no stored weights (it did not finish)")
        return load_file(str(path))

    def write_test_outputs(self, run_id: str, outputs: dict[str, np.ndarray]) -> None:
        """Store the model outputs on the test rows (the bootstrap's input; see
        docs/evidence.md) as safetensors, keyed as the caller names them."""
        from safetensors.numpy import save

        arrays = {
            key: np.ascontiguousarray(value, dtype=np.float32) for key, value in outputs.items()
        }
        atomic_write(self.run_dir(run_id) / TEST_OUTPUTS, save(arrays))

    def read_test_outputs(self, run_id: str) -> dict[str, np.ndarray] | None:
        """The stored test outputs, or None for a run that stored none (an older run)."""
        from safetensors.numpy import load

        path = self.run_dir(run_id) / TEST_OUTPUTS
        return load(path.read_bytes()) if path.is_file() else None

    def list_runs(self, include_baselines: bool = False) -> list[dict[str, Any]]:
        """Runs, newest first; stored single-task baselines only when asked for."""
        where = "" if include_baselines else " WHERE baseline_key IS NULL"
        with closing(self._connect()) as db:
            rows = db.execute(f"SELECT * FROM runs{where} ORDER BY created DESC").fetchall()
        return [self._row(row) for row in rows]

    def usable_runs(self) -> list[dict[str, Any]]:
        """The runs (not baselines) that stored a trained model, newest first: what the pages
        offer to look at, explain, compare or warm-start from."""
        return [run for run in self.list_runs() if run["status"] in USABLE_STATUSES]

    def count_runs(self) -> int:
        """How many runs (not baselines) the store holds, without reading their summaries."""
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM runs WHERE baseline_key IS NULL").fetchone()[0]

    def get_run(self, run_id: str) -> dict[str, Any]:
        self.run_dir(run_id)
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise UserError(f"no run '{run_id}' in {self.root}")
        return self._row(row)

    def epochs(self, run_id: str) -> list[dict[str, Any]]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT record FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,)
            ).fetchall()
        return [json.loads(r["record"]) for r in rows]

    def load_config(self, run_id: str) -> dict[str, Any]:
        """The run's stored config as a plain dict (validate it with `config_from_dict`)."""
        return yaml.safe_load((self.run_dir(run_id) / CONFIG_FILE).read_text())

    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        record = dict(row)
        record["summary"] = json.loads(record["summary"]) if record["summary"] else None
        return record


def epochs_csv(epochs: list[dict[str, Any]]) -> str:
    """Per-epoch metrics as CSV: one row per epoch, one column per task and metric."""
    rows = []
    for record in epochs:
        row = {
            "epoch": record["epoch"],
            "seconds": record.get("seconds"),
            "score": record.get("score"),
        }
        row.update({f"train_loss/{t}": v for t, v in record.get("train_loss", {}).items()})
        for task, metrics in record.get("val", {}).items():
            row.update({f"val_{m}/{task}": v for m, v in metrics.items()})
        rows.append(row)
    columns = list(dict.fromkeys(c for row in rows for c in row)) or ["epoch"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def zip_files(run_id: str, files: dict[str, bytes]) -> bytes:
    """`files` (name -> content) as a zip, in a folder named after the run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{run_id}/{name}", content)
    return buffer.getvalue()
