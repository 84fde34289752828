"""target-duckdb-afas: the embedded DuckDB warehouse loader of the AFAS pipeline.

A singer-sdk ``SQLTarget`` on duckdb-engine. What lands in the file, and how it is named:

- Names are the tap's, unchanged: table ``profit_transactions``, columns ``AmountDebit``,
  ``EntryNo``, ``Birth Date`` (always quoted in the SQL the loader writes). target-postgres
  (meltanolabs) keeps names the same way, so a dbt model that quotes them
  (``"AmountDebit"``) runs on both warehouses; DuckDB also finds them unquoted, in any case.
- Schema: ``default_target_schema`` (none: ``main``). A schema named like the database file
  (``afas`` in ``afas.duckdb``: DuckDB names the file's catalog after it) is ``main`` instead,
  so ``afas.profit_persons``, ``main.profit_persons`` and ``profit_persons`` all work from any
  client. Files of earlier versions (tables in schema ``afas`` of ``afas.duckdb``, lower-case
  columns, naive ``TIMESTAMP``) are adopted at the first run: tables move to ``main``, columns
  are renamed to the tap's names, and ``TIMESTAMP`` becomes ``TIMESTAMPTZ``.
- Types: numbers ``DECIMAL(38, p)`` with the places ``p`` the property's schema declares
  (the ``x-sql-datatype-properties`` scale, as tap-afas states AFAS's ``decimals``, or
  ``multipleOf``), else ``decimal_scale``; a value with more places stops the load, never
  rounded. Integers ``BIGINT``, dates ``DATE``, times ``TIME``, date-times
  ``TIMESTAMP WITH TIME ZONE`` (the instant; a client shows it in its own zone), booleans
  ``BOOLEAN``, strings, objects and arrays ``VARCHAR`` (JSON text).
- Loads: each batch is written as JSON lines and read by DuckDB's ``read_json`` with the
  table's column types, in one transaction; every record of a batch lands (no CSV sniffer),
  upserts keep the batch's last record per key. Each table is reflected once per sink set-up
  and once per batch (``information_schema.columns``), never per column.
- The fast lane (``lane.py``, ``lane_file.py``, ``reader.py``): RECORD lines that singer-sdk's
  per-record path would not change are checked by one typed decode per run of lines and
  written to the batch file as they came; everything else takes the SDK's path.
"""
