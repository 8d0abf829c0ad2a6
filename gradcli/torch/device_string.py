"""Device strings ('cpu', 'cuda:1') read as c10::Device's parser reads them: torch.device
and torch.Generator(device=...) refuse the same strings in the same words."""

from __future__ import annotations

import re

from gradcli.base.errors import runtime_error

DEVICE_TYPES = ("cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, "
                "lazy, vulkan, mps, meta, hpu, mtia, privateuseone")
KNOWN = frozenset(DEVICE_TYPES.split(", "))
# a type, then optionally ':' and an index without leading zeros
_DEVICE_STRING = re.compile(r"([a-zA-Z_]+)(?::([1-9]\d*|0))?")


def parse(text: str) -> tuple[str, int | None]:
    """(device type, index or None) of a device string."""
    if text == "":
        raise runtime_error("Device string must not be empty")
    match = _DEVICE_STRING.fullmatch(text)
    if match is None:
        raise runtime_error(f"Invalid device string: '{text}'")
    kind, number = match.groups()
    if kind not in KNOWN:
        raise runtime_error(
            f"Expected one of {DEVICE_TYPES} device type at start of device string: {text}")
    return kind, int(number) if number else None
