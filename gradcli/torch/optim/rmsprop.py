"""torch.optim.RMSprop: `_single_tensor_rmsprop` of PyTorch 2.13."""

from __future__ import annotations

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import value_error
from gradcli.torch.nograd_writes import write_
from gradcli.torch.optim.adam import _lerp
from gradcli.torch.optim.optimizer import Optimizer, bump_step, scalar, step_tensor


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if not 0.0 <= lr:
            raise value_error(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise value_error(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise value_error(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise value_error(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise value_error(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
            "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            momentum, centered, weight_decay = (group["momentum"], group["centered"],
                                                group["weight_decay"])
            for p, grad in self._with_grads(group):
                x = p.array
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["square_avg"] = Tensor(np.zeros_like(x))
                    if momentum > 0:
                        state["momentum_buffer"] = Tensor(np.zeros_like(x))
                    if centered:
                        state["grad_avg"] = Tensor(np.zeros_like(x))
                if group["maximize"]:
                    grad = -grad
                bump_step(state["step"])
                if weight_decay != 0:
                    grad = grad + scalar(x, weight_decay) * x
                square_avg = state["square_avg"]
                # square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                write_(square_avg, square_avg.array * scalar(x, alpha)
                       + scalar(x, 1 - alpha) * grad * grad)
                if centered:
                    grad_avg = state["grad_avg"]
                    write_(grad_avg, _lerp(grad_avg.array, grad, 1 - alpha))
                    # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                    avg = np.sqrt(square_avg.array + scalar(x, -1) * grad_avg.array
                                  * grad_avg.array)
                else:
                    avg = np.sqrt(square_avg.array)
                avg = avg + scalar(x, eps)
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    # buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
                    write_(buf, buf.array * scalar(x, momentum) + scalar(x, 1) * grad / avg)
                    write_(p, x + scalar(x, -lr) * buf.array)
                else:
                    write_(p, x + scalar(x, -lr) * grad / avg)  # addcdiv_(value=-lr)
        return loss
