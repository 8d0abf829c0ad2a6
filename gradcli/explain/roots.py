"""Which tensors a graph view starts from: the bound tensors no other bound tensor's graph
uses (the program's outputs)."""

from __future__ import annotations


def find_roots(records) -> list[tuple[str, object]]:
    """Bound tensors with a grad_fn that no other bound tensor's graph uses as an input."""
    candidates, fns = [], set()
    for record in records:
        fn = record.tensor.grad_fn
        if fn is not None and fn not in fns:
            fns.add(fn)
            candidates.append((record.name, record.tensor))
    inputs: set = set()
    visited: set = set()
    for _, tensor in candidates:
        stack = [tensor.grad_fn]
        while stack:
            node = stack.pop()
            if node in visited:
                continue
            visited.add(node)
            for child, _ in node.next_functions:
                if child is not None:
                    inputs.add(child)
                    stack.append(child)
    return [(name, tensor) for name, tensor in candidates if tensor.grad_fn not in inputs]
