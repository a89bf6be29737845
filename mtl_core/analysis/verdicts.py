"""One verdict per task, from one vocabulary used by every page, the CLI and the API
(docs/evidence.md, "Verdicts"): helped, no detectable difference, hurt, unlearnable,
inconclusive. Fewer than `MIN_SEEDS` seeds never confirm helped or hurt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mtl_core.analysis.bootstrap import TaskEvidence

Verdict = Literal["helped", "no detectable difference", "hurt", "unlearnable", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = (
    "helped",
    "no detectable difference",
    "hurt",
    "unlearnable",
    "inconclusive",
)
MIN_SEEDS = 3
RULES = (
    "unlearnable: neither model beats a trivial predictor by its interval; "
    "helped / hurt: the delta's 95% interval (test rows and seeds) is above / below 0, with "
    f"at least {MIN_SEEDS} seeds of both; no detectable difference: the interval contains 0; "
    "inconclusive: no interval, or one that excludes 0 from too few seeds."
)


@dataclass(frozen=True)
class TaskVerdict:
    verdict: Verdict
    reason: str


def _interval(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:+.1%}, {ci[1]:+.1%}]"


def task_verdict(evidence: TaskEvidence) -> TaskVerdict:
    """The verdict of one task from its evidence, with the reason in plain words."""
    if _unlearnable(evidence):
        return TaskVerdict(
            "unlearnable",
            (
                "neither the multi-task model nor the single-task baseline does better than a "
                f"trivial predictor on the {evidence.test_rows} test rows: these inputs do not "
                "predict this target, so there is no transfer to measure"
            ),
        )
    if evidence.delta is None or evidence.delta_ci is None:
        return TaskVerdict(
            "inconclusive",
            "no interval: a single-task baseline or a defined metric on the test rows is missing",
        )
    low, high = evidence.delta_ci
    seeds = min(evidence.seeds, evidence.baseline_seeds)
    where = (
        f"delta {evidence.delta:+.1%}, 95% interval {_interval(evidence.delta_ci)} "
        f"over {evidence.test_rows} test rows and {seeds} seed{'s' if seeds != 1 else ''}"
    )
    if low <= 0 <= high:
        return TaskVerdict("no detectable difference", f"{where}: the interval contains 0")
    if seeds < MIN_SEEDS:
        return TaskVerdict(
            "inconclusive",
            (
                f"{where}: the interval excludes 0 on these test rows, but {seeds} seed"
                f"{'s' if seeds != 1 else ''} cannot rule out seed noise (train {MIN_SEEDS} "
                "seeds: train.seeds)"
            ),
        )
    if low > 0:
        return TaskVerdict("helped", f"{where}: the whole interval is above 0")
    return TaskVerdict("hurt", f"{where}: the whole interval is below 0")


def _unlearnable(evidence: TaskEvidence) -> bool:
    bounds = [
        b for b in (evidence.mtl_over_trivial, evidence.baseline_over_trivial) if b is not None
    ]
    return bool(bounds) and all(b <= 0 for b in bounds)


def verdict_of(task_summary: dict[str, Any]) -> Verdict:
    """The verdict stored in a task's summary; "inconclusive" for runs stored before
    verdicts existed."""
    verdict = task_summary.get("verdict")
    return verdict if verdict in VERDICTS else "inconclusive"


def format_delta(delta: float | None, ci: list[float] | tuple[float, float] | None) -> str:
    """'+2.4% [−1.1%, +5.9%]'; '—' without a delta; the interval left out without one."""
    if delta is None:
        return "—"
    text = f"{delta:+.1%}"
    return f"{text} [{ci[0]:+.1%}, {ci[1]:+.1%}]" if ci else f"{text} (no interval)"
