"""One-click lessons: each sets up an experiment, names its variants and tells the user what
to look for; `lesson_results` gathers the stored runs of each variant into one table.
Plain data, so the app, the CLI and the tests read the same lessons.

A stored run belongs to a lesson's variant when its config has the variant's value at every
key of `MATCHED_KEYS` (the data, the tasks, the model, the weighting method and the training
budget). The seed, the device, the run's name and the analysis settings do not count: runs of
the same variant with other seeds are the same variant.

A lesson with a `reference` variant also reports each variant's gain over it: Δm(variant) −
Δm(reference), seed by seed (both runs start from the same seeds, so seed s of one is paired
with seed s of the other), as the mean of the paired differences with its Student's t 95%
interval. Pairing takes out what the two runs share (the baselines, the seeds' draws of the
initial weights and batches), which the two runs' own Δm intervals each carry in full.
"""

from __future__ import annotations

import copy
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats

from mtl_core.analysis.affinity import affinity_report
from mtl_core.errors import UserError
from mtl_core.runs import RunStore


@dataclass(frozen=True)
class Variant:
    """One setting of a lesson: `settings` maps dotted config keys to the values that differ
    from the lesson's experiment (e.g. {"data.config": "p-0.5"})."""

    key: str
    label: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class Lesson:
    """A lesson: its question, steps and what to look for, the experiment it starts and the
    variants the user can pick."""

    key: str
    title: str
    question: str
    steps: list[str]
    look_for: str
    experiment: dict[str, Any]
    variants: list[Variant] = field(default_factory=list)
    # Whether the results table reports the mean gradient cosine and conflict rate.
    shows_conflict: bool = False
    # The variant whose Δm the others' is compared with, seed by seed (see the module doc).
    reference: str | None = None


def _experiment(
    source: str,
    tasks: list[str],
    config: str | None = None,
    architecture: str = "hard",
    method: str = "equal",
    epochs: int = 40,
    affinity_every: int = 5,
    shared: tuple[int, ...] = (64, 64),
    head: tuple[int, ...] = (32,),
    **train: Any,
) -> dict[str, Any]:
    return {
        "name": None,
        "data": {
            "source": source,
            "config": config,
            "inputs": "auto",
            "tasks": [{"name": t, "column": t} for t in tasks],
        },
        "model": {
            "architecture": architecture,
            "shared": list(shared),
            "head": list(head),
            "dropout": 0.0,
            "params": {},
        },
        "weighting": {"method": method, "update_every": 1, "params": {}},
        "train": {
            "epochs": epochs,
            "batch_size": 128,
            "lr": 0.003,
            "optimizer": "adam",
            "device": "auto",
            "seed": 0,
            "patience": 10,
            "baselines": True,
            **train,
        },
        "analysis": {"affinity_every": affinity_every},
    }


LESSONS = [
    Lesson(
        key="negative-transfer",
        title="Negative transfer appears as tasks become unrelated",
        question="Does sharing one network help two regression tasks when they have little "
        "in common?",
        steps=[
            "Train with the task correlation p = 1.0 and note Δm on the Train page.",
            "Pick p = 0.0, then p = -0.5, and train again.",
            "Pick 'p = -0.5, MMoE' (the Model page's MMoE on the same data) and train.",
        ],
        look_for="Δm falls as p falls: with unrelated tasks hard sharing does worse than "
        "separate networks (negative transfer). MMoE's gates let each task pick its "
        "own experts, so it degrades less.",
        experiment=_experiment(
            "sample_data/mmoe_synthetic", ["y1", "y2"], config="p1.0", epochs=30, batch_size=256
        ),
        variants=[
            Variant("p1.0", "p = 1.0 (same task)", {"data.config": "p1.0"}),
            Variant("p0.5", "p = 0.5", {"data.config": "p0.5"}),
            Variant("p0.0", "p = 0.0 (unrelated)", {"data.config": "p0.0"}),
            Variant("p-0.5", "p = -0.5 (opposed)", {"data.config": "p-0.5"}),
            Variant(
                "p-0.5-mmoe",
                "p = -0.5, MMoE",
                {"data.config": "p-0.5", "model.architecture": "mmoe"},
            ),
        ],
    ),
    Lesson(
        key="gradient-conflict",
        title="Gradient conflict and what PCGrad and UPGrad do about it",
        question="When two tasks pull the shared layers in opposite directions, can the "
        "update be made to hurt neither?",
        steps=[
            "Train with equal weighting, then open Affinity: read the gradient cosine "
            "and the conflict rate between y1 and y2.",
            "Pick UPGrad and train again; then PCGrad.",
            "Read the table below: each method's Δm with its interval, and its gain "
            "over equal weighting on the same seeds.",
        ],
        look_for="On the Affinity page the gradient cosine between y1 and y2 is negative "
        "(about -0.36) and the conflict rate above 70% (about 84% of the probed "
        "steps): the tasks' gradients on the one-unit shared layer point against "
        "each other. Under equal weighting the hard task y2 drags the shared unit "
        "away from the easy task y1, whose test error grows to about three times "
        "that of its own network. UPGrad and PCGrad remove the part of each "
        "gradient that would hurt the other task, so y1 keeps more of its accuracy: "
        "in the table below their Δm gain over equal weighting, seed by seed, has "
        "an interval above 0. Their Δm stays below 0 and its interval overlaps "
        "equal weighting's: sharing one unit still costs both tasks, and seed noise "
        "hides the gain unless the same seeds are compared.",
        experiment=_experiment(
            "sample_data/gradient_conflict",
            ["y1", "y2"],
            shared=(32, 1),
            head=(16,),
            epochs=60,
            lr=0.001,
            affinity_every=5,
        ),
        variants=[
            Variant("equal", "Equal weighting", {"weighting.method": "equal"}),
            Variant("upgrad", "UPGrad", {"weighting.method": "upgrad"}),
            Variant("pcgrad", "PCGrad", {"weighting.method": "pcgrad"}),
        ],
        shows_conflict=True,
        reference="equal",
    ),
    Lesson(
        key="digits-affinity",
        title="Which digit tasks help each other",
        question="Four tasks read the same handwritten digit: the digit, its parity, whether "
        "it is ≥ 5 and whether it has a closed loop. Which ones belong together?",
        steps=[
            "Train (baselines on) and read each task's delta against its single-task network.",
            "Open Affinity: the lookahead matrix shows how a step on one task changes "
            "the others' losses, and the grouping suggestion which tasks to train together.",
            "Open Explain: see which shared units and which pixels each task uses.",
        ],
        look_for="Tasks that are functions of the digit (parity, ≥ 5, closed loop) gain from "
        "the digit task; look for asymmetric affinity (the digit task helps the "
        "others more than they help it).",
        experiment=_experiment(
            "sample_data/multi_digits",
            ["digit", "parity", "ge5", "closed_loop"],
            config="pixels",
            epochs=40,
            affinity_every=5,
        ),
    ),
]

