"""Task-combination sweeps: train every subset of the chosen tasks (or singles and pairs,
the higher-order approximation) and report, per task, which partners help it. Runs go
through a local process pool, or through Ray when a cluster address is given."""

from mtl_core.sweep.plan import subset_config, sweep_subsets
from mtl_core.sweep.run import SweepResult, run_sweep

__all__ = ["SweepResult", "run_sweep", "subset_config", "sweep_subsets"]
