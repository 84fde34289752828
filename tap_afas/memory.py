"""Page bodies go back to the operating system when freed (glibc's ``malloc``).

glibc serves blocks of 128 KiB and more with their own memory mapping, returned to the system
when freed, but raises that threshold to the largest such block freed so far (up to 32 MiB).
After the first page body (a megabyte or more of JSON) is freed, later bodies come from the
heaps of the reader threads, which do not shrink: measured on a 1,000,000-row sync, 74 MiB peak
instead of 63 MiB. Fixing the threshold at its default keeps peak memory flat as data grows.
Elsewhere (musl, macOS, Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's default, kept from now on


def keep_large_blocks_mapped() -> bool:
    """Fix glibc's mmap threshold at 128 KiB; True when it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
