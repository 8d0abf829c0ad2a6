"""PyTorch's CPU batch norm kernels (aten/src/ATen/native/cpu/batch_norm_kernel.cpp,
Normalization.cpp) in their order of float operations, so float32 values, running
statistics and gradients print as PyTorch 2.13's.

Statistics of a channel c over the N elements it has in the batch:
- a (B, C) input is read as channels-last rows: each of INTRA_OP_THREADS threads adds its
  run of rows into a float buffer (variance: buffer = fma(x - mean, x - mean, buffer)),
  and the buffers are summed in double; mean = float(sum / N);
- a (B, C, *) input is summed plane by plane in double: mean = float(sum / N), then
  var_sum = double sum of the float squares (x - mean) * (x - mean);
- invstd = float(1 / sqrt(double(var_sum / N) + eps)) in training, and
  1 / sqrt(running_var + eps) in the input's dtype in eval mode.
Output: alpha = invstd * w, beta = fma(-mean, alpha, b), y = fma(x, alpha, beta).
Running statistics (momentum m as a float): running_mean = m * mean + (1 - m) * running_mean
in float; running_var = m * unbiased + (1 - m) * running_var with the first product in
double (unbiased = var_sum / (N - 1)).
Backward of a (B, C) input in training: per-thread float buffers of sum(dy) and of
dotp = fma(x - mean, dy, dotp), added in float; k = dotp * invstd * invstd / N,
grad_mean = sum / N, dx = (dy - grad_mean - (x - mean) * k) * invstd * w, its product and
difference fused (fma(-(x - mean), k, dy - grad_mean)) in the channels the kernel reads as
whole vectors; dw = dotp * invstd, db = sum. Each was checked bit for bit against PyTorch.
A (B, C, *) input sums each (sample, channel) plane as vectors (vec::reduce_all) into
double accumulators; k = float(dotp) * invstd * invstd / N in float, grad_mean =
float(sum / N), dx fused as above, dw = float(dotp * invstd) in double. In eval mode the
backward kernel recomputes invstd = 1 / sqrt(running_var + eps) with eps as a double.
"""

from __future__ import annotations

import numpy as np

from gradcli.base.fma import fma
from gradcli.base.moments import LANES
from gradcli.torch.nn.norm_kernels import INTRA_OP_THREADS, _map_reduce_all


