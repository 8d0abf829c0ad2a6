"""The pooling ops: max_pool2d_with_indices (MaxPool2DWithIndicesBackward0), avg_pool2d
(AvgPool2DBackward0), _adaptive_avg_pool2d (AdaptiveAvgPool2DBackward0), and their backward
ops, which create_graph=True records (…BackwardBackward0).

Each works on (N, C, H, W) arrays (a 3-d input is one with N left out) through windows:
output (i, j) reads rows i*sH - padH + a*dH for a < kH (likewise columns). max keeps the
first largest value of its window in row-major order (PyTorch's `val > maxval` scan), and
its backward adds the gradient at that index; avg divides the window's sum by its size;
adaptive pooling averages rows floor(i*H/oH) .. ceil((i+1)*H/oH) - 1, a linear map on each
axis (a matrix on the left, one on the right).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradcli.aten import ops as O
from gradcli.aten.ops import op, save_nothing, save_self
from gradcli.autodiff.tensor import Tensor
from gradcli.autodiff.vocabulary import NumpyVocabulary
from gradcli.torch import functions as api

_F64 = np.dtype(np.float64)


class Window:
    """kernel, stride, padding, dilation (2 each) and ceil_mode of one pooling, with the
    output size for an input size."""

    __slots__ = ("kernel", "stride", "pad", "dilation", "ceil_mode")

    def __init__(self, kernel, stride, pad, dilation, ceil_mode):
        self.kernel, self.stride, self.pad = tuple(kernel), tuple(stride), tuple(pad)
        self.dilation, self.ceil_mode = tuple(dilation), bool(ceil_mode)

    def out_size(self, size):
        return tuple(output_length(n, k, p, s, d, self.ceil_mode) for n, k, p, s, d in zip(
            size, self.kernel, self.pad, self.stride, self.dilation, strict=True))

    def windows(self, x, fill):
        """(N, C, OH, OW, KH, KW) view of x padded with `fill`: what each output reads."""
        out = self.out_size(x.shape[-2:])
        pads = []
        for n, k, p, s, d, o in zip(x.shape[-2:], self.kernel, self.pad, self.stride,
                                    self.dilation, out, strict=True):
            reach = (o - 1) * s + (k - 1) * d + 1  # ceil_mode's last window may pass the pad
            pads.append((p, max(reach - n - p, p)))
        x = np.pad(x, ((0, 0),) * (x.ndim - 2) + tuple(pads), constant_values=fill)
        (kh, kw), (dh, dw), (sh, sw) = self.kernel, self.dilation, self.stride
        view = sliding_window_view(x, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(-2, -1))
        return view[..., : (out[0] - 1) * sh + 1 : sh, : (out[1] - 1) * sw + 1 : sw, ::dh, ::dw]


def output_length(n, k, pad, stride, dilation, ceil_mode):
    """ATen's pooling_output_shape: a window that would start in the right padding only
    is dropped in ceil_mode."""
    span = n + 2 * pad - dilation * (k - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + pad:
        out -= 1
    return out


def _array(x):
    return x.array if x.__class__ is Tensor else x


# ----- max pooling --------------------------------------------------------------------------


def max_indices(x, win: Window):
    """(values, flat indices into H*W) of the first maximum of every window."""
    h, w = x.shape[-2:]
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    view = win.windows(x, fill)
    oh, ow, kh, kw = view.shape[-4:]
    flat = view.reshape(view.shape[:-2] + (kh * kw,))
    best = np.argmax(flat, axis=-1)
    values = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
    a, b = np.divmod(best, kw)
    rows = np.arange(oh)[:, None] * win.stride[0] - win.pad[0] + a * win.dilation[0]
    cols = np.arange(ow)[None, :] * win.stride[1] - win.pad[1] + b * win.dilation[1]
    return values, (rows * w + cols).astype(np.int64)


def scatter_max_grad(grad, indices, shape):
    """grad_input of max pooling: each output's gradient added at its window's maximum."""
    h, w = shape[-2:]
    planes = int(np.prod(shape[:-2], dtype=np.int64))
    base = (np.arange(planes) * (h * w)).reshape(shape[:-2] + (1, 1))
    total = np.bincount((indices + base).ravel(), weights=np.asarray(grad, _F64).ravel(),
                        minlength=planes * h * w)
    return total.reshape(shape).astype(grad.dtype)


def gather_at(values, indices):
    """values (…, H, W) read at flat H*W indices (…, OH, OW)."""
    flat = values.reshape(values.shape[:-2] + (-1,))
    lead = indices.shape[:-2]
    picked = np.take_along_axis(flat, indices.reshape(lead + (-1,)), axis=-1)
    return picked.reshape(indices.shape)


def _zeros_for_self(ctx, gg, xp):
    """The backward ops' gradient for `self`: zero (derivatives.yaml: zeros_like(self))."""
    if not ctx.needs[1]:
        return None
    zeros = np.zeros(ctx.shapes[1], np.asarray(_array(gg)).dtype)
    return zeros if xp is NumpyVocabulary else Tensor(zeros)


@op("max_pool2d_with_indices", save=save_self)
def max_pool2d_op(xs, p):
    # p = (window, indices): F.max_pool2d finds the indices, the values are read there
    return gather_at(xs[0], p[1])


@max_pool2d_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    indices = ctx.params[1]
    if xp is NumpyVocabulary:
        return (scatter_max_grad(grad, indices, x.shape),)
    return (O.call(max_pool2d_backward_op, (grad, x), indices),)


# The backward ops take (grad_output, self) like ATen's, and give self a zero gradient
# (derivatives.yaml: `self: zeros_like(self)`): grad(g, x) is zeros there, not None.
@op("max_pool2d_with_indices_backward", save=save_nothing)
def max_pool2d_backward_op(xs, indices):
    return scatter_max_grad(xs[0], indices, xs[1].shape)


