"""Target layer: helpers to feed Singer input to target-afas and check what the sandbox holds.

- Singer input is built here in Python: ``schema_message`` (types inferred from the records,
  so a test can send a value of the "wrong" type without singer-sdk refusing it first),
  ``stream_messages`` (SCHEMA + RECORDs; ``record_message`` and ``state_message`` are in
  tests/plugin_runs.py).
- ``run_target``: ``TargetAFAS`` in-process; ``listen`` on the input, stdout (STATE lines) and
  every log line captured; an error is returned (``expect_error``) instead of raised.
- ``run_target_cli`` / ``start_target_cli``: ``.venv/bin/target-afas --config F`` as a
  subprocess, for exit codes, crashes and kills.
- ``Recorder``: wraps the sandbox core and records every request it answers (method, path,
  body, status, times) and how many were in flight at once (the sandbox's latency is slept
  inside the wrapper, so overlapping requests overlap there).
- ``SandboxReader``: plain ``requests`` reads with the full token (``skip=-1&take=-1``), never
  through ``afas_profit``: the truth the tests compare with.
- ``target_config``: a config for the test's sandbox, with ``ledger_path`` and ``reject_file``
  inside ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from afas_sandbox import RunningSandbox
from afas_sandbox.sandbox import SimRequest
from target_afas.target import TargetAFAS
from tests.plugin_runs import (
    collect_logs,
    keep_signal_handlers,
    record_message,
)

ROOT = Path(__file__).resolve().parents[2]
TARGET_BIN = ROOT / ".venv" / "bin" / "target-afas"
WRITE_METHODS = ("POST", "PUT", "DELETE")
SUMMARY = re.compile(r"Summary (?P<stream>\S+): (?P<counts>.*)$")

Message = dict[str, Any]
Row = dict[str, Any]

# Custom field ids of the demo UpdateConnectors (afas_sandbox demo dataset).
U_PROJECT_NAME = "U018A40C7A37A5B7A93502E52BF447225"
U_BUDGET = "U7CAD08037F825575A885C5EDD55A9ABF"
U_START_DATE = "U4D8A1ED93403544A85509B874257E1DF"
U_ACTIVE = "U1C68B5BDF2595E2ABFA1137C65389D71"
U_STATUS = "UC83B6A77368C5BFFB7A8A0DD7CA15045"
U_MEMBER_NUMBER = "U17890CCBFF3B5670A533F9CD449E7FBF"
U_NEWSLETTER = "UCE2C6BF85CCB51B1B8299A59CB55E583"


# --------------------------------------------------------------------------- Singer input


def _json_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, (float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"no JSON type for {value!r}")


def schema_message(
    stream: str,
    records: Iterable[Mapping[str, Any]],
    key_properties: Sequence[str] = (),
    *,
    formats: Mapping[str, str] | None = None,
) -> Message:
    """A SCHEMA whose property types are the union of the types the records use (nullable)."""
    types: dict[str, set[str]] = {}
    for record in records:
        for name, value in record.items():
            kind = _json_type(value)
            types.setdefault(name, set())
            if kind is not None:
                types[name].add(kind)
    properties: dict[str, Any] = {}
    order = ["object", "array", "string", "integer", "number", "boolean"]
    for name, kinds in types.items():
        chosen = sorted(kinds or {"string"}, key=order.index)
        if "integer" in chosen and "number" in chosen:
            chosen.remove("integer")
        spec: dict[str, Any] = {"type": [*chosen, "null"]}
        if "array" in chosen:
            spec["items"] = {}
        if formats and name in formats:
            spec["format"] = formats[name]
        properties[name] = spec
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": list(key_properties),
        "schema": {"type": "object", "properties": properties},
    }


def stream_messages(
    stream: str,
    records: Sequence[Mapping[str, Any]],
    key_properties: Sequence[str] = (),
    *,
    formats: Mapping[str, str] | None = None,
) -> list[Message]:
    """SCHEMA then one RECORD per record."""
    return [
        schema_message(stream, records, key_properties, formats=formats),
        *(record_message(stream, r) for r in records),
    ]


def singer_text(messages: Iterable[Message]) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


# --------------------------------------------------------------------------- config


def target_config(
    sandbox: RunningSandbox,
    tmp_path: Path,
    mappings: Mapping[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """Config for the test's sandbox (full token); ledger and reject file inside ``tmp_path``."""
    config: dict[str, Any] = {
        "api_url": sandbox.base_url,
        "token": sandbox.tokens.full.xml,
        "ledger_path": str(tmp_path / "ledger.sqlite3"),
        "reject_file": str(tmp_path / "rejects.jsonl"),
        "on_reject": "continue",
        "mappings": dict(mappings),
    }
    config.update(extra)
    return config


