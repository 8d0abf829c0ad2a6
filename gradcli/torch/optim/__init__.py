"""torch.optim for gradcli programs (wired into gradcli.sandbox.scope)."""

from __future__ import annotations

from gradcli.torch.optim.adagrad import Adagrad
from gradcli.torch.optim.adam import Adam, AdamW
from gradcli.torch.optim.lr_scheduler import LRScheduler, StepLR
from gradcli.torch.optim.optimizer import Optimizer
from gradcli.torch.optim.rmsprop import RMSprop
from gradcli.torch.optim.schedules import SCHEDULES
from gradcli.torch.optim.sgd import SGD

LR_SCHEDULER_MEMBERS = {"LRScheduler": LRScheduler, "StepLR": StepLR,
                        **{cls.__name__: cls for cls in SCHEDULES}}

OPTIM_MEMBERS = {
    "Optimizer": Optimizer,
    "SGD": SGD,
    "Adam": Adam,
    "AdamW": AdamW,
    "RMSprop": RMSprop,
    "Adagrad": Adagrad,
}

for _cls in (*OPTIM_MEMBERS.values(), *LR_SCHEDULER_MEMBERS.values()):
    # where PyTorch defines each class (printed classes show it)
    _cls.__module__ = "torch.optim." + _cls.__module__.rsplit(".", 1)[1]
AdamW.__module__ = "torch.optim.adamw"
for _cls in SCHEDULES:
    _cls.__module__ = "torch.optim.lr_scheduler"

__all__ = ["LR_SCHEDULER_MEMBERS", "OPTIM_MEMBERS", *OPTIM_MEMBERS, "StepLR"]
