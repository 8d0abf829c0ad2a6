"""Tensor functions the PyTorch tutorials use beyond the core set, each both `torch.X` and
`Tensor.X` (wired into gradcli.sandbox.scope and gradcli.sandbox.attributes): they are
compositions of recorded ops, so gradients and grad_fn names are PyTorch's."""

from __future__ import annotations

from gradcli.base.errors import runtime_error
from gradcli.torch import functions as api
from gradcli.torch import runtime_state
from gradcli.torch.diag import diag
from gradcli.torch.functions import wrap_dim


def movedim(input, source, destination):
    """torch.movedim: a permute (PermuteBackward0), as PyTorch records it."""
    sources = list(source) if isinstance(source, (tuple, list)) else [source]
    destinations = list(destination) if isinstance(destination, (tuple, list)) else [destination]
    if len(sources) != len(destinations):
        raise runtime_error(
            "movedim: Invalid source or destination dims: source "
            f"({sources} dims) should contain the same number of dims as destination "
            f"({destinations} dims)")
    ndim = input.ndim
    src = [wrap_dim(d, ndim) for d in sources]
    dst = [wrap_dim(d, ndim) for d in destinations]
    if len(set(src)) != len(src):
        raise runtime_error(f"movedim: repeated dim in `source` ({sources})")
    if len(set(dst)) != len(dst):
        raise runtime_error(f"movedim: repeated dim in `destination` ({destinations})")
    order = [None] * ndim
    for s, d in zip(src, dst, strict=True):
        order[d] = s
    rest = iter(d for d in range(ndim) if d not in src)
    order = [next(rest) if o is None else o for o in order]
    return api.permute(input, tuple(order))


def set_default_device(device):
    """The device tensors are made on: only the CPU works; a CUDA default makes the next
    tensor creation fail, as in a CPU-only build of PyTorch."""
    if isinstance(device, str):
        device = runtime_state.Device(device)
    runtime_state.DefaultDevice.device = device


def get_default_device():
    runtime_state.check_device(runtime_state.DefaultDevice.device)
    return runtime_state.CPU


FUNCTIONS = {"movedim": movedim, "moveaxis": movedim, "diag": diag}
TENSOR_METHODS = dict(FUNCTIONS)
FUNCTIONS.update({"set_default_device": set_default_device,
                  "get_default_device": get_default_device})