# The mappings the tests share (record properties named like the GetConnector fields).
PEOPLE_FIELDS = {
    "BcCo": "PersonId",
    "FiNm": "FirstName",
    "Is": "Prefix",
    "LaNm": "LastName",
    "ViGe": "Gender",
    "DaBi": "BirthDate",
    "EmAd": "Email",
}
ADDRESS_FIELDS = {
    "CoId": "Country",
    "Ad": "Street",
    "HmNr": "HouseNumber",
    "ZpCd": "ZipCode",
    "Rs": "City",
}


def people_mapping(action: str = "insert", **extra: Any) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        "connector": "KnPerson",
        "action": action,
        "keys": ["BcCo"],
        "fields": dict(PEOPLE_FIELDS),
    }
    mapping.update(extra)
    return mapping


PERSONS_LOOKUP = {"connector": "Profit_Persons", "field": "PersonId"}


# --------------------------------------------------------------------------- running in-process


class _Stdout(io.StringIO):
    """stdout that tells ``on_line`` about every complete line the moment it is written."""

    def __init__(self, on_line: Callable[[str], None] | None) -> None:
        super().__init__()
        self.on_line = on_line
        self._partial = ""

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.on_line is not None:
            self._partial += text
            *lines, self._partial = self._partial.split("\n")
            for line in lines:
                if line.strip():
                    self.on_line(line)
        return written


