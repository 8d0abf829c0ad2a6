"""torch.autograd.detect_anomaly and set_detect_anomaly (the in-program switches; the
CLI's --detect-anomaly is gradcli/explain/anomaly.py)."""

from __future__ import annotations

from gradcli.autodiff.hooks import Anomaly, State
from gradcli.base import diagnostics

ENABLED_WARNING = (
    "Anomaly Detection has been enabled. This mode will increase the runtime and should only "
    "be enabled for debugging."
)


class _AnomalySwitch:
    _program_attributes_ = frozenset()

    def __init__(self, mode: bool, check_nan: bool):
        self.prev = (Anomaly.enabled, Anomaly.check_nan)
        self.mode = mode
        self.check_nan = check_nan

    def _set(self, mode, check_nan):
        Anomaly.enabled, Anomaly.check_nan = mode, check_nan
        if mode:
            State.active = True

    def __exit__(self, *exc):
        Anomaly.enabled, Anomaly.check_nan = self.prev
        return False


class detect_anomaly(_AnomalySwitch):  # noqa: N801 - PyTorch's name
    """`with torch.autograd.detect_anomaly():` (warns when made, as PyTorch does)."""

    def __init__(self, check_nan: bool = True):
        super().__init__(True, check_nan)
        diagnostics.warn(ENABLED_WARNING)

    def __enter__(self):
        self.prev = (Anomaly.enabled, Anomaly.check_nan)
        self._set(True, self.check_nan)
        return None

    def __repr__(self) -> str:
        return f"<torch.autograd.anomaly_mode.detect_anomaly object at {id(self):#x}>"


class set_detect_anomaly(_AnomalySwitch):  # noqa: N801
    """set_detect_anomaly(mode, check_nan=True): switches at once; `with` restores."""

    def __init__(self, mode: bool, check_nan: bool = True):
        super().__init__(mode, check_nan)
        self._set(mode, check_nan)

    def __enter__(self):
        return None

    def __repr__(self) -> str:
        return f"<torch.autograd.anomaly_mode.set_detect_anomaly object at {id(self):#x}>"


def is_anomaly_enabled() -> bool:
    return Anomaly.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return Anomaly.check_nan
