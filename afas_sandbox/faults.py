"""Faults and latency as data: what goes wrong, for which requests, how often.

One vocabulary serves tests (``sandbox.faults.add(...)``), the CLI (``--faults FILE`` with a
YAML or JSON list of the same keys) and the admin endpoint. Every value is checked when the
fault is made; a wrong one raises ``SandboxInputError`` naming the field. Kinds:

- ``status``: answer ``status`` (400-599) instead. ``body`` says what the answer carries:
  ``"afas"`` (AFAS's error body with ``external_message`` / ``error_number`` /
  ``profit_log_reference``; for 503 AFAS's maintenance body with ``retry_after``), ``"html"``
  (a web page: IIS's 404 page, or a gateway's error page) or ``"empty"``. Without ``body``:
  401/403 empty, 404 and 502/504 html, every other status the AFAS body;
- ``reset``: drop the TCP connection with a reset;
- ``truncate``: send half the body of the real answer, then close;
- ``slow``: send the real answer after ``delay_seconds`` (longer than the client's timeout).

``phase: before`` (default) misbehaves instead of handling the request; ``phase: after`` handles
it first. What then becomes of a write (POST, PUT or DELETE on an UpdateConnector) follows what
AFAS documents on its help page "API-responses bij connectoren" (afas-rest-api.md section 7):
a 500 with AFAS's error body means the request's content was refused and the UpdateConnector's
transaction was not committed; a 503 means the service was unavailable and nothing was
processed; a 4xx means the request was refused. Any other answer leaves the client not knowing
whether the write landed ("outcome unknown"), and in the sandbox it did:

| kind     | phase  | what the client gets                              | the write      |
|----------|--------|---------------------------------------------------|----------------|
| status   | before | the status                                        | never made     |
| status   | after  | 500 with the AFAS body (the default for 500)      | rolled back    |
| status   | after  | 503 (any body), any 4xx, any status with body afas| rolled back    |
| status   | after  | 502 or 504 (html by default), 500 with html/empty | committed      |
| reset    | before | a reset connection                                | never made     |
| reset    | after  | a reset connection                                | committed      |
| truncate | either | half of the real answer, then the connection ends | committed      |
| slow     | either | the real answer, after ``delay_seconds``          | committed      |

(``truncate`` and ``slow`` always carry the real answer, so the request is handled at once.)
"""

from __future__ import annotations

import fnmatch
import json
import random
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from afas_sandbox.costs import LatencyModel as LatencyModel  # lives in costs.py; kept importable
from afas_sandbox.inputs import (
    MAX_DELAY_SECONDS,
    SandboxInputError,
    check_choice,
    check_int,
    check_keys,
    check_number,
    check_text,
    is_integer,
    shown,
)

FaultKind = Literal["status", "reset", "truncate", "slow"]
KINDS = ("status", "reset", "truncate", "slow")
PHASES = ("before", "after")
BODIES = ("afas", "html", "empty")
METHODS = ("GET", "POST", "PUT", "DELETE")
MAX_FAULTS_FILE_BYTES = 1 << 20


@dataclass
class Fault:
    """One scripted fault; ``times=None`` means every matching request."""

    kind: FaultKind = "status"
    status: int = 500
    connector: str | None = None
    method: str | None = None
    times: int | None = None
    probability: float = 1.0
    external_message: str = "An unexpected error has occurred."
    error_number: int = -2147180999
    profit_log_reference: str | None = None
    retry_after: int = 7200
    delay_seconds: float = 30.0
    phase: Literal["before", "after"] = "before"
    body: Literal["afas", "html", "empty"] | None = None
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)
        check_int("status", self.status, low=400, high=599)
        check_text("connector", self.connector, optional=True)
        if self.method is not None:
            check_choice("method", str(self.method).upper(), METHODS)
        if self.times is not None:
            check_int("times", self.times, low=0)
        self.probability = check_number("probability", self.probability, low=0.0, high=1.0)
        check_text("external_message", self.external_message)
        if not is_integer(self.error_number):
            raise SandboxInputError(
                f"error_number must be a whole number, got {shown(self.error_number)}",
                field="error_number",
            )
        check_text("profit_log_reference", self.profit_log_reference, optional=True)
        check_int("retry_after", self.retry_after, low=0)
        self.delay_seconds = check_number(
            "delay_seconds", self.delay_seconds, low=0.0, high=MAX_DELAY_SECONDS
        )
        check_choice("phase", self.phase, PHASES)
        if self.body is not None:
            check_choice("body", self.body, BODIES)

    @property
    def answer_body(self) -> Literal["afas", "html", "empty"]:
        """What a ``status`` answer carries (``body``, or the default for the status)."""
        if self.body is not None:
            return self.body
        if self.status in (401, 403):
            return "empty"
        if self.status in (404, 502, 504):
            return "html"
        return "afas"

    @property
    def keeps_write(self) -> bool:
        """Whether a write handled before this fault stays committed (module docstring table)."""
        if self.kind != "status":
            return True
        refused = self.status < 500 or self.status == 503 or self.answer_body == "afas"
        return not refused

    def matches(self, method: str, connector: str | None) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.connector is None:
            return True
        return connector is not None and fnmatch.fnmatchcase(
            connector.lower(), self.connector.lower()
        )


