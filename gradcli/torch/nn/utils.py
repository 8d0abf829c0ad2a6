"""torch.nn.utils: gradient clipping (torch/nn/utils/clip_grad.py) and the parameters <->
vector conversions (convert_parameters.py), in PyTorch 2.13's order of operations: the
total norm is the norm of the per-gradient norms, the clip coefficient
min(max_norm / (total_norm + 1e-6), 1) is a tensor, and every gradient is multiplied by
it in place, even when it is 1."""

from __future__ import annotations

import math

from gradcli.autodiff.tensor import Tensor
from gradcli.base.diagnostics import warn
from gradcli.base.errors import runtime_error, type_error
from gradcli.torch import functions as api
from gradcli.torch.autograd.grad_mode import no_grad
from gradcli.torch.nn.module import typename


def _as_list(parameters, warn_if_empty_generator=False) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = hasattr(parameters, "__next__") and hasattr(parameters, "send")
    parameters = list(parameters)
    if warn_if_empty_generator and is_generator and not parameters:
        warn("`parameters` is an empty generator, no gradient clipping will occur.")
    return parameters


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    with no_grad():
        if not tensors:
            return api.tensor(0.0)
        norms = [api.norm(t, norm_type) for t in tensors]
        total = api.norm(api.stack(norms), norm_type)
    value = float(total.array)
    if error_if_nonfinite and (math.isnan(value) or math.isinf(value)):
        raise runtime_error(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None) -> None:
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    with no_grad():
        clip_coef = api.div(max_norm, api.add(total_norm, 1e-6))
        clip_coef_clamped = api.clamp(clip_coef, max=1.0)
        for g in grads:
            api.mul_(g, clip_coef_clamped)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    parameters = _as_list(parameters, warn_if_empty_generator=True)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                   foreach=None):
    warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
         "`torch.nn.utils.clip_grad_norm_`.", "FutureWarning")
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None) -> None:
    parameters = _as_list(parameters)
    clip_value = float(clip_value)
    with no_grad():
        for p in parameters:
            if p.grad is not None:
                api.clamp_(p.grad, min=-clip_value, max=clip_value)


def parameters_to_vector(parameters):
    return api.cat([api.view(p, -1) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    if not isinstance(vec, Tensor):
        raise type_error(f"expected torch.Tensor, but got: {typename(vec)}")
    pointer = 0
    for param in parameters:
        num_param = api.numel(param)
        # vec[pointer:pointer + n].view_as(param).data: param now shares vec's storage
        piece = vec.array[pointer:pointer + num_param].reshape(param.shape)
        api.set_data(param, Tensor(piece, vec.dtype))
        pointer += num_param


UTILS_MEMBERS = {
    "clip_grad_norm": clip_grad_norm,
    "clip_grad_norm_": clip_grad_norm_,
    "clip_grad_value_": clip_grad_value_,
    "clip_grads_with_norm_": clip_grads_with_norm_,
    "get_total_norm": get_total_norm,
    "parameters_to_vector": parameters_to_vector,
    "vector_to_parameters": vector_to_parameters,
}

__all__ = ["UTILS_MEMBERS", *UTILS_MEMBERS]
