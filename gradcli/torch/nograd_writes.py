"""In-place writes that PyTorch's Python layers make under torch.no_grad() (parameter
initialisation, optimizer steps): the values change in the tensor's own storage and its
version counter moves on, so a graph that saved the old values refuses to backward."""

from __future__ import annotations

import numpy as np

from gradcli.autodiff.tensor import Tensor


def write_(tensor: Tensor, values: np.ndarray) -> Tensor:
    array = tensor.array
    if not array.flags.writeable:
        array = tensor.array = array.copy()
    np.copyto(array, values, casting="unsafe")
    tensor.version[0] += 1
    return tensor


def updated(tensor: Tensor) -> np.ndarray:
    """The tensor's array, to be changed in place now by the caller: writeable, with the
    version counter already moved on."""
    array = tensor.array
    if not array.flags.writeable:
        array = tensor.array = array.copy()
    tensor.version[0] += 1
    return array
