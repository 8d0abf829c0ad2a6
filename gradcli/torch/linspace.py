"""torch.linspace's values, rounded as PyTorch's CPU kernel rounds them.

PyTorch (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp) computes, in the output's
floating dtype, `step = (end - start) / (steps - 1)` and then element i as
`start + step * i` for the first half and `end - step * (steps - i - 1)` for the second;
its build contracts each multiply-add into one fused multiply-add (a single rounding).
Computing the same formula in float64 and casting, as numpy would, differs from it in
the last bit of about one element in three, which shows in printed losses later on.
"""

from __future__ import annotations

import numpy as np

from gradcli.base.fma import fma


def linspace_values(start: float, end: float, steps: int, dtype: np.dtype) -> np.ndarray:
    """`steps` values from start to end in PyTorch's rounding, for a float dtype."""
    f = np.dtype(dtype).type
    first, last = f(start), f(end)
    if steps == 1:
        return np.array([first], dtype)
    step = f(f(last - first) / f(steps - 1))
    i = np.arange(steps)
    half = steps // 2
    lower = i < half
    # first half: i * step + start; second half: -(steps - i - 1) * step + end
    factor = np.where(lower, i, -(steps - i - 1)).astype(dtype)
    addend = np.where(lower, first, last).astype(dtype)
    return fma(factor, np.full(steps, step, dtype), addend)
