"""Grad-mode context managers and torch.autograd functions."""

from __future__ import annotations

import functools

from gradcli.autodiff.tensor import GradMode
from gradcli.base.errors import type_error
from gradcli.torch import conversion


class GradModeContext:
    """no_grad() / enable_grad() / set_grad_enabled(flag): usable in `with`."""

    def __init__(self, enabled: bool, name: str):
        self.enabled = enabled
        self.name = name
        self.previous: list[bool] = []

    def __enter__(self):
        self.previous.append(GradMode.enabled)
        GradMode.enabled = self.enabled
        return None

    def __exit__(self, *exc):
        GradMode.enabled = self.previous.pop()
        return False

    def __repr__(self) -> str:
        return f"<torch.autograd.grad_mode.{self.name} object at {id(self):#x}>"

    def __call__(self, fn):
        """`@torch.no_grad()` on a function: each call runs in this grad mode."""

        enabled = self.enabled

        @functools.wraps(fn)
        def decorated(*args, **kwargs):
            previous = GradMode.enabled
            GradMode.enabled = enabled
            try:
                return fn(*args, **kwargs)
            finally:
                GradMode.enabled = previous

        return decorated


def no_grad():
    return GradModeContext(False, "no_grad")


def enable_grad():
    return GradModeContext(True, "enable_grad")


class SetGradEnabled(GradModeContext):
    """set_grad_enabled(flag) switches the mode at once; `with` restores it afterwards."""

    def __init__(self, enabled):
        super().__init__(enabled, "set_grad_enabled")
        self.before_call = GradMode.enabled
        GradMode.enabled = enabled

    def __enter__(self):
        self.previous.append(self.before_call)
        GradMode.enabled = self.enabled
        return None


def set_grad_enabled(mode):
    if not isinstance(mode, bool):
        raise type_error(
            "set_grad_enabled(): argument 'enabled' (position 1) must be bool, not "
            f"{type(mode).__name__}"
        )
    return SetGradEnabled(mode)


def is_grad_enabled():
    return GradMode.enabled


def autograd_grad(*args, **kwargs):
    return conversion.autograd_grad(*args, **kwargs)


def autograd_backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
                      inputs=None):
    if not isinstance(tensors, (list, tuple)):
        tensors, grad_tensors = [tensors], [grad_tensors] if grad_tensors is not None else None
    for i, t in enumerate(tensors):
        conversion.backward(t, grad_tensors[i] if grad_tensors else None,
                     retain_graph=True if i < len(tensors) - 1 else retain_graph,
                     create_graph=create_graph)
