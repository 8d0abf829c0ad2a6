"""torch.optim.lr_scheduler's LRScheduler base and StepLR (PyTorch 2.13); the other
schedules are in gradcli.torch.optim.schedules.

Each step() computes the new lrs from the current ones ("chainable" form, get_lr) or, given
an epoch, from base_lrs (the closed form); the first step runs inside __init__ with
`_is_initial` set."""

from __future__ import annotations

from gradcli.autodiff.tensor import PARAMETERS, Tensor
from gradcli.base.diagnostics import warn
from gradcli.base.errors import ProgramError, type_error
from gradcli.torch.optim.optimizer import Optimizer

STEP_BEFORE_OPTIMIZER = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and "
    "later, you should call them in the opposite order: `optimizer.step()` before "
    "`lr_scheduler.step()`.  Failure to do this will result in PyTorch skipping the first "
    "value of the learning rate schedule. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)
GET_LR_OUTSIDE_STEP = ("To get the last learning rate computed by the scheduler, please use "
                       "`get_last_lr()`.")


def _class_name(obj) -> str:
    """type(obj).__name__ as PyTorch has it: an nn.Parameter is a Tensor here, marked."""
    if obj.__class__ is Tensor:
        return "Parameter" if obj in PARAMETERS else "Tensor"
    return type(obj).__name__


EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
    "where possible. Please use `scheduler.step()` to step the scheduler. During the "
    "deprecation, if epoch is different from None, the closed form is used instead of the "
    "new chainable form, where available. Please open an issue if you are unable to "
    "replicate your use case: https://github.com/pytorch/pytorch/issues/new/choose."
)


def watch_optimizer_step(optimizer) -> None:
    """PyTorch wraps optimizer.step once, at the first scheduler made for the optimizer:
    from then on a step sets `_opt_called`; steps before that do not count."""
    if not getattr(optimizer, "_gx_step_watched", False):
        optimizer._gx_step_watched = True
        optimizer._opt_called = False


def warn_get_lr_outside_step(scheduler) -> None:
    if not scheduler._get_lr_called_within_step:
        warn(GET_LR_OUTSIDE_STEP)


def group_lrs(optimizer) -> list:
    return [group["lr"] for group in optimizer.param_groups]


class LRScheduler:
    _program_attributes_ = frozenset({"optimizer", "last_epoch", "base_lrs", "step",
                                      "get_last_lr", "get_lr", "state_dict",
                                      "load_state_dict"})

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise type_error(f"{_class_name(optimizer)} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ProgramError(
                        "KeyError",
                        f"\"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming scheduler with last_epoch >= 0.\\nThis typically happens "
                        "when:\\n1. You're trying to resume training from a checkpoint but "
                        "haven't properly loaded the optimizer state\\n2. You're using "
                        "last_epoch >= 0 for a fresh training run (not recommended)\"")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        watch_optimizer_step(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_last_lr(self):
        return self._last_lr

    def get_lr(self):
        raise ProgramError("NotImplementedError", "")

    def step(self, epoch=None) -> None:
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warn(STEP_BEFORE_OPTIMIZER)
        self._step_count += 1
        if epoch is not None:
            warn(EPOCH_DEPRECATION_WARNING)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = group_lrs(self.optimizer)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict) -> None:
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Every `step_size` epochs, each group's lr is multiplied by `gamma`."""

    _program_attributes_ = frozenset({"step_size", "gamma"})

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        warn_get_lr_outside_step(self)
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return group_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]
