"""The multi-dataset text example trains from the CLI, and its generator is deterministic."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_multi_dataset_text_example_trains_from_the_cli(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mtl_core",
            "train",
            "examples/tweets_multi.yaml",
            "--json",
            "--set",
            "train.epochs=2",
            "--set",
            "train.baselines=false",
            "--set",
            "data.sampling.strategy=uniform",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["status"] == "completed"
    assert {name: task["kind"] for name, task in doc["tasks"].items()} == {
        "sentiment": "binary",
        "irony": "binary",
    }
    for task in doc["tasks"].values():
        assert 0.0 <= task["metrics"]["accuracy"] <= 1.0


def test_example_data_generator_is_deterministic(tmp_path):
    sys.path.insert(0, str(REPO / "examples" / "data"))
    try:
        import make_tweets
    finally:
        sys.path.pop(0)
    make_tweets.write(
        tmp_path / "s.csv",
        ("text", "sentiment"),
        make_tweets.sentiment_rows(make_tweets.random.Random(0), 600),
    )
    stored = (REPO / "examples" / "data" / "tweets_sentiment.csv").read_bytes()
    assert (tmp_path / "s.csv").read_bytes() == stored
