"""Training: the loop, device choice, masked per-task losses, metrics, and the experiment
runner that adds single-task baselines and stores the run."""
