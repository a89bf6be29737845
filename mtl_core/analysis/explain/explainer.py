"""The entry point: `Explainer` holds a private eval-mode copy of a model on the run's device,
the sample and its baseline, and computes the unit profiles, the input attributions and,
on request, the drivers of one unit. `explain_run` does it for a stored run."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mtl_core.analysis.explain.context import (
    ExplainOptions,
    Progress,
    make_baseline,
    pick_sample,
    representation_module,
    sample_chunks,
)
from mtl_core.analysis.explain.experts import ExpertLevel, expert_levels
from mtl_core.analysis.explain.inputs import InputAttribution, input_attributions
from mtl_core.analysis.explain.units import UnitProfiles, unit_drivers, unit_profiles
from mtl_core.data.prepare import PreparedData
from mtl_core.errors import UserError
from mtl_core.models.base import MTLModel
from mtl_core.runs.load import load_trained
from mtl_core.runs.store import RunStore
from mtl_core.train.device import resolve_device


def explain_device(requested: str) -> torch.device:
    """The run's device when this machine has it, else the CPU."""
    try:
        return resolve_device(requested)
    except UserError:
        return torch.device("cpu")


@dataclass
class Explanation:
    """Everything one explanation computed (numpy arrays on the CPU)."""

    tasks: list[str]
    input_kind: str
    feature_names: list[str]
    split: str
    x: np.ndarray  # the explained examples
    units: UnitProfiles
    inputs: dict[str, InputAttribution]
    options: ExplainOptions
    device: str
    seconds: float
    run_id: str | None = None
    architecture: str | None = None
    drivers: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    token_texts: dict[int, str] = field(default_factory=dict)  # text: the explained ids' n-grams
    experts: list[ExpertLevel] = field(default_factory=list)  # MMoE, PLE: per level of experts

    def to_json(self) -> dict[str, Any]:
        """The `explain --json` document."""
        units = self.units
        similarity = units.similarity
        inputs = {}
        for name, attribution in self.inputs.items():
            entry: dict[str, Any] = {"completeness": attribution.completeness.to_json()}
            if self.input_kind == "tabular":
                entry["features"] = {
                    feature: {"mean_abs": float(a), "mean": float(s)}
                    for feature, a, s in zip(
                        self.feature_names,
                        attribution.mean_abs(),
                        attribution.values.mean(axis=0),
                        strict=True,
                    )
                }
            elif self.input_kind == "text":
                # Per example and token position, signed; 0 where the position is padding.
                entry["tokens"] = attribution.values.round(6).tolist()
            else:
                entry["mean_abs_map"] = attribution.mean_abs().sum(axis=0).round(6).tolist()
            inputs[name] = entry
        return {
            "run_id": self.run_id,
            "architecture": self.architecture,
            "input_kind": self.input_kind,
            "device": self.device,
            "split": self.split,
            "samples": int(len(self.x)),
            "n_steps": self.options.n_steps,
            "baseline": self.options.baseline,
            "smoothgrad": self.options.smoothgrad,
            "seconds": round(self.seconds, 3),
            "tasks": self.tasks,
            **(
                {"token_texts": {str(k): v for k, v in sorted(self.token_texts.items())}}
                if self.input_kind == "text"
                else {}
            ),
            "units": {
                "shared": units.shared,
                "count": int(units.importance.shape[1]),
                "order": units.order,
                "rows": {
                    row: {
                        "task": task,
                        "mean_abs": imp.round(8).tolist(),
                        "share": share.round(6).tolist(),
                        "completeness": c.to_json(),
                    }
                    for row, task, imp, share, c in zip(
                        units.rows,
                        units.row_tasks,
                        units.importance,
                        units.share,
                        units.completeness,
                        strict=True,
                    )
                },
                "similarity": {
                    a: {b: float(similarity[i, j]) for j, b in enumerate(units.rows)}
                    for i, a in enumerate(units.rows)
                },
            },
            "inputs": inputs,
            "experts": [level.to_json() for level in self.experts],
            "drivers": {
                str(unit): {
                    task: np.abs(values).mean(axis=0).reshape(-1).round(8).tolist()
                    for task, values in per_task.items()
                }
                for unit, per_task in self.drivers.items()
            },
        }


