"""gradcli.base.cascade_sum adds in PyTorch's order (its CPU SumKernel's multi_row_sum):
the whole-array version must give, bit for bit and sign of zero included, what the
kernel's own loop gives, written out here one row at a time as SumKernel.cpp does."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.base import cascade_sum as C


def reference_multi_row_sum(rows: np.ndarray) -> np.ndarray:
    """SumKernel.cpp's multi_row_sum, literally: rows one at a time into level 0, a level
    pushed into the next every 2**p rows, the levels added from the lowest at the end."""
    size = rows.shape[0]
    power = max(4, C._ceil_log2(size) // C.LEVELS)
    mask = (1 << power) - 1
    acc = [np.zeros(rows.shape[1:], rows.dtype) for _ in range(C.LEVELS)]
    for i in range(size):
        acc[0] = acc[0] + rows[i]
        done = i + 1
        if done & mask:
            continue
        for j in range(1, C.LEVELS):
            acc[j] = acc[j] + acc[j - 1]
            acc[j - 1] = np.zeros_like(acc[j - 1])
            if done & (mask << (j * power)):
                break
    total = acc[0]
    for j in range(1, C.LEVELS):
        total = total + acc[j]
    return total


def same_bits(a, b) -> bool:
    return np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("size", [0, 1, 7, 15, 16, 17, 31, 255, 256, 257, 4095, 4096, 4097,
                                  65_536, 65_537, 70_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multi_row_sum_is_the_kernels_loop(size, dtype):
    rng = np.random.default_rng(size)
    rows = (rng.standard_normal((size, 3)) * rng.choice([1e-4, 1.0, 1e4], (size, 3)))
    rows = rows.astype(dtype)
    rows[rng.random(rows.shape) < 0.1] = -0.0
    assert same_bits(C.multi_row_sum(rows), reference_multi_row_sum(rows))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([-0.0, 0.0, 1.0, -1.0, 1e-8, 3.5e7, -2.25, 0.1]),
                max_size=600),
       st.sampled_from([np.float32, np.float64]))
def test_multi_row_sum_on_awkward_values(values, dtype):
    rows = np.array(values, dtype).reshape(-1, 1)
    assert same_bits(C.multi_row_sum(rows), reference_multi_row_sum(rows))


def test_a_large_group_takes_the_whole_array_adds():
    # more than 2**16 elements per level: the loop of whole-array adds, not accumulate
    rows = np.random.default_rng(1).standard_normal((40_000, 4)).astype(np.float32)
    assert same_bits(C.multi_row_sum(rows), reference_multi_row_sum(rows))


def test_the_order_matters_and_is_not_numpys():
    # float32 sums in another order differ in the last bits: the test above can fail
    x = np.random.default_rng(2).standard_normal(100_000).astype(np.float32)
    assert C.torch_sum(x) != np.sum(x) or C.torch_sum(x[:99_999]) != np.sum(x[:99_999])


@pytest.mark.parametrize("size", [16, 40, 300, 5000])
def test_negative_zeros_sum_to_positive_zero_as_from_a_zero_start(size):
    # PyTorch's accumulators start at 0.0, and 0.0 + -0.0 is 0.0
    rows = np.full((size, 2), -0.0, np.float32)
    rows[-1, 1] = 1.5
    result = C.multi_row_sum(rows)
    assert same_bits(result, reference_multi_row_sum(rows))
    assert not np.signbit(result[0])


@pytest.mark.parametrize("rows", [2, 15, 16, 17, 32, 100])
@pytest.mark.parametrize("cols", [2, 7, 8, 10, 33, 128])
@pytest.mark.parametrize("keepdims", [False, True])
def test_a_bias_gradient_is_reduce_over_the_rows(rows, cols, keepdims):
    # torch_sum(x, 0) of a matrix: one block of columns, plus keepdims and the zero start
    x = np.random.default_rng(rows * cols).standard_normal((rows, cols)).astype(np.float32)
    x[::3, ::2] = -0.0
    general = C._reduce(x, (0,)) + np.float32(0)
    summed = C.torch_sum(x, (0,), keepdims)
    assert same_bits(summed, general[None] if keepdims else general)
    assert summed.shape == ((1, cols) if keepdims else (cols,))
