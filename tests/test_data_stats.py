"""Task statistics and the association matrix: measures with known values, symmetry, signs,
imbalance and missing-label warnings, and empty cells for tasks from different datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import config_from_dict
from mtl_core.data.prepare import prepare_data
from mtl_core.data.stats import (
    association_matrix,
    correlation_ratio,
    cramers_v,
    source_sizes,
    task_statistics,
)
from mtl_core.viz.data import association_heatmap, label_distribution
from tests.conftest import REPO


def test_measures_have_their_known_values():
    rng = np.random.default_rng(0)
    a = rng.choice(["p", "q", "r"], 5000)
    assert cramers_v(a, a) == pytest.approx(1.0)
    assert cramers_v(a, rng.choice(["x", "y"], 5000)) < 0.05
    codes = pd.Series(a).map({"p": 0.0, "q": 5.0, "r": 9.0}).to_numpy()
    assert correlation_ratio(a, codes) == pytest.approx(1.0)
    assert correlation_ratio(a, rng.normal(size=5000)) < 0.05


@pytest.fixture(scope="module")
def related(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 400
    base = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": base + rng.normal(scale=0.1, size=n),
            "up": base + rng.normal(scale=0.2, size=n),
            "down": -base + rng.normal(scale=0.2, size=n),
            "group": np.where(base > 0.5, "high", np.where(base < -0.5, "low", "mid")),
            "rare": np.where(rng.random(n) < 0.04, "yes", "no"),
            "sparse": np.where(rng.random(n) < 0.7, np.nan, base),
        }
    )
    path = tmp_path_factory.mktemp("stats") / "t.csv"
    frame.to_csv(path, index=False)
    config = config_from_dict(
        {
            "data": {
                "source": str(path),
                "inputs": ["x"],
                "tasks": [
                    {"name": c, "column": c} for c in ("up", "down", "group", "rare", "sparse")
                ],
            }
        }
    )
    return prepare_data(config.data)


def test_association_matrix_is_symmetric_with_signed_correlations(related):
    matrix = association_matrix(related)
    values = np.array([[np.nan if v is None else v for v in row] for row in matrix["values"]])
    names = matrix["tasks"]
    assert np.allclose(values, values.T, equal_nan=True)
    assert np.allclose(np.diag(values), 1.0)
    up, down, group = names.index("up"), names.index("down"), names.index("group")
    assert values[up, down] < -0.9
    assert matrix["methods"][up][down] == "correlation"
    assert matrix["methods"][up][group] == "correlation ratio" and values[up, group] > 0.7
    assert matrix["shared_rows"][up][names.index("sparse")] < matrix["shared_rows"][up][down]


def test_statistics_warn_about_imbalance_and_missing_labels(related):
    stats = {s["task"]: s for s in task_statistics(related)}
    assert any("'yes'" in w and "imbalanced" in w for w in stats["rare"]["warnings"])
    assert stats["sparse"]["missing_share"] > 0.6
    assert any("have no label" in w for w in stats["sparse"]["warnings"])
    assert stats["up"]["warnings"] == []
    assert sum(stats["group"]["distribution"].values()) == stats["group"]["labelled"]
    # regression statistics are in the column's own units, not standardised
    assert stats["up"]["distribution"]["std"] > 0.5
    figure = label_distribution(stats["up"], "#0072B2")
    assert sum(figure.data[0].y) == stats["up"]["labelled"]


def test_tasks_from_different_datasets_have_no_association():
    config = config_from_dict(
        {
            "data": {
                "source": str(REPO / "examples/data/tweets_sentiment.csv"),
                "inputs": ["text"],
                "tasks": [
                    {"name": "sentiment", "column": "sentiment"},
                    {
                        "name": "irony",
                        "column": "irony",
                        "inputs": ["tweet"],
                        "source": str(REPO / "examples/data/tweets_irony.csv"),
                    },
                ],
            }
        }
    )
    data = prepare_data(config.data)
    matrix = association_matrix(data)
    assert matrix["values"][0][1] is None and matrix["shared_rows"][0][1] == 0
    stats = task_statistics(data)
    assert [s["missing_share"] for s in stats] == [0.0, 0.0]  # own rows only
    assert list(source_sizes(data).values()) == [s["rows"] for s in stats]
    heatmap = association_heatmap(matrix).data[0]
    assert heatmap.zmid == 0 and np.isnan(heatmap.z[0][1])
