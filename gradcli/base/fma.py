"""Fused multiply-add over numpy arrays: a * b + c with a single rounding.

PyTorch's CPU kernels fuse where its build contracts `x + alpha * y` (add/sub with alpha,
which the optimizers' `param.add_(grad, alpha=-lr)` use; linspace's fill): computing it
with two roundings, as numpy does, differs in the last bit for about one value in a
hundred, and a training loop printing its loss shows that within a few steps.
"""

from __future__ import annotations

import numpy as np


def fma(a, b, c):
    """a * b + c rounded once, in the dtype of the float arrays given (float32/float64)."""
    a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
    dtype = np.result_type(a, b, c)
    if dtype == np.float32:
        return _fma32(a, b, c)
    if dtype == np.float64:
        return _fma64(a.astype(np.float64), b.astype(np.float64), c.astype(np.float64))
    return a * b + c


def _fma32(a, b, c):
    # the float32 product is exact in float64; the float64 sum is made round-to-odd (an
    # inexact result with an even last bit moves to its odd neighbour towards the exact
    # value), which makes the final rounding to float32 the correct one
    product = a.astype(np.float64) * b.astype(np.float64)
    c = c.astype(np.float64)
    total = product + c
    virtual = total - product
    error = (product - (total - virtual)) + (c - virtual)
    bits = np.asarray(total).view(np.int64)
    nudge = (error != 0) & ((bits & 1) == 0)
    total = np.where(nudge, np.nextafter(total, np.where(error > 0, np.inf, -np.inf)), total)
    return np.asarray(total).astype(np.float32)


def _fma64(a, b, c):
    # Dekker's exact product and Knuth's exact sum, then one rounding of the remainders
    # (exact but for ties, far below what a printed value shows)
    product = a * b
    split = 134217729.0  # 2**27 + 1
    ah = a * split - (a * split - a)
    bh = b * split - (b * split - b)
    product_error = ((ah * bh - product) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)
    total = product + c
    virtual = total - product
    sum_error = (product - (total - virtual)) + (c - virtual)
    return total + (sum_error + product_error)
