"""torch.nn.init's other initialisers (PyTorch 2.13's torch/nn/init.py): trunc_normal_,
orthogonal_, sparse_, eye_, dirac_. Each writes in place under no_grad, bumps the version and
returns the tensor; random ones draw what PyTorch draws from the same generator."""

from __future__ import annotations

import math

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base.diagnostics import warn
from gradcli.base.errors import value_error
from gradcli.torch import functions as api
from gradcli.torch import random as R
from gradcli.torch.autograd.grad_mode import no_grad
from gradcli.torch.nograd_writes import write_


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor: Tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """A normal(mean, std) cut to [a, b] by rejection, as 2.13 draws it.

    When the window holds more than 30% of the mass (p > 0.3), the whole tensor is drawn
    with normal_, then, while any value lies outside [a, b], a whole fresh normal_ tensor
    is drawn and only the outside places take its values. Otherwise candidates are
    uniform on [a, b], accepted when log(u) <= -((x - mean) / std)^2 / 2 - log_peak for a
    fresh uniform u, redrawn (a whole tensor of candidates and of u each round) where not.
    """
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution "
             "of values may be incorrect.")
    shape, dtype = tensor.shape, tensor.dtype
    with no_grad():
        p = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
        if p > 0.3:
            # the bounds rounded to the tensor's dtype, as tensor.new_tensor(a).item()
            lo, hi = float(dtype.numpy.type(a)), float(dtype.numpy.type(b))
            result = R.normal_values(shape, dtype, mean, std, generator)
            while True:
                mask = (result < lo) | (result > hi)
                if not mask.any():
                    break
                fresh = R.normal_values(shape, dtype, mean, std, generator)
                result = np.where(mask, fresh, result)
            return write_(tensor, result)
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2
        result = R.uniform_values(shape, dtype, a, b, generator)
        pending = _rejected(result, mean, std, log_peak, shape, dtype, generator)
        while pending.any():
            candidates = R.uniform_values(shape, dtype, a, b, generator)
            result = np.where(pending, candidates, result)
            pending = np.where(pending, _rejected(candidates, mean, std, log_peak, shape,
                                                  dtype, generator), pending)
        return write_(tensor, result)


def _rejected(candidates, mean, std, log_peak, shape, dtype, generator) -> np.ndarray:
    """`accept_buf.uniform_().log_().gt(log_pdf)` with log_pdf computed in place in the
    tensor's dtype: (((x - mean) / std) ** 2 * -0.5) - log_peak."""
    scalar = dtype.numpy.type
    log_pdf = candidates - scalar(mean)
    log_pdf = log_pdf / scalar(std)
    log_pdf = log_pdf * log_pdf
    log_pdf = log_pdf * scalar(-0.5)
    log_pdf = log_pdf - scalar(log_peak)
    u = Tensor(R.uniform_values(shape, dtype, 0.0, 1.0, generator), dtype)
    return api.log(u).array > log_pdf


def orthogonal_(tensor: Tensor, gain=1, generator=None):
    """Q of the QR factorisation of a normal (rows, numel/rows) matrix (transposed when
    wide), each column's sign made that of R's diagonal (Mezzadri's fix for a uniform Q)."""
    if tensor.ndim < 2:
        raise value_error("Only tensors with 2 or more dimensions are supported")
    if 0 in tensor.shape:
        return tensor
    rows = tensor.shape[0]
    cols = int(np.prod(tensor.shape)) // rows
    dtype = tensor.dtype
    flattened = R.normal_values((rows, cols), dtype, 0.0, 1.0, generator)
    if rows < cols:
        flattened = flattened.T
    q, r = np.linalg.qr(flattened.astype(np.float64))
    q = q.astype(dtype.numpy) * np.sign(np.diagonal(r)).astype(dtype.numpy)
    if rows < cols:
        q = q.T
    values = q.reshape(tensor.shape) * dtype.numpy.type(gain)
    with no_grad():
        return write_(tensor, values)


def sparse_(tensor: Tensor, sparsity, std=0.01, generator=None):
    """normal_(0, std), then in each column the rows of the first ceil(sparsity * rows)
    entries of a fresh torch.randperm(rows) set to 0 (drawn from the global generator:
    PyTorch passes `generator` to normal_ only)."""
    if tensor.ndim != 2:
        raise value_error("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    values = R.normal_values(tensor.shape, tensor.dtype, 0.0, std, generator)
    for col_idx in range(cols):
        zero_rows = R.randperm(rows).array[:num_zeros]
        values[zero_rows, col_idx] = 0
    with no_grad():
        return write_(tensor, values)


def eye_(tensor: Tensor):
    if tensor.ndim != 2:
        raise value_error("Only tensors with 2 dimensions are supported")
    with no_grad():
        return write_(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups=1):
    """Zeros, with a 1 at the spatial centre of [g * out_per_group + d, d] for each group g
    and d below min(out_per_group, in channels): a convolution that passes its input on."""
    dimensions = tensor.ndim
    if dimensions not in (3, 4, 5):
        raise value_error("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise value_error("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    values = np.zeros(sizes, tensor.array.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            values[(g * out_chans_per_grp + d, d, *centre)] = 1
    with no_grad():
        return write_(tensor, values)
