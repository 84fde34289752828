"""Helpers the test suites share; each lives here once (the suites' conftests hold fixtures only).

- ``singer_messages``: SCHEMA / RECORD / STATE messages, property specs, Singer text and bytes,
  a plugin's output parsed.
- ``plugin_runs``: what an in-process plugin run needs (every log line, pytest's signal handlers).
- ``tap_runs``: tap-afas in-process (``run_tap``, ``discover``) and as a command (``run_tap_cli``).
- ``target_runs``: target-afas in-process (``run_target``) and as a command (``run_target_cli``).
- ``target_outputs``: what target-afas leaves: summary counts, reject file, ledger rows.
- ``target_mappings``: target-afas mappings and the demo UpdateConnectors' custom field ids.
- ``warehouse_runs``: target-duckdb-afas in-process (``load``, ``Warehouse``) and as a command.
- ``cli``: ``CliRun`` and running any console script (its environment cleaned of plugin settings).
- ``recorders``: ``RequestRecorder``, every request a sandbox answers.
- ``sandbox_reading``: plain ``requests`` reads of a sandbox (``RawClient``, ``SandboxReader``) and
  its rows converted the documented way (``expected_record``).
- ``records``: comparing records (exact decimals, keys, duplicates).
- ``clock``: clocks for a tap's sync window, and the one wall-clock wait left (commands).

Shared fixtures (``reader``, ``recorder``) are in ``tests/conftest.py``.
"""
