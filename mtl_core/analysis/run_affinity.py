"""Everything the Affinity page and `python -m mtl_core affinity RUN` show for one stored
run: the affinity report, the compact task × task table, the grouping suggestion with its
reasons, what was measured per task (delta, interval, verdict) and the warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtl_core.analysis.affinity import RULES, AffinityReport, affinity_report, pair_table
from mtl_core.analysis.grouping import Grouping, tag_grouping
from mtl_core.analysis.measured import MeasuredTask, measured_tasks, verdict_map
from mtl_core.analysis.warnings import CAVEAT, TransferWarning, negative_transfer_warnings
from mtl_core.errors import UserError
from mtl_core.runs import RunStore

GROUPING_METHOD = (
    "TAG on the mean lookahead affinity, entries within noise counted as 0: "
    "each task scores the mean Z onto it from its group partners (alone = 0); "
    "{shape} of at most max_groups groups maximising the mean over tasks; "
    "a task joins a group only if it scores at least what it scores alone, "
    "an unlearnable task stays alone, and 'each alone' is always a candidate"
)


@dataclass
class RunAffinity:
    run_id: str
    status: str
    report: AffinityReport
    max_groups: int
    groupings: list[Grouping]
    measured: dict[str, MeasuredTask]
    delta_m: float | None
    delta_m_ci: list[float] | None
    warnings: list[TransferWarning]
    pairs: list[dict[str, Any]]
    grouping_error: str | None = None  # why there is no suggestion (e.g. too many tasks)
    overlap: bool = False  # TAG's overlapping groups instead of a partition

    @property
    def measured_check(self) -> str | None:
        """What this run itself measured about the suggestion, when the suggestion trains
        the run's tasks together: the lookahead predicts loosely, the verdicts measure."""
        if not self.groupings or [*self.report.tasks] not in self.groupings[0].groups:
            return None
        helped = [t for t, m in self.measured.items() if m.verdict == "helped"]
        if helped:
            return (
                f"This run trained these tasks together and measured a gain for "
                f"{', '.join(helped)} (see What was measured)."
            )
        return (
            "This run trained these tasks together and measured no gain beyond noise for "
            "any of them (see What was measured): the lookahead predicts transfer only "
            "loosely, the verdicts measure it."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "affinity": self.report.to_json(),
            "pairs": self.pairs,
            "grouping": {
                "method": GROUPING_METHOD.format(
                    shape="overlapping groups (each task takes its best)"
                    if self.overlap
                    else "a partition"
                ),
                "overlap": self.overlap,
                "max_groups": self.max_groups,
                "candidates": [g.to_json() for g in self.groupings],
                "measured_check": self.measured_check,
                "error": self.grouping_error,
            },
            "transfer": {name: task.to_json() for name, task in self.measured.items()},
            "delta_m": self.delta_m,
            "delta_m_ci": self.delta_m_ci,
            "warnings": [w.to_json() for w in self.warnings],
            "signal_rules": RULES,
            "caveat": CAVEAT,
        }


def analyse_run(
    store: RunStore, run_id: str, max_groups: int | None = None, overlap: bool = False
) -> RunAffinity:
    """Affinity, grouping, measured transfer and warnings of a stored run (UserError if it
    has no affinity measurements). `max_groups` None: the run's analysis.max_groups, or one
    group per task; `overlap`: TAG's overlapping groups instead of a partition."""
    run = store.get_run(run_id)
    report = affinity_report(store.read_extras(run_id).get("affinity"))
    if max_groups is None:
        max_groups = (store.load_config(run_id).get("analysis") or {}).get("max_groups") or len(
            report.tasks
        )
    summary = run.get("summary") or {}
    measured = measured_tasks(summary)
    verdicts = verdict_map(measured)
    try:
        groupings, grouping_error = (
            tag_grouping(
                report.tasks,
                report.mean["lookahead"].values,
                max_groups,
                standard_errors=report.se["lookahead"].values,
                probes=report.probes,
                unlearnable=[t for t in report.tasks if verdicts.get(t) == "unlearnable"],
                overlap=overlap,
            ),
            None,
        )
    except UserError as error:  # the matrices are still worth showing
        groupings, grouping_error = [], str(error)
    return RunAffinity(
        run_id=run_id,
        status=run["status"],
        report=report,
        max_groups=int(max_groups),
        groupings=groupings,
        measured=measured,
        delta_m=summary.get("delta_m"),
        delta_m_ci=summary.get("delta_m_ci"),
        warnings=negative_transfer_warnings(summary, report),
        pairs=pair_table(report, verdicts),
        grouping_error=grouping_error,
        overlap=overlap,
    )
