"""The Jacobian of the task losses on the shared parameters, in two passes over the graph:

1. ONE ordinary backward of Σ_i L_i down to the *task cut*: the edges where a task's private
   part of the graph (its head, its gate, its loss) feeds the part several tasks reach. Hooks
   on the private nodes catch, per task, the gradient each sends across the cut; the same pass
   gives every non-shared parameter its gradient of Σ_i L_i.
2. Those T cut gradients pushed through the shared part to the shared parameters as ONE
   batched VJP (`torch.autograd.grad(..., is_grads_batched=True)`, vmap over the T rows).

The cut is found from the autograd graph itself (which task's loss reaches which node), so
it needs nothing from the model and misses no path from a loss to a shared parameter.
This is torchjd's `mtl_backward` split (heads, then vmapped trunk VJPs), written here
because the loop hands over the losses stacked into one tensor, which `mtl_backward` cannot
take. When the losses are not a plain stack, the Jacobian is one batched VJP of the losses
instead; a batched VJP that an operation cannot vmap falls back to one pass per task (same
numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.autograd.graph import GradientEdge, Node


@dataclass
class TaskJacobian:
    """Per shared parameter the Jacobian rows [T, *param.shape]; per other parameter the plain
    gradient of Σ_i L_i (None where no loss reaches it)."""

    shared: list[nn.Parameter]
    shared_rows: list[torch.Tensor]
    others: list[nn.Parameter]
    other_grads: list[torch.Tensor | None]

    def matrix(self) -> torch.Tensor:
        """J on the shared parameters as one [T, D] matrix."""
        return torch.cat([rows.reshape(rows.shape[0], -1) for rows in self.shared_rows], dim=1)


def batched_vjp(
    outputs: Sequence[torch.Tensor] | Sequence[GradientEdge],
    inputs: Sequence[torch.Tensor],
    rows: list[torch.Tensor],
) -> list[torch.Tensor | None]:
    """For each input, the T stacked VJPs [T, *input.shape] of `outputs` with `rows` (one
    [T, *output.shape] tensor per output), None where the input is not reached. Keeps the
    graph."""
    count = rows[0].shape[0]
    grads: Sequence[torch.Tensor | None]  # None where `allow_unused` finds no path
    try:
        grads = torch.autograd.grad(
            outputs, inputs, rows, retain_graph=True, is_grads_batched=True, allow_unused=True
        )
    except RuntimeError:  # an op without a batching rule: same numbers, one pass per row
        per_row = [
            torch.autograd.grad(
                outputs, inputs, [r[i] for r in rows], retain_graph=True, allow_unused=True
            )
            for i in range(count)
        ]
        grads = tuple(
            _stack_or_none(column, param)
            for column, param in zip(zip(*per_row, strict=True), inputs, strict=True)
        )
    return list(grads)


def _stack_or_none(
    column: Sequence[torch.Tensor | None], param: torch.Tensor
) -> torch.Tensor | None:
    if all(g is None for g in column):
        return None
    return torch.stack([torch.zeros_like(param) if g is None else g for g in column])


def task_edges(losses: torch.Tensor) -> list[GradientEdge] | None:
    """Each task's own loss node, when `losses` is a plain `torch.stack` of T scalars."""
    node = losses.grad_fn
    if node is None or type(node).__name__ != "StackBackward0":
        return None
    edges = node.next_functions
    if len(edges) != len(losses) or any(edge[0] is None for edge in edges):
        return None
    return [GradientEdge(nxt, number) for nxt, number in edges if nxt is not None]


def _reach(edges: list[GradientEdge]) -> tuple[dict[Node, int], dict[Node, tuple]]:
    """Every node the losses reach, with the set of tasks reaching it as a bit mask, and
    each walked node's `next_functions` (read once: each read builds new tuples). A node
    found shared (two bits or more) is not walked again: everything below it is shared."""
    owners: dict[Node, int] = {}
    below: dict[Node, tuple] = {}
    get_owner, get_below = owners.get, below.get  # (bound once: this loop runs every step)
    for task, edge in enumerate(edges):
        bit, stack = 1 << task, [edge.node]
        push, pop = stack.append, stack.pop
        while stack:
            node = pop()
            seen = get_owner(node, 0)
            owners[node] = seen | bit
            if seen & bit or seen & (seen - 1):
                continue
            nexts = get_below(node)
            if nexts is None:
                below[node] = nexts = node.next_functions
            for nxt, _ in nexts:
                if nxt is not None:
                    push(nxt)
    return owners, below


