"""``python -m tap_afas``."""

from tap_afas.tap import main

main()