class Explainer:
    """Attribution for one model and data: a deep copy in eval mode, frozen weights."""

    def __init__(
        self,
        model: MTLModel,
        data: PreparedData,
        options: ExplainOptions,
        device: torch.device | str = "cpu",
        run_id: str | None = None,
    ) -> None:
        options.check(data)
        self.run_id = run_id
        self.data = data
        self.options = options
        self.device = torch.device(device)
        self.model = copy.deepcopy(model).to(self.device).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        names = options.tasks or tuple(data.task_names)
        self.specs = [t for t in data.tasks if t.name in names]
        self.split, sample = pick_sample(data, options)
        self.x = sample.to(self.device)
        self.baseline = make_baseline(options.baseline, self.x, data).to(self.device)
        with torch.no_grad():
            outputs = self.model(self.x)
        broken = [name for name, out in outputs.items() if not torch.isfinite(out).all()]
        if broken:
            raise UserError(
                f"the model's output for task '{broken[0]}' is not finite (NaN or "
                "infinite; the run may have diverged): there is nothing to explain"
            )

    def _ticker(self, calls: int, progress: Progress | None) -> Callable[[str], None]:
        done = [0]

        def tick(message: str) -> None:
            done[0] += 1
            if progress:
                progress(min(1.0, done[0] / calls), message)

        return tick

    def _unit_rows(self) -> int:
        if not self.options.by_class:
            return len(self.specs)
        return sum(len(s.classes) if s.task_kind.explains_classes else 1 for s in self.specs)

    def explain(self, progress: Progress | None = None) -> Explanation:
        """Unit profiles, input attributions and (with experts) expert shares for every
        chosen task."""
        start = time.perf_counter()
        chunks = len(sample_chunks(len(self.x), self.options))
        levels = len(self.model.expert_levels())
        tick = self._ticker(chunks * (self._unit_rows() + (1 + levels) * len(self.specs)), progress)
        units = unit_profiles(self.model, self.specs, self.x, self.baseline, self.options, tick)
        inputs = input_attributions(
            self.model, self.specs, self.x, self.baseline, self.options, tick
        )
        experts = expert_levels(self.model, self.specs, self.x, self.baseline, self.options, tick)
        x = self.x.detach().cpu().numpy()
        shown = (
            {
                int(t): self.data.token_texts[int(t)]
                for t in np.unique(x)
                if t != 0 and int(t) in self.data.token_texts
            }  # (0: padding)
            if self.data.input_kind == "text"
            else {}
        )
        return Explanation(
            tasks=[s.name for s in self.specs],
            input_kind=self.data.input_kind,
            feature_names=list(self.data.feature_names),
            split=self.split,
            x=x,
            units=units,
            inputs=inputs,
            options=self.options,
            device=str(self.device),
            seconds=time.perf_counter() - start,
            run_id=self.run_id,
            architecture=getattr(self.model, "architecture", None),
            token_texts=shown,
            experts=experts,
        )

    def unit_shape(self) -> tuple[int, ...]:
        """Shape of one example's representation (that of the first explained task)."""
        captured = []
        module = representation_module(self.model, self.specs[0].name)
        handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out.shape))
        try:
            with torch.no_grad():
                self.model(self.x[:1])
        finally:
            handle.remove()
        return tuple(captured[-1][1:])

    def check_unit(self, unit: int) -> None:
        count = int(np.prod(self.unit_shape()))
        if not 0 <= unit < count:
            raise UserError(
                f"unit {unit} does not exist: the representation has units 0 to {count - 1}"
            )

    def add_drivers(
        self, explanation: Explanation, unit: int, progress: Progress | None = None
    ) -> dict[str, np.ndarray]:
        """NeuronConductance of `unit` per task; remembered in `explanation.drivers`."""
        self.check_unit(unit)
        if unit not in explanation.drivers:
            tick = self._ticker(
                len(sample_chunks(len(self.x), self.options)) * len(self.specs), progress
            )
            explanation.drivers[unit] = unit_drivers(
                self.model,
                self.specs,
                self.x,
                self.baseline,
                unit,
                explanation.units.unit_shape,
                self.options,
                tick,
            )
        return explanation.drivers[unit]


def run_explainer(store: RunStore, run_id: str, options: ExplainOptions) -> Explainer:
    """An Explainer for a stored run, on the run's device when this machine has it."""
    run = load_trained(store, run_id)
    return Explainer(run.model, run.data, options, explain_device(run.config.train.device), run_id)


def explain_run(
    store: RunStore, run_id: str, options: ExplainOptions, progress: Progress | None = None
) -> Explanation:
    return run_explainer(store, run_id, options).explain(progress)
