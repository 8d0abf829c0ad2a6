"""Devices (the CPU only), default dtype, print options, inference mode, and the other
small tensor API of SPEC §1.7, plus `reset()`, which a run calls so that no program's
settings (default dtype, print options, anomaly mode, dual levels, saved-tensor hooks)
leak into the next one.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import dtypes, printing
from gradcli.base.errors import ProgramError, runtime_error, type_error
from gradcli.torch import device_string
from gradcli.torch import functions as api
from gradcli.torch.autograd.grad_mode import GradModeContext

NO_CUDA = "Torch not compiled with CUDA enabled"


class Device:
    """torch.device: `device(type='cpu')`; any known type may be named, only the CPU used."""

    _program_attributes_ = frozenset({"type", "index"})
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - PyTorch's parameter name
        if isinstance(type, Device):
            type, index = type.type, type.index
        if isinstance(type, int) and not isinstance(type, bool):
            # an index alone names the current accelerator, and the oracle machine has none
            raise runtime_error("Cannot access accelerator device when none is available.")
        if not isinstance(type, str):
            got = builtins_type_name(type)
            raise type_error(
                f"device() received an invalid combination of arguments - got ({got}), but "
                "expected one of:\n * (torch.device device)\n      didn't match because some "
                f"of the arguments have invalid types: (!{got}!)\n * (str type, int index = -1)"
                "\n")
        kind, number = device_string.parse(type)
        if number is not None:
            index = number
        self.type = kind
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


def builtins_type_name(value) -> str:
    return type(value).__name__


CPU = Device("cpu")


def check_device(device) -> None:
    """A CPU-only build: any CUDA device fails as PyTorch's does."""
    if device is None:
        return
    kind = device.type if isinstance(device, Device) else str(device).partition(":")[0]
    if kind == "cuda":
        raise ProgramError("AssertionError", NO_CUDA)
    if isinstance(device, str):
        Device(device)


def device_of(t: Tensor) -> Device:
    return CPU


def cuda(self, device=None, non_blocking=False, memory_format=None):
    raise ProgramError("AssertionError", NO_CUDA)


def to(self, *args, **kwargs):
    for value in (*args, kwargs.get("device")):
        if isinstance(value, (Device, str)):
            check_device(value)
    args = tuple(a for a in args if not isinstance(a, Device) and not isinstance(a, str))
    kwargs.pop("device", None)
    return api.to(self, *args, **kwargs)


def cpu(self, memory_format=None):
    return self


def _binding_error(exc: TypeError, name: str) -> ProgramError:
    """A wrapped function was called with the wrong arguments: PyTorch's message, under the
    function's torch name (as the language reports a direct call's binding error)."""
    message = str(exc)
    if "()" in message:
        message = name + "()" + message.split("()", 1)[1]
    match = re.match(r"(\w+\(\)) missing (\d+) required positional arguments?: (.*)", message)
    if match:
        names = ", ".join(f'"{n}"' for n in re.findall(r"'(\w+)'", match.group(3)))
        message = (f"{match.group(1)} missing {match.group(2)} required positional "
                   f"arguments: {names}")
    return type_error(message)


class DefaultDevice:
    """torch.set_default_device: a CUDA default fails at the next tensor made."""

    device = None


def with_device(fn, name):
    """A creation function that also takes device= (checked, then dropped)."""

    @functools.wraps(fn)
    def create(*args, device=None, **kwargs):
        check_device(device if device is not None else DefaultDevice.device)
        try:
            return fn(*args, **kwargs)
        except TypeError as exc:
            if exc.__traceback__.tb_next is None:
                raise _binding_error(exc, name) from None
            raise

    return create


def _unavailable(*args, **kwargs):
    raise ProgramError("AssertionError", NO_CUDA)


CUDA_MEMBERS = {
    "is_available": lambda: False,
    "device_count": lambda: 0,
    "current_device": _unavailable,
    "get_device_name": _unavailable,
    "manual_seed": lambda seed: None,
    "manual_seed_all": lambda seed: None,
    "synchronize": _unavailable,
    "empty_cache": lambda: None,
}
ACCELERATOR_MEMBERS = {
    "is_available": lambda: False,
    "device_count": lambda: 0,
    "current_accelerator": lambda check_available=False: None,
}


# ----- default dtype, print options, inference mode ------------------------------------


def get_default_dtype():
    return dtypes.DEFAULT_FLOAT


def set_default_dtype(d):
    if not getattr(d, "is_floating_point", False):
        raise type_error("only floating-point types are supported as the default type")
    dtypes.DEFAULT_FLOAT = d