class TaskCut:
    """The edges from each task's private nodes into the shared part of one graph, and a hook
    per private node that records what each task sends across them during a backward."""

    def __init__(self, edges: list[GradientEdge]) -> None:
        self.count = len(edges)
        owners, below = _reach(edges)
        self.crossings: dict[tuple[Node, int], list[list[torch.Tensor]]] = {}
        self._senders: list[tuple[Node, int, list[tuple[int, tuple[Node, int]]]]] = []
        # Leaf tensors only one task reaches (soft sharing's towers): their gradient is that
        # task's row, read in the first pass; no cut leads to them.
        self.private_leaves: dict[int, int] = {}
        for node, mask in owners.items():
            if mask & (mask - 1):
                continue  # shared
            nexts = below[node]
            if not nexts:  # a leaf: nothing below it to cross into
                if type(node).__name__ == "AccumulateGrad":
                    # torch's Node hints lack AccumulateGrad's `variable`, the leaf it feeds.
                    leaf = node.variable  # type: ignore[attr-defined]
                    self.private_leaves[id(leaf)] = mask.bit_length() - 1
                continue
            picks = [
                (slot, (nxt, number))
                for slot, (nxt, number) in enumerate(nexts)
                if nxt is not None and owners[nxt] & (owners[nxt] - 1)
            ]
            if picks:
                self._senders.append((node, mask.bit_length() - 1, picks))
                for _, key in picks:
                    self.crossings.setdefault(key, [[] for _ in range(self.count)])

    @classmethod
    def of(cls, losses: torch.Tensor) -> TaskCut | None:
        """The cut of `losses`' graph, or None when `losses` is not a plain stack."""
        edges = task_edges(losses)
        return None if edges is None else cls(edges)

    def edges(self) -> list[GradientEdge]:
        """The shared side of the cut, one edge per distinct crossing."""
        return [GradientEdge(node, number) for node, number in self.crossings]

    @contextmanager
    def recording(self) -> Iterator[TaskCut]:
        """While open, every backward through the graph records what each task sends across
        the cut: with Σ_i w_i L_i, task i sends w_i ∂L_i/∂(cut)."""
        handles = [
            node.register_hook(self._recorder(task, picks)) for node, task, picks in self._senders
        ]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def _recorder(
        self, task: int, picks: list[tuple[int, tuple[Node, int]]]
    ) -> Callable[[Sequence[torch.Tensor | None], Sequence[torch.Tensor | None]], None]:
        def record(
            grad_inputs: Sequence[torch.Tensor | None], _grad_outputs: Sequence[torch.Tensor | None]
        ) -> None:
            for slot, key in picks:
                sent = grad_inputs[slot]
                if sent is not None:
                    self.crossings[key][task].append(sent)

        return record

    def sent(self) -> tuple[list[GradientEdge], list[torch.Tensor]]:
        """The crossings something was sent across, and per crossing the [T, ...] stack of
        what each task sent (zeros where it sent nothing)."""
        edges, rows = [], []
        for (node, number), per_task in self.crossings.items():
            first = next((parts[0] for parts in per_task if parts), None)
            if first is None:
                continue
            edges.append(GradientEdge(node, number))
            rows.append(
                torch.stack(
                    [
                        sum(parts[1:], parts[0]) if parts else torch.zeros_like(first)
                        for parts in per_task
                    ]
                )
            )
        return edges, rows

    def backward(
        self, total: torch.Tensor, others: list[torch.Tensor]
    ) -> list[torch.Tensor | None]:
        """Back-propagate `total` to the cut and to `others` only (the shared part is not
        entered), recording what each task sends. -> the gradients of `others`."""
        with self.recording():
            # torch takes tensors and edges mixed; its hint asks for one kind or the other.
            grads = torch.autograd.grad(
                total,
                [*others, *self.edges()],  # type: ignore[arg-type]
                retain_graph=True,
                allow_unused=True,
            )
        return list(grads[: len(others)])


