"""Replay the training optimizer's update rule on candidate gradients without touching it.

`replay_step(optimizer, params, grads)` returns what each parameter would become if the
optimizer stepped now with `grads` instead of the real gradients: same learning rate, weight
decay, momentum buffers, Adam moments and bias correction at the next step count. The
optimizer's state and the parameters are only read. Grads may carry a leading batch
dimension (one candidate per task), which broadcasts against the state.

Rules follow torch.optim's single-tensor implementations of Adam, AdamW and SGD.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mtl_core.errors import UserError


def _adam(
    param: torch.Tensor, grad: torch.Tensor, group: dict[str, Any], state: dict[str, Any]
) -> torch.Tensor:
    lr, (beta1, beta2), eps = float(group["lr"]), group["betas"], group["eps"]
    weight_decay = group["weight_decay"]
    decoupled = group.get("decoupled_weight_decay", False)  # AdamW sets it (torch >= 2.7)
    if group.get("maximize", False):
        grad = -grad
    base = param.detach()
    if weight_decay:
        if decoupled:
            base = base * (1 - lr * weight_decay)
        else:
            grad = grad + weight_decay * base
    step = float(state["step"]) + 1 if "step" in state else 1.0
    exp_avg, exp_avg_sq = state.get("exp_avg"), state.get("exp_avg_sq")
    if exp_avg is None:  # no step taken yet: zero moments
        exp_avg = exp_avg_sq = torch.zeros_like(base)
    # torch's own Adam arithmetic, out of place where it writes the state; the candidate
    # dimension of `grad` broadcasts against the moments.
    exp_avg = exp_avg.lerp(grad, 1 - beta1)
    exp_avg_sq = torch.addcmul(exp_avg_sq * beta2, grad, grad, value=1 - beta2)
    if group.get("amsgrad", False):
        highest = state.get("max_exp_avg_sq")
        exp_avg_sq = torch.maximum(
            torch.zeros_like(base) if highest is None else highest, exp_avg_sq
        )
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    denom = exp_avg_sq.sqrt().div_(bias_correction2_sqrt).add_(eps)  # (a new tensor)
    return torch.addcdiv(base, exp_avg, denom, value=-lr / bias_correction1)


def _sgd(
    param: torch.Tensor, grad: torch.Tensor, group: dict[str, Any], state: dict[str, Any]
) -> torch.Tensor:
    lr, momentum = float(group["lr"]), group["momentum"]
    weight_decay, dampening = group["weight_decay"], group["dampening"]
    if group.get("maximize", False):
        grad = -grad
    base = param.detach()
    if weight_decay:
        grad = grad + weight_decay * base
    if momentum:
        buffer = state.get("momentum_buffer")
        buffer = grad if buffer is None else buffer * momentum + (1 - dampening) * grad
        grad = grad + momentum * buffer if group["nesterov"] else buffer
    return base - lr * grad


def replay_step(
    optimizer: torch.optim.Optimizer,
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
) -> list[torch.Tensor]:
    """The parameters after one step of `optimizer` with `grads` (read-only replay)."""
    if isinstance(optimizer, torch.optim.Adam):  # AdamW subclasses Adam in torch >= 2.7
        rule = _adam
    elif isinstance(optimizer, torch.optim.SGD):
        rule = _sgd
    else:
        raise UserError(
            f"the affinity probe cannot replay the optimizer {type(optimizer).__name__}: use "
            "adam, adamw or sgd, or switch the probe off with analysis.affinity_every: 0"
        )
    group_of = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    updated = []
    for param, grad in zip(params, grads, strict=True):
        state = optimizer.state.get(param, {})
        updated.append(rule(param, grad, group_of[id(param)], state))
    return updated
