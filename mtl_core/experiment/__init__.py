"""Experiments end to end: the multi-task model and its seeds, the single-task baselines,
the comparison with intervals and verdicts, and the stored run. It sits after `train` and
`analysis` in the data flow (config -> data -> model -> train -> runs -> analysis ->
experiment -> sweep, cli, pages)."""

from mtl_core.experiment.baselines import baseline_config, baseline_key, train_baselines
from mtl_core.experiment.run import load_warm_weights, run_experiment

__all__ = [
    "baseline_config",
    "baseline_key",
    "load_warm_weights",
    "run_experiment",
    "train_baselines",
]