_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, float("inf"), 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    current = printing.Current.options
    values = dict(zip(("precision", "threshold", "edgeitems", "linewidth", "sci_mode"),
                      current.astuple(), strict=True))
    if profile is not None:
        values.update(zip(("precision", "threshold", "edgeitems", "linewidth"),
                          _PROFILES[profile], strict=True))
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            values[name] = value
    values["sci_mode"] = sci_mode
    printing.Current.options = printing.PrintOptions(**values)


class InferenceMode(GradModeContext):
    """torch.inference_mode(mode=True): grad mode off inside (gradcli keeps no separate
    inference-tensor flag: results simply do not require grad)."""

    _program_attributes_ = frozenset()
    active = False

    def __init__(self, mode=True):
        super().__init__(not mode, "inference_mode")
        self.mode = mode
        self.previous_inference: list[bool] = []

    def __enter__(self):
        self.previous_inference.append(InferenceMode.active)
        InferenceMode.active = bool(self.mode)
        return super().__enter__()

    def __exit__(self, *exc):
        InferenceMode.active = self.previous_inference.pop()
        return super().__exit__(*exc)

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def decorated(*args, **kwargs):
            with InferenceMode(mode):
                return fn(*args, **kwargs)

        return decorated


def is_inference_mode_enabled() -> bool:
    return InferenceMode.active


# ----- small tensor API --------------------------------------------------------------


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a = input.array
    b = other.array if other.__class__ is Tensor else other
    return Tensor(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def numpy_aliases(fn, name):
    """PyTorch's argument parser accepts numpy's names: keepdims= for keepdim=, axis= for
    dim=."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs:
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
        try:
            return fn(*args, **kwargs)
        except TypeError as exc:
            if exc.__traceback__.tb_next is None:
                raise _binding_error(exc, name) from None
            raise

    return call


REDUCTIONS = ("sum mean prod max min amax amin argmax argmin norm var std logsumexp all any"
              ).split()

_INPLACE_UNARY = ("exp log log2 log10 log1p expm1 sqrt rsqrt sin cos tan tanh sigmoid relu "
                  "neg abs sign square reciprocal").split()


def _inplace_unary(name):
    fn = getattr(api, name) if name != "abs" else api.abs

    def method(self):
        return api.inplace(self, fn)

    method.__name__ = name + "_"
    return method


def pow_(self, exponent):
    return api.inplace(self, api.pow, exponent)


INPLACE_METHODS = {name + "_": _inplace_unary(name) for name in _INPLACE_UNARY}
INPLACE_METHODS["pow_"] = pow_


_CREATION = ("tensor zeros ones empty full arange linspace eye rand randn randint zeros_like "
             "ones_like full_like rand_like randn_like").split()


def torch_function_overrides(functions: dict) -> dict:
    """torch.X entries replaced: creation functions check device=, reductions take numpy's
    argument names."""
    overrides = {name: with_device(functions[name], name)
                 for name in _CREATION if name in functions}
    overrides.update({name: numpy_aliases(functions[name], name)
                      for name in REDUCTIONS if name in functions})
    overrides["isclose"] = isclose
    return overrides


def torch_members(namespace_cls) -> dict:
    return {
        "device": Device,
        "cuda": namespace_cls("torch.cuda", CUDA_MEMBERS),
        "accelerator": namespace_cls("torch.accelerator", ACCELERATOR_MEMBERS),
        "get_default_dtype": get_default_dtype,
        "set_default_dtype": set_default_dtype,
        "set_printoptions": set_printoptions,
        "inference_mode": InferenceMode,
        "is_inference_mode_enabled": is_inference_mode_enabled,
    }


TENSOR_METHODS = {
    "cuda": cuda,
    "to": to,
    "cpu": cpu,
    "isclose": isclose,
    **INPLACE_METHODS,
}


def reset(default_dtype=None) -> None:
    """Back to PyTorch's defaults (a run starts, and ends, with these). The default dtype
    goes back to `default_dtype` (what the caller had set: gradcli check runs programs in
    float64), float32 if not given."""
    from gradcli.autodiff.hooks import Anomaly
    from gradcli.autodiff.saved import HookStack
    from gradcli.torch.autograd import forward_mode as forward

    dtypes.DEFAULT_FLOAT = default_dtype or dtypes.float32
    DefaultDevice.device = None
    printing.Current.options = printing.PrintOptions()
    Anomaly.enabled, Anomaly.check_nan = False, True
    HookStack.stack.clear()
    InferenceMode.active = False
    if forward.State.level is not None or forward.State.tangents:
        forward.exit_dual_level()
    GradMode.enabled = True