def task_jacobian(
    losses: torch.Tensor,
    shared: list[nn.Parameter],
    others: list[nn.Parameter],
) -> TaskJacobian:
    """Jacobians of `losses` [T] on `shared`, gradients of Σ_i L_i on `others`. Keeps the
    graph for later backwards."""
    count = len(losses)
    cut = TaskCut.of(losses)
    shared_rows: list[torch.Tensor | None]
    if cut is None:
        eye = torch.eye(count, device=losses.device, dtype=losses.dtype)
        rows = batched_vjp([losses], [*shared, *others], [eye])
        shared_rows, other_rows = rows[: len(shared)], rows[len(shared) :]
        other_grads = [None if r is None else r.sum(0) for r in other_rows]
    else:
        private = [(k, p) for k, p in enumerate(shared) if id(p) in cut.private_leaves]
        grads = cut.backward(losses.sum(), [*others, *(p for _, p in private)])
        other_grads = grads[: len(others)]
        edges, sent = cut.sent()
        shared_rows = batched_vjp(edges, list(shared), sent) if edges else [None] * len(shared)
        for (k, param), grad in zip(private, grads[len(others) :], strict=True):
            if grad is not None:  # no cut leads to a private leaf: its row is all there is
                row = torch.zeros(count, *param.shape, device=param.device, dtype=param.dtype)
                row[cut.private_leaves[id(param)]] = grad
                shared_rows[k] = row
    filled = [
        torch.zeros(count, *p.shape, device=p.device, dtype=p.dtype) if r is None else r
        for r, p in zip(shared_rows, shared, strict=True)
    ]
    return TaskJacobian(list(shared), filled, list(others), other_grads)


def backward_recording(
    total: torch.Tensor,
    recorder: JacobianRecorder | None,
    gradient: torch.Tensor | None = None,
) -> None:
    """`total.backward(gradient)`, recording for `recorder` when there is one (the graph is
    then kept for its batched VJP). `gradient`: the weights when `total` is the vector of
    task losses rather than one scalar."""
    if recorder is None:
        total.backward(gradient)
        return
    with recorder.recording():
        total.backward(gradient, retain_graph=True)


class JacobianRecorder:
    """Reads the Jacobian on `shared` off the ordinary backward of a weighted sum Σ_i w_i L_i,
    for about the price of the batched VJP beyond the cut: during that backward each task
    sends w_i ∂L_i/∂(cut) across the cut (recorded), which pushed through the shared part
    and divided by w_i gives the rows. The backward must keep the graph (`retain_graph`);
    its gradients are exactly those of a backward without recording. Where the rows cannot
    be read off (no cut, a weight of 0, shared tensors only one task reaches) they are
    computed afresh from the kept graph."""

    def __init__(self, losses: torch.Tensor, shared: list[nn.Parameter]) -> None:
        self.losses, self.shared = losses, list(shared)
        self.cut = TaskCut.of(losses)

    @contextmanager
    def recording(self) -> Iterator[JacobianRecorder]:
        if self.cut is None:
            yield self
            return
        with self.cut.recording():
            yield self

    def jacobian(self, weights: torch.Tensor) -> TaskJacobian:
        """The rows, given the weights w the backward used; computed afresh from the kept
        graph when they cannot be read off it (no cut, or a weight of 0)."""
        values = weights.tolist()
        if (
            self.cut is None
            or min(map(abs, values)) <= 1e-12
            or any(id(p) in self.cut.private_leaves for p in self.shared)
        ):
            return task_jacobian(self.losses, self.shared, [])
        edges, sent = self.cut.sent()
        rows = batched_vjp(edges, self.shared, sent) if edges else [None] * len(self.shared)
        scale = None if all(v == 1.0 for v in values) else weights.detach().to(self.losses.dtype)
        count = len(self.losses)
        unweighted = [
            torch.zeros(count, *p.shape, device=p.device, dtype=p.dtype)
            if r is None
            else r
            if scale is None
            else r / scale.reshape(-1, *[1] * (r.ndim - 1))
            for r, p in zip(rows, self.shared, strict=True)
        ]
        return TaskJacobian(self.shared, unweighted, [], [])
