"""``python -m target_afas``."""

from target_afas.target import main

main()
