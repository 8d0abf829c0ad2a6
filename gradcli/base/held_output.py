"""Program output held back while vmap traces a function (gradcli/torch/func/batching.py).

vmap runs the function on one batch entry to learn its ops. PyTorch runs it once, so a
`print(x.shape)` inside prints once: the trace's output is kept back and let out once
if the batched run stands, or dropped if vmap falls back to calling the function per
entry (which prints as each call does).
"""

from __future__ import annotations

HELD: list[list] = []  # one list of (emit, text) per trace in progress, innermost last


def hold() -> list:
    held: list = []
    HELD.append(held)
    return held


def release(held: list, keep: bool) -> None:
    """End holding `held`: its output goes on (to an enclosing hold, or out) if `keep`."""
    for i in range(len(HELD) - 1, -1, -1):  # by identity: two empty lists are equal
        if HELD[i] is held:
            del HELD[i]
            break
    if not keep:
        return
    for emit, text in held:
        if HELD:
            HELD[-1].append((emit, text))
        else:
            emit(text)
