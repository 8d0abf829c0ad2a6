"""F.conv1d and F.conv2d: ATen's `convolution` (ConvolutionBackward0) and its backward,
`convolution_backward` (ConvolutionBackwardBackward0 under create_graph=True).

A convolution here is a cross-correlation over 1 or 2 spatial dims; the kernels below work
on 2 (a 1-d convolution is one with height 1). With x padded to xp, output position (i, j):

    y[n, o, i, j] = b[o] + sum_{c, a, b} xp[n, c, i*s0 + a*d0, j*s1 + b*d1] w[o, c, a, b]

It is bilinear in (x, w), so both gradients are again such sums:

    grad_input  = sum over kernel taps (a, b) of grad scattered back to the taps' positions
    grad_weight = sum over (n, i, j) of the input windows times grad  (windows . grad)

and so are their own derivatives (see `convolution_backward` below). Windows come from
numpy's sliding_window_view and are contracted with tensordot: no loop per output pixel.
float32 sums run in float64 and are rounded once (PyTorch's oneDNN kernels sum in float32
in their own order; the printed values agree, the last ulp can differ).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradcli.aten import ops as O
from gradcli.aten.ops import op, save_inputs, save_nothing
from gradcli.autodiff.vocabulary import NumpyVocabulary
from gradcli.base import budget, diagnostics
from gradcli.base.dtypes import LEGACY_TYPE_NAMES
from gradcli.base.errors import runtime_error
from gradcli.torch import functions as api

_F64 = np.dtype(np.float64)


def _wide(x):
    """Arrays to sum in: float64 for floating inputs, int64 for integer ones."""
    return x.astype(_F64 if x.dtype.kind == "f" else np.int64, copy=False)


def _as2d(x, nd):
    return x if nd == 2 else x[:, :, None, :]


def _from2d(x, nd):
    return x if nd == 2 else x[:, :, 0, :]


class Geometry:
    """stride, padding (before, after), dilation and groups of one convolution, for 2 dims."""

    __slots__ = ("nd", "stride", "pad", "dilation", "groups")

    def __init__(self, nd, stride, pad, dilation, groups):
        self.nd = nd
        one = (1,) if nd == 1 else ()
        self.stride = one + tuple(stride)
        self.pad = ((0, 0),) * (2 - nd) + tuple(pad)
        self.dilation = one + tuple(dilation)
        self.groups = groups

    def out_size(self, size, kernel):
        return tuple(
            (n + lo + hi - d * (k - 1) - 1) // s + 1
            for n, (lo, hi), d, k, s in zip(size, self.pad, self.dilation, kernel, self.stride,
                                            strict=True))

    def windows(self, x, kernel, out):
        """(N, C, OH, OW, KH, KW) view of padded x: the input each output position sees."""
        x = np.pad(x, ((0, 0), (0, 0)) + self.pad)
        (dh, dw), (sh, sw) = self.dilation, self.stride
        span = ((kernel[0] - 1) * dh + 1, (kernel[1] - 1) * dw + 1)
        view = sliding_window_view(x, span, axis=(2, 3))
        return view[:, :, : (out[0] - 1) * sh + 1 : sh, : (out[1] - 1) * sw + 1 : sw, ::dh, ::dw]


def _groups(array, axis, groups):
    return np.split(array, groups, axis=axis) if groups > 1 else [array]


def conv_forward(x, w, geo: Geometry):
    """x (N, C, H, W), w (O, C/groups, KH, KW) -> (N, O, OH, OW), in the wide dtype."""
    kernel = w.shape[2:]
    out = geo.out_size(x.shape[2:], kernel)
    win = geo.windows(_wide(x), kernel, out)
    parts = [np.tensordot(xg, wg, axes=([1, 4, 5], [1, 2, 3]))
             for xg, wg in zip(_groups(win, 1, geo.groups), _groups(_wide(w), 0, geo.groups),
                               strict=True)]
    y = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
    return np.moveaxis(y, -1, 1)


def conv_input_grad(gy, w, x_shape, geo: Geometry):
    """d<gy, conv(x, w)>/dx: each kernel tap sends gy back to the positions it read."""
    n, c, h, width = x_shape
    (lo_h, hi_h), (lo_w, hi_w) = geo.pad
    grad = np.zeros((n, c, h + lo_h + hi_h, width + lo_w + hi_w), _F64)
    oh, ow = gy.shape[2:]
    (dh, dw), (sh, sw) = geo.dilation, geo.stride
    cg = c // geo.groups
    gy, w = _wide(gy), _wide(w)
    for g, (gyg, wg) in enumerate(zip(_groups(gy, 1, geo.groups), _groups(w, 0, geo.groups),
                                      strict=True)):
        for a in range(w.shape[2]):
            for b in range(w.shape[3]):
                tap = np.moveaxis(np.tensordot(gyg, wg[:, :, a, b], axes=([1], [0])), -1, 1)
                grad[:, g * cg : (g + 1) * cg,
                     a * dh : a * dh + (oh - 1) * sh + 1 : sh,
                     b * dw : b * dw + (ow - 1) * sw + 1 : sw] += tap
    return grad[:, :, lo_h : lo_h + h, lo_w : lo_w + width]


def conv_weight_grad(x, gy, w_shape, geo: Geometry):
    """d<gy, conv(x, w)>/dw: the input windows weighted by gy, summed over (n, i, j)."""
    win = geo.windows(_wide(x), w_shape[2:], gy.shape[2:])
    parts = [np.tensordot(gyg, xg, axes=([0, 2, 3], [0, 2, 3]))
             for gyg, xg in zip(_groups(_wide(gy), 1, geo.groups), _groups(win, 1, geo.groups),
                                strict=True)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


# ----- the ops ------------------------------------------------------------------------------
# Arrays reach the kernels as (N, C, *spatial) with 1 or 2 spatial dims; Geometry.nd says which.


@op("convolution", save=save_inputs)
def convolution_op(xs, geo):
    x, w, bias = xs
    y = conv_forward(_as2d(x, geo.nd), _as2d(w, geo.nd), geo)
    if bias is not None:
        y = y + _wide(bias)[:, None, None]
    return _from2d(y, geo.nd).astype(x.dtype)


@convolution_op.derivative
def _(ctx, grad, xp):
    x, w, _ = ctx.saved
    geo = ctx.params
    needs = ctx.needs
    if xp is NumpyVocabulary:
        return (
            _input_grad(grad, w, x.shape, geo).astype(x.dtype) if needs[0] else None,
            _weight_grad(x, grad, w.shape, geo).astype(w.dtype) if needs[1] else None,
            grad.sum(axis=(0, *range(2, grad.ndim)), dtype=_F64).astype(grad.dtype)
            if needs[2] else None,
        )
    # one ConvolutionBackwardBackward0 per gradient, each over (grad_output, input, weight)
    return tuple(O.call(convolution_backward_op, (grad, x, w), (which, geo)) if need else None
                 for which, need in zip(("input", "weight", "bias"), needs, strict=True))


def _input_grad(gy, w, x_shape, geo):
    x4 = x_shape if geo.nd == 2 else x_shape[:2] + (1,) + x_shape[2:]
    return _from2d(conv_input_grad(_as2d(gy, geo.nd), _as2d(w, geo.nd), x4, geo), geo.nd)


def _weight_grad(x, gy, w_shape, geo):
    w4 = w_shape if geo.nd == 2 else w_shape[:2] + (1,) + w_shape[2:]
    return _from2d(conv_weight_grad(_as2d(x, geo.nd), _as2d(gy, geo.nd), w4, geo), geo.nd)


# convolution_backward(grad_output, input, weight) -> one of grad_input, grad_weight,
# grad_bias (PyTorch's one node gives all three; gradcli records one node per gradient, each
# with PyTorch's name and edges). Each is linear in grad_output and in the other argument,
# so its derivative is a convolution or a convolution_backward again:
#   grad_input(g, w):  d/dg = conv(gg, w)       d/dw = grad_weight(input=gg, g)
#   grad_weight(x, g): d/dg = conv(x, gg)       d/dx = grad_input(g, weight=gg)
#   grad_bias(g):      d/dg = gg at every position
@op("convolution_backward", save=save_inputs)
def convolution_backward_op(xs, p):
    gy, x, w = xs
    which, geo = p
    if which == "input":
        return _input_grad(gy, w, x.shape, geo).astype(gy.dtype)
    if which == "weight":
        return _weight_grad(x, gy, w.shape, geo).astype(gy.dtype)
    return gy.sum(axis=(0, *range(2, gy.ndim)), dtype=_F64).astype(gy.dtype)


@convolution_backward_op.derivative
def _(ctx, gg, xp):
    gy, x, w = ctx.saved
    which, geo = ctx.params
    needs = ctx.needs
    if which == "bias":
        spread = (1, -1) + (1,) * (len(ctx.shapes[0]) - 2)
        return (xp.expand(xp.reshape(gg, spread), ctx.shapes[0]) if needs[0] else None,
                None, None)
    if xp is NumpyVocabulary:
        if which == "input":
            return (
                _from2d(conv_forward(_as2d(gg, geo.nd), _as2d(w, geo.nd), geo),
                        geo.nd).astype(gg.dtype) if needs[0] else None,
                None,
                _weight_grad(gg, gy, w.shape, geo).astype(gg.dtype) if needs[2] else None,
            )
        return (
            _from2d(conv_forward(_as2d(x, geo.nd), _as2d(gg, geo.nd), geo),
                    geo.nd).astype(gg.dtype) if needs[0] else None,
            _input_grad(gy, gg, x.shape, geo).astype(gg.dtype) if needs[1] else None,
            None,
        )
    if which == "input":
        return (
            O.call(convolution_op, (gg, w, None), geo) if needs[0] else None,
            None,
            O.call(convolution_backward_op, (gy, gg, w), ("weight", geo)) if needs[2] else None,
        )
    return (
        O.call(convolution_op, (x, gg, None), geo) if needs[0] else None,
        O.call(convolution_backward_op, (gy, x, gg), ("input", geo)) if needs[1] else None,
        None,
    )


# padding='same' with an even total padding d*(k-1) odd: ATen pads one more zero on the right
# with constant_pad_nd (ConstantPadNdBackward0), then convolves with the smaller, symmetric
# padding. p = the zeros added after each trailing dim.
@op("constant_pad_nd", save=save_nothing)
def constant_pad_nd_op(xs, p):
    x = xs[0]
    first = x.ndim - len(p)
    x = x[(slice(None),) * first + tuple(slice(0, min(r, 0) or None) for r in p)]
    return np.pad(x, ((0, 0),) * first + tuple((0, max(r, 0)) for r in p))


# constant_pad_nd_backward is constant_pad_nd with the padding negated (a crop).
@constant_pad_nd_op.derivative
def _(ctx, grad, xp):
    back = tuple(-r for r in ctx.params)
    if xp is NumpyVocabulary:
        return (constant_pad_nd_op.forward((grad,), back),)
    return (O.call(constant_pad_nd_op, (grad,), back),)


_SAME_EVEN_KERNEL = (
    "Using padding='same' with even kernel lengths and odd dilation may require a "
    "zero-padded copy of the input be created (Triggered internally at "
    "/__w/pytorch/pytorch/aten/src/ATen/native/Convolution.cpp:1101.)")


def _pad_right_for_same(x, pads):
    """(x padded on the right where 'same' is asymmetric, the symmetric padding left)."""
    extra = tuple(hi - lo for lo, hi in pads)
    if not any(extra):
        return x, pads
    diagnostics.warn(_SAME_EVEN_KERNEL, once_per_process=True)
    return O.call(constant_pad_nd_op, (x,), extra), tuple((lo, lo) for lo, _ in pads)


# ----- F.conv1d, F.conv2d: PyTorch's argument checks, in ATen's order ------------------------


def _expand(value, n):
    """An int, or a one-element list, stands for the same value in every spatial dim."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    return value * n if len(value) == 1 else value