def _thread_runs(rows: int):
    per = -(-rows // INTRA_OP_THREADS) if rows else 1
    return [(start, min(rows, start + per)) for start in range(0, rows, per)]


def _per_channel(v, ndim: int):
    return np.reshape(v, (1, -1) + (1,) * (ndim - 2))


def batch_stats(x: np.ndarray):
    """(mean, var_sum) per channel of x (B, C, *), in x's dtype."""
    channels = x.shape[1]
    count = x.size // channels if channels else 0
    if x.ndim == 2:
        sums = np.zeros(channels)
        for start, end in _thread_runs(x.shape[0]):
            buffer = np.zeros(channels, x.dtype)
            for i in range(start, end):
                buffer = buffer + x[i]
            sums = sums + buffer
        mean = (sums / count).astype(x.dtype)
        var_sum = np.zeros(channels)
        for start, end in _thread_runs(x.shape[0]):
            buffer = np.zeros(channels, x.dtype)
            for i in range(start, end):
                d = x[i] - mean
                buffer = fma(d, d, buffer)
            var_sum = var_sum + buffer
        return mean, var_sum.astype(x.dtype)
    planes = np.moveaxis(x, 1, 0).reshape(channels, -1)
    sums = np.zeros(channels)
    for k in range(planes.shape[1]):
        sums = sums + planes[:, k]
    mean = (sums / count).astype(x.dtype)
    var_sum = np.zeros(channels)
    for k in range(planes.shape[1]):
        d = planes[:, k] - mean
        var_sum = var_sum + d * d
    return mean, var_sum.astype(x.dtype)


def train_invstd(var_sum: np.ndarray, count: int, eps: float) -> np.ndarray:
    t = var_sum.dtype.type
    var = (var_sum / t(count)).astype(np.float64)
    return (1 / np.sqrt(var + eps)).astype(var_sum.dtype)


def eval_invstd(running_var: np.ndarray, eps: float, dtype) -> np.ndarray:
    t = np.dtype(dtype).type
    return (t(1) / np.sqrt(running_var.astype(dtype) + t(eps))).astype(dtype)


def transform(x, mean, invstd, weight, bias):
    t = x.dtype.type
    alpha = invstd * (weight if weight is not None else t(1))
    beta = fma(-mean, alpha, bias if bias is not None else np.zeros_like(alpha))
    return fma(x, _per_channel(alpha, x.ndim), _per_channel(beta, x.ndim)).astype(x.dtype)


def update_running(running_mean, running_var, mean, var_sum, count, momentum):
    """The new running statistics (arrays in the buffers' dtype)."""
    dtype = running_mean.dtype
    t = dtype.type
    m = t(momentum)
    new_mean = m * mean.astype(dtype) + (t(1) - m) * running_mean
    unbiased = (var_sum / var_sum.dtype.type(count - 1)).astype(np.float64)
    new_var = np.float64(m) * unbiased + ((t(1) - m) * running_var).astype(np.float64)
    return new_mean.astype(dtype), new_var.astype(dtype)


def _reduce_all(v: np.ndarray):
    """vec::reduce_all over each row: whole vectors lane-wise, then the lanes."""
    return _map_reduce_all([v, np.ones_like(v)])


def backward(dy, x, mean, invstd, weight, training, needs, running_var=None, eps=0.0):
    """(dx, dweight, dbias) of batch norm's output y = (x - mean) * invstd * w + b."""
    t = x.dtype.type
    channels = x.shape[1]
    count = x.size // channels
    w = weight if weight is not None else np.ones(channels, x.dtype)
    if x.ndim == 2:
        total = np.zeros(channels, x.dtype)
        dotp = np.zeros(channels, x.dtype)
        for start, end in _thread_runs(x.shape[0]):
            sum_buffer = np.zeros(channels, x.dtype)
            dot_buffer = np.zeros(channels, x.dtype)
            for i in range(start, end):
                sum_buffer = sum_buffer + dy[i]
                dot_buffer = fma(x[i] - mean, dy[i], dot_buffer)
            total = total + sum_buffer
            dotp = dotp + dot_buffer
        k = dotp * invstd * invstd / t(count)
        grad_mean = total / t(count)
    else:
        # each plane's vector sums accumulate in double
        batch = x.shape[0]
        xp = x.reshape(batch, channels, -1)
        gp = dy.reshape(batch, channels, -1)
        total = np.zeros(channels)
        dotp = np.zeros(channels)
        for n in range(batch):
            total = total + _reduce_all(gp[n])
            dotp = dotp + _map_reduce_all([xp[n] - mean[:, None], gp[n]])
        k = dotp.astype(x.dtype) * invstd * invstd / t(count)
        grad_mean = (total / count).astype(x.dtype)
    if not training:
        invstd = train_invstd(running_var, 1, eps)
    dx = None
    if needs[0]:
        m, s, w_c = (_per_channel(v, x.ndim) for v in (mean, invstd, w))
        if training:
            k = _per_channel(k, x.ndim)
            grad_mean = _per_channel(grad_mean, x.ndim)
            fused = fma(-(x - m), k, dy - grad_mean) * s * w_c
            if x.ndim == 2:
                # the channels after the last whole vector run as scalars, unfused
                whole = channels - channels % LANES[x.dtype]
                dx = (dy - grad_mean - (x - m) * k) * s * w_c
                dx[:, :whole] = fused[:, :whole]
            else:
                dx = fused
        else:
            dx = dy * s * w_c
        dx = dx.astype(x.dtype)
    dweight = (dotp * invstd).astype(x.dtype) if needs[1] else None
    dbias = total.astype(x.dtype) if needs[2] else None
    return dx, dweight, dbias
