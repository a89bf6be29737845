"""Training: the loop, device choice, masked per-task losses and metrics. Experiments
(seeds, baselines, comparisons) are in `mtl_core.experiment`."""
