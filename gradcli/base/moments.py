"""Row-wise mean and biased variance in PyTorch's order (its CPU `RowwiseMoments`,
aten/src/ATen/native/cpu/moments_utils.h), which layer norm's and group norm's kernels use.

float32 rounding makes the order visible in the printed digits of a training loop, so
this follows the kernel step for step, for all rows at once:

- a row of N elements is read as n = N // LANES vectors (8 floats or 4 doubles: the
  kernel's Vectorized width in the build PyTorch runs here) in chunks of 16 vectors; each
  chunk runs Welford's update lane-wise, m1 = fma(1/(j+1), x - m1, m1),
  m2 = fma(x - m1_old, x - m1_new, m2);
- the chunks' moments are merged in a cascade (a stack of `depth = ceil(log2(chunks))`
  levels, pushed up every 2**k chunks, then folded from the top into level 0) by
  `AddMomentsVec`: c = m0_add / n, m1 += c * delta, m2 = fma(delta * m0, c * delta, m2 + m2_add);
- the elements after the last whole vector run the scalar Welford update
  (m1 += delta / count, m2 += delta * (x - m1), no fused multiply-add), and then each
  lane's moments are merged into that by the scalar `AddMoments`, whose products the
  compiler contracts: m1 = fma(c, delta, m1), m2 += fma(delta * delta * c, m0, m2_add).

Checked bit for bit against PyTorch 2.13 for rows of 3 to 1000 elements.
"""

from __future__ import annotations

import numpy as np

from gradcli.base.fma import fma

CHUNK = 16
LANES = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}


def _ceil_log2(n: int) -> int:
    return max(n - 1, 0).bit_length()


def _add_moments_vec(m0_add, m1_add, m2_add, m0, m1, m2, t):
    n = m0 + m0_add
    c = t(0) if n == 0 else t(t(m0_add) / t(n))
    delta = m1_add - m1
    m2_tmp = m2 + m2_add
    c_delta = c * delta
    m0_delta = delta * t(m0)
    return n, m1 + c_delta, fma(m0_delta, c_delta, m2_tmp)


def rowwise_moments(x: np.ndarray):
    """(mean, biased variance) of each row of a 2-D float array, shapes (rows,)."""
    t = x.dtype.type
    rows, size = x.shape
    lanes = LANES[x.dtype]
    n = size // lanes
    chunks = -(-n // CHUNK)
    depth = _ceil_log2(chunks)
    zeros = np.zeros((rows, lanes), x.dtype)
    levels = max(depth, 1)
    m0s, m1s, m2s = [0] * levels, [zeros] * levels, [zeros] * levels
    vectors = x[:, :n * lanes].reshape(rows, n, lanes)
    for i in range(chunks):
        count = min(CHUNK, n - i * CHUNK)
        m1v, m2v = zeros, zeros
        for j in range(count):
            xv = vectors[:, i * CHUNK + j]
            delta = xv - m1v
            m1v = fma(t(1) / t(j + 1), delta, m1v)
            m2v = fma(delta, xv - m1v, m2v)
        m0s[0], m1s[0], m2s[0] = _add_moments_vec(count, m1v, m2v, m0s[0], m1s[0], m2s[0], t)
        mask = i + 1
        level = 1
        while level < depth and (mask & 1) == 0:
            m0s[level], m1s[level], m2s[level] = _add_moments_vec(
                m0s[level - 1], m1s[level - 1], m2s[level - 1], m0s[level], m1s[level],
                m2s[level], t)
            m0s[level - 1], m1s[level - 1], m2s[level - 1] = 0, zeros, zeros
            mask >>= 1
            level += 1
    for level in range(1, depth):
        m0s[0], m1s[0], m2s[0] = _add_moments_vec(m0s[level], m1s[level], m2s[level], m0s[0],
                                                  m1s[0], m2s[0], t)
    count = 0
    m1 = np.zeros(rows, x.dtype)
    m2 = np.zeros(rows, x.dtype)
    for k in range(n * lanes, size):
        xk = x[:, k]
        delta = xk - m1
        count += 1
        m1 = m1 + delta / t(count)
        m2 = m2 + delta * (xk - m1)
    for lane in range(lanes):
        total = count + n
        c = t(0) if total == 0 else t(t(n) / t(total))
        delta = m1s[0][:, lane] - m1
        m1 = fma(c, delta, m1)
        m2 = m2 + fma(delta * delta * c, t(count), m2s[0][:, lane])
        count = total
    return m1, m2 / t(size)
