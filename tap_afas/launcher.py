"""The ``tap-afas`` console script: discovery's metainfo requests leave first, then singer-sdk
loads while AFAS answers (``tap_afas.early_metainfo``), then the tap runs (``tap_afas.tap``)."""

from __future__ import annotations

import importlib
import sys

from tap_afas import early_metainfo
from tap_afas.memory import keep_large_blocks_mapped


def main() -> None:
    keep_large_blocks_mapped()  # peak memory stays flat as data grows (tap_afas/memory.py)
    early_metainfo.start(sys.argv[1:])
    tap = importlib.import_module("tap_afas.tap")  # singer-sdk: about 0.2 s
    tap.main()
