"""Small building blocks shared by the architectures: MLP stacks and task heads."""

from __future__ import annotations

from torch import nn


def mlp(in_dim: int, widths: list[int], dropout: float = 0.0) -> nn.Sequential:
    """Linear -> ReLU (-> Dropout) for each width; empty widths give an identity stack."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = width
    return nn.Sequential(*layers)


def head(in_dim: int, widths: list[int], out_dim: int, dropout: float = 0.0) -> nn.Sequential:
    """A task head: an MLP followed by a linear output layer."""
    body = mlp(in_dim, widths, dropout)
    last = widths[-1] if widths else in_dim
    return nn.Sequential(*body, nn.Linear(last, out_dim))
