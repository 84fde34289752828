"""``python -m tap_afas``."""

from tap_afas.launcher import main

main()
