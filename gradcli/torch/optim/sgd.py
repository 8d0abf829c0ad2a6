"""torch.optim.SGD: `_single_tensor_sgd` of PyTorch 2.13."""

from __future__ import annotations

from gradcli.base.errors import value_error
from gradcli.base.fma import fma
from gradcli.torch.nograd_writes import write_
from gradcli.torch.optim.optimizer import Optimizer, scalar


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if lr < 0.0:
            raise value_error(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise value_error(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise value_error(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
            "foreach": foreach, "differentiable": differentiable, "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise value_error("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p, grad in self._with_grads(group):
                x = p.array
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    grad = fma(scalar(x, weight_decay), x, grad)  # grad.add(param, alpha=wd)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        from gradcli.autodiff.tensor import Tensor

                        buf = state["momentum_buffer"] = Tensor(grad.copy())
                    else:
                        # buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                        write_(buf, fma(scalar(x, 1 - dampening), grad,
                                        buf.array * scalar(x, momentum)))
                    if nesterov:
                        grad = fma(scalar(x, momentum), buf.array, grad)
                    else:
                        grad = buf.array
                write_(p, fma(scalar(x, -lr), grad, x))  # param.add_(grad, alpha=-lr): fused
        return loss
