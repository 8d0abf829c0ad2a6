"""Module full backward hooks (torch/utils/hooks.py BackwardHook of PyTorch 2.13).

As in PyTorch, the module's tensor arguments pass through one identity autograd.Function,
BackwardHookFunction, and so do the tensors it returns: each side is one node with one
output per tensor (`a.grad_fn is b.grad_fn` for a module returning a and b). In backward
the output side's node sees every grad_output first (None for an output that received
no gradient); the input side's node then has every grad_input (zeros for a tensor that
received none, as a Function's backward sees it) and calls the hooks with both, packed
to the module's argument positions (None for an argument that is not a tensor). A hook
may return a replacement grad_input tuple of the same length.
"""

from __future__ import annotations

import numpy as np

from gradcli.autodiff import hooks as node_hooks
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base.diagnostics import warn
from gradcli.base.errors import runtime_error
from gradcli.torch.autograd.function import Function

NO_INPUT_GRAD_WARNING = (
    "Full backward hook is firing when gradients are computed with respect to module outputs "
    "since no inputs require gradients. See "
    "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
    "#torch.nn.Module.register_full_backward_hook for more details."
)


class BackwardHookFunction(Function):
    """torch.nn.modules._functions.BackwardHookFunction: the identity, as one node."""

    @staticmethod
    def forward(ctx, *args):
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        return args

    @staticmethod
    def backward(ctx, *args):
        return args


BackwardHookFunction.__module__ = "torch.nn.modules._functions"  # where PyTorch has it
# Views and traces describe this node by its own rule (trace.py), not as a program's
# Function: it is torch.nn's machinery.
BackwardHookFunction._backward_op.overload = "BackwardHookFunction"


def _pack_with_none(indices, values, size):
    res = [None] * size
    for idx, val in zip(indices, values, strict=True):
        res[idx] = val
    return tuple(res)


class BackwardHook:
    def __init__(self, module, hooks):
        self.module = module
        self.hooks = hooks
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None

    def _apply_on_tensors(self, on_node, args):
        """The args with their tensors passed through one BackwardHookFunction node (when
        one requires grad and grad mode is on), and the tensors' positions, or None."""
        positions = [i for i, a in enumerate(args) if a.__class__ is Tensor]
        tensors = [args[i] for i in positions]
        if not (any(t.requires_grad for t in tensors) and GradMode.enabled):
            return args, None
        new_tensors = BackwardHookFunction.apply(*tensors)
        node = next(t.grad_fn for t in new_tensors if t.grad_fn is not None)
        on_node(node)
        out = list(args)
        for i, value in zip(positions, new_tensors, strict=True):
            out[i] = value
        return tuple(out), positions

    def setup_input(self, args: tuple) -> tuple:
        res, positions = self._apply_on_tensors(self._set_user_hook, args)
        self.n_inputs = len(args)
        self.input_tensors_index = positions
        return res

    def setup_output(self, result):
        tupled = isinstance(result, tuple)
        args = result if tupled else (result,)
        res, positions = self._apply_on_tensors(
            lambda node: node_hooks.register_node_hook(node, self._on_grad_output), args)
        self.n_outputs = len(args)
        self.output_tensors_index = positions
        return res if tupled else res[0]

    def _on_grad_output(self, _grad_inputs, grad_outputs):
        self.grad_outputs = _pack_with_none(self.output_tensors_index, grad_outputs,
                                            self.n_outputs)
        local_grad_outputs = self.grad_outputs
        if self.input_tensors_index is None:
            # No input requires grad: the hooks run here, with grad_input all None.
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
        return tuple(local_grad_outputs[i] for i in self.output_tensors_index)

    def _set_user_hook(self, node):
        def hook(grad_inputs, _grad_outputs):
            if self.grad_outputs is None:
                # The gradient reached the module's input without passing its output
                # (double backward, or a second backward through the input alone).
                return None
            # The Function's backward saw zeros for a tensor that received no gradient.
            grad_inputs = tuple(
                Tensor(np.zeros(meta[0], meta[1].numpy), meta[1]) if g is None else g
                for g, meta in zip(grad_inputs, node.inputs_meta, strict=True))
            res = _pack_with_none(self.input_tensors_index, grad_inputs, self.n_inputs)
            for user_hook in self.hooks:
                out = user_hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise runtime_error(
                        "Backward hook returned an invalid number of grad_input, got "
                        f"{len(out)}, but expected {len(res)}")
                res = out
            self.grad_outputs = None
            return tuple(res[i] for i in self.input_tensors_index)

        node_hooks.register_node_hook(node, hook)
