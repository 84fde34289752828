from target_duckdb_afas.target import TargetDuckDB

TargetDuckDB.cli()
