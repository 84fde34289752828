"""target-duckdb-afas: the embedded DuckDB warehouse loader of the AFAS pipeline.

A singer-sdk ``SQLTarget`` on duckdb-engine: decimals land as ``DECIMAL`` (exact), dates as
``DATE``, date-times as ``TIMESTAMP`` in UTC, and every record of a batch lands (batches are
loaded from newline-delimited JSON, never through a CSV header sniffer).
"""
