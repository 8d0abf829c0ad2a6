"""glibc malloc settings for numpy's large, short-lived temporaries.

Every op and every backward formula makes fresh arrays of the tensor's size. glibc serves a
request above M_MMAP_THRESHOLD (128 KiB at first, raised to the size of each freed mapped
block up to 32 MiB) with a fresh mmap, and hands a free heap top larger than M_TRIM_THRESHOLD
(twice the mmap threshold) back to the kernel. A forward and backward pass on (1000, 1000)
float32 tensors frees some ten 4 MiB temporaries at its end: past the sliding trim threshold,
so the next pass starts on untouched pages again, one page fault and one page clearing per
4 KiB, which costs as much as the arithmetic (numpy op by op on that workload: 45 ms with
the defaults, 14 ms with these settings). Setting the options also stops glibc's sliding.

Freed blocks go back to malloc and are reused by the next allocation, so peak memory stays
the live data; what is kept is at most TRIM_THRESHOLD of free heap top. Arrays above
MMAP_THRESHOLD are still mapped and unmapped one by one. RLIMIT_DATA (--max-memory) counts
heap and mappings alike, so the cap is unaffected.
"""

from __future__ import annotations

import sys

MiB = 1 << 20
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Where glibc's own sliding thresholds end up once a block of its largest mmap size (32 MiB
# on 64-bit) has been freed: mapped above 32 MiB, a free heap top trimmed beyond twice that.
MMAP_THRESHOLD = 32 * MiB
TRIM_THRESHOLD = 64 * MiB

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
