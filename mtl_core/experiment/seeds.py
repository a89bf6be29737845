"""How many seeds a comparison trains (docs/evidence.md, "Seeds by default"): a number the
user set, or "auto": 3 when the test split is small, or when one seed leaves a task's
interval across 0; otherwise 1."""

from __future__ import annotations

from dataclasses import dataclass

from mtl_core.analysis.bootstrap import RunEvidence
from mtl_core.config import TrainConfig

SMALL_TEST_ROWS = 500
AUTO_SEEDS = 3


@dataclass(frozen=True)
class SeedPlan:
    seeds: int  # of the multi-task model
    baseline_seeds: int
    reason: str


def initial_plan(train: TrainConfig, test_rows: int) -> SeedPlan:
    """The seeds to train before any interval is known."""
    small = test_rows < SMALL_TEST_ROWS
    auto = AUTO_SEEDS if small else 1
    seeds = auto if train.seeds == "auto" else int(train.seeds)
    baseline = seeds if train.baseline_seeds == "auto" else int(train.baseline_seeds)
    if train.seeds != "auto":
        reason = f"{seeds} seed{'s' if seeds != 1 else ''}, as set (train.seeds)"
    elif small:
        reason = (
            f"{AUTO_SEEDS} seeds (train.seeds: auto): the test split has {test_rows} "
            f"rows, fewer than {SMALL_TEST_ROWS}, so one seed's result would be noise"
        )
    else:
        reason = f"1 seed (train.seeds: auto): the test split has {test_rows} rows"
    return SeedPlan(seeds, baseline, reason)


def extended_plan(train: TrainConfig, plan: SeedPlan, evidence: RunEvidence) -> SeedPlan | None:
    """More seeds when "auto" started with one and some task's interval crosses 0; None when
    the plan stands."""
    if train.seeds != "auto" or plan.seeds >= AUTO_SEEDS:
        return None
    crossing = [
        name
        for name, task in evidence.tasks.items()
        if task.bootstrap_ci and task.bootstrap_ci[0] <= 0 <= task.bootstrap_ci[1]
    ]
    if not crossing:
        return None
    baseline = AUTO_SEEDS if train.baseline_seeds == "auto" else plan.baseline_seeds
    return SeedPlan(
        AUTO_SEEDS,
        baseline,
        (
            f"{AUTO_SEEDS} seeds (train.seeds: auto): after one seed the interval of "
            f"{', '.join(crossing)} crossed 0"
        ),
    )
