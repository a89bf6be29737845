"""The Affinity charts cannot mislead: cosine on its fixed [−1, 1] scale, the diagonal
grey and off the scale, lookahead symmetric about 0 with its range from the off-diagonal
entries only, small multiples beyond 3 tasks, transfer bars with intervals coloured by
verdict."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.analysis.affinity import affinity_report, pair_table
from mtl_core.analysis.measured import measured_tasks
from mtl_core.viz.affinity import (
    DIAGONAL_GREY,
    epoch_curves,
    measure_heatmap,
    pair_rows,
    transfer_bars,
)
from tests.test_affinity_grouping import TASKS, _synthetic_record

entries = st.one_of(st.none(), st.floats(-5, 5, allow_nan=False))
square = st.integers(2, 5).flatmap(
    lambda n: st.lists(st.lists(entries, min_size=n, max_size=n), min_size=n, max_size=n)
)


@settings(max_examples=50, deadline=None)
@given(square, st.floats(10, 1000))
def test_lookahead_scale_is_symmetric_and_set_by_the_off_diagonal_only(values, own):
    tasks = [f"t{k}" for k in range(len(values))]
    for k in range(len(values)):
        values[k][k] = own  # a saturating diagonal must not flatten the scale
    figure = measure_heatmap(tasks, "lookahead", values, "Z")
    main, diagonal = figure.data
    off = [
        abs(v)
        for i, row in enumerate(values)
        for j, v in enumerate(row)
        if i != j and v is not None
    ]
    bound = max(off, default=0.0) or 1.0
    assert main.zmin == -bound and main.zmax == bound and main.zmid == 0
    assert all(main.z[k][k] is None for k in range(len(tasks)))  # not coloured by value
    assert [c[1] for c in diagonal.colorscale] == [DIAGONAL_GREY, DIAGONAL_GREY]
    assert diagonal.showscale is False
    assert [diagonal.text[k][k] for k in range(len(tasks))] == [f"{own:.3g}"] * len(tasks)


@pytest.mark.parametrize(
    "measure,bounds",
    [("cosine", (-1, 1)), ("conflict_rate", (0, 1)), ("magnitude_similarity", (0, 1))],
)
def test_gradient_measures_keep_their_fixed_scale(measure, bounds):
    small = [[1.0, 0.02], [0.02, 1.0]]  # tiny values must not look like ±1
    main = measure_heatmap(["a", "b"], measure, small, measure).data[0]
    assert (main.zmin, main.zmax) == bounds


def test_more_than_three_tasks_draw_small_multiples_with_one_legend_per_partner():
    report = affinity_report(_synthetic_record(0))
    figure = epoch_curves(report, "lookahead", "Z per epoch")
    titles = [a.text for a in figure.layout.annotations]
    assert titles == [f"onto {t}" for t in TASKS]
    assert len(figure.data) == 12  # every ordered pair, in the affected task's panel
    assert sorted(t.name for t in figure.data if t.showlegend) == sorted(TASKS)
    panels = {(t.xaxis, t.yaxis) for t in figure.data}
    assert len(panels) == 4
    three = affinity_report(
        {
            **_synthetic_record(0),
            "tasks": TASKS[:3],
            "probes": [
                {
                    **p,
                    "lookahead": [r[:3] for r in p["lookahead"][:3]],
                    "gramian": np.eye(3).tolist(),
                    "weights": [1.0] * 3,
                }
                for p in _synthetic_record(0)["probes"]
            ],
        }
    )
    overlaid = epoch_curves(three, "cosine", "cos")
    assert {(t.xaxis, t.yaxis) for t in overlaid.data} == {("x", "y")}
    assert len(overlaid.data) == 3  # each unordered pair once
    assert list(overlaid.layout.yaxis.range) == [-1.05, 1.05]  # cosine on its own scale


def test_transfer_bars_carry_intervals_and_the_verdict_colour():
    summary = {
        "tasks": {
            "a": {
                "kind": "regression",
                "primary_metric": "mse",
                "delta": -0.05,
                "delta_ci": [-0.15, 0.05],
                "verdict": "no detectable difference",
                "metrics": {"mse": 1.05},
                "baseline_metrics": {"mse": 1.0},
                "noise": {"seeds": 3, "baseline_seeds": 3, "test_rows": 52},
            },
            "b": {
                "kind": "regression",
                "primary_metric": "mse",
                "delta": 0.1,
                "delta_ci": [0.05, 0.15],
                "verdict": "helped",
                "metrics": {"mse": 0.9},
                "baseline_metrics": {"mse": 1.0},
                "noise": {"seeds": 3, "baseline_seeds": 3, "test_rows": 52},
            },
        }
    }
    bar = transfer_bars(measured_tasks(summary)).data[0]
    assert list(bar.error_y.array) == pytest.approx([10.0, 5.0])
    assert list(bar.error_y.arrayminus) == pytest.approx([10.0, 5.0])
    grey, blue = bar.marker.color
    assert grey != "#D55E00"  # a negative point estimate within noise is not painted "hurt"
    assert blue == "#0072B2"
    assert list(bar.text) == ["no detectable difference", "helped"]


def test_pair_rows_show_mean_and_error_with_the_status():
    report = affinity_report(_synthetic_record(0))
    rows = pair_rows(pair_table(report))
    assert len(rows) == 6 and rows[0]["pair"] == "spend – churn"
    assert rows[0]["Z(first → second)"].startswith("+0.0")
    assert rows[0]["Z(first → second)"].endswith(" · signal") and rows[0]["status"] == "signal"
    assert " ± " in rows[0]["Z(first → second)"]
    assert {r["status"] for r in rows[1:]} == {"within noise"}