@dataclass(repr=False)
class TargetRun:
    """What one in-process target run produced."""

    stdout: str
    log_lines: list[str]
    error: BaseException | None = None

    def __repr__(self) -> str:
        return f"TargetRun(states={len(self.states)}, error={self.error_text!r})"

    @property
    def states(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def log(self) -> str:
        return "\n".join(self.log_lines)

    @property
    def error_text(self) -> str:
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"

    def summary(self, stream: str) -> dict[str, int]:
        return summary_counts(self.log_lines, stream)

    def warnings(self) -> list[str]:
        return [line for line in self.log_lines if line.startswith("WARNING")]


def summary_counts(lines: Iterable[str], stream: str) -> dict[str, int]:
    """Counts from the ``Summary <stream>: inserted 2, ...`` log line (fails when absent)."""
    for line in lines:
        match = SUMMARY.search(line)
        if match and match.group("stream") == stream:
            text = match.group("counts")
            if text == "no records":
                return {}
            return {
                part.rsplit(" ", 1)[0]: int(part.rsplit(" ", 1)[1]) for part in text.split(", ")
            }
    raise AssertionError(f"no 'Summary {stream}:' line in the log")


def run_target(
    config: Mapping[str, Any],
    messages: Iterable[Message],
    *,
    expect_error: bool = False,
    on_stdout_line: Callable[[str], None] | None = None,
) -> TargetRun:
    """Run ``TargetAFAS`` in-process on ``messages``; stdout and logs are captured.

    With ``expect_error`` the exception is returned in ``TargetRun.error`` (and one is
    required); otherwise it is raised.
    """
    out = _Stdout(on_stdout_line)
    error: BaseException | None = None
    target: TargetAFAS | None = None
    with collect_logs() as logs, keep_signal_handlers(), contextlib.redirect_stdout(out):
        try:
            target = TargetAFAS(config=dict(config), parse_env_config=False)
            target.listen(file_input=io.StringIO(singer_text(messages)))
        except Exception as exc:
            if not expect_error:
                raise
            error = exc
        finally:
            if target is not None:
                target.afas.ledger.close()
                target.afas.client.close()
    if expect_error:
        assert error is not None, "the target was expected to fail but succeeded"
    return TargetRun(out.getvalue(), list(logs.lines), error)


# --------------------------------------------------------------------------- running as a CLI


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def summary(self, stream: str) -> dict[str, int]:
        return summary_counts(self.stderr.splitlines(), stream)


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_AFAS_")}
    env.pop("LOGLEVEL", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def target_command(tmp_path: Path, config: Mapping[str, Any]) -> list[str]:
    config_file = tmp_path / "target-config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    return [str(TARGET_BIN), "--config", str(config_file)]


def run_target_cli(
    tmp_path: Path, config: Mapping[str, Any], messages: Iterable[Message], timeout: float = 60
) -> CliRun:
    """``target-afas --config F < input`` with the config file in ``tmp_path``."""
    done = subprocess.run(
        target_command(tmp_path, config),
        input=singer_text(messages),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
        cwd=tmp_path,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def start_target_cli(tmp_path: Path, config: Mapping[str, Any]) -> subprocess.Popen[str]:
    """The target as a subprocess reading a pipe (the test writes, and may kill it)."""
    return subprocess.Popen(
        target_command(tmp_path, config),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=cli_env(),
        cwd=tmp_path,
    )


# --------------------------------------------------------------------------- request recording


@dataclass
class Seen:
    method: str
    path: str
    query: str
    body: bytes
    status: int
    started: float
    finished: float

    @property
    def params(self) -> dict[str, str]:
        return {k.lower(): v for k, v in parse_qsl(self.query, keep_blank_values=True)}

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    @property
    def relative(self) -> str:
        """The path after ``/ProfitRestServices``."""
        return self.path[len("/ProfitRestServices") :]


@dataclass
class Recorder:
    """Records every request the sandbox answers, and the most that were in flight at once.

    The sandbox's own latency (``sandbox.latency``) is slept inside this wrapper, so requests
    that overlap on the wire overlap here and ``max_in_flight`` sees them.
    """

    sandbox: RunningSandbox
    seen: list[Seen] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        core = self.sandbox.core
        original = core.handle

        def handle(request: SimRequest) -> Any:
            started = time.monotonic()
            with self._lock:
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                response = original(request)
                if response.delay_seconds > 0 and response.disruption is None:
                    time.sleep(response.delay_seconds)
                    response.delay_seconds = 0
            finally:
                with self._lock:
                    self._in_flight -= 1
            entry = Seen(
                request.method.upper(),
                request.path,
                request.query_string,
                request.body,
                response.status,
                started,
                time.monotonic(),
            )
            with self._lock:
                self.seen.append(entry)
            return response

        core.handle = handle  # type: ignore[method-assign]

    @property
    def writes(self) -> list[Seen]:
        return [s for s in self.seen if s.is_write]

    def writes_to(self, connector: str) -> list[Seen]:
        prefix = f"/connectors/{connector.lower()}"
        return [
            s
            for s in self.writes
            if s.relative.lower() == prefix or s.relative.lower().startswith(prefix + "/")
        ]

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self.max_in_flight = 0


@pytest.fixture
def recorder(afas_sandbox: RunningSandbox) -> Recorder:
    return Recorder(afas_sandbox)


# --------------------------------------------------------------------------- the sandbox's truth


class SandboxReader:
    """Plain ``requests`` reads of a sandbox with the full token."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers["Authorization"] = sandbox.tokens.full.header

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        return self.session.get(self.sandbox.base_url + path, params=dict(params or {}), timeout=30)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self.get(path, params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return json.loads(response.content, parse_float=Decimal)

    def all_rows(self, connector: str) -> list[Row]:
        rows: list[Row] = self.get_json(f"/connectors/{connector}", {"skip": -1, "take": -1})[
            "rows"
        ]
        return rows

    def by_key(self, connector: str, key: str) -> dict[str, list[Row]]:
        """Every row of the connector grouped by ``key`` (as text)."""
        out: dict[str, list[Row]] = {}
        for row in self.all_rows(connector):
            out.setdefault(str(row[key]), []).append(row)
        return out

    def one(self, connector: str, key: str, value: Any) -> Row:
        rows = [r for r in self.all_rows(connector) if str(r[key]) == str(value)]
        assert len(rows) == 1, f"{connector}: {len(rows)} rows with {key} = {value!r}"
        return rows[0]

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def reader(afas_sandbox: RunningSandbox) -> Iterator[SandboxReader]:
    r = SandboxReader(afas_sandbox)
    yield r
    r.close()


def employee_person_ids(reader: SandboxReader) -> set[str]:
    return {str(r["PersonId"]) for r in reader.all_rows("Profit_Employees")}


def free_person_ids(reader: SandboxReader, count: int) -> list[str]:
    """Numbers of demo persons that are no employee (so they may be deleted), sorted."""
    taken = employee_person_ids(reader)
    ids = sorted(str(r["PersonId"]) for r in reader.all_rows("Profit_Persons"))
    free = [i for i in ids if i not in taken]
    assert len(free) >= count
    return free[:count]


def date_of(value: Any) -> str | None:
    """``1990-04-12T00:00:00Z`` (a date as AFAS shows it) -> ``1990-04-12``."""
    return None if value is None else str(value)[:10]


# --------------------------------------------------------------------------- outputs on disk


def read_rejects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def ledger_rows(path: Path, state: str = "landed") -> list[dict[str, Any]]:
    """The ledger's records in ``state`` (read-only), with ``outcome`` named as in the summary."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = db.execute(
            "SELECT scope, fingerprint, stream, state, action, afas_keys, updated_at FROM writes "
            "WHERE state = ? ORDER BY rowid",
            (state,),
        )
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()
    for row in rows:
        row["outcome"] = {"insert": "inserted", "update": "updated", "delete": "deleted"}.get(
            row["action"], row["action"]
        )
    return rows
