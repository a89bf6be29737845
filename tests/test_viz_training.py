"""Training figures: epoch axes tick whole epochs, about ten ticks at most."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mtl_core.viz.training import compare_curves, epoch_axis, loss_curves


@given(st.integers(1, 5000))
def test_epoch_ticks_are_whole_and_at_most_ten(last_epoch):
    axis = epoch_axis(last_epoch)
    step = axis["dtick"]
    assert isinstance(step, int) and step >= 1 and axis["tick0"] == 1
    assert len(range(1, last_epoch + 1, step)) <= 10
    assert step == 1 or len(range(1, last_epoch + 1, step - 1)) > 10  # no coarser than needed


def _history(epochs: int) -> list[dict]:
    return [
        {"epoch": e, "train_loss": {"a": 1.0 / e}, "val": {"a": {"loss": 1.0 / e}}}
        for e in range(1, epochs + 1)
    ]


def test_run_and_comparison_curves_use_the_epoch_axis():
    assert loss_curves(_history(5), ["a"]).layout.xaxis.dtick == 1
    assert compare_curves({"r1": _history(5), "r2": _history(40)}).layout.xaxis.dtick == 4
