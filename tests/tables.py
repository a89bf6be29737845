"""Synthetic tables with a known answer, for the verdict tests: which tasks share a signal,
which stand alone, which cannot be learnt at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def customers(rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    """8 numeric + 2 categorical inputs and four targets: `spend` (regression) and `churn`
    (binary) from one nonlinear latent signal, each labelled on about a third of the rows,
    `satisfaction` (3 classes) from other inputs, `lucky_number` pure noise; 5% of the
    satisfaction labels are missing."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 8))
    region = rng.choice(["north", "south", "east", "west"], size=rows)
    plan = rng.choice(["basic", "plus", "pro"], size=rows)
    region_effect = (
        pd.Series(region).map({"north": 0.6, "south": -0.6, "east": 0.2, "west": -0.2}).to_numpy()
    )
    plan_effect = pd.Series(plan).map({"basic": -0.8, "plus": 0.0, "pro": 0.8}).to_numpy()
    # A nonlinear signal, so that each task alone has too few labels to learn it well.
    latent = (
        np.sin(2 * numeric[:, 0])
        + numeric[:, 1] * numeric[:, 2]
        - 0.5 * np.abs(numeric[:, 3])
        + region_effect
    )
    spend = 100 + 30 * latent + rng.normal(scale=10, size=rows)
    churn = (latent + rng.normal(scale=0.7, size=rows) < -0.3).astype(float)
    mood = numeric[:, 4] - numeric[:, 5] + plan_effect + rng.normal(scale=0.5, size=rows)
    satisfaction = np.where(mood < -0.5, "low", np.where(mood < 0.5, "mid", "high"))
    frame = pd.DataFrame(numeric, columns=[f"x{i + 1}" for i in range(8)])
    frame["region"], frame["plan"] = region, plan
    # spend and churn are each labelled on about a third of the rows (others unknown)
    frame["spend"] = pd.Series(spend.round(2)).where(rng.random(rows) < 0.35)
    frame["churn"] = pd.Series(churn).where(rng.random(rows) < 0.35)
    frame["satisfaction"] = pd.Series(satisfaction, dtype=object).where(rng.random(rows) > 0.05)
    frame["lucky_number"] = rng.normal(size=rows).round(4)
    return frame


def customers_csv(folder: Path, rows: int = 2000, seed: int = 0) -> Path:
    path = Path(folder) / "customers.csv"
    customers(rows, seed).to_csv(path, index=False)
    return path


CUSTOMER_TASKS = [
    {"name": "spend", "column": "spend", "kind": "regression"},
    {"name": "churn", "column": "churn", "kind": "binary"},
    {"name": "satisfaction", "column": "satisfaction", "kind": "multiclass"},
    {"name": "lucky_number", "column": "lucky_number", "kind": "regression"},
]
