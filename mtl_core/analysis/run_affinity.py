"""Everything the Affinity page and `python -m mtl_core affinity RUN` show for one stored
run: the affinity report, the TAG grouping suggestion with candidate scores, measured
transfer per task and the negative-transfer warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtl_core.analysis.affinity import AffinityReport, affinity_report
from mtl_core.analysis.grouping import Grouping, tag_grouping
from mtl_core.analysis.warnings import CAVEAT, TransferWarning, negative_transfer_warnings
from mtl_core.errors import UserError
from mtl_core.runs import RunStore
from mtl_core.train.metrics import PRIMARY

GROUPING_METHOD = ("TAG selection on the mean lookahead affinity: at most b groups covering "
                   "every task, maximising the mean over tasks of the mean affinity onto each "
                   "task from its group partners; a task alone scores 0")


@dataclass
class RunAffinity:
    run_id: str
    status: str
    report: AffinityReport
    max_groups: int
    groupings: list[Grouping]
    transfer: dict[str, dict[str, Any]]  # task -> {metric, multi_task, single_task, delta}
    delta_m: float | None
    warnings: list[TransferWarning]
    grouping_error: str | None = None  # why there is no suggestion (e.g. too many tasks)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "affinity": self.report.to_json(),
            "grouping": {"method": GROUPING_METHOD, "max_groups": self.max_groups,
                         "candidates": [g.to_json() for g in self.groupings],
                         "error": self.grouping_error},
            "transfer": self.transfer,
            "delta_m": self.delta_m,
            "warnings": [w.to_json() for w in self.warnings],
            "caveat": CAVEAT,
        }


def measured_transfer(summary: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per task: primary metric of the multi-task model and of its single-task baseline, and
    the relative delta (positive = multi-task better)."""
    transfer = {}
    for name, task in ((summary or {}).get("tasks") or {}).items():
        metric = PRIMARY[task["kind"]][0]
        baseline = task.get("baseline_metrics") or {}
        transfer[name] = {"metric": metric, "multi_task": task["metrics"].get(metric),
                          "single_task": baseline.get(metric), "delta": task.get("delta")}
    return transfer


def analyse_run(store: RunStore, run_id: str, max_groups: int | None = None) -> RunAffinity:
    """Affinity, grouping, transfer and warnings of a stored run (UserError if it has no
    affinity measurements)."""
    run = store.get_run(run_id)
    extras = store.read_json(run_id, "extras.json") or {}
    report = affinity_report(extras.get("affinity"))
    if max_groups is None:
        max_groups = int((store.load_config(run_id).get("analysis") or {})
                          .get("max_groups", 3))
    summary = run.get("summary")
    try:
        groupings, grouping_error = tag_grouping(
            report.tasks, report.mean["lookahead"].values, max_groups), None
    except UserError as error:  # the matrices are still worth showing
        groupings, grouping_error = [], str(error)
    return RunAffinity(
        run_id=run_id,
        status=run["status"],
        report=report,
        max_groups=max_groups,
        groupings=groupings,
        transfer=measured_transfer(summary),
        delta_m=(summary or {}).get("delta_m"),
        warnings=negative_transfer_warnings(summary, report),
        grouping_error=grouping_error,
    )
