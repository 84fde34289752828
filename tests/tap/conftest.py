"""Tap layer: helpers to run tap-afas against a sandbox and to compute the expected records.

- ``run_tap``: runs ``TapAFAS`` in-process (stdout captured), returning the Singer messages,
  the records per stream, the last STATE and the log lines.
- ``run_tap_cli``: runs ``python -m tap_afas`` as a subprocess with config/state files.
- ``SandboxReader``: plain ``requests`` reads of the sandbox (metainfo, every row with
  ``skip=-1&take=-1``), never through ``afas_profit``.
- ``expected_record``: a sandbox row converted the documented way, computed here with
  ``zoneinfo`` (datetimes Amsterdam local -> UTC, dates ``YYYY-MM-DD``, times ``HH:MM:SS``).
- ``RequestRecorder``: wraps the sandbox core to record every request the tap makes (headers,
  query strings) and optionally run a hook after a request was answered.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
import requests

from afas_sandbox import RunningSandbox
from afas_sandbox.sandbox import SimRequest
from tap_afas.tap import TapAFAS
from tests.plugin_runs import collect_logs, keep_signal_handlers

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ROOT = Path(__file__).resolve().parents[2]
CONTROL_DATE = 4
CONTROL_TIME = 7

Message = dict[str, Any]
Row = dict[str, Any]


# --------------------------------------------------------------------------- running the tap


def parse_messages(text: str) -> list[Message]:
    """Singer messages from the tap's stdout (numbers as ``Decimal``, exact)."""
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]


@dataclass(repr=False)
class TapRun:
    """What one tap run produced."""

    messages: list[Message]
    log: str = ""
    error: BaseException | None = None

    def __repr__(self) -> str:
        counts = Counter(m.get("stream") for m in self.messages if m.get("type") == "RECORD")
        return f"TapRun(records={dict(counts)}, error={self.error_text!r})"

    def records(self, stream: str) -> list[Row]:
        return [
            m["record"]
            for m in self.messages
            if m.get("type") == "RECORD" and m.get("stream") == stream
        ]

    @property
    def by_stream(self) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {}
        for m in self.messages:
            if m.get("type") == "RECORD":
                out.setdefault(m["stream"], []).append(m["record"])
        return out

    @property
    def state(self) -> dict[str, Any] | None:
        states = [m["value"] for m in self.messages if m.get("type") == "STATE"]
        return states[-1] if states else None

    @property
    def schemas(self) -> dict[str, Message]:
        return {m["stream"]: m for m in self.messages if m.get("type") == "SCHEMA"}

    @property
    def error_text(self) -> str:
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"


def _plain(value: Any) -> Any:
    """State as plain JSON (Decimal -> float/int), the way a state file would hold it."""
    return json.loads(json.dumps(value, default=str))


