"""torch.optim.Optimizer (torch/optim/optimizer.py of PyTorch 2.13): parameter groups,
per-parameter state, zero_grad, printing, and PyTorch's checks on what it is given.

The update rules (sgd.py, adam.py, ...) are PyTorch's single-tensor (foreach=False)
algorithms, which PyTorch itself runs on CPU, written over the numpy arrays in the
tensors' own dtype: every Python scalar is cast to that dtype before it meets an array,
as ATen's CPU kernels do, so float32 runs round as PyTorch's do.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base.diagnostics import warn
from gradcli.base.errors import type_error, value_error
from gradcli.torch import functions as api
from gradcli.torch.nn.module import typename


class Optimizer:
    _program_attributes_ = frozenset({
        "param_groups", "state", "defaults", "step", "zero_grad", "add_param_group",
        "state_dict", "load_state_dict",
    })

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        if params.__class__ is Tensor:
            raise type_error(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise value_error("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def add_param_group(self, param_group) -> None:
        if not isinstance(param_group, dict):
            raise type_error(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if params.__class__ is Tensor:
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise type_error(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list "
                "instead.")
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise value_error("all optimizer params should be with/without names. Some "
                                  "param names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if param.__class__ is not Tensor:
                raise type_error("optimizer can only optimize Tensors, but one of the params "
                                 "is " + typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.grad_fn is None or param.retains_grad):
                raise value_error("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        if len(tensors) != len({id(p) for p in tensors}):
            warn("optimizer contains a parameter group with duplicate parameters; in future, "
                 "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for "
                 "more information")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise value_error("all optimizer param groups should be with/without names. "
                                  f"cannot add param group {kind} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise value_error("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        grad.grad_fn = None
                        grad.requires_grad = False
                        api.zero_(grad)

    def step(self, closure=None):
        raise value_error_not_implemented()

    def _closure_loss(self, closure):
        self._opt_called = True
        if closure is None:
            return None
        from gradcli.torch.autograd.grad_mode import enable_grad

        with enable_grad():
            return closure()

    def _with_grads(self, group):
        """The group's parameters that have a gradient, with that gradient's values."""
        out = []
        for p in group["params"]:
            grad = p.grad
            if grad is not None:
                out.append((p, grad.array))
        return out

    def state_dict(self) -> dict:
        mapping: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {mapping[id(k)]: v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise value_error("loaded state dict has a different number of parameter groups")
        by_index = {}
        for group, saved in zip(self.param_groups, groups, strict=True):
            if len(group["params"]) != len(saved["params"]):
                raise value_error("loaded state dict contains a parameter group that doesn't "
                                  "match the size of optimizer's group")
            for p, index in zip(group["params"], saved["params"], strict=True):
                by_index[index] = p
            for key, value in saved.items():
                if key != "params":
                    group[key] = value
        self.state = defaultdict(dict)
        for index, value in state_dict["state"].items():
            self.state[by_index[index]] = {
                k: api.clone(v) if v.__class__ is Tensor else v for k, v in value.items()}

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += "\n"
            text += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


def value_error_not_implemented():
    from gradcli.base.errors import ProgramError

    return ProgramError("NotImplementedError", "")


def step_tensor() -> Tensor:
    """state["step"]: a float32 0-d tensor, as _get_scalar_dtype() makes it."""
    return Tensor(np.zeros((), np.float32))


_ONE = np.float32(1)


def bump_step(step: Tensor) -> float:
    """`step_t += 1`, then `_get_value(step_t)`: the count as a Python float."""
    count = step.array
    if not count.flags.writeable:
        count = step.array = count.copy()
    count += _ONE
    step.version[0] += 1
    return float(count)


def scalar(array: np.ndarray, value: float):
    """A Python number as ATen's CPU kernels see it next to `array`: in its dtype."""
    return array.dtype.type(value)
