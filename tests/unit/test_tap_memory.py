"""tap_afas.memory: freed page bodies go back to the system (glibc), so peak memory stays flat."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import sys
    from tap_afas.memory import keep_large_blocks_mapped
    if sys.argv[1] == "fixed":
        assert keep_large_blocks_mapped()
    def rss_mib():
        return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20
    first = bytearray(8 << 20)  # freed: glibc would now serve blocks below 8 MiB from its heap
    del first
    bodies = [bytearray(4 << 20) for _ in range(4)]  # four 4 MiB page bodies
    later = [bytearray(1000) for _ in range(1000)]  # smaller blocks allocated after them
    before = rss_mib()
    del bodies
    print(before - rss_mib())
    """
)


def released_mib(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_bodies_are_returned_only_with_the_threshold_fixed() -> None:
    assert released_mib("dynamic") < 4, "precondition: glibc keeps them in its heap"
    assert released_mib("fixed") >= 15, "the 16 MiB of bodies go back to the system"
