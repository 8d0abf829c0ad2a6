"""PyTorch's CPU layer norm kernels (aten/src/ATen/native/cpu/layer_norm_kernel.cpp) in
their order of float operations, so float32 results match PyTorch 2.13's to the last bit
(a training loop printing `loss.item()` shows any difference within a step or two).

Each of the M rows of N elements is normalised on its own. Forward:
    mean, var = RowwiseMoments(x)          (gradcli.base.moments)
    rstd = 1 / sqrt(var + eps)
    y = fma((x - mean) * rstd, gamma, beta)
Backward of a row (a = rstd, scale = 1/N), with the sums read as 8-float vectors
(`map_reduce_all`, below):
    ds = sum(dy * x * gamma),  db = sum(dy * gamma)
    b = fma(db, mean, -ds) * a * a * a * scale
    c = fma(-b, mean, -(db * a * scale))
    dx = fma(b, x, a * dy * gamma) + c
and gamma's gradient accumulates row after row, dgamma = fma(dy, fma(a, x, -a * mean),
dgamma), in one buffer per thread (PyTorch's parallel_for splits the rows in
INTRA_OP_THREADS equal runs), the buffers then added in order. The fused multiply-adds
are where PyTorch's build contracts a product and a sum; each formula was checked bit for
bit against PyTorch's results (float32 and float64, rows of 3 to 1000 elements).
"""

from __future__ import annotations

import numpy as np

from gradcli.base.fma import fma
from gradcli.base.moments import LANES, rowwise_moments

# PyTorch's intra-op thread count on the machine its expected results come from; it
# decides how the rows are split when gamma's gradient is accumulated.
INTRA_OP_THREADS = 2


def layer_norm_forward(x2: np.ndarray, gamma, beta, eps: float):
    """(y, mean, rstd) for x2 of shape (M, N); gamma/beta of shape (N,) or None."""
    t = x2.dtype.type
    mean, var = rowwise_moments(x2)
    rstd = t(1) / np.sqrt(var + t(eps))
    centred = (x2 - mean[:, None]) * rstd[:, None]
    g = gamma if gamma is not None else t(1)
    b = beta if beta is not None else t(0)
    return fma(centred, g, b).astype(x2.dtype, copy=False), mean, rstd


def _lane_sum(acc: np.ndarray):
    """vec_reduce_all: for float vectors (its AVX2 specialisation) halve the vector, adding
    lane i and lane i + half, until one lane; for doubles (the generic version) add the
    lanes one after another."""
    if acc.dtype == np.float64:
        total = acc[:, 0]
        for lane in range(1, acc.shape[1]):
            total = total + acc[:, lane]
        return total
    while acc.shape[1] > 1:
        half = acc.shape[1] // 2
        acc = acc[:, :half] + acc[:, half:]
    return acc[:, 0]


def _map_reduce_all(factors):
    """Row sums of the product of `factors` (arrays of shape (M, N)), as vec::map*_reduce_all
    adds them: whole vectors lane-wise into the first one's product, the leftover elements
    with a fused multiply-add into their lanes, then the lanes by _lane_sum; a row shorter
    than a vector is summed element after element."""
    first = factors[0]
    lanes = LANES[first.dtype]
    size = first.shape[1]

    def products(columns):
        head = factors[0][:, columns]
        for f in factors[1:-1]:
            head = head * f[:, columns]
        return head, factors[-1][:, columns]

    if size < lanes:
        head, last = products(slice(0, size))
        values = head * last
        acc = values[:, 0]
        for i in range(1, size):
            acc = acc + values[:, i]
        return acc
    head, last = products(slice(0, lanes))
    acc = head * last
    start = lanes
    while start + lanes <= size:
        head, last = products(slice(start, start + lanes))
        acc = acc + head * last
        start += lanes
    if start < size:
        head, last = products(slice(start, size))
        acc = acc.copy()
        acc[:, :size - start] = fma(head, last, acc[:, :size - start])
    return _lane_sum(acc)


def layer_norm_backward(dy, x2, mean, rstd, gamma, needs):
    """(dx, dgamma, dbeta) for rows x2 (M, N); each None unless `needs` asks for it."""
    t = x2.dtype.type
    rows, size = x2.shape
    dx = dgamma = dbeta = None
    if needs[0]:
        if gamma is None:
            ds = _map_reduce_all([dy, x2])
            db = _map_reduce_all([dy, np.ones_like(dy)])
            scaled = rstd[:, None] * dy
        else:
            g = np.broadcast_to(gamma, x2.shape)
            ds = _map_reduce_all([dy, x2, g])
            db = _map_reduce_all([dy, g])
            scaled = rstd[:, None] * dy * g
        scale = t(1) / t(size)
        a = rstd
        b = fma(db, mean, -ds) * a * a * a * scale
        c = fma(-b, mean, -(db * a * scale))
        dx = (fma(b[:, None], x2, scaled) + c[:, None]).astype(x2.dtype, copy=False)
    if needs[1] or needs[2]:
        shift = -rstd * mean
        per_thread = -(-rows // INTRA_OP_THREADS) if rows else 1
        dgamma = np.zeros(size, x2.dtype)
        dbeta = np.zeros(size, x2.dtype)
        for start in range(0, rows, per_thread):
            gbuf = np.zeros(size, x2.dtype)
            bbuf = np.zeros(size, x2.dtype)
            for i in range(start, min(rows, start + per_thread)):
                gbuf = fma(dy[i], fma(rstd[i], x2[i], shift[i]), gbuf)
                bbuf = bbuf + dy[i]
            dgamma = dgamma + gbuf
            dbeta = dbeta + bbuf
        dgamma = dgamma if needs[1] else None
        dbeta = dbeta if needs[2] else None
    return dx, dgamma, dbeta
