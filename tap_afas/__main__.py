"""``python -m tap_afas``."""

from tap_afas.tap import TapAFAS

TapAFAS.cli()
