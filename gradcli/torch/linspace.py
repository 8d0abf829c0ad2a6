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
    return _fma(factor, np.full(steps, step, dtype), addend)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a * b + c rounded once."""
    if a.dtype == np.float32:
        # the float32 product is exact in float64; the float64 sum is made round-to-odd
        # (an inexact result with an even last bit moves to its odd neighbour towards the
        # exact value), which makes the final rounding to float32 the correct one
        product = a.astype(np.float64) * b.astype(np.float64)
        total = product + c
        error = (product - (total - (total - product))) + (c - (total - product))
        bits = total.view(np.int64)
        nudge = (error != 0) & ((bits & 1) == 0)
        total = np.where(nudge, np.nextafter(total, np.where(error > 0, np.inf, -np.inf)), total)
        return total.astype(np.float32)
    # float64: Dekker's exact product and Knuth's exact sum, then one rounding of the
    # remainders (exact but for ties, far below what a printed value shows)
    product = a * b
    split = 134217729.0  # 2**27 + 1
    ah = a * split - (a * split - a)
    bh = b * split - (b * split - b)
    product_error = ((ah * bh - product) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)
    total = product + c
    virtual = total - product
    sum_error = (product - (total - virtual)) + (c - virtual)
    return total + (sum_error + product_error)
