"""Pairwise relations between task gradients, all read off the T×T Gramian G = J Jᵀ of the
task gradients on the shared parameters (G_ij = g_i·g_j). Pure functions, no autograd.

- cosine: cos φ_ij = G_ij / sqrt(G_ii G_jj); < 0 is a "conflict" (PCGrad, Yu et al. 2020)
- magnitude similarity: Φ_ij = 2‖g_i‖‖g_j‖ / (‖g_i‖² + ‖g_j‖²) ∈ (0, 1]; low means one task's
  gradient dominates the other's

A task with a zero gradient has no direction: its cosines are 0 (neither agreeing nor
conflicting) and its magnitude similarities 0 (the other task dominates completely).
"""

from __future__ import annotations

import torch

EPS = 1e-30


def _norms(gramian: torch.Tensor) -> torch.Tensor:
    return gramian.diagonal().clamp_min(0.0).sqrt()


def cosine_matrix(gramian: torch.Tensor) -> torch.Tensor:
    """cos φ_ij for every pair; the diagonal is 1 for tasks with a gradient."""
    norms = _norms(gramian)
    outer = norms[:, None] * norms[None, :]
    cosine = torch.where(outer > EPS, gramian / outer.clamp_min(EPS), torch.zeros_like(gramian))
    return cosine.clamp(-1.0, 1.0)


def conflict(gramian: torch.Tensor) -> torch.Tensor:
    """True where the two tasks' gradients point against each other (cosine < 0)."""
    return cosine_matrix(gramian) < 0


def magnitude_similarity(gramian: torch.Tensor) -> torch.Tensor:
    """Φ_ij = 2‖g_i‖‖g_j‖ / (‖g_i‖² + ‖g_j‖²): 1 for equal norms, → 0 when one dominates."""
    norms = _norms(gramian)
    squares = norms**2
    total = squares[:, None] + squares[None, :]
    product = 2.0 * norms[:, None] * norms[None, :]
    return torch.where(total > EPS, product / total.clamp_min(EPS), torch.zeros_like(gramian))