def run_tap(
    config: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
    *,
    catalog: Mapping[str, Any] | None = None,
    before_sync: Callable[[TapAFAS], None] | None = None,
    expect_error: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> TapRun:
    """Run ``TapAFAS`` in-process; discovery, then ``sync_all``.

    ``before_sync`` runs after discovery (the tap's constructor) and before the sync, e.g. to
    add sandbox faults that must hit the GetConnector pages and not the metainfo calls.
    With ``expect_error`` the exception is returned in ``TapRun.error`` (and one is required).
    """
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    error: BaseException | None = None
    with collect_logs() as logs, keep_signal_handlers(), contextlib.redirect_stdout(out):
        try:
            tap = TapAFAS(
                config=dict(config),
                state=_plain(dict(state)) if state is not None else None,
                catalog=dict(catalog) if catalog is not None else None,
                parse_env_config=False,
                clock=clock,
            )
            if before_sync is not None:
                before_sync(tap)
            tap.sync_all()
        except Exception as exc:
            if not expect_error:
                raise
            error = exc
        finally:
            out.flush()
    run = TapRun(parse_messages(raw.getvalue().decode("utf-8")), "\n".join(logs.lines), error)
    if expect_error:
        assert error is not None, "the tap was expected to fail but succeeded"
    return run


def discover(config: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog the tap discovers (in-process)."""
    with keep_signal_handlers():
        tap = TapAFAS(config=dict(config), parse_env_config=False)
        catalog: dict[str, Any] = tap.catalog_dict
    return catalog


def discovery_error(config: Mapping[str, Any]) -> str:
    """The message of the error discovery raises (fails the test when there is none)."""
    with keep_signal_handlers():
        try:
            TapAFAS(config=dict(config), parse_env_config=False).catalog_dict  # noqa: B018
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    pytest.fail("discovery was expected to fail but succeeded")


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[Message]:
        return parse_messages(self.stdout)

    def records(self, stream: str) -> list[Row]:
        return TapRun(self.messages).records(stream)


def tap_command(tmp_path: Path, config: Mapping[str, Any], *args: str) -> list[str]:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    return [sys.executable, "-m", "tap_afas", "--config", str(config_file), *args]


def write_state(tmp_path: Path, state: Mapping[str, Any], name: str = "state.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(_plain(dict(state))), encoding="utf-8")
    return path


def cli_env(log_level: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_AFAS_")}
    env.pop("LOGLEVEL", None)
    env["PYTHONUNBUFFERED"] = "1"
    if log_level is not None:
        env["TAP_AFAS_LOGLEVEL"] = log_level
    return env


def run_tap_cli(
    tmp_path: Path,
    config: Mapping[str, Any],
    *args: str,
    state: Mapping[str, Any] | None = None,
    log_level: str | None = None,
    timeout: float = 120,
) -> CliRun:
    """``python -m tap_afas --config ... [--state ...] args`` with files in ``tmp_path``."""
    extra = list(args)
    if state is not None:
        extra += ["--state", str(write_state(tmp_path, state))]
    done = subprocess.run(
        tap_command(tmp_path, config, *extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(log_level),
        cwd=tmp_path,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def start_tap_cli(
    tmp_path: Path, config: Mapping[str, Any], *, state: Mapping[str, Any] | None = None
) -> subprocess.Popen[bytes]:
    """Start the tap as a subprocess with piped, unbuffered stdout (for kill tests)."""
    extra: list[str] = []
    if state is not None:
        extra += ["--state", str(write_state(tmp_path, state))]
    return subprocess.Popen(
        tap_command(tmp_path, config, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
        cwd=tmp_path,
    )


# --------------------------------------------------------------------------- the sandbox's truth


class SandboxReader:
    """Plain ``requests`` reads of a sandbox with one token."""

    def __init__(self, sandbox: RunningSandbox, header: str | None = None) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers["Authorization"] = header or sandbox.tokens.full.header

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self.session.get(
            self.sandbox.base_url + path, params=dict(params or {}), timeout=30
        )
        assert response.status_code == 200, (path, response.status_code, response.text)
        return json.loads(response.content, parse_float=Decimal)

    def connector_ids(self) -> list[str]:
        return [c["id"] for c in self.get_json("/metainfo")["getConnectors"]]

    def fields(self, connector: str) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = self.get_json(f"/metainfo/get/{connector}")["fields"]
        return fields

    def all_rows(self, connector: str) -> list[Row]:
        rows: list[Row] = self.get_json(f"/connectors/{connector}", {"skip": -1, "take": -1})[
            "rows"
        ]
        return rows

    def expected(self, connector: str) -> list[Row]:
        """Every row of the connector, converted the documented way."""
        fields = self.fields(connector)
        return [expected_record(row, fields) for row in self.all_rows(connector)]

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def reader(afas_sandbox: RunningSandbox) -> Iterator[SandboxReader]:
    r = SandboxReader(afas_sandbox)
    yield r
    r.close()


@pytest.fixture
def config(afas_sandbox: RunningSandbox) -> dict[str, Any]:
    """Tap config for the test's sandbox with the full demo token."""
    return base_config(afas_sandbox)


def base_config(sandbox: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return {"api_url": sandbox.base_url, "token": sandbox.tokens.full.xml, **extra}


def local_to_utc_iso(text: str) -> str:
    """``2026-03-29T03:00:00Z`` (Amsterdam wall time, false Z) -> ``...+00:00`` (first fold)."""
    wall = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    return wall.replace(tzinfo=AMSTERDAM).astimezone(timezone.utc).isoformat()


def expected_record(row: Row, fields: Sequence[Mapping[str, Any]]) -> Row:
    out = dict(row)
    for f in fields:
        value = out.get(f["id"])
        if f["dataType"] != "date" or value is None:
            continue
        control = int(f.get("controlType") or 0)
        if control == CONTROL_DATE:
            out[f["id"]] = value[:10]
        elif control == CONTROL_TIME:
            out[f["id"]] = value[11:19]
        else:
            out[f["id"]] = local_to_utc_iso(value)
    return out


def _canon_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal, float)):
        return ("number", str(Decimal(str(value)).normalize()))
    return json.dumps(value, sort_keys=True, default=str)


def canon(record: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A hashable form of a record; numbers compared by exact decimal value."""
    return tuple(sorted((k, _canon_value(v)) for k, v in record.items()))


def multiset(records: Sequence[Mapping[str, Any]]) -> Counter[tuple[tuple[str, Any], ...]]:
    return Counter(canon(r) for r in records)


def key_of(record: Mapping[str, Any], keys: Sequence[str]) -> str:
    """The key as the sandbox's MutationResult writes it: values joined by ','."""
    return ",".join(str(record[k]) for k in keys)


def duplicates(values: Sequence[str]) -> list[str]:
    return sorted(k for k, n in Counter(values).items() if n > 1)


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, text
    return moment


def wait_for_next_second() -> None:
    """Sleep past the current wall-clock second (pacing, not an assertion).

    A sync reads up to its start second (exclusive): rows written in the second a sync starts
    belong to the next sync. Tests that write and then sync wait for the next second.
    """
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.05)


# --------------------------------------------------------------------------- request recording


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int

    @property
    def params(self) -> dict[str, str]:
        return {k.lower(): v for k, v in parse_qsl(self.query, keep_blank_values=True)}

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def connector(self) -> str | None:
        parts = [p for p in self.path.split("/") if p]
        if len(parts) >= 3 and parts[1].lower() == "connectors":
            return parts[2]
        return None


@dataclass
class RequestRecorder:
    """Records every request the sandbox answers; ``after`` runs once a request is answered."""

    sandbox: RunningSandbox
    after: Callable[[Seen], None] | None = None
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        core = self.sandbox.core
        original = core.handle

        def handle(request: SimRequest) -> Any:
            response = original(request)
            entry = Seen(
                request.method,
                request.path,
                request.query_string,
                dict(request.headers),
                response.status,
            )
            self.seen.append(entry)
            if self.after is not None:
                self.after(entry)
            return response

        core.handle = handle  # type: ignore[method-assign]

    def pages(self, connector: str) -> list[Seen]:
        return [s for s in self.seen if s.connector and s.connector.lower() == connector.lower()]


@pytest.fixture
def recorder(afas_sandbox: RunningSandbox) -> RequestRecorder:
    return RequestRecorder(afas_sandbox)
