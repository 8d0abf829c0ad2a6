"""Cap and restore the process's data segment (RLIMIT_DATA), so that an allocation past
`--max-memory` fails with MemoryError instead of swapping the machine."""

from __future__ import annotations

import sys

from gradcli.base.budget import MiB

_previous_cap: list = []  # the RLIMIT_DATA that cap_process_memory replaced


def _status_field(name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cap_process_memory(max_memory: int, reserve: int) -> bool:
    """Cap the data segment (heap and anonymous mappings: numpy arrays, Python objects)
    at what the process uses now, plus `reserve` (the interpreter thread's stack), plus
    `max_memory`, plus headroom for gradcli itself, so that the allocation that would
    cross it raises MemoryError. Linux only (elsewhere the shape checks still apply)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import resource
    except ImportError:
        return False
    used = _status_field("VmData")
    if used is None:
        return False
    try:
        previous = resource.getrlimit(resource.RLIMIT_DATA)
        cap = used + reserve + max_memory + 512 * MiB
        hard = previous[1]
        if hard != resource.RLIM_INFINITY and cap > hard:
            cap = hard
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    except (ValueError, OSError):
        return False
    if not _previous_cap:
        _previous_cap.append(previous)
    return True


def restore_process_memory() -> None:
    if not _previous_cap:
        return
    previous = _previous_cap.pop()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, previous)
    except (ImportError, ValueError, OSError):
        pass

