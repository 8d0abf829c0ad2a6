"""torch.optim.Adagrad: `_single_tensor_adagrad` of PyTorch 2.13 (dense gradients)."""

from __future__ import annotations

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import value_error
from gradcli.torch.nograd_writes import write_
from gradcli.torch.optim.optimizer import Optimizer, bump_step, scalar, step_tensor


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise value_error(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise value_error(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise value_error(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise value_error(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise value_error(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "fused": fused,
        }
        super().__init__(params, defaults)
        # Adagrad makes its state when it is built, not at the first step.
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = step_tensor()
                init_value = group["initial_accumulator_value"]
                state["sum"] = Tensor(np.full_like(p.array, init_value))

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            weight_decay = group["weight_decay"]
            for p, grad in self._with_grads(group):
                x = p.array
                state = self.state[p]
                step = bump_step(state["step"])
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    grad = grad + scalar(x, weight_decay) * x
                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum = state["sum"]
                write_(state_sum, state_sum.array + scalar(x, 1) * grad * grad)
                std = np.sqrt(state_sum.array) + scalar(x, eps)
                write_(p, x + scalar(x, -clr) * grad / std)  # addcdiv_(grad, std, value=-clr)
        return loss
