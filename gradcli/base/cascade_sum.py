"""Floating-point sums in PyTorch's order (its CPU `cascade_sum` kernel).

float32 addition is not associative, so a sum is only PyTorch's to the last bit when the
additions happen in PyTorch's order. numpy's pairwise sum uses another order, and a
training loop that prints `loss.item()` each step drifts from PyTorch's digits within a
few hundred steps. PyTorch's CPU kernel (aten/src/ATen/native/cpu/SumKernel.cpp):

- accumulates in the tensor's own dtype (float32 sums in float32);
- `multi_row_sum` adds rows one after another into a level-0 accumulator, and every
  `2**p` rows (p = max(4, ceil(log2(rows)) // 4)) pushes it up one of 4 levels, so only
  partial sums of similar size meet;
- `row_sum` splits a row into 4 interleaved strands (element i goes to strand i % 4),
  sums the strands with `multi_row_sum`, adds the leftover elements to strand 0 and then
  strands 1, 2, 3 to strand 0;
- a contiguous reduced row of at least one SIMD vector is read as vectors of `LANES`
  elements (8 floats, 4 doubles: PyTorch registers this kernel for AVX2 only and runs
  the AVX2 build on AVX-512 machines too) summed lane-wise by `row_sum`; then the
  elements after the last whole vector, then the lanes one by one, are added to 0;
- a reduction over leading dims with the kept dims contiguous (`sum(dim=0)` of a matrix)
  sums each column: columns in whole blocks of 4 vectors (or of 4 scalars when fewer
  than a vector of columns) by `multi_row_sum`, the rest by `row_sum`.

`mean` is this sum divided by the count, as PyTorch's CPU `mean` computes it.
Sums of more than 32768 elements run on several threads in PyTorch; those use the same
order here, which can differ from PyTorch's in the last bit.
"""

from __future__ import annotations

import numpy as np

LEVELS = 4
STRANDS = 4  # row_sum's ilp_factor and the outer kernels' nrows
LANES = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}  # AVX2 vector widths


def _ceil_log2(n: int) -> int:
    return max(n - 1, 0).bit_length()