# The config keys that make a stored run one of a lesson's variants (see the module doc).
MATCHED_KEYS = (
    "data.source",
    "data.config",
    "data.tasks",
    "model.architecture",
    "model.shared",
    "model.head",
    "weighting.method",
    "train.epochs",
    "train.batch_size",
    "train.lr",
    "train.optimizer",
)
RESULT_COLUMNS = [
    "variant",
    "runs",
    "seeds",
    "delta_m",
    "delta_m_low",
    "delta_m_high",
    "gain",
    "gain_low",
    "gain_high",
    "mean_cosine",
    "conflict_rate",
    "run_id",
]
LEVEL = 0.95


def lesson(key: str) -> Lesson:
    for candidate in LESSONS:
        if candidate.key == key:
            return candidate
    raise UserError(f"no lesson '{key}' (have: {', '.join(item.key for item in LESSONS)})")


def lesson_experiment(key: str, variant: str | None = None) -> dict[str, Any]:
    """A fresh copy of the lesson's experiment, with the chosen variant's settings."""
    chosen = lesson(key)
    experiment = copy.deepcopy(chosen.experiment)
    if variant is None:
        return experiment
    by_key = {item.key: item for item in chosen.variants}
    if variant not in by_key:
        raise UserError(
            f"lesson '{key}' has no variant '{variant}' (have: {', '.join(by_key) or 'none'})"
        )
    for dotted, value in by_key[variant].settings.items():
        section, name = dotted.split(".")
        experiment[section][name] = copy.deepcopy(value)
    return experiment


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    section, name = dotted.split(".")
    value = (config.get(section) or {}).get(name)
    if dotted == "data.tasks":  # a task is its name and column; defaults filled in don't count
        return [(task.get("name"), task.get("column")) for task in value or []]
    return value


def _matches(config: dict[str, Any], experiment: dict[str, Any]) -> bool:
    return all(_lookup(config, key) == _lookup(experiment, key) for key in MATCHED_KEYS)


def _seed_count(summary: dict[str, Any]) -> int:
    """Seeds behind the run's numbers: `noise.seeds` where the summary has it, else one."""
    return int((summary.get("noise") or {}).get("seeds") or 1)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else math.nan


def seed_delta_m(summary: dict[str, Any]) -> list[float] | None:
    """Δm of each seed of a run against the run's baselines (their mean over seeds), from
    its summary: the mean of these is the summary's `delta_m`. None when a task lacks what
    it takes (a baseline, a delta, per-seed metrics)."""
    tasks = list((summary.get("tasks") or {}).values())
    per_task = []
    for task in tasks:
        metric = task.get("primary_metric")
        base = (task.get("baseline_metrics") or {}).get(metric)
        mean, delta = (task.get("metrics") or {}).get(metric), task.get("delta")
        seeds = [seed.get(metric) for seed in task.get("seeds") or []]
        # A mean at the baseline leaves no direction to read off the delta.
        if (
            base is None
            or mean is None
            or delta is None
            or not seeds
            or None in seeds
            or base in (0, mean)
        ):
            return None
        # The summary's delta says which way the metric points (lower or higher is better).
        orientation = 1.0 if delta * (mean - base) > 0 else -1.0
        per_task.append([orientation * (s - base) / abs(base) for s in seeds])
    counts = {len(values) for values in per_task}
    if not per_task or len(counts) != 1:
        return None
    return [sum(values) / len(values) for values in zip(*per_task, strict=True)]


