"""glibc malloc settings for numpy's large, short-lived temporaries.

Every op and every backward formula makes fresh arrays of the tensor's size. By default
glibc serves a request above M_MMAP_THRESHOLD (128 KiB, raised on the fly up to the size
of the last freed mapping) with a fresh mmap, and gives freed memory at the top of the heap
back to the kernel beyond M_TRIM_THRESHOLD. Either way the next temporary of the same size
starts on untouched pages: one page fault and one kernel page clearing per 4 KiB, which on
a (1000, 1000) float32 element-wise op costs as much as the arithmetic. Keeping freed blocks
in the heap lets the next temporary reuse pages that are already mapped.

Freed blocks still go back to malloc and are reused by the next allocation, so peak
memory stays the live data; what is kept is at most TRIM_THRESHOLD of free heap top.
Arrays above MMAP_THRESHOLD (glibc's own maximum) are still mapped and unmapped one by one.
RLIMIT_DATA (--max-memory) counts heap and mappings alike, so the cap is unaffected.
"""

from __future__ import annotations

import sys

MiB = 1 << 20
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * MiB  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
TRIM_THRESHOLD = 256 * MiB

_tuned: list[bool] = []


def tune() -> bool:
    """Apply the settings once, on glibc only; anywhere else (musl, macOS, Windows) a no-op."""
    if _tuned:
        return _tuned[0]
    ok = False
    if sys.platform.startswith("linux") and sys.maxsize > 2**32:
        try:
            import ctypes

            libc = ctypes.CDLL(None)
            # gnu_get_libc_version exists only in glibc, whose mallopt codes these are.
            if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt"):
                mallopt = libc.mallopt
                mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
                mallopt.restype = ctypes.c_int
                ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
                )
        except (ImportError, OSError, AttributeError):
            ok = False
    _tuned.append(ok)
    return ok
