"""What a backward pass tells whoever watches it (traces, anomaly mode, hooks' views)."""

from __future__ import annotations


class Observer:
    """Receives each step of a backward pass (for traces); the default does nothing."""

    # The observer a running program installed (--trace, --detect-anomaly): used by every
    # backward pass that was not handed one explicitly.
    active: Observer | None = None

    def begin(self, roots, retain_graph):
        pass

    def node_ran(self, node, grad_in, grads_out):
        pass

    def accumulated(self, tensor, grad, total):
        pass