def _same_padding(weight, dilation):
    """padding='same': d*(k-1) in total, the odd one on the right (an even kernel)."""
    pads = []
    for d, k in zip(dilation, weight.shape[2:], strict=True):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _check_shapes(input, weight, bias, stride, pads, dilation, groups):
    """at::_convolution's check_shape_forward, for input with its batch dim."""
    k = weight.ndim
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        raise runtime_error("negative padding is not supported")
    if any(s <= 0 for s in stride):
        raise runtime_error("non-positive stride is not supported")
    if groups <= 0:
        raise runtime_error("non-positive groups is not supported")
    sizes = list(weight.shape)
    if input.ndim != k:
        raise runtime_error(
            f"Expected {k}-dimensional input for {k}-dimensional weight {sizes}, but got "
            f"{input.ndim}-dimensional input of size {list(input.shape)} instead")
    if sizes[0] < groups or sizes[0] % groups:
        raise runtime_error(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size [{sizes}] instead")
    if input.shape[1] != sizes[1] * groups:
        raise runtime_error(
            f"Given groups={groups}, weight of size {sizes}, expected input{list(input.shape)} "
            f"to have {sizes[1] * groups} channels, but got {input.shape[1]} channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != sizes[0]):
        raise runtime_error(
            f"Given weight of size {sizes}, expected bias to be 1-dimensional with {sizes[0]} "
            f"elements, but got bias of size {list(bias.shape)} instead")
    padded = [n + lo + hi for n, (lo, hi) in zip(input.shape[2:], pads, strict=True)]
    kernel = [d * (w - 1) + 1 for d, w in zip(dilation, sizes[2:], strict=True)]
    if any(p < w for p, w in zip(padded, kernel, strict=True)):
        raise runtime_error(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, kernel))}). Kernel size can't be greater "
            f"than actual input size")
    if any(d <= 0 for d in dilation):
        raise runtime_error(f"dilation should be greater than zero, but got {list(dilation)}")


