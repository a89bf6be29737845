"""Synthetic task pairs with a known relation: the MMoE generator (Ma et al., KDD 2018,
section 3.2), where one knob sets how related two regression tasks are, and a
gradient-conflict generator, where two regression tasks pull one shared signal apart.

## The MMoE generator (`mmoe_synthetic`)

Two regression tasks whose relatedness is one knob, `p`, the cosine of their weight
vectors:

1. Draw orthonormal vectors u1, u2 in R^d.
2. w1 = c·u1 and w2 = c·(p·u1 + sqrt(1 - p²)·u2), so cos(w1, w2) = p.
3. x ~ N(0, I_d).
4. y_k = w_kᵀx + Σ_{i=1..m} sin(α_i·w_kᵀx + β_i) + ε_k, with α_i, β_i ~ N(0, 1) shared by
   the tasks and ε_k ~ N(0, noise²).

In the linear part the label correlation equals p; the sines make it lower but it still
rises with p, which is what makes p a slider for negative transfer. The paper leaves c,
m, α and β open; the defaults follow drawbridge/keras-mmoe `synthetic_demo.py`
(d = 100, c = 0.3, m = 5, noise 0.1). With c = 0.3 the targets' scale depends on the
drawn α, β: seed 0 gives targets with a standard deviation of about 0.4, well above the
noise.

More than two tasks: task k ≥ 2 gets its own orthonormal vector u_k and
w_k = c·(p·u1 + sqrt(1 - p²)·u_k). Every task then has cosine p with task 1, and any
two tasks k, j ≥ 2 have cosine p² with each other.

The seed fixes the weights, the sines, the inputs and the noise through separate
streams, so the same seed with a different p gives the same x and the same sines,
and `mmoe_weights` returns exactly the vectors `mmoe_synthetic` used.

## The gradient-conflict generator (`gradient_conflict_synthetic`)

Two regression targets on the same inputs, opposite functions of one shared nonlinearity,
and a second part that only task 2 needs:

1. Draw orthonormal vectors u, v_1..v_m in R^d and x ~ N(0, I_d).
2. s = tanh(sharpness·uᵀx), the signal both tasks read.
3. y1 = s + ε1 and y2 = −s + scale·Σ_{j=1..m} sin(frequency·v_jᵀx) + ε2, ε_k ~ N(0, noise²).

So corr(y1, y2) is strongly negative (about −0.62 with the defaults), y1 is easy (one smooth
function of one direction) and y2 hard (the sines of m more directions). The sign alone
does not make the tasks conflict, since a head can flip it; what does is a shared trunk too
small for both: when it ends in one unit, that unit can carry s (all y1 needs) or s mixed
with the sines (what y2 needs), not both. Once both heads read s, y2's gradient pushes the
unit towards the sines and y1's pushes it back, so the two tasks' gradients on the shared
parameters point against each other (a negative cosine) in most steps; equal weighting
lets the hard task's larger gradient drag the unit, at the easy task's expense.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import pandas as pd

from mtl_core.errors import UserError

_STREAMS = ("weights", "sines", "inputs", "noise")


def mmoe_weights(
    p: float, dim: int = 100, seed: int = 0, c: float = 0.3, n_tasks: int = 2
) -> np.ndarray:
    """The task weight vectors w_1..w_n as rows of an (n_tasks, dim) array."""
    _check_arguments(p=p, dim=dim, seed=seed, c=c, n_tasks=n_tasks)
    basis = _orthonormal_rows(_streams(seed)["weights"], n_tasks, dim)
    others = p * basis[0] + math.sqrt(1.0 - p * p) * basis[1:]
    return c * np.vstack([basis[:1], others])


def mmoe_synthetic(
    p: float,
    n_rows: int = 10000,
    dim: int = 100,
    seed: int = 0,
    c: float = 0.3,
    n_sines: int = 5,
    noise: float = 0.1,
    n_tasks: int = 2,
) -> pd.DataFrame:
    """A frame with inputs x0..x{dim-1} and targets y1..y{n_tasks}, all float32."""
    _check_arguments(p=p, dim=dim, seed=seed, c=c, n_tasks=n_tasks)
    _check_sizes(n_rows=n_rows, n_sines=n_sines, noise=noise)
    streams = _streams(seed)
    weights = mmoe_weights(p, dim, seed, c, n_tasks)
    alpha = streams["sines"].standard_normal(n_sines)
    beta = streams["sines"].standard_normal(n_sines)
    inputs = streams["inputs"].standard_normal((n_rows, dim))
    linear = inputs @ weights.T
    sines = np.sin(linear[:, :, None] * alpha + beta).sum(axis=2)
    targets = linear + sines + noise * streams["noise"].standard_normal((n_rows, n_tasks))
    columns = {f"x{i}": inputs[:, i] for i in range(dim)}
    columns |= {f"y{k + 1}": targets[:, k] for k in range(n_tasks)}
    return pd.DataFrame(columns).astype(np.float32)


def gradient_conflict_synthetic(
    n_rows: int = 3000,
    dim: int = 10,
    seed: int = 0,
    n_sines: int = 2,
    scale: float = 1.0,
    frequency: float = 2.0,
    sharpness: float = 2.0,
    noise: float = 0.1,
) -> pd.DataFrame:
    """A frame with inputs x0..x{dim-1} and targets y1 (easy) and y2 (opposite and harder),
    all float32; see the module doc for the recipe and why the tasks conflict."""
    name = "gradient_conflict_synthetic"
    _require(_is_whole(n_sines, minimum=1), "n_sines must be a whole number ≥ 1", n_sines, name)
    _require(
        _is_whole(dim, minimum=n_sines + 1),
        f"dim must be a whole number ≥ n_sines + 1 ({n_sines + 1}) so each part gets its "
        "own direction",
        dim,
        name,
    )
    _require(_is_whole(seed, minimum=0), "seed must be a whole number ≥ 0", seed, name)
    _require(_is_whole(n_rows, minimum=1), "n_rows must be a whole number ≥ 1", n_rows, name)
    for label, value in (("scale", scale), ("frequency", frequency), ("sharpness", sharpness)):
        _require(_is_real(value) and value > 0, f"{label} must be a positive number", value, name)
    _require(
        _is_real(noise) and noise >= 0, "noise (a standard deviation) must be ≥ 0", noise, name
    )
    streams = _streams(seed)
    directions = _orthonormal_rows(streams["weights"], n_sines + 1, dim)
    inputs = streams["inputs"].standard_normal((n_rows, dim))
    projections = inputs @ directions.T
    shared = np.tanh(sharpness * projections[:, 0])
    sines = scale * np.sin(frequency * projections[:, 1:]).sum(axis=1)
    eps = noise * streams["noise"].standard_normal((n_rows, 2))
    columns = {f"x{i}": inputs[:, i] for i in range(dim)}
    columns |= {"y1": shared + eps[:, 0], "y2": -shared + sines + eps[:, 1]}
    return pd.DataFrame(columns).astype(np.float32)


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    generators = [np.random.default_rng(child) for child in children]
    return dict(zip(_STREAMS, generators, strict=True))


def _orthonormal_rows(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """`count` orthonormal vectors in R^dim by Gram-Schmidt on Gaussian draws."""
    rows: list[np.ndarray] = []
    for draw in rng.standard_normal((count, dim)):
        for row in rows:
            draw = draw - (draw @ row) * row
        rows.append(draw / np.linalg.norm(draw))
    return np.vstack(rows)


def _check_arguments(p: float, dim: int, seed: int, c: float, n_tasks: int) -> None:
    _require(_is_real(p) and -1.0 <= p <= 1.0, "p (the task correlation) must be in [-1, 1]", p)
    _require(_is_whole(n_tasks, minimum=1), "n_tasks must be a whole number ≥ 1", n_tasks)
    _require(
        _is_whole(dim, minimum=n_tasks),
        f"dim must be a whole number ≥ n_tasks ({n_tasks}) so each task gets its own direction",
        dim,
    )
    _require(_is_whole(seed, minimum=0), "seed must be a whole number ≥ 0", seed)
    _require(_is_real(c) and c > 0, "c (the weight scale) must be a positive number", c)


def _check_sizes(n_rows: int, n_sines: int, noise: float) -> None:
    _require(_is_whole(n_rows, minimum=1), "n_rows must be a whole number ≥ 1", n_rows)
    _require(_is_whole(n_sines, minimum=0), "n_sines must be a whole number ≥ 0", n_sines)
    _require(_is_real(noise) and noise >= 0, "noise (a standard deviation) must be ≥ 0", noise)


def _require(condition: bool, rule: str, value: object, generator: str = "mmoe_synthetic") -> None:
    if not condition:
        raise UserError(f"{generator}: {rule}, got {value!r}")


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: object, minimum: int) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= minimum
