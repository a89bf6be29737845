"""Analysis of what happened between tasks: transfer against single-task baselines,
affinity, grouping and attributions."""
