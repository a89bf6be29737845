"""The two small convex programs behind CAGrad and Nash-MTL, handed to the Clarabel
interior-point solver directly.

torchjd states them in cvxpy, which rebuilds and re-canonicalises the program on every call
(CAGrad: ~5 ms; Nash-MTL's program is not DPP, so each of its up to 20 inner solves pays
it: ~14 ms per step on 5 tasks). Here the same programs are written once in Clarabel's
standard form (min qᵀx s.t. b − Ax ∈ K) and solved by the solver torchjd's CAGrad uses:
~0.2 ms per solve. The methods (`methods/cagrad.py`, `methods/nash_mtl.py`) keep torchjd's
code around the solve, and the tests hold them to torchjd's weights.
"""

from __future__ import annotations

import functools

import clarabel
import numpy as np
from scipy import sparse

SOLVED = {"Solved", "AlmostSolved"}


def _solve(q: np.ndarray, a: np.ndarray, b: np.ndarray, cones: list) -> np.ndarray | None:
    """x minimising qᵀx with b − Ax in `cones`, or None when the solver does not reach it."""
    # Only A's nonzeros are handed over (scipy drops the zeros): the solver's KKT system then
    # has the programs' real, sparse structure.
    solver = clarabel.DefaultSolver(
        _no_quadratic(len(q)), q, sparse.csc_matrix(a), b, cones, _SETTINGS
    )
    solution = solver.solve()
    if str(solution.status) not in SOLVED:
        return None
    return np.asarray(solution.x)


def _quiet_settings() -> clarabel.DefaultSettings:
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    return settings


_SETTINGS = _quiet_settings()


@functools.cache
def _no_quadratic(size: int) -> sparse.csc_matrix:
    """The all-zero P of a linear objective (read, never written, by the solver)."""
    return sparse.csc_matrix((size, size))


def min_linear_plus_norm_on_simplex(linear: np.ndarray, matrix: np.ndarray) -> np.ndarray | None:
    """argmin over the simplex {w ≥ 0, Σ w = 1} of linearᵀw + ‖matrix · w‖₂ (CAGrad's dual).

    Variables x = (w, t); minimise linearᵀw + t with t ≥ ‖matrix · w‖ (a second-order cone)."""
    n = len(linear)
    q = np.append(linear, 1.0)
    a = np.zeros((1 + n + 1 + len(matrix), n + 1))
    b = np.zeros(len(a))
    a[0, :n], b[0] = 1.0, 1.0  # Σ w = 1
    a[1 : n + 1, :n] = -np.eye(n)  # w ≥ 0
    a[n + 1, n] = -1.0  # (t, matrix · w) in the second-order cone
    a[n + 2 :, :n] = -matrix
    cones = [
        clarabel.ZeroConeT(1),
        clarabel.NonnegativeConeT(n),
        clarabel.SecondOrderConeT(1 + len(matrix)),
    ]
    x = _solve(q, a, b, cones)
    return None if x is None else x[:n]


def min_linear_with_log_products(
    gramian: np.ndarray, linear: np.ndarray, floor: float
) -> np.ndarray | None:
    """argmin over α ≥ 0 of 1ᵀGα + linearᵀα with log α_i + log (Gα)_i ≥ floor for every i
    (one inner program of Nash-MTL; G = `gramian`).

    Variables x = (α, u, v): e^u_i ≤ α_i and e^v_i ≤ (Gα)_i are exponential cones
    ((u, 1, α) with Clarabel's convention y·e^(x/y) ≤ z), and u_i + v_i ≥ floor is linear."""
    n = len(linear)
    alpha, u, v = np.arange(n), np.arange(n, 2 * n), np.arange(2 * n, 3 * n)
    q = np.zeros(3 * n)
    q[alpha] = gramian.sum(axis=0) + linear
    a = np.zeros((2 * n + 6 * n, 3 * n))
    b = np.zeros(len(a))
    rows = np.arange(n)
    a[rows, alpha] = -1.0  # α ≥ 0
    a[n + rows, u] = a[n + rows, v] = -1.0  # u + v − floor ≥ 0
    b[n : 2 * n] = -floor
    for i in range(n):
        top = 2 * n + 6 * i
        a[top, u[i]], b[top + 1], a[top + 2, alpha[i]] = -1.0, 1.0, -1.0  # (u_i, 1, α_i)
        a[top + 3, v[i]], b[top + 4] = -1.0, 1.0  # (v_i, 1, (Gα)_i)
        a[top + 5, alpha] = -gramian[i]
    cones = [clarabel.NonnegativeConeT(2 * n), *[clarabel.ExponentialConeT()] * (2 * n)]
    x = _solve(q, a, b, cones)
    return None if x is None else x[alpha]
