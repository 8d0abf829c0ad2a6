"""The torch-level names of autograd's extensions, for gradcli/sandbox/scope.py to expose.

`namespaces(Namespace)` returns what goes into `torch.autograd` and into `torch` (each a
dict of name -> value; sub-modules are built with the Namespace class handed in, so this
package does not import the sandbox's scope module).
"""

from __future__ import annotations


def namespaces(namespace_cls):
    from gradcli.torch.autograd import anomaly_mode, functional, graph
    from gradcli.torch.autograd import forward_ad as fwd
    from gradcli.torch.autograd import gradcheck as check
    from gradcli.torch.autograd.function import Function, FunctionCtx, once_differentiable

    function_module = namespace_cls("torch.autograd.function", {
        "Function": Function, "FunctionCtx": FunctionCtx,
        "once_differentiable": once_differentiable,
    })
    autograd_members = {
        "Function": Function,
        "function": function_module,
        "functional": namespace_cls("torch.autograd.functional", functional.MEMBERS),
        "forward_ad": namespace_cls("torch.autograd.forward_ad", fwd.MEMBERS),
        "graph": namespace_cls("torch.autograd.graph", graph.MEMBERS),
        "gradcheck": check.gradcheck,
        "gradgradcheck": check.gradgradcheck,
        "detect_anomaly": anomaly_mode.detect_anomaly,
        "set_detect_anomaly": anomaly_mode.set_detect_anomaly,
    }
    torch_members = {
        "func": namespace_cls("torch.func", _func_members),
        "vmap": vmap,
        "is_anomaly_enabled": anomaly_mode.is_anomaly_enabled,
        "is_anomaly_check_nan_enabled": anomaly_mode.is_anomaly_check_nan_enabled,
    }
    return autograd_members, torch_members


# torch.func is imported on a program's first use of it (start-up time).
def _func_members() -> dict:
    from gradcli.torch.func import MEMBERS

    return MEMBERS


def vmap(func, *args, **kwargs):
    """torch.vmap: torch.func.vmap."""
    return _func_members()["vmap"](func, *args, **kwargs)
