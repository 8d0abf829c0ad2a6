"""The activation modules beyond activation.py (torch/nn/modules/activation.py): each stores
its options, prints them as PyTorch's extra_repr does, and calls its F function."""

from __future__ import annotations

from gradcli.base.errors import ProgramError
from gradcli.torch import activations as A
from gradcli.torch import activations_more as M
from gradcli.torch import functions as api
from gradcli.torch.nn.module import Module, Parameter


def _inplace_suffix(inplace) -> str:
    return ", inplace=True" if inplace else ""


class _Plain(Module):
    """An activation with no options: `Mish()`."""

    function = None

    def forward(self, input):
        return type(self).function(input)


class _InplaceOnly(Module):
    """An activation whose one option is `inplace`: `SELU(inplace=True)`."""

    _program_attributes_ = frozenset({"inplace"})
    function = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self).function(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class GELU(Module):
    _program_attributes_ = frozenset({"approximate"})

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return A.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    _program_attributes_ = frozenset({"alpha", "inplace"})

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return M.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_suffix(self.inplace)}"


class CELU(ELU):
    def forward(self, input):
        return M.celu(input, self.alpha, self.inplace)


class SELU(_InplaceOnly):
    function = staticmethod(M.selu)


class SiLU(_InplaceOnly):
    function = staticmethod(A.silu)


class Mish(_InplaceOnly):
    function = staticmethod(M.mish)


class Hardsigmoid(_InplaceOnly):
    function = staticmethod(M.hardsigmoid)


class Hardswish(_InplaceOnly):
    function = staticmethod(M.hardswish)

    # PyTorch's Hardswish and Hardsigmoid have no extra_repr: they never print inplace
    def extra_repr(self) -> str:
        return ""


Hardsigmoid.extra_repr = Hardswish.extra_repr


class Softplus(Module):
    _program_attributes_ = frozenset({"beta", "threshold"})

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return A.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(_Plain):
    function = staticmethod(M.softsign)


class Tanhshrink(_Plain):
    function = staticmethod(M.tanhshrink)


class LogSigmoid(_Plain):
    function = staticmethod(M.logsigmoid)


class Hardtanh(Module):
    _program_attributes_ = frozenset({"min_val", "max_val", "inplace"})

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if max_val <= min_val:
            # torch/nn/modules/activation.py asserts it
            raise ProgramError("AssertionError",
                               f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):
        return M.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_suffix(self.inplace)}"


class ReLU6(Hardtanh):
    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Softshrink(Module):
    _program_attributes_ = frozenset({"lambd"})
    function = staticmethod(M.softshrink)

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return type(self).function(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Softshrink):
    function = staticmethod(M.hardshrink)


class Threshold(Module):
    _program_attributes_ = frozenset({"threshold", "value", "inplace"})

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input):
        return M.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return (f"threshold={self.threshold}, value={self.value}"
                f"{_inplace_suffix(self.inplace)}")


class PReLU(Module):
    """One learnable slope, or one per channel (dim 1), each starting at `init`."""

    _program_attributes_ = frozenset({"num_parameters", "init"})

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        weight = api.full((num_parameters,), float(init), dtype=dtype)
        self.weight = Parameter(weight)

    def forward(self, input):
        return M.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmin(Module):
    _program_attributes_ = frozenset({"dim"})

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return M.softmin(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GLU(Module):
    _program_attributes_ = frozenset({"dim"})

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return M.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


ACTIVATION_MODULES = {
    "GELU": GELU, "ELU": ELU, "CELU": CELU, "SELU": SELU, "SiLU": SiLU, "Mish": Mish,
    "Softplus": Softplus, "Softsign": Softsign, "Hardtanh": Hardtanh, "ReLU6": ReLU6,
    "Hardsigmoid": Hardsigmoid, "Hardswish": Hardswish, "LogSigmoid": LogSigmoid,
    "Tanhshrink": Tanhshrink, "Softshrink": Softshrink, "Hardshrink": Hardshrink,
    "Threshold": Threshold, "PReLU": PReLU, "Softmin": Softmin, "GLU": GLU,
}
