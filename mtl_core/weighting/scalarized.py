"""Loss-based methods that are a torchjd scalarizer: L = s(L_1, ..., L_T), one backward."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch
from torch import nn

from mtl_core.weighting.base import LossWeighting
from mtl_core.weighting.jacobian import JacobianRecorder, backward_recording


class ScalarizerWeighting(LossWeighting):
    """Wraps a `torchjd.scalarization` scalarizer; its learned parameters (if any) are
    stepped by the training optimizer unless `self_stepped` (FAMO steps its own)."""

    self_stepped = False

    def __init__(
        self,
        task_names: list[str],
        params: dict[str, Any],
        update_every: int = 1,
        gramian_every: int = 0,
    ) -> None:
        super().__init__(task_names, params, update_every, gramian_every)
        self.scalarizer: nn.Module = self.make_scalarizer(len(self.task_names), self.params)
        self._device = torch.device("cpu")

    @abstractmethod
    def make_scalarizer(self, n_tasks: int, params: dict[str, Any]) -> nn.Module:
        """The torchjd scalarizer this method is."""

    def parameters(self) -> list[nn.Parameter]:
        return [] if self.self_stepped else list(self.scalarizer.parameters())

    def scalarizer_on(self, device: torch.device) -> nn.Module:
        """The scalarizer, moved to `device` (the losses') when it is not there yet."""
        if device != self._device:
            self.scalarizer.to(device)
            self._device = device
        return self.scalarizer

    def combine(self, losses: torch.Tensor, step: int) -> torch.Tensor:
        """The scalar to back-propagate."""
        return self.scalarizer_on(losses.device)(losses)

    def weighted_backward(
        self, losses: torch.Tensor, step: int, recorder: JacobianRecorder | None
    ) -> torch.Tensor:
        """A scalarizer that gives d(total)/d(L_i) in closed form (`weights_for`, FAMO and
        STCH) has the losses back-propagated with those weights: no graph is built for the
        scalarization. Otherwise the weight a task got is read off the backward itself (the
        losses retain their gradient), so it is exact for any scalarization."""
        closed_form = getattr(self.scalarizer_on(losses.device), "weights_for", None)
        if closed_form is not None:
            weights = closed_form(losses).reshape(losses.shape).to(losses.dtype)
            backward_recording(losses, recorder, weights)
            return weights
        losses.retain_grad()
        backward_recording(self.combine(losses, step), recorder)
        weights = losses.grad
        return torch.zeros_like(losses).detach() if weights is None else weights.detach()
