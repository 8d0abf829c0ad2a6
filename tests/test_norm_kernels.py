"""The normalisation kernels (gradcli/base/moments.py, gradcli/torch/nn/norm_kernels.py,
batch_norm_kernels.py) follow PyTorch's float order; the conformance cases 200-267 hold
them to PyTorch's bits. These tests hold them to the mathematics, in float64, over the
code paths the orders take (rows shorter than a vector, leftover elements, chunks, the
cascade of chunks, several thread runs)."""

from __future__ import annotations

import numpy as np
import pytest

from gradcli.base.moments import rowwise_moments
from gradcli.torch.nn import batch_norm_kernels as BN
from gradcli.torch.nn.norm_kernels import layer_norm_backward, layer_norm_forward

# below one vector; one vector; leftovers; a whole chunk; two chunks (a cascade of depth 1);
# five chunks and leftovers (depth 3, levels folded at the end)
SIZES = [1, 3, 8, 13, 128, 256, 8 * 16 * 5 + 3]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
def test_rowwise_moments_are_the_mean_and_biased_variance(size, dtype):
    rng = np.random.default_rng(size)
    x = (rng.standard_normal((5, size)) * 3 + 2).astype(dtype)
    mean, var = rowwise_moments(x)
    assert mean.dtype == dtype and var.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(1), rtol=tol, atol=tol)
    np.testing.assert_allclose(var, x.astype(np.float64).var(1), rtol=tol, atol=tol)


def test_rowwise_moments_of_constant_rows_are_exact():
    x = np.full((3, 8 * 16 * 2 + 5), 0.1, np.float32)
    mean, var = rowwise_moments(x)
    assert (mean == np.float32(0.1)).all() and (var == 0).all()


def _layer_norm_reference(x, gamma, dy, eps):
    mean = x.mean(1, keepdims=True)
    rstd = 1 / np.sqrt(x.var(1, keepdims=True) + eps)
    x_hat = (x - mean) * rstd
    g = dy * gamma
    dx = rstd * (g - g.mean(1, keepdims=True) - x_hat * (g * x_hat).mean(1, keepdims=True))
    return x_hat * gamma, dx, (dy * x_hat).sum(0), dy.sum(0)


@pytest.mark.parametrize("rows", [1, 2, 7])
@pytest.mark.parametrize("size", [3, 8, 21, 300])
def test_layer_norm_kernels_give_the_layer_norm_and_its_gradients(rows, size):
    rng = np.random.default_rng(rows * 1000 + size)
    x = rng.standard_normal((rows, size)) * 2 + 1
    gamma = rng.standard_normal(size)
    dy = rng.standard_normal((rows, size))
    y, mean, rstd = layer_norm_forward(x, gamma, None, 1e-5)
    dx, dgamma, dbeta = layer_norm_backward(dy, x, mean, rstd, gamma, (True, True, True))
    ref_y, ref_dx, ref_dgamma, ref_dbeta = _layer_norm_reference(x, gamma, dy, 1e-5)
    for got, want in ((y, ref_y), (dx, ref_dx), (dgamma, ref_dgamma), (dbeta, ref_dbeta)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_layer_norm_backward_gives_only_what_is_asked():
    x = np.arange(12.0).reshape(3, 4)
    _y, mean, rstd = layer_norm_forward(x, None, None, 1e-5)
    dx, dgamma, dbeta = layer_norm_backward(np.ones_like(x), x, mean, rstd, None,
                                            (True, False, False))
    assert dgamma is None and dbeta is None
    np.testing.assert_allclose(dx, 0, atol=1e-12)  # a constant dy is normalised away


@pytest.mark.parametrize("shape", [(5, 3), (9, 17), (4, 3, 5), (3, 2, 4, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_kernels_give_batch_norm_and_its_gradients(shape, training):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape) * 2 + 0.5
    dy = rng.standard_normal(shape)
    channels = shape[1]
    w = rng.standard_normal(channels)
    b = rng.standard_normal(channels)
    axes = (0, *range(2, len(shape)))
    count = x.size // channels
    running_mean = rng.standard_normal(channels)
    running_var = rng.random(channels) + 0.5
    if training:
        mean, var_sum = BN.batch_stats(x)
        np.testing.assert_allclose(mean, x.mean(axes), rtol=1e-12)
        np.testing.assert_allclose(var_sum / count, x.var(axes), rtol=1e-12)
        invstd = BN.train_invstd(var_sum, count, 1e-5)
        new_mean, new_var = BN.update_running(running_mean, running_var, mean, var_sum, count,
                                              0.3)
        np.testing.assert_allclose(new_mean, 0.7 * running_mean + 0.3 * x.mean(axes))
        np.testing.assert_allclose(new_var, 0.7 * running_var + 0.3 * x.var(axes, ddof=1))
    else:
        mean = running_mean
        invstd = BN.eval_invstd(running_var, 1e-5, x.dtype)
    shape_c = (1, channels) + (1,) * (len(shape) - 2)
    m, s, wc = (v.reshape(shape_c) for v in (mean, invstd, w))
    x_hat = (x - m) * s
    y = BN.transform(x, mean, invstd, w, b)
    np.testing.assert_allclose(y, x_hat * wc + b.reshape(shape_c), rtol=1e-12, atol=1e-12)
    dx, dw, db = BN.backward(dy, x, mean, invstd, w, training, (True, True, True),
                             running_var, 1e-5)
    g = dy * wc
    if training:
        want_dx = s * (g - g.mean(axes, keepdims=True)
                       - x_hat * (g * x_hat).mean(axes, keepdims=True))
    else:
        want_dx = g * s
    np.testing.assert_allclose(dx, want_dx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dw, (dy * x_hat).sum(axes), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(db, dy.sum(axes), rtol=1e-12, atol=1e-12)
