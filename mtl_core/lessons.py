"""One-click lessons: each sets up an experiment and tells the user what to look for.
Plain data, so the app, the CLI and the tests read the same lessons."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from mtl_core.errors import UserError


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    question: str
    steps: list[str]
    look_for: str
    experiment: dict[str, Any]
    # An optional knob the lesson page offers: (label, data.config values) for mmoe p.
    variants: dict[str, str] = field(default_factory=dict)


def _experiment(source, tasks, config=None, architecture="hard", method="equal",
                epochs=40, affinity_every=5, **train) -> dict[str, Any]:
    return {
        "name": None,
        "data": {"source": source, "config": config, "inputs": "auto",
                 "tasks": [{"name": t, "column": t} for t in tasks]},
        "model": {"architecture": architecture, "shared": [64, 64], "head": [32],
                  "dropout": 0.0, "params": {}},
        "weighting": {"method": method, "update_every": 1, "params": {}},
        "train": {"epochs": epochs, "batch_size": 128, "lr": 0.003, "optimizer": "adam",
                  "device": "auto", "seed": 0, "patience": 10, "baselines": True, **train},
        "analysis": {"affinity_every": affinity_every},
    }


LESSONS = [
    Lesson(
        key="negative-transfer",
        title="Negative transfer appears as tasks become unrelated",
        question="Does sharing one network help two regression tasks when they have little "
                 "in common?",
        steps=["Train with the task correlation p = 1.0 and note Δm on the Train page.",
               "Pick p = 0.0, then p = -0.5, and train again.",
               "On the Model page switch to MMoE and repeat p = -0.5."],
        look_for="Δm falls as p falls: with unrelated tasks hard sharing does worse than "
                 "separate networks (negative transfer). MMoE's gates let each task pick its "
                 "own experts, so it degrades less.",
        experiment=_experiment("sample_data/mmoe_synthetic", ["y1", "y2"], config="p1.0",
                               epochs=30, batch_size=256),
        variants={"p = 1.0 (same task)": "p1.0", "p = 0.5": "p0.5",
                  "p = 0.0 (unrelated)": "p0.0", "p = -0.5 (opposed)": "p-0.5"},
    ),
    Lesson(
        key="gradient-conflict",
        title="Gradient conflict and what PCGrad and UPGrad do about it",
        question="When two tasks pull the shared layers in opposite directions, can the "
                 "update be made to hurt neither?",
        steps=["Train with equal weighting and open Affinity: look at the gradient cosine.",
               "On the Model page choose PCGrad, train again; then UPGrad.",
               "Compare the runs on the Runs page."],
        look_for="A negative cosine between the tasks' gradients is a conflict. PCGrad "
                 "projects each gradient off the other's direction; UPGrad finds an update "
                 "that conflicts with no task. Check whether the conflicting task's metric "
                 "improves, not just the loss.",
        experiment=_experiment("sample_data/mmoe_synthetic", ["y1", "y2"], config="p-0.5",
                               epochs=30, affinity_every=5, batch_size=256),
    ),
    Lesson(
        key="digits-affinity",
        title="Which digit tasks help each other",
        question="Four tasks read the same handwritten digit: the digit, its parity, whether "
                 "it is ≥ 5 and whether it has a closed loop. Which ones belong together?",
        steps=["Train (baselines on) and read each task's delta against its single-task "
               "network.",
               "Open Affinity: the lookahead matrix shows how a step on one task changes "
               "the others' losses, and the grouping suggestion which tasks to train together.",
               "Open Explain: see which shared units and which pixels each task uses."],
        look_for="Tasks that are functions of the digit (parity, ≥ 5, closed loop) gain from "
                 "the digit task; look for asymmetric affinity (the digit task helps the "
                 "others more than they help it).",
        experiment=_experiment("sample_data/multi_digits", ["digit", "parity", "ge5",
                                                            "closed_loop"],
                               config="pixels", epochs=40, affinity_every=5),
    ),
]


def lesson(key: str) -> Lesson:
    for candidate in LESSONS:
        if candidate.key == key:
            return candidate
    raise UserError(f"no lesson '{key}' (have: {', '.join(item.key for item in LESSONS)})")


def lesson_experiment(key: str, variant: str | None = None) -> dict[str, Any]:
    """A fresh copy of the lesson's experiment, with the chosen variant's data config."""
    chosen = lesson(key)
    experiment = copy.deepcopy(chosen.experiment)
    if variant is not None:
        if variant not in chosen.variants.values():
            raise UserError(f"lesson '{key}' has no variant '{variant}'")
        experiment["data"]["config"] = variant
    return experiment
