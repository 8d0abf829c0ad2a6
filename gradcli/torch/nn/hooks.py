"""Module full backward hooks (torch/utils/hooks.py BackwardHook of PyTorch 2.13).

The module's tensor input and its output pass through an identity node,
BackwardHookFunctionBackward, as in PyTorch. In backward the output's node sees
grad_output first; the input's node then sees grad_input and calls the hooks with both,
and a hook may replace grad_input. gradcli handles modules whose call has one tensor
among its arguments and returns one tensor (every layer and container of torch.nn).
"""

from __future__ import annotations

from gradcli.aten import ops as O
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base.diagnostics import warn
from gradcli.base.errors import ProgramError, runtime_error

NO_INPUT_GRAD_WARNING = (
    "Full backward hook is firing when gradients are computed with respect to module outputs "
    "since no inputs require gradients. See "
    "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
    "#torch.nn.Module.register_full_backward_hook for more details."
)


@O.op("BackwardHookFunction", name="BackwardHookFunctionBackward")
def _identity(xs, p):
    return xs[0]


@_identity.derivative
def _(ctx, grad, xp):
    return (ctx.params(grad),)


def _as_tensor(grad):
    return grad if grad.__class__ is Tensor else Tensor(grad)


def _as_grad(value, like):
    if value is None:
        return None
    if like.__class__ is Tensor:
        return value
    return value.array


class BackwardHook:
    def __init__(self, module, hooks):
        self.module = module
        self.hooks = hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_index = None

    def setup_input(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        tensors = [i for i, a in enumerate(args) if a.__class__ is Tensor]
        if len(tensors) > 1:
            raise ProgramError(
                "NotImplementedError",
                "gradcli runs full backward hooks for modules called with one tensor")
        if not tensors or not (args[tensors[0]].requires_grad and GradMode.enabled):
            return args
        index = self.input_index = tensors[0]
        wrapped = O.call(_identity, (args[index],), self._on_grad_input)
        return args[:index] + (wrapped,) + args[index + 1:]

    def setup_output(self, result):
        if result.__class__ is not Tensor:
            raise ProgramError(
                "NotImplementedError",
                "gradcli runs full backward hooks for modules that return one tensor")
        if not (result.requires_grad and GradMode.enabled):
            return result
        return O.call(_identity, (result,), self._on_grad_output)

    def _on_grad_output(self, grad):
        self.grad_outputs = (_as_tensor(grad),)
        if self.input_index is None:
            warn(NO_INPUT_GRAD_WARNING)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple)
                                            and all(el is None for el in res)):
                    raise runtime_error(
                        "Backward hook for Modules where no input requires gradient should "
                        "always return None or None for all gradients.")
            self.grad_outputs = None
        return grad

    def _on_grad_input(self, grad):
        if self.grad_outputs is None:
            return grad
        res = [None] * self.n_inputs
        res[self.input_index] = _as_tensor(grad)
        res = tuple(res)
        for hook in self.hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise runtime_error("Backward hook returned an invalid number of grad_input, "
                                    f"got {len(out)}, but expected {len(res)}")
            res = out
        self.grad_outputs = None
        return _as_grad(res[self.input_index], grad)
