"""Task-combination sweeps: train every subset of the chosen tasks (or singles and pairs,
the higher-order approximation) on the full experiment's rows and inputs and report, per
task, which partners help it, with intervals and verdicts; then verify a grouping against
all together and all separate. Runs go through a local process pool, or through Ray when a
cluster address is given."""

from mtl_core.sweep.plan import subset_config, sweep_subsets
from mtl_core.sweep.run import SweepResult, run_sweep
from mtl_core.sweep.verify import VerifyResult, verify_grouping

__all__ = [
    "SweepResult",
    "VerifyResult",
    "run_sweep",
    "subset_config",
    "sweep_subsets",
    "verify_grouping",
]