@max_pool2d_backward_op.derivative
def _(ctx, gg, xp):
    indices = ctx.params
    if xp is NumpyVocabulary:
        return (gather_at(gg, indices), _zeros_for_self(ctx, gg, xp))
    # create_graph again: the same gather as differentiable indexing (IndexBackward0 where
    # PyTorch's max_pool_double_backward records a gather)
    planes = int(np.prod(indices.shape[:-2], dtype=np.int64))
    flat = api.reshape(gg, (planes, -1))
    rows = Tensor(np.arange(planes, dtype=np.int64)[:, None])
    picked = api.getitem(flat, (rows, Tensor(indices.reshape(planes, -1))))
    return (api.reshape(picked, indices.shape), _zeros_for_self(ctx, gg, xp))


# ----- average pooling ----------------------------------------------------------------------


class AvgWindow(Window):
    __slots__ = ("count_include_pad", "divisor_override")

    def __init__(self, kernel, stride, pad, ceil_mode, count_include_pad, divisor_override):
        super().__init__(kernel, stride, pad, (1, 1), ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def divisors(self, size):
        """(OH, OW) of what each window's sum is divided by (ATen's avg_pool2d)."""
        if self.divisor_override:
            return np.full(self.out_size(size), float(self.divisor_override))
        counts = []
        for n, k, p, s, o in zip(size, self.kernel, self.pad, self.stride, self.out_size(size),
                                 strict=True):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)
            whole = end - start  # the window clipped to the padded input
            inside = np.minimum(end, n) - np.maximum(start, 0)
            counts.append(whole if self.count_include_pad else inside)
        return np.outer(counts[0], counts[1]).astype(_F64)


def avg_pool(x, win: AvgWindow):
    sums = win.windows(np.asarray(x, _F64), 0.0).sum(axis=(-2, -1))
    return (sums / win.divisors(x.shape[-2:])).astype(x.dtype)


def avg_pool_grad(grad, shape, win: AvgWindow):
    """Each tap of the window sends grad / divisor back to the position it read."""
    h, w = shape[-2:]
    oh, ow = grad.shape[-2:]
    (kh, kw), (sh, sw), (ph, pw) = win.kernel, win.stride, win.pad
    share = np.asarray(grad, _F64) / win.divisors((h, w))
    full_h = max((oh - 1) * sh + kh, h + ph)
    full_w = max((ow - 1) * sw + kw, w + pw)
    padded = np.zeros(shape[:-2] + (full_h + ph, full_w + pw), _F64)
    for a in range(kh):
        for b in range(kw):
            padded[..., a : a + (oh - 1) * sh + 1 : sh, b : b + (ow - 1) * sw + 1 : sw] += share
    return padded[..., ph : ph + h, pw : pw + w].astype(grad.dtype)


@op("avg_pool2d", save=save_self)
def avg_pool2d_op(xs, win):
    return avg_pool(xs[0], win)


@avg_pool2d_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        return (avg_pool_grad(grad, x.shape, ctx.params),)
    return (O.call(avg_pool2d_backward_op, (grad, x), ctx.params),)


# avg_pool2d_backward is linear in grad: its derivative is avg_pool2d itself.
@op("avg_pool2d_backward", save=save_nothing)
def avg_pool2d_backward_op(xs, win):
    return avg_pool_grad(xs[0], xs[1].shape, win)


@avg_pool2d_backward_op.derivative
def _(ctx, gg, xp):
    win = ctx.params
    if xp is NumpyVocabulary:
        return (avg_pool(gg, win), _zeros_for_self(ctx, gg, xp))
    return (O.call(avg_pool2d_op, (gg,), win), _zeros_for_self(ctx, gg, xp))


# ----- adaptive average pooling -------------------------------------------------------------


def adaptive_matrix(n, out):
    """(out, n): row i averages inputs floor(i*n/out) .. ceil((i+1)*n/out) - 1."""
    m = np.zeros((out, n), _F64)
    for i in range(out):
        start, end = (i * n) // out, -((-(i + 1) * n) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg(x, out_size):
    mh, mw = adaptive_matrix(x.shape[-2], out_size[0]), adaptive_matrix(x.shape[-1], out_size[1])
    return (mh @ np.asarray(x, _F64) @ mw.T).astype(x.dtype)


def adaptive_avg_grad(grad, shape):
    mh = adaptive_matrix(shape[-2], grad.shape[-2])
    mw = adaptive_matrix(shape[-1], grad.shape[-1])
    return (mh.T @ np.asarray(grad, _F64) @ mw).astype(grad.dtype)


@op("_adaptive_avg_pool2d", save=save_self)
def adaptive_avg_pool2d_op(xs, out_size):
    return adaptive_avg(xs[0], out_size)


@adaptive_avg_pool2d_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        return (adaptive_avg_grad(grad, x.shape),)
    return (O.call(adaptive_avg_pool2d_backward_op, (grad, x)),)


# _adaptive_avg_pool2d_backward(grad_output, self) is linear in grad_output: its derivative
# is the pooling itself, to grad_output's size.
@op("_adaptive_avg_pool2d_backward", save=save_nothing)
def adaptive_avg_pool2d_backward_op(xs, p):
    return adaptive_avg_grad(xs[0], xs[1].shape)


@adaptive_avg_pool2d_backward_op.derivative
def _(ctx, gg, xp):
    out_size = tuple(ctx.shapes[0][-2:])
    if xp is NumpyVocabulary:
        return (adaptive_avg(gg, out_size), _zeros_for_self(ctx, gg, xp))
    return (O.call(adaptive_avg_pool2d_op, (gg,), out_size), _zeros_for_self(ctx, gg, xp))
