"""torch.nn.functional's core: linear, relu/sigmoid/softmax/log_softmax, and the losses.
"""

from __future__ import annotations

from gradcli.aten import ops as O
from gradcli.autodiff.tensor import GradMode
from gradcli.base import dtypes
from gradcli.base.errors import (
    ProgramError,
    index_error,
    runtime_error,
    value_error,
)
from gradcli.torch import gathering
from gradcli.torch._common import _dtype_name, call, cast, float_dtype, wrap_dim
from gradcli.torch.conversion import Size, to
from gradcli.torch.pointwise import abs, add, binary, div, eq, logical_not, mul, neg, sub
from gradcli.torch.reductions import mean, sum
from gradcli.torch.shape import view


def _implicit_dim(name, input):
    from gradcli.base import diagnostics

    diagnostics.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument."
    )
    return 0 if input.ndim in (0, 1, 3) else 1


def torch_softmax(input, dim, dtype=None):
    return softmax(input, dim, dtype)


def torch_log_softmax(input, dim, dtype=None):
    return log_softmax(input, dim, dtype)


def softmax(input, dim=None, dtype=None, **ignored):
    if dtype is not None:
        input = to(input, dtype)
    if dim is None:
        dim = _implicit_dim("softmax", input)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    d = wrap_dim(dim, input.ndim)
    return call(O.softmax, (input,), d, (cast(input, float_dtype(input)),))


def log_softmax(input, dim=None, dtype=None, **ignored):
    if dtype is not None:
        input = to(input, dtype)
    if dim is None:
        dim = _implicit_dim("log_softmax", input)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    d = wrap_dim(dim, input.ndim)
    return call(O.log_softmax, (input,), d, (cast(input, float_dtype(input)),))


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise value_error(f"{reduction} is not a valid value for reduction")
    return reduction


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_reduction(reduction)
    if input.shape != target.shape:
        import warnings

        warnings.warn(
            f"Using a target size ({Size(target.shape)}) that is different to the input size "
            f"({Size(input.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=2,
        )
    return binary(O.mse_loss, input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_reduction(reduction)
    loss = abs(sub(input, target))
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    _check_reduction(reduction)
    if input.shape != target.shape:
        raise value_error(
            f"Using a target size ({Size(target.shape)}) that is different to the input size "
            f"({Size(input.shape)}) is deprecated. Please ensure they have the same size."
        )
    x = input.array
    if ((x < 0) | (x > 1)).any():
        raise runtime_error("all elements of input should be between 0 and 1")
    w = weight.array if weight is not None else None
    return call(O.binary_cross_entropy, (input, target), (reduction, w))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    _check_reduction(reduction)
    if input.ndim == 0:
        raise value_error("Expected 1 or more dimensions (got 0)")
    if input.ndim > 2:
        raise ProgramError(
            "NotImplementedError",
            "nll_loss of an input with more than 2 dimensions is not supported yet in gradcli",
        )
    batch = input.shape[0] if input.ndim == 2 else None
    if batch is not None and target.shape != (batch,):
        raise value_error(
            f"Expected input batch_size ({batch}) to match target batch_size "
            f"({target.shape[0] if target.ndim else 0})."
        )
    if target.dtype is dtypes.int32:
        raise runtime_error("expected target dtype to be Long or Byte, but got Int")
    if target.dtype.category != dtypes.INTEGRAL:
        raise runtime_error(
            f"expected target dtype to be Long or Byte, but got {_dtype_name(target.dtype)}")
    classes = input.shape[-1]
    t_arr = target.array
    bad = (t_arr != ignore_index) & ((t_arr < 0) | (t_arr >= classes))
    if bad.any():
        raise index_error(f"Target {int(t_arr[bad].flat[0])} is out of bounds.")
    w = weight.array if weight is not None else None
    return call(O.nll_loss, (input,), (t_arr, w, reduction, ignore_index, []))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    class_dim = 0 if input.ndim == 1 else 1
    smoothing = float(label_smoothing)
    if not 0.0 <= smoothing <= 1.0:
        raise runtime_error(f"label_smoothing must be between 0.0 and 1.0. Got: {smoothing:g}")
    if target.dtype.is_floating_point and target.shape == input.shape:
        # Class probabilities: -(log_softmax * target) summed over classes; smoothing
        # mixes the target with the uniform distribution first (ATen's
        # cross_entropy_loss_prob_target)
        _check_reduction(reduction)
        if smoothing > 0:
            classes = input.shape[class_dim]
            target = add(call(O.mul_scalar, (target,), 1 - smoothing), smoothing / classes)
        logp = log_softmax(input, class_dim)
        if reduction == "none":
            return neg(sum(mul(logp, target), class_dim))
        total = neg(sum(mul(logp, target)))
        if reduction == "sum":
            return total
        batch = input.shape[0] if input.ndim > 1 else 1
        return call(O.div_scalar, (total,), batch)
    logp = log_softmax(input, class_dim)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if smoothing > 0:
        loss = _smoothed(loss, logp, target, weight, ignore_index, reduction, smoothing,
                         class_dim)
    return loss


def _smoothed(nll, logp, target, weight, ignore_index, reduction, smoothing, class_dim):
    """ATen's cross_entropy_loss_label_smoothing: (1 - s) nll + s / C times the loss
    against the uniform distribution, -sum_c log p_c (weighted), where ignored targets
    count 0 and the mean divides by the targets kept (or by their weights)."""
    classes = logp.shape[class_dim]
    ignored = eq(target, ignore_index)
    if weight is not None:
        shape = [1] * logp.ndim
        shape[class_dim] = weight.shape[0]
        smooth = neg(sum(mul(logp, view(weight, *shape)), class_dim))
    else:
        smooth = neg(sum(logp, class_dim))
    gathering.masked_fill_(smooth, ignored, 0.0)
    if reduction == "mean":
        kept = logical_not(ignored)
        if weight is not None:
            picked = gathering.gather(weight, 0, gathering.masked_select(target, kept))
            smooth = div(sum(smooth), sum(picked))
        else:
            smooth = div(sum(smooth), sum(kept))
    elif reduction == "sum":
        smooth = sum(smooth)
    return add(call(O.mul_scalar, (nll,), 1 - smoothing),
               call(O.mul_scalar, (smooth,), smoothing / classes))


def no_grad_enabled() -> bool:
    return GradMode.enabled