def multi_row_sum(rows: np.ndarray) -> np.ndarray:
    """Sum over axis 0 in the order of PyTorch's `multi_row_sum` (lane-wise over the rest).

    PyTorch adds rows one by one into a level-0 accumulator; after every `2**p` rows it
    adds level 0 into level 1 and clears it, after every `2**(2p)` rows level 1 into level
    2, and so on (the last level is never cleared); at the end the levels are added from
    the lowest. Level 0 is therefore a running sum from zero over each group of `2**p` rows,
    level 1 a running sum from zero over each group of `2**p` level-0 sums, ...: each level
    sums all its whole groups at once, plus the running sum of the group left incomplete
    at the end."""
    size = rows.shape[0]
    step = 1 << max(4, _ceil_log2(size) // LEVELS)
    zeros = np.zeros(rows.shape[1:], rows.dtype)
    pending = []  # what each level holds at the end, lowest first
    values = rows
    for level in range(LEVELS):
        if level == LEVELS - 1:  # the top level is never cleared: one running sum
            pending.append(_running_sum(zeros, values))
            break
        whole = values.shape[0] // step * step
        pending.append(_running_sum(zeros, values[whole:]))
        if not whole:
            break
        groups = values[:whole].reshape((whole // step, step) + values.shape[1:])
        # each group's running sum, all groups at once: one accumulate for small arrays;
        # for large ones `step` whole-array adds (a few dozen) beat numpy's strided
        # accumulate. PyTorch's starts from 0.0, so a group of -0.0 sums to 0.0, not -0.0:
        # the next level's running sum from zero makes the two agree.
        if groups.size <= 1 << 16:
            values = np.add.accumulate(groups, axis=1)[:, -1]
        else:
            sums = groups[:, 0] + zeros
            for k in range(1, step):
                np.add(sums, groups[:, k], out=sums)
            values = sums
    total = pending[0]
    for held in pending[1:]:
        total = total + held
    return total


def _running_sum(start: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """start + rows[0] + rows[1] + ..., one addition after another (float rounding each)."""
    if rows.shape[0] <= 8:
        total = start
        for row in rows:
            total = total + row
        return total
    return np.add.accumulate(np.concatenate([start[None], rows]), axis=0)[-1]


def row_sum(rows: np.ndarray) -> np.ndarray:
    """PyTorch's `row_sum` over axis 0: 4 interleaved strands, then the strands together."""
    size = rows.shape[0]
    n_ilp = size // STRANDS
    body = rows[: n_ilp * STRANDS].reshape((n_ilp, STRANDS) + rows.shape[1:])
    partial = multi_row_sum(body)  # (STRANDS, ...)
    first = partial[0]
    if n_ilp * STRANDS < size:
        first = _running_sum(first, rows[n_ilp * STRANDS :])
    for k in range(1, STRANDS):
        first = first + partial[k]
    return first


def inner_sum(rows: np.ndarray) -> np.ndarray:
    """Sums of the rows of a (m, n) array whose rows are contiguous: shape (m,)."""
    m, n = rows.shape
    lanes = LANES[rows.dtype]
    if n < lanes:
        return row_sum(rows.T)
    n_vec = n // lanes
    vectors = rows[:, : n_vec * lanes].reshape(m, n_vec, lanes).transpose(1, 0, 2)
    lane_sums = row_sum(vectors)  # (m, lanes)
    total = np.zeros(m, rows.dtype)
    if n_vec * lanes < n:
        total = _running_sum(total, rows[:, n_vec * lanes :].T)
    return _running_sum(total, lane_sums.T)


def outer_sum(cols: np.ndarray) -> np.ndarray:
    """Sums over axis 0 of a (r, c) array whose rows are contiguous: shape (c,)."""
    c = cols.shape[1]
    lanes = LANES[cols.dtype]
    block = STRANDS * lanes if c >= lanes else STRANDS
    split = c // block * block
    out = np.empty(c, cols.dtype)
    if split:
        out[:split] = multi_row_sum(cols[:, :split])
    if split < c:
        out[split:] = row_sum(cols[:, split:])
    return out


def torch_sum(x: np.ndarray, axis=None, keepdims: bool = False, dtype=None) -> np.ndarray:
    """np.sum with PyTorch's rounding for float32/float64 (numpy's otherwise)."""
    if dtype is not None and np.dtype(dtype) != x.dtype:
        x = x.astype(dtype)
    if x.dtype not in LANES or x.size == 0:
        return np.sum(x, axis=axis, keepdims=keepdims)
    axes = _normalise_axes(axis, x.ndim)
    result = _reduce(x, axes)
    if result is None:
        return np.sum(x, axis=axis, keepdims=keepdims)
    if keepdims:
        result = result.reshape([1 if i in axes else s for i, s in enumerate(x.shape)])
    # + 0.0: PyTorch's accumulators start from zero, so a sum is never -0.0
    return np.asarray(result + x.dtype.type(0), dtype=x.dtype)


def torch_mean(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """The sum divided by the number of elements summed, as PyTorch's CPU mean does."""
    if x.dtype not in LANES or x.size == 0:
        return np.mean(x, axis=axis, keepdims=keepdims, dtype=x.dtype)
    axes = _normalise_axes(axis, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    total = torch_sum(x, axes, keepdims)
    return np.asarray(total / x.dtype.type(count), dtype=x.dtype)


def _normalise_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted({int(a) % ndim if ndim else 0 for a in axis}))


def _reduce(x: np.ndarray, axes: tuple[int, ...]):
    """The reduced array without the reduced axes, or None for a layout not handled."""
    kept_shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    if not x.flags.c_contiguous and x.flags.f_contiguous:
        # PyTorch iterates in memory order: a transposed matrix is summed as its storage
        x = x.T
        axes = tuple(sorted(x.ndim - 1 - a for a in axes))
        kept_shape = kept_shape[::-1]
        transposed = True
    else:
        x = np.ascontiguousarray(x)
        transposed = False
    # size-1 dims change nothing in PyTorch's iteration: drop them
    dims = [(s, i in axes) for i, s in enumerate(x.shape) if s != 1]
    reduced = [k for k, (_, r) in enumerate(dims) if r]
    if not reduced:
        result = x.reshape(kept_shape[::-1] if transposed else kept_shape)
        return result.T if transposed else result
    if reduced != list(range(reduced[0], reduced[-1] + 1)):
        return None  # reduced dims not one block: PyTorch accumulates slices, not handled
    pre = _prod(s for s, _ in dims[: reduced[0]])
    red = _prod(s for s, _ in dims[reduced[0] : reduced[-1] + 1])
    post = _prod(s for s, _ in dims[reduced[-1] + 1 :])
    flat = x.reshape(pre, red, post)
    if post == 1:
        result = inner_sum(flat[:, :, 0])
    elif pre == 1:  # one block of columns (a bias's gradient): nothing to stack
        result = outer_sum(flat[0])
    else:
        result = np.stack([outer_sum(flat[p]) for p in range(pre)])
    result = result.reshape(kept_shape[::-1] if transposed else kept_shape)
    return result.T if transposed else result


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out