FAULT_KEYS = frozenset(f.name for f in fields(Fault)) - {"hits"}


def make_fault(spec: dict[str, Any]) -> Fault:
    """A checked fault from a mapping of ``Fault`` keys; raises ``SandboxInputError``."""
    check_keys(spec, FAULT_KEYS, "fault")
    return Fault(**spec)


class FaultPlan:
    """The faults of one sandbox, consumed by matching requests in order of addition."""

    def __init__(self, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def add(self, **spec: Any) -> Fault:
        """Add a fault, e.g. ``add(status=503, retry_after=1, times=2, connector="Profit_*")``."""
        fault = make_fault(spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pick(self, method: str, connector: str | None, phase: str) -> Fault | None:
        """The first live fault for this request in this phase; counts it as used."""
        with self._lock:
            for fault in self._faults:
                if fault.phase != phase or not fault.matches(method, connector):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.hits += 1
                return fault
        return None

    def load(self, path: Path) -> None:
        """Add the faults listed in a YAML or JSON file: all of them, or none on any error."""
        loaded = read_faults_file(path)
        with self._lock:
            self._faults.extend(loaded)


def read_faults_file(path: Path) -> list[Fault]:
    """The faults in a YAML or JSON file; ``SandboxInputError`` names the file, entry and field."""
    items = _file_items(path, _parse(path, _read_text(path)))
    faults: list[Fault] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise SandboxInputError(
                f"faults file {path}: entry {number} must be a mapping of fault keys "
                f"(kind, status, connector, ...), got {shown(item)}"
            )
        try:
            faults.append(make_fault({str(k): v for k, v in item.items()}))
        except SandboxInputError as exc:
            raise SandboxInputError(
                f"faults file {path}: entry {number}: {exc}; fix the entry and start again",
                field=exc.field,
            ) from None
    return faults


def _read_text(path: Path) -> str:
    if not path.exists():
        raise SandboxInputError(
            f"faults file {path} does not exist; check the path given to --faults"
        )
    if not path.is_file():
        raise SandboxInputError(f"faults file {path} is not a file; give a YAML or JSON file")
    size = path.stat().st_size
    if size > MAX_FAULTS_FILE_BYTES:
        raise SandboxInputError(
            f"faults file {path} has {size} bytes; a faults file is a short YAML or JSON list "
            f"(at most {MAX_FAULTS_FILE_BYTES} bytes)"
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SandboxInputError(
            f"faults file {path} is not UTF-8 text; give a YAML or JSON file"
        ) from None
    except OSError as exc:
        raise SandboxInputError(
            f"faults file {path} cannot be read ({exc.strerror}); check its permissions"
        ) from None


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SandboxInputError(
                f"faults file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg}); fix it and start again"
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise SandboxInputError(
            f"faults file {path} is not valid YAML ({where}{problem}); fix it and start again"
        ) from None


def _file_items(path: Path, data: Any) -> list[Any]:
    if isinstance(data, dict):
        extra = sorted(str(k) for k in data if k != "faults")
        if extra:
            raise SandboxInputError(
                f"faults file {path}: unknown top-level key {shown(extra[0])}; "
                "give a list of faults, or a mapping with only a 'faults:' list"
            )
        data = data.get("faults")
    if not isinstance(data, list):
        raise SandboxInputError(
            f"faults file {path} must hold a list of faults (or a 'faults:' key with one), "
            f"got {shown(data)}"
        )
    return data
