"""``python -m target_duckdb_afas``."""

from target_duckdb_afas.target import main

main()
