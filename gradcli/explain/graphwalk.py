"""Walks over a backward graph: its nodes from the roots, and the tensors each node saved
(with their sizes) as PyTorch's _saved_* attributes show them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcli.autodiff.node import AccumulateGrad
from gradcli.autodiff.tensor import Tensor
from gradcli.explain.labels import Labeller, _num

# A Python number saved for backward is a 0-d "wrapped number" tensor in PyTorch: a double
# for floats and an int64 for ints, 8 bytes either way.
WRAPPED_NUMBER_BYTES = 8


@dataclass
class SavedEntry:
    what: str  # the tensor's name, or "result", or a number
    shape: tuple
    dtype: str
    nbytes: int
    key: int  # identity of the storage, so a tensor saved twice is counted once


def saved_entries(node, labeller: Labeller, output: str | None = None) -> list[SavedEntry] | None:
    """What a node keeps for its backward (None once backward freed it)."""
    if node.__class__ is AccumulateGrad:
        return []
    if getattr(node, "released", False):
        return None
    out: list[SavedEntry] = []
    for value in node.saved or ():
        if value is None:
            continue
        if value.__class__ is Tensor:
            if value.grad_fn is not None:
                name = labeller.short(value.grad_fn)
            else:
                name = labeller.tensor_name(value) or "a tensor"
            array = value.array
            out.append(SavedEntry(name, array.shape, value.dtype.name, array.nbytes,
                                  id(array)))
        elif isinstance(value, np.ndarray) or isinstance(getattr(value, "array", None),
                                                         np.ndarray):
            # The op's own output (a SavedResult, or a bare array).
            array = value if isinstance(value, np.ndarray) else value.array
            out.append(SavedEntry(f"result {output}" if output else "result", array.shape,
                                  str(array.dtype), array.nbytes, id(array)))
        elif isinstance(value, (bool, int, float)):
            out.append(SavedEntry(_num(value), (), "float64" if isinstance(value, float)
                                  else "int64", WRAPPED_NUMBER_BYTES, id(value)))
    # Index arrays among the parameters (max.dim's indices, nll_loss's targets) are not
    # counted: gradcli's engine keeps them with the node and frees only `saved`.
    return out


def graph_nodes(roots) -> list:
    """Every node reachable from `roots` (nodes), each once, parents before children."""
    order, seen = [], set()
    stack = [r for r in reversed(roots) if r is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        for child, _ in reversed(node.next_functions):
            if child is not None and child not in seen:
                stack.append(child)
    return order


def saved_total(nodes, labeller: Labeller | None = None) -> int:
    """Bytes the graph holds for backward; storage saved by several nodes counts once."""
    labeller = labeller or Labeller()
    keys: dict = {}
    for node in nodes:
        for entry in saved_entries(node, labeller) or ():
            keys[entry.key] = entry.nbytes
    return sum(keys.values())
