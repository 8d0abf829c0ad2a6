"""nn.Flatten (torch/nn/modules/flatten.py): `input.flatten(start_dim, end_dim)`."""

from __future__ import annotations

from gradcli.torch import functions as api
from gradcli.torch.nn.module import Module


class Flatten(Module):
    _program_attributes_ = frozenset({"start_dim", "end_dim"})

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return api.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
