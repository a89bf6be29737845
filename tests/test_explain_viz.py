"""The explanation figures say what they claim: units in clustered order, task colours from
the shared palette, attribution bars of all tasks on one axis with their totals, signed
maps on a diverging scale centred at 0, padding left out."""

from __future__ import annotations

import numpy as np
import torch

from mtl_core.analysis.explain import Explainer, ExplainOptions
from mtl_core.config import ModelConfig
from mtl_core.models import build_model
from mtl_core.viz.colors import task_colors
from mtl_core.viz.explain import (
    completeness_table,
    example_image_maps,
    input_bars,
    mean_image_maps,
    similarity_heatmap,
    token_heatmap,
    unit_heatmap,
    unit_usage_bars,
)
from tests.test_explain import TASKS, TinyCNN, hard_model, make_data


def tabular_explanation():
    torch.manual_seed(0)
    x = torch.randn(16, 5)
    return Explainer(
        hard_model(5, 0), make_data(x), ExplainOptions(samples=16, n_steps=8)
    ).explain()


def test_unit_figures_follow_the_clustered_order_and_task_colours():
    explanation = tabular_explanation()
    units = explanation.units
    heatmap = unit_heatmap(units).data[0]
    assert list(heatmap.x) == [f"u{u}" for u in units.order]
    assert np.allclose(np.asarray(heatmap.z), units.share[:, units.order])
    similarity = similarity_heatmap(units).data[0]
    assert np.allclose(np.asarray(similarity.z), units.similarity)
    colors = task_colors(explanation.tasks)
    bars = unit_usage_bars(units, units.ranked_units()[0]).data[0]
    assert list(bars.marker.color) == [colors[t] for t in units.row_tasks]
    per_task = input_bars(explanation).data
    assert [b.marker.color for b in per_task] == [colors[t] for t in explanation.tasks]
    assert len(completeness_table(explanation)) == len(units.rows) + len(explanation.tasks)


def test_attribution_bars_of_all_tasks_share_one_axis_and_show_their_totals():
    explanation = tabular_explanation()
    figure = input_bars(explanation)
    ranges = {
        tuple(figure.layout[f"xaxis{k if k > 1 else ''}"].range)
        for k in range(1, len(explanation.tasks) + 1)
    }
    assert len(ranges) == 1  # one shared axis: a bar means the same length in every panel
    titles = [a.text for a in figure.layout.annotations]
    for bar, task, title in zip(figure.data, explanation.tasks, titles, strict=True):
        raw = explanation.inputs[task].mean_abs()
        total = float(np.abs(raw).sum())
        assert title == f"{task} (total {total:.3g})"
        assert np.allclose(np.asarray(bar.x), np.abs(np.asarray(bar.customdata)) / total)
        assert np.asarray(bar.x).max() <= max(ranges)[1]


def test_signed_image_maps_are_centred_at_zero_and_magnitudes_are_not():
    torch.manual_seed(1)
    x = torch.rand(6, 1, 8, 8)
    explanation = Explainer(
        TinyCNN(TASKS), make_data(x, input_kind="image"), ExplainOptions(samples=6, n_steps=8)
    ).explain()
    signed = example_image_maps(explanation, 2).data
    assert len(signed) == 1 + len(TASKS)  # the input, then one map per task
    for trace, task in zip(signed[1:], explanation.tasks, strict=True):
        assert trace.zmid == 0 and trace.zmin == -1 and trace.zmax == 1
        assert np.allclose(np.asarray(trace.customdata), explanation.inputs[task].values[2, 0])
        assert np.isclose(np.abs(np.asarray(trace.z)).max(), 1.0)
    magnitudes = mean_image_maps(explanation).data
    assert all(t.zmin == 0 for t in magnitudes)
    assert all(np.asarray(t.z).min() >= 0 for t in magnitudes)


def test_token_heatmap_leaves_padding_out():
    torch.manual_seed(2)
    ids = torch.randint(1, 300, (4, 10))
    ids[:, 6:] = 0
    model = build_model(ModelConfig(shared=[8], head=[4]), TASKS, "text", (10,))
    explanation = Explainer(
        model, make_data(ids, input_kind="text"), ExplainOptions(samples=4, n_steps=8)
    ).explain()
    trace = token_heatmap(explanation, 1).data[0]
    assert len(trace.x) == 6
    assert list(trace.x) == [f"{p}: #{int(ids[1, p])}" for p in range(6)]  # no text known
    data = make_data(ids, input_kind="text")
    data.token_texts = {int(t): f"word{int(t)}" for t in ids.unique() if t} | {9999: "unused"}
    labelled = Explainer(model, data, ExplainOptions(samples=4, n_steps=8)).explain()
    assert labelled.token_texts == {k: v for k, v in data.token_texts.items() if k != 9999}
    assert list(token_heatmap(labelled, 1).data[0].x) == [
        f"{p}: word{int(ids[1, p])}" for p in range(6)
    ]
    assert trace.zmid == 0
    assert np.abs(np.asarray(trace.z)).max() <= 1 + 1e-9