_C_NAMES = {"float32": "float", "float64": "double", "int64": "long", "int32": "int",
            "bool": "bool"}


def _check_dtypes(input, weight, bias):
    if bias is not None and bias.dtype is not input.dtype:
        raise runtime_error(f"Input type ({_C_NAMES[input.dtype.name]}) and bias type "
                            f"({_C_NAMES[bias.dtype.name]}) should be the same")
    if weight.dtype is not input.dtype:
        raise runtime_error(f"expected scalar type {LEGACY_TYPE_NAMES[input.dtype.name]} but "
                            f"found {LEGACY_TYPE_NAMES[weight.dtype.name]}")


def _conv(name, nd, input, weight, bias, stride, padding, dilation, groups):
    if input.ndim not in (nd + 1, nd + 2):
        raise runtime_error(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
            f"input of size: {list(input.shape)}")
    stride, dilation = _expand(stride, nd), _expand(dilation, nd)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise runtime_error(f"Invalid padding string: '{padding}'")
        if padding == "same" and any(s != 1 for s in stride):
            raise runtime_error("padding='same' is not supported for strided convolutions")
    if weight.ndim < 3:
        raise runtime_error("weight should have at least three dimensions")
    k = weight.ndim - 2
    if padding == "valid":
        padding = 0
    elif padding == "same":
        padding = None
    for arg, values in (("stride", stride), ("padding", padding), ("dilation", dilation)):
        if values is not None and not isinstance(values, int) and len(_expand(values, k)) != k:
            raise runtime_error(
                f"expected {arg} to be a single integer value or a list of {k} values to match "
                f"the convolution dimensions, but got {arg}={list(_expand(values, k))}")
    stride, dilation = _expand(stride, k), _expand(dilation, k)
    pads = (_same_padding(weight, dilation) if padding is None
            else tuple((p, p) for p in _expand(padding, k)))
    batched = input.ndim == nd + 2
    x = input if batched else api.unsqueeze(input, 0)
    _check_shapes(x, weight, bias, stride, pads, dilation, groups)
    _check_dtypes(input, weight, bias)
    if padding is None:
        x, pads = _pad_right_for_same(x, pads)
    # the kernels copy the input windows (N, C, out..., kernel...) in float64 (im2col)
    geo = Geometry(nd, stride, pads, dilation, groups)
    spatial = geo.out_size(x.shape[2:] if nd == 2 else (1, *x.shape[2:]),
                           weight.shape[2:] if nd == 2 else (1, *weight.shape[2:]))
    budget.check_tensor_size((*x.shape[:2], *spatial, *weight.shape[2:]), 8, "float64")
    out = O.call(convolution_op, (x, weight, bias), geo)
    return out if batched else api.squeeze(out, 0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)