def paired_gain(run: dict[str, Any], reference: dict[str, Any]) -> tuple[float, float, float]:
    """Mean of Δm(run) − Δm(reference) over their paired seeds, and its 95% interval (NaN
    without a seed-by-seed Δm, or for the interval with fewer than 2 seeds)."""
    ours, theirs = seed_delta_m(run), seed_delta_m(reference)
    if ours is None or theirs is None or len(ours) != len(theirs):
        return math.nan, math.nan, math.nan
    differences = [a - b for a, b in zip(ours, theirs, strict=True)]
    mean = sum(differences) / len(differences)
    if len(differences) < 2:
        return mean, math.nan, math.nan
    spread = statistics.stdev(differences) / math.sqrt(len(differences))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, len(differences) - 1)) * spread
    return mean, mean - half, mean + half


def _gradient_agreement(store: RunStore, run_id: str) -> tuple[float, float]:
    """Mean gradient cosine and conflict rate over the task pairs (NaN without probes)."""
    extras = store.read_json(run_id, "extras.json") or {}
    try:
        report = affinity_report(extras.get("affinity"))
    except UserError:
        return math.nan, math.nan
    count = len(report.tasks)
    pairs = [(j, i) for j in range(count) for i in range(count) if i < j]

    def pair_mean(measure: str) -> float:
        values = [_number(report.mean[measure].values[j][i]) for j, i in pairs]
        known = [v for v in values if not math.isnan(v)]
        return sum(known) / len(known) if known else math.nan

    return pair_mean("cosine"), pair_mean("conflict_rate")


def lesson_results(item: Lesson, store: RunStore) -> pd.DataFrame:
    """One row per variant of `item` with completed runs in `store`, in the lesson's order:
    how many runs it has, and the newest one's seeds, Δm and Δm interval (NaN where the
    summary has none), gain over the reference variant with its interval (`paired_gain`;
    NaN without a reference run from the same seed), gradient cosine and conflict rate
    (lessons that show conflict; NaN without probes) and run id. A lesson without variants
    has one row, 'lesson', for its experiment."""
    variants = item.variants or [Variant("lesson", "lesson", {})]
    wanted = {
        v.key: lesson_experiment(item.key, v.key if item.variants else None) for v in variants
    }
    sources = {experiment["data"]["source"] for experiment in wanted.values()}
    # The index's source column rules most runs out before their configs are read.
    completed = [
        run
        for run in store.list_runs()
        if run["status"] == "completed" and run["source"] in sources
    ]
    configs = {run["id"]: store.load_config(run["id"]) for run in completed}
    found = {}
    for variant in variants:
        mine = [run for run in completed if _matches(configs[run["id"]], wanted[variant.key])]
        if mine:
            found[variant.key] = mine
    rows = []
    for variant in variants:
        if variant.key not in found:
            continue
        newest = found[variant.key][0]  # list_runs is newest first
        summary = newest.get("summary") or {}
        interval = summary.get("delta_m_ci") or [None, None]
        gain = _gain(newest, found.get(item.reference or ""), configs)
        cosine, conflict = (
            _gradient_agreement(store, newest["id"])
            if item.shows_conflict
            else (math.nan, math.nan)
        )
        rows.append(
            {
                "variant": variant.label,
                "runs": len(found[variant.key]),
                "seeds": _seed_count(summary),
                "delta_m": _number(summary.get("delta_m")),
                "delta_m_low": _number(interval[0]),
                "delta_m_high": _number(interval[1]),
                "gain": gain[0],
                "gain_low": gain[1],
                "gain_high": gain[2],
                "mean_cosine": cosine,
                "conflict_rate": conflict,
                "run_id": newest["id"],
            }
        )
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _gain(
    run: dict[str, Any], references: list[dict[str, Any]] | None, configs: dict[str, dict[str, Any]]
) -> tuple[float, float, float]:
    """`paired_gain` against the newest reference run trained from the same first seed (NaN
    when there is none, and for the reference's own run)."""
    seed = (configs[run["id"]].get("train") or {}).get("seed")
    partner = next(
        (
            ref
            for ref in references or []
            if (configs[ref["id"]].get("train") or {}).get("seed") == seed
        ),
        None,
    )
    if partner is None or partner["id"] == run["id"]:
        return math.nan, math.nan, math.nan
    return paired_gain(run.get("summary") or {}, partner.get("summary") or {})
