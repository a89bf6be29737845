"""Shared test setup: offline Hugging Face, a private run store per test, small thread pool."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def private_run_store(tmp_path, monkeypatch):
    """Every test writes runs to its own folder, never to the user's runs/."""
    monkeypatch.setenv("MTL_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture
def penguins_config() -> dict:
    return {
        "data": {
            "source": "sample_data/penguins",
            "tasks": [
                {"name": "species", "column": "species"},
                {"name": "sex", "column": "sex"},
                {"name": "body_mass", "column": "body_mass_g"},
            ],
        },
        "model": {"architecture": "hard", "shared": [32], "head": [16]},
        "train": {"epochs": 3, "batch_size": 32, "lr": 0.003, "device": "cpu", "baselines": False},
    }
