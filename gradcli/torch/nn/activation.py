"""Activations and dropout as modules (torch/nn/modules/activation.py, dropout.py)."""

from __future__ import annotations

from gradcli.base.errors import value_error
from gradcli.torch import functions as api
from gradcli.torch.nn import functional as NF
from gradcli.torch.nn.module import Module


class ReLU(Module):
    _program_attributes_ = frozenset({"inplace"})

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        if self.inplace:
            return api.inplace(input, api.relu)
        return api.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    _program_attributes_ = frozenset({"negative_slope", "inplace"})

    def __init__(self, negative_slope=1e-2, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return NF.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.negative_slope}{inplace}"


class Tanh(Module):
    def forward(self, input):
        return api.tanh(input)


class Sigmoid(Module):
    def forward(self, input):
        return api.sigmoid(input)


class Softmax(Module):
    _program_attributes_ = frozenset({"dim"})

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return api.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input):
        return api.log_softmax(input, self.dim)


class Dropout(Module):
    """Identity in eval mode; in training mode zeroes each element with probability p
    and scales the rest by 1/(1-p) (random: SPEC §1.5)."""

    _program_attributes_ = frozenset({"p", "inplace"})

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise value_error(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return NF.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
