"""Short explanations of the ideas the app shows, written for students using this app.
Plain text, so pages show them in expanders and tests can check every page has one."""

CONCEPTS: dict[str, tuple[str, str]] = {
    "multi-task": (
        "What is multi-task learning?",
        "One network learns several tasks at once (here: several target columns). Tasks "
        "that need similar features can help each other: each task's data becomes extra "
        "training signal for the shared layers. Tasks that need different features can also "
        "hurt each other. This app lets you see which happens.",
    ),
    "sharing": (
        "Hard vs soft sharing, cross-stitch, MMoE and PLE",
        "Hard sharing: all tasks use the same layers and have their own small head. Soft "
        "sharing: each task has its own network, and a penalty keeps their weights close. "
        "Cross-stitch: each task has its own network, and learned mixing units blend their "
        "layers. MMoE: several shared 'experts', and each task has a gate that picks its own "
        "mix of them. PLE adds experts that belong to one task only. Single-task trains one "
        "separate network per task: the baseline the others must beat.",
    ),
    "weighting": (
        "Loss weighting",
        "The shared layers receive one update made from every task's loss. Equal weighting "
        "just adds the losses; other methods reweight them (uncertainty, DWA, FAMO) or combine "
        "the tasks' gradients so no task is hurt (PCGrad, MGDA, UPGrad, CAGrad, Nash-MTL). "
        "Gradient methods cost one backward pass per task; 'update every k steps' makes them "
        "cheaper. Equal weighting is often hard to beat: always compare against it.",
    ),
    "negative-transfer": (
        "Negative transfer",
        "A task has negative transfer when it does worse trained together with the others "
        "than alone. The app trains a single-task baseline for each task and shows the "
        "difference (delta; positive = multi-task is better). Δm is the mean of these deltas. "
        "Only a worse metric than the baseline, beyond the seed-to-seed noise, confirms it.",
    ),
    "affinity": (
        "Task affinity",
        "Lookahead affinity (TAG): take a small training step on task A alone and see how "
        "task B's loss changes; positive means A's step also helps B. Gradient cosine: "
        "whether the tasks' gradients on the shared layers point the same way (negative = "
        "conflict). Both only hint at transfer; the baselines confirm it.",
    ),
    "attribution": (
        "Attribution",
        "Attribution (Captum) splits a task's prediction into contributions of inputs or of "
        "shared units. If two tasks rely on the same shared units they share features; if "
        "they use different units they only share the network's capacity. Integrated "
        "Gradients' contributions add up to the change of the output from a baseline input, "
        "and the 'convergence delta' says how far from exact that sum is.",
    ),
}
