"""torch.optim.Adam and AdamW: `_single_tensor_adam` of PyTorch 2.13 (capturable=False;
AdamW is Adam with decoupled weight decay)."""

from __future__ import annotations

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import value_error
from gradcli.torch.nograd_writes import updated
from gradcli.torch.optim.optimizer import Optimizer, bump_step, scalar, step_tensor


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if not 0.0 <= lr:
            raise value_error(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise value_error(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise value_error(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise value_error(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise value_error(f"Invalid weight_decay value: {weight_decay}")
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)):
            raise value_error("betas must be either both floats or both Tensors")
        defaults = {
            "lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
            "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
            "capturable": capturable, "differentiable": differentiable, "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
            decoupled = group["decoupled_weight_decay"]
            for p, grad in self._with_grads(group):
                x = p.array
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["exp_avg"] = Tensor(np.zeros_like(x))
                    state["exp_avg_sq"] = Tensor(np.zeros_like(x))
                    if amsgrad:
                        state["max_exp_avg_sq"] = Tensor(np.zeros_like(x))
                if group["maximize"]:
                    grad = -grad
                step = bump_step(state["step"])
                if weight_decay != 0:
                    if decoupled:
                        x = updated(p)
                        x *= scalar(x, 1 - lr * weight_decay)
                    else:
                        grad = grad + scalar(x, weight_decay) * x
                dtype = x.dtype.type
                # exp_avg.lerp_(grad, 1 - beta1): a small weight w gives m + w * (grad - m)
                m = updated(state["exp_avg"])
                _lerp_(m, grad, 1 - beta1)
                # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                v = updated(state["exp_avg_sq"])
                v *= dtype(beta2)
                square = np.multiply(grad, dtype(1 - beta2))
                square *= grad
                v += square
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2**0.5
                if amsgrad:
                    peak = updated(state["max_exp_avg_sq"])
                    np.maximum(peak, v, out=peak)
                    v = peak
                # denom = (v.sqrt() / bias_correction2_sqrt).add_(eps)
                denom = np.sqrt(v)
                denom /= dtype(bias_correction2_sqrt)
                denom += dtype(eps)
                # param.addcdiv_(exp_avg, denom, value=-step_size): self + value * t1 / t2
                change = np.multiply(m, dtype(-step_size))
                change /= denom
                updated(p)
                x += change
        return loss


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start.lerp_(end, weight) in place, with ATen's two formulas."""
    w = scalar(start, weight)
    if abs(weight) < 0.5:
        diff = np.subtract(end, start)
        diff *= w
        start += diff
    else:
        diff = np.subtract(end, start)
        diff *= start.dtype.type(1) - w
        np.subtract(end, diff, out=start)


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    w = scalar(start, weight)
    if abs(weight) < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (start.dtype.type(1) - w)


class AdamW(Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
