"""Pipeline layer: ``meltano run tap-afas <loader>`` against a sandbox, verified in real engines.

These tests need Meltano and its plugins (``scripts/meltano_setup``, run once per session by the
``meltano_project`` fixture) and, for PostgreSQL, the server binaries (a throwaway cluster on
127.0.0.1 is started per session). They are marked ``pipeline`` and left out of a plain
``pytest`` run; select them with ``pytest -m pipeline``, by naming ``tests/pipeline``, or with
``AFAS_PIPELINE_TESTS=1``.

What the tests compare: the sandbox's own rows, read over its REST API with the full demo token
(never through tap-afas) and converted the documented way (datetimes: Amsterdam wall time with
AFAS's false ``Z`` -> UTC; dates ``YYYY-MM-DD``; times ``HH:MM:SS``; decimals exact), against
every row of every table in the warehouse, read with the loader's own database driver (the
loader's venv under ``.meltano``). Per table: the row count and a sha256 checksum over the
canonical rows, with a readable diff when they differ.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from afas_sandbox import RunningSandbox

ROOT = Path(__file__).resolve().parents[2]
MELTANO = ROOT / ".meltano-venv" / "bin" / "meltano"
LOADER_PYTHON = {
    "duckdb": ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python",
    "postgres": ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "python",
}
SCHEMA = "afas"  # default_target_schema of both warehouse loaders in meltano.yml
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CONTROL_DATE = 4
CONTROL_TIME = 7
MELTANO_TIMEOUT = 600

# The key of each demo GetConnector as tap-afas uses it in the sandbox environment (its
# primary_keys setting there, else the tap's leading *Id/*Nr/*No fields).
KEYS: dict[str, tuple[str, ...]] = {
    "Profit_Administrations": ("AdminId",),
    "Profit_Persons": ("PersonId",),
    "Profit_Organisations": ("OrganisationId",),
    "Profit_Employees": ("EmployeeId",),
    "Profit_Debtors": ("DebtorId",),
    "Profit_Subjects": ("SubjectId",),
    "Profit_Subject_Attachments": ("attachment_id",),
    "Profit_Transactions": ("UnitId", "EntryNo", "SeqNo"),
    "Profit_FreeTable_K01": ("SqNo",),
    "Profit_Deleted_Records": ("LogId",),
    "Profit_Contacts": ("ContactId",),
    "Profit_Subject_Files": ("SubjectId", "FileId"),
    "Profit_Images": ("ImageId",),
}
# Each incremental GetConnector's replication key (tap-afas detects it by name); None: full table.
REPLICATION_KEYS: dict[str, str | None] = {
    "Profit_Administrations": None,
    "Profit_Persons": "ModifiedDate",
    "Profit_Organisations": "modified_date",
    "Profit_Employees": "Gewijzigd_op",
    "Profit_Debtors": "DatumGewijzigd",
    "Profit_Subjects": "Gewijzigd",
    "Profit_Subject_Attachments": None,
    "Profit_Transactions": "Mutatiedatum",
    "Profit_FreeTable_K01": "Datum_gewijzigd",
    "Profit_Deleted_Records": "Datum_mutatie",
    "Profit_Contacts": "Datum_wijziging",
    "Profit_Subject_Files": "LastModified",
    "Profit_Images": "Laatst_gewijzigd",
}

Row = dict[str, Any]


# --------------------------------------------------------------------------- selection, marker


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pipeline: meltano run against a sandbox into real warehouses (DuckDB file, PostgreSQL "
        "cluster on 127.0.0.1); needs scripts/meltano_setup, opt-in",
    )


def _selected(config: pytest.Config) -> bool:
    if os.environ.get("AFAS_PIPELINE_TESTS") == "1":
        return True
    if "pipeline" in (config.getoption("markexpr", "") or ""):
        return True
    here = Path(__file__).parent.resolve()
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == here or here in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the pipeline tests out of a plain run (deselected, not skipped)."""
    if _selected(config):
        return
    kept = [i for i in items if i.get_closest_marker("pipeline") is None]
    dropped = [i for i in items if i.get_closest_marker("pipeline") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# --------------------------------------------------------------------------- meltano


@pytest.fixture(scope="session")
def meltano_project() -> Path:
    """Meltano and every plugin of meltano.yml installed (idempotent; quick when up to date)."""
    started = time.monotonic()
    done = subprocess.run(
        [str(ROOT / "scripts" / "meltano_setup")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/meltano_setup failed:\n{done.stdout}\n{done.stderr}")
    if done.stdout.strip():
        print(f"{done.stdout.strip()} [{time.monotonic() - started:.1f} s]")
    return ROOT


@dataclass
class MeltanoRun:
    args: list[str]
    returncode: int
    output: str
    seconds: float

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class Pipeline:
    """``meltano`` in the project directory with this test's sandbox, files and system DB."""

    sandbox: RunningSandbox
    workdir: Path
    env: dict[str, str]
    runs: list[MeltanoRun] = field(default_factory=list)

    @property
    def duckdb_path(self) -> Path:
        return self.workdir / "warehouse.duckdb"

    def meltano(self, *args: str, check: bool = True, **extra_env: str) -> MeltanoRun:
        started = time.monotonic()
        level = os.environ.get("AFAS_PIPELINE_MELTANO_LOG_LEVEL")  # e.g. debug, to diagnose
        done = subprocess.run(
            [str(MELTANO), *([f"--log-level={level}"] if level else []), *args],
            cwd=ROOT,
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=MELTANO_TIMEOUT,
            check=False,
        )
        run = MeltanoRun(
            list(args), done.returncode, done.stdout + done.stderr, time.monotonic() - started
        )
        self.runs.append(run)
        log = self.workdir / f"meltano-{len(self.runs)}.log"
        log.write_text(f"meltano {' '.join(args)}\n{run.output}", encoding="utf-8")
        if check and run.returncode != 0:
            pytest.fail(
                f"meltano {' '.join(args)} exited {run.returncode} (whole log: {log}):\n"
                f"{run.tail()}"
            )
        return run

    def run(self, *blocks: str, **extra_env: str) -> MeltanoRun:
        return self.meltano("run", *blocks, **extra_env)


def private_sys_dir(workdir: Path) -> Path:
    """A Meltano system dir of this test's own that shares the installed plugin venvs.

    Meltano keeps one catalog file per extractor in ``.meltano/run/<plugin>/`` (only the config
    files get unique names), so two ``meltano run`` of the same tap in one project at the same
    time (other tests, an Airflow task, a developer's demo) delete each other's catalog
    ("Cannot start plugin tap-afas: No such file ... tap.properties.json"). The tests
    therefore run with ``MELTANO_SYS_DIR_ROOT`` here: own run dir, logs and system DB;
    ``extractors``/``loaders`` link to the project's installed plugins.
    """
    sys_dir = workdir / "meltano-sys"
    sys_dir.mkdir(exist_ok=True)
    for kind in ("extractors", "loaders", "mappers", "utilities"):
        installed = ROOT / ".meltano" / kind
        if installed.is_dir() and not (sys_dir / kind).exists():
            (sys_dir / kind).symlink_to(installed, target_is_directory=True)
    return sys_dir


def pipeline_env(sandbox: RunningSandbox, workdir: Path) -> dict[str, str]:
    """The process environment for meltano: only this test's sandbox, files and state."""
    prefixes = ("TAP_", "TARGET_", "MELTANO_", "AFAS_", "PG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        {
            "MELTANO_ENVIRONMENT": "sandbox",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            # Meltano's system DB (state!) per test, so runs never see another test's bookmarks.
            "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
            "MELTANO_SYS_DIR_ROOT": str(private_sys_dir(workdir)),
            "TAP_AFAS_API_URL": sandbox.base_url,
            "TARGET_AFAS_API_URL": sandbox.base_url,
            "TARGET_AFAS_LEDGER_PATH": str(workdir / "ledger.sqlite3"),
            "TARGET_AFAS_REJECT_FILE": str(workdir / "rejects.jsonl"),
            "TARGET_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
            "TARGET_JSONL_DESTINATION_PATH": str(workdir / "files"),
            "TAP_JSONL_PATH": str(workdir / "files" / "profit_persons.jsonl"),
            # meltano.yml declares key_comparison_deletes by its parts, so they are set one by one
            "TAP_AFAS__DELETES_KEY_COMPARISON_DELETES_CONNECTORS": json.dumps(
                ["Profit_Administrations", "Profit_Subject_Attachments"]
            ),
            "TAP_AFAS__DELETES_KEY_COMPARISON_DELETES_SNAPSHOT_DIR": str(workdir / "key-snapshots"),
        }
    )
    return env


@pytest.fixture
def pipeline(meltano_project: Path, afas_sandbox: RunningSandbox, tmp_path: Path) -> Pipeline:
    return Pipeline(afas_sandbox, tmp_path, pipeline_env(afas_sandbox, tmp_path))


# --------------------------------------------------------------------------- PostgreSQL

POSTGRES_LOCAL = ROOT / "scripts" / "postgres_local"


@dataclass(frozen=True)
class PostgresServer:
    """A cluster of ``scripts/postgres_local``, described by the variables it prints."""

    folder: Path
    env: dict[str, str]  # TARGET_POSTGRES_HOST, _PORT, _USER, _PASSWORD, _DATABASE

    @property
    def dsn(self) -> str:
        e = self.env
        return (
            f"host={e['TARGET_POSTGRES_HOST']} port={e['TARGET_POSTGRES_PORT']} "
            f"user={e['TARGET_POSTGRES_USER']} password={e['TARGET_POSTGRES_PASSWORD']} "
            f"dbname={e['TARGET_POSTGRES_DATABASE']}"
        )

    def loader_env(self) -> dict[str, str]:
        return dict(self.env)


def postgres_local(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/postgres_local`` (what the README tells users to run)."""
    return subprocess.run(
        [str(POSTGRES_LOCAL), *args], capture_output=True, text=True, timeout=300, check=False
    )


def exported(output: str) -> dict[str, str]:
    """The ``export NAME='value'`` lines of postgres_local's output."""
    pairs = re.findall(r"^export (\w+)='([^']*)'$", output, flags=re.MULTILINE)
    return dict(pairs)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway cluster on 127.0.0.1 and a free port, for the session.

    Its folder is not under pytest's temp tree: that is private to this user, and as root the
    cluster runs as the postgres user, which must own its folder.
    """
    folder = Path(tempfile.mkdtemp(prefix="afas-pipeline-pg-"))
    started = postgres_local("start", "--dir", str(folder), "--port", "0")
    try:
        if started.returncode != 0:
            pytest.fail(f"scripts/postgres_local start failed:\n{started.stderr}")
        yield PostgresServer(folder, exported(started.stdout))
    finally:
        postgres_local("stop", "--dir", str(folder), "--remove")
        shutil.rmtree(folder, ignore_errors=True)


def reset_schema(server: PostgresServer) -> None:
    """Drop the warehouse schema so each test starts from an empty database."""
    query(
        "postgres",
        server.dsn,
        f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE',
    )


# --------------------------------------------------------------------------- reading a warehouse

# Runs in the loader's own venv (its duckdb / psycopg), prints every table of a schema as JSON
# with typed values, so the test process needs no database driver of its own.
_DUMP = r"""
import datetime, decimal, json, sys
engine, target, schema = sys.argv[1:4]
sql = sys.argv[4] if len(sys.argv) > 4 else None
def enc(v):
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return {"decimal": str(v)}
    if isinstance(v, float):
        return {"float": repr(v)}
    if isinstance(v, datetime.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, datetime.date):
        return {"date": v.isoformat()}
    if isinstance(v, datetime.time):
        return {"time": v.isoformat()}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"bytes": bytes(v).hex()}
    return {"other": repr(v)}
if engine == "duckdb":
    import duckdb
    con = duckdb.connect(target, read_only=True)
    mark = "?"
    def q(text, params=()):
        return con.execute(text, list(params)).fetchall()
    version = duckdb.__version__
else:
    import psycopg
    con = psycopg.connect(target, autocommit=True)
    mark = "%s"
    def q(text, params=()):
        cur = con.execute(text, list(params))
        return cur.fetchall() if cur.description else []
    version = q("show server_version")[0][0]
if sql is not None:
    print(json.dumps({"rows": [[enc(v) for v in r] for r in q(sql)]}))
    sys.exit(0)
out = {"version": version, "tables": {}}
tables = q(
    "select table_name from information_schema.tables where table_schema = " + mark
    + " order by table_name", [schema])
for (table,) in tables:
    cols = q(
        "select column_name, data_type from information_schema.columns where table_schema = "
        + mark + " and table_name = " + mark + " order by ordinal_position", [schema, table])
    names = ", ".join('"' + c.replace('"', '""') + '"' for c, _ in cols)
    rows = q(f'select {names} from "{schema}"."{table}"')
    out["tables"][table] = {
        "columns": {c: t for c, t in cols},
        "rows": [[enc(v) for v in r] for r in rows],
    }
print(json.dumps(out))
"""


def _loader_python(engine: str) -> str:
    python = LOADER_PYTHON[engine]
    assert python.exists(), f"{python} missing: run scripts/meltano_setup"
    return str(python)


def query(engine: str, target: str, sql: str) -> list[list[Any]]:
    """Run one statement with the loader's driver; rows with typed values (see ``_DUMP``)."""
    done = subprocess.run(
        [_loader_python(engine), "-c", _DUMP, engine, target, SCHEMA, sql],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows: list[list[Any]] = json.loads(done.stdout)["rows"]
    return rows


@dataclass
class Table:
    name: str
    columns: dict[str, str]  # column -> the engine's data type
    rows: list[dict[str, Any]]  # column -> typed value (see _DUMP)


@dataclass
class Warehouse:
    engine: str
    version: str
    tables: dict[str, Table]


def read_warehouse(engine: str, target: str) -> Warehouse:
    """Every table of the ``afas`` schema, read by the engine's own driver."""
    done = subprocess.run(
        [_loader_python(engine), "-c", _DUMP, engine, target, SCHEMA],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    tables = {}
    for name, table in data["tables"].items():
        columns = list(table["columns"])
        tables[name] = Table(
            name,
            dict(table["columns"]),
            [dict(zip(columns, r, strict=True)) for r in table["rows"]],
        )
    return Warehouse(engine, str(data["version"]), tables)


# --------------------------------------------------------------------------- the sandbox's truth


@dataclass(frozen=True)
class FieldInfo:
    id: str
    data_type: str  # AFAS dataType: string, int, decimal, boolean, date, blob
    control: int

    @property
    def kind(self) -> str:
        """int, decimal, boolean, date, time, datetime or string."""
        if self.data_type == "date":
            return {CONTROL_DATE: "date", CONTROL_TIME: "time"}.get(self.control, "datetime")
        if self.data_type in ("int", "decimal", "boolean"):
            return self.data_type
        return "string"


def stream_name(connector_id: str) -> str:
    """tap-afas's stream (and so table) name for a GetConnector."""
    return re.sub(r"[^a-z0-9]+", "_", connector_id.lower())


class SandboxTruth:
    """The sandbox's rows over its REST API with the full token (not through tap-afas)."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        with requests.Session() as session:
            response = session.get(
                self.sandbox.base_url + path,
                params=dict(params or {}),
                headers={"Authorization": self.sandbox.tokens.full.header},
                timeout=60,
            )
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return json.loads(response.content, parse_float=Decimal)

    def connectors(self) -> list[str]:
        return [c["id"] for c in self._get("/metainfo")["getConnectors"]]

    def fields(self, connector: str) -> list[FieldInfo]:
        return [
            FieldInfo(f["id"], f["dataType"], int(f.get("controlType") or 0))
            for f in self._get(f"/metainfo/get/{connector}")["fields"]
        ]

    def rows(self, connector: str) -> list[Row]:
        rows: list[Row] = self._get(f"/connectors/{connector}", {"skip": -1, "take": -1})["rows"]
        return rows

    def snapshot(self) -> dict[str, tuple[list[FieldInfo], list[Row]]]:
        """connector -> (fields, canonical rows)."""
        out = {}
        for connector in self.connectors():
            fields = self.fields(connector)
            out[connector] = (
                fields,
                [
                    {f.id: canon_sandbox(row.get(f.id), f) for f in fields}
                    for row in self.rows(connector)
                ],
            )
        return out


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def canon_sandbox(value: Any, f: FieldInfo) -> Any:
    """A sandbox value the way tap-afas converts it, in the canonical form used for checksums."""
    if value is None:
        return None
    kind = f.kind
    if kind == "int":
        return int(value)
    if kind == "decimal":
        return _decimal_text(Decimal(str(value)))
    if kind == "boolean":
        return bool(value)
    if kind == "date":
        return str(value)[:10]
    if kind == "time":
        return str(value)[11:19]
    if kind == "datetime":
        # AFAS shows Amsterdam wall time with a false "Z"; the tap emits true UTC.
        wall = datetime.strptime(str(value)[:19], "%Y-%m-%dT%H:%M:%S")
        return wall.replace(tzinfo=AMSTERDAM).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)


def canon_warehouse(value: Any, f: FieldInfo) -> Any:
    """A value read from a warehouse (typed by ``_DUMP``) in the same canonical form."""
    if value is None:
        return None
    tag, raw = next(iter(value.items())) if isinstance(value, dict) else (None, value)
    kind = f.kind
    if kind == "decimal":
        assert tag == "decimal", (f.id, value)  # an exact NUMERIC/DECIMAL, never a float
        return _decimal_text(Decimal(str(raw)))
    if kind == "int":
        return int(raw)
    if kind == "boolean":
        assert isinstance(raw, bool), (f.id, value)
        return raw
    if kind == "date":
        assert tag == "date", (f.id, value)
        return str(raw)
    if kind == "time":
        return str(raw)[:8]
    if kind == "datetime":
        assert tag == "datetime", (f.id, value)
        moment = datetime.fromisoformat(str(raw))
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        # naive values are UTC (both loaders store the tap's UTC values without a zone)
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
            f".{moment.microsecond:06d}" if moment.microsecond else ""
        )
    return str(raw)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def column_for(table: Table, field_id: str) -> str:
    matches = [c for c in table.columns if _norm(c) == _norm(field_id)]
    assert len(matches) == 1, (
        f"{table.name}: no single column for {field_id}: {list(table.columns)}"
    )
    return matches[0]


def canonical_rows(table: Table, fields: Sequence[FieldInfo], rows: Sequence[Row]) -> list[Row]:
    columns = {f.id: column_for(table, f.id) for f in fields}
    return [{f.id: canon_warehouse(r[columns[f.id]], f) for f in fields} for r in rows]


def row_line(row: Row) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":"))


def checksum(rows: Sequence[Row]) -> str:
    """sha256 over the sorted canonical rows: equal for equal multisets of rows."""
    digest = hashlib.sha256()
    for line in sorted(row_line(r) for r in rows):
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def assert_same_rows(label: str, expected: Sequence[Row], actual: Sequence[Row]) -> None:
    """Equal row count and checksum; otherwise show what differs."""
    if len(expected) == len(actual) and checksum(expected) == checksum(actual):
        return
    want = Counter(row_line(r) for r in expected)
    got = Counter(row_line(r) for r in actual)
    missing = list((want - got).elements())
    extra = list((got - want).elements())
    pytest.fail(
        f"{label}: sandbox {len(expected)} rows, warehouse {len(actual)} rows; "
        f"{len(missing)} missing, {len(extra)} unexpected\n"
        f"missing e.g. {missing[:3]}\nunexpected e.g. {extra[:3]}"
    )


Snapshot = dict[str, tuple[list[FieldInfo], list[Row]]]


def live_rows(table: Table) -> list[Row]:
    """Rows that are not tombstones (no ``_sdc_deleted_at``)."""
    if "_sdc_deleted_at" not in table.columns:
        return table.rows
    return [r for r in table.rows if r["_sdc_deleted_at"] is None]


def assert_warehouse_equals_sandbox(warehouse: Warehouse, truth: Snapshot) -> dict[str, str]:
    """Every connector has a table whose live rows equal the sandbox's; checksums by table."""
    tables = {stream_name(c): c for c in truth}
    assert set(warehouse.tables) == set(tables), (sorted(warehouse.tables), sorted(tables))
    sums = {}
    for name, connector in sorted(tables.items()):
        fields, expected = truth[connector]
        table = warehouse.tables[name]
        actual = canonical_rows(table, fields, live_rows(table))
        assert_same_rows(f"{warehouse.engine} {SCHEMA}.{name}", expected, actual)
        sums[name] = checksum(actual)
    return sums
