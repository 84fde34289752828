"""Bad-input layer for ``afas-sandbox``: every refused input is one clear line, and harmless.

Command-line cases run the venv's ``afas-sandbox`` console script in a folder of their own that
holds a few files a user might point it at by mistake (notes, another program's SQLite
database, a sandbox file, a folder). Each case must end within seconds with exit status 1 (2
for a malformed command line), exactly one ``afas-sandbox: ERROR:`` line naming the problem,
no traceback, nothing on stdout, and every file in the folder as it was (bytes and mtime), none
added. Admin cases send one bad call to a running sandbox's ``/_sandbox`` endpoint: each gets
its status with one JSON error, and the data, faults and latency stay as they were.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from afas_sandbox import RunningSandbox
from afas_sandbox.datasets import load_dataset
from afas_sandbox.dbfile import APPLICATION_ID
from tests.support.cli import console_script, run_cli

REFUSAL_LIMIT_SECONDS = 10.0
SANDBOX_FILE_ROWS = 300
ERROR_PREFIX = "afas-sandbox: ERROR: "

# ----------------------------------------------------------------------------- command line


@dataclass(frozen=True)
class CliCase:
    """One bad command line; ``{port_in_use}`` in an argument is a port the test holds."""

    id: str
    args: tuple[str, ...]
    says: str  # in the ERROR line (case-insensitive)
    exit: int = 1
    files: dict[str, bytes] = field(default_factory=dict)


def faults_case(id: str, content: str, says: str, name: str = "faults.yaml") -> CliCase:
    return CliCase(
        id, ("serve", "--port", "0", "--faults", name), says, files={name: content.encode()}
    )


CLI_CASES = [
    # argparse: malformed command lines (exit 2, one ERROR line, no usage dump)
    CliCase("no-command", (), "required: command", exit=2),
    CliCase("unknown-command", ("start",), "invalid choice", exit=2),
    CliCase("unknown-flag", ("serve", "--colour", "red"), "unrecognized", exit=2),
    CliCase("port-too-big", ("serve", "--port", "70000"), "--port", exit=2),
    CliCase("port-negative", ("serve", "--port", "-1"), "--port", exit=2),
    CliCase("port-text", ("serve", "--port", "abc"), "--port", exit=2),
    CliCase("rows-negative", ("serve", "--rows", "-5"), "--rows", exit=2),
    CliCase("rows-huge", ("serve", "--rows", "3000000000"), "--rows", exit=2),
    CliCase("rows-fraction", ("build", "--db", "x.db", "--rows", "1.5"), "--rows", exit=2),
    CliCase("seed-text", ("serve", "--seed", "one"), "--seed", exit=2),
    CliCase("dataset-unknown", ("serve", "--dataset", "finance"), "--dataset", exit=2),
    CliCase("latency-nan", ("serve", "--latency-ms", "nan"), "--latency-ms", exit=2),
    CliCase("latency-negative", ("serve", "--latency-ms", "-5"), "--latency-ms", exit=2),
    CliCase("per-row-inf", ("serve", "--per-row-ms", "inf"), "--per-row-ms", exit=2),
    CliCase("latency-text", ("serve", "--latency-ms", "slow"), "--latency-ms", exit=2),
    CliCase("build-without-db", ("build",), "--db", exit=2),
    CliCase("flag-without-value", ("serve", "--db"), "--db", exit=2),
    # --db: never touch a file the sandbox did not write
    CliCase("db-text-file", ("serve", "--port", "0", "--db", "notes.txt"), "not a sandbox file"),
    CliCase("db-other-sqlite", ("serve", "--port", "0", "--db", "app.sqlite"), "not a sandbox"),
    CliCase("db-other-app-id", ("serve", "--port", "0", "--db", "marked.sqlite"), "another"),
    CliCase("db-empty-file", ("serve", "--port", "0", "--db", "empty.db"), "not a sandbox"),
    CliCase("db-folder", ("serve", "--port", "0", "--db", "folder"), "is a folder"),
    CliCase("db-no-folder", ("serve", "--port", "0", "--db", "nowhere/x.db"), "does not exist"),
    CliCase("db-damaged", ("serve", "--port", "0", "--db", "damaged.db"), "damaged"),
    CliCase("build-db-text-file", ("build", "--db", "notes.txt"), "not a sandbox file"),
    CliCase("build-db-other-sqlite", ("build", "--db", "app.sqlite", "--rebuild"), "not a sand"),
    CliCase("db-other-rows", ("serve", "--port", "0", "--db", "sandbox.db", "--rows", "9"), "--re"),
    CliCase("db-other-seed", ("serve", "--port", "0", "--db", "sandbox.db", "--seed", "7"), "--r"),
    CliCase("build-other-dataset", ("build", "--db", "sandbox.db", "--dataset", "empty"), "--re"),
    # --faults: one line naming the file, the entry and the field
    CliCase("faults-missing", ("serve", "--port", "0", "--faults", "none.yaml"), "does not exist"),
    CliCase("faults-folder", ("serve", "--port", "0", "--faults", "folder"), "not a file"),
    faults_case("faults-status-text", "- status: abc\n", "entry 1: status"),
    faults_case("faults-status-200", "- status: 200\n", "entry 1: status"),
    faults_case("faults-unknown-key", "- status: 500\n- colour: red\n", "entry 2: unknown"),
    faults_case("faults-wrong-type", "- probability: high\n", "entry 1: probability"),
    faults_case("faults-probability", "- probability: 1.5\n", "entry 1: probability"),
    faults_case("faults-delay", "- {kind: slow, delay_seconds: -1}\n", "delay_seconds"),
    faults_case("faults-kind", "- kind: explode\n", "entry 1: kind"),
    faults_case("faults-phase", "- phase: during\n", "entry 1: phase"),
    faults_case("faults-body", "- {status: 500, body: xml}\n", "entry 1: body"),
    faults_case("faults-times", "- times: -2\n", "entry 1: times"),
    faults_case("faults-broken-yaml", "- status: [500\n", "not valid YAML"),
    faults_case("faults-broken-json", '[{"status": 500,}]', "not valid JSON", "faults.json"),
    faults_case("faults-not-a-list", "just some text\n", "list of faults"),
    faults_case("faults-entry-scalar", "- 500\n", "entry 1 must be a mapping"),
    faults_case("faults-top-level-key", "faults: []\nextra: 1\n", "top-level key"),
    faults_case("faults-empty-file", "", "list of faults"),
    CliCase(
        "faults-not-utf8",
        ("serve", "--port", "0", "--faults", "latin1.yaml"),
        "not UTF-8",
        files={"latin1.yaml": "- external_message: caf\xe9\n".encode("latin-1")},
    ),
    # where to listen, where to write the URL
    CliCase("port-in-use", ("serve", "--port", "{port_in_use}"), "already in use"),
    CliCase("host-unix-socket", ("serve", "--host", "unix://notes.txt"), "not a network address"),
    CliCase("host-empty", ("serve", "--host", " ", "--port", "0"), "not a network address"),
    CliCase("host-not-local", ("serve", "--host", "192.0.2.1", "--port", "0"), "not an address"),
    CliCase("url-file-no-folder", ("serve", "--url-file", "nowhere/url.txt"), "does not exist"),
    CliCase("url-file-folder", ("serve", "--url-file", "folder"), "is a folder"),
    CliCase(
        "url-file-is-db",
        ("serve", "--port", "0", "--db", "sandbox.db", "--url-file", "sandbox.db"),
        "is the --db file",
    ),
]


def _sqlite_file(path: Path, *, application_id: int, tables: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(tables)
    conn.execute(f"PRAGMA application_id = {application_id}")
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def sandbox_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sandbox file, built once; cases get copies."""
    from afas_sandbox.dbfile import load_or_build

    path = tmp_path_factory.mktemp("template") / "sandbox.db"
    load_or_build(load_dataset("demo"), seed=1, rows=SANDBOX_FILE_ROWS, path=path)
    return path


@pytest.fixture
def case_folder(tmp_path: Path, sandbox_file: Path) -> Path:
    """A folder with files a user might name by mistake."""
    (tmp_path / "notes.txt").write_text("my notes, not a database\n", encoding="utf-8")
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    _sqlite_file(tmp_path / "app.sqlite", application_id=0, tables="CREATE TABLE orders (n);")
    meta = "CREATE TABLE sandbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    _sqlite_file(tmp_path / "marked.sqlite", application_id=42, tables=meta)
    _sqlite_file(
        tmp_path / "damaged.db", application_id=APPLICATION_ID, tables="CREATE TABLE t (n);"
    )
    shutil.copy2(sandbox_file, tmp_path / "sandbox.db")
    return tmp_path


def snapshot(folder: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every file (bytes and mtime) and folder under ``folder``."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def port_in_use() -> Iterator[int]:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    yield holder.getsockname()[1]
    holder.close()


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_a_bad_command_line_is_refused_in_one_line(
    case: CliCase, case_folder: Path, port_in_use: int
) -> None:
    for name, content in case.files.items():
        (case_folder / name).write_bytes(content)
    before = snapshot(case_folder)
    args = [a.replace("{port_in_use}", str(port_in_use)) for a in case.args]
    started = time.monotonic()
    done = run_cli(
        [*console_script("afas-sandbox"), *args],
        cwd=case_folder,
        timeout=REFUSAL_LIMIT_SECONDS * 3,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == case.exit, done.stderr
    assert elapsed < REFUSAL_LIMIT_SECONDS
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    errors = [line for line in lines if "ERROR" in line]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(ERROR_PREFIX)
    assert case.says.lower() in errors[0].lower(), errors[0]
    assert all(line.startswith("afas-sandbox: ") for line in lines), done.stderr
    assert snapshot(case_folder) == before


# ----------------------------------------------------------------------------- admin endpoint

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class AdminCase:
    """One bad call to ``/_sandbox``; ``body`` is sent as is (bytes) or as JSON (other)."""

    id: str
    method: str
    route: str
    body: Any
    status: int
    says: str
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    field: str | None = None


def bad_fault(id: str, body: Any, name: str) -> AdminCase:
    return AdminCase(id, "POST", "/faults", body, 400, name, field=name)


ADMIN_CASES = [
    # only JSON may change something: a web page's form or text/plain POST cannot
    AdminCase(
        "mutate-text-plain",
        "POST",
        "/mutate",
        b'{"connector": "Profit_Persons", "deletes": 5}',
        415,
        "Content-Type",
        headers={"Content-Type": "text/plain"},
    ),
    AdminCase(
        "mutate-form",
        "POST",
        "/mutate",
        b"connector=Profit_Persons&deletes=5",
        415,
        "Content-Type",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    AdminCase(
        "faults-no-content-type", "POST", "/faults", b'{"status": 500}', 415, "Content-Type", {}
    ),
    AdminCase(
        "latency-text-plain",
        "PUT",
        "/latency",
        b'{"fixed_ms": 5000}',
        415,
        "Content-Type",
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    ),
    AdminCase("clear-faults-no-content-type", "DELETE", "/faults", b"", 415, "Content-Type", {}),
    # only calls addressed to a loopback name (no DNS rebinding)
    AdminCase(
        "mutate-foreign-host",
        "POST",
        "/mutate",
        {"connector": "Profit_Persons", "deletes": 5},
        403,
        "Host",
        headers={**JSON, "Host": "evil.example:8765"},
    ),
    AdminCase(
        "info-foreign-host", "GET", "", None, 403, "Host", headers={"Host": "attacker.example"}
    ),
    AdminCase(
        "faults-lookalike-host",
        "POST",
        "/faults",
        {"status": 500},
        403,
        "Host",
        headers={**JSON, "Host": "127.0.0.1.evil.example"},
    ),
    AdminCase(
        "latency-host-bad-port",
        "PUT",
        "/latency",
        {"fixed_ms": 5},
        403,
        "Host",
        headers={**JSON, "Host": "localhost:http"},
    ),
    # payload values checked before anything changes
    bad_fault("fault-status-text", {"status": "abc"}, "status"),
    bad_fault("fault-status-bool", {"status": True}, "status"),
    bad_fault("fault-status-200", {"status": 200}, "status"),
    bad_fault("fault-unknown-key", {"status": 500, "colour": "red"}, "colour"),
    bad_fault("fault-probability-high", {"probability": 1.5}, "probability"),
    bad_fault("fault-probability-text", {"probability": "0.5"}, "probability"),
    bad_fault("fault-delay-negative", {"kind": "slow", "delay_seconds": -1}, "delay_seconds"),
    bad_fault("fault-kind", {"kind": "explode"}, "kind"),
    bad_fault("fault-times-negative", {"times": -1}, "times"),
    bad_fault("fault-body", {"status": 500, "body": "xml"}, "body"),
    bad_fault("fault-method", {"method": "PATCH"}, "method"),
    AdminCase(
        "latency-nan-text",
        "PUT",
        "/latency",
        {"fixed_ms": "nan"},
        400,
        "fixed_ms",
        field="fixed_ms",
    ),
    AdminCase(
        "latency-nan-number",
        "PUT",
        "/latency",
        b'{"fixed_ms": NaN}',
        400,
        "fixed_ms",
        field="fixed_ms",
    ),
    AdminCase(
        "latency-negative",
        "PUT",
        "/latency",
        {"per_row_ms": -2},
        400,
        "per_row_ms",
        field="per_row_ms",
    ),
    AdminCase(
        "latency-unknown-key",
        "PUT",
        "/latency",
        {"fixed_ms": 5, "jitter": 1},
        400,
        "jitter",
        field="jitter",
    ),
    AdminCase(
        "mutate-negative",
        "POST",
        "/mutate",
        {"connector": "Profit_Persons", "inserts": 2, "deletes": -1},
        400,
        "deletes",
        field="deletes",
    ),
    AdminCase(
        "mutate-count-text",
        "POST",
        "/mutate",
        {"connector": "Profit_Persons", "inserts": "5"},
        400,
        "inserts",
        field="inserts",
    ),
    AdminCase(
        "mutate-too-many",
        "POST",
        "/mutate",
        {"connector": "Profit_Persons", "inserts": 10**9},
        400,
        "inserts",
        field="inserts",
    ),
    AdminCase(
        "mutate-same-second-text",
        "POST",
        "/mutate",
        {"connector": "Profit_Persons", "inserts": 1, "same_second": "yes"},
        400,
        "same_second",
        field="same_second",
    ),
    AdminCase(
        "mutate-unknown-key",
        "POST",
        "/mutate",
        {"connector": "Profit_Persons", "inserts": 1, "wipe": True},
        400,
        "wipe",
        field="wipe",
    ),
    AdminCase(
        "mutate-no-connector",
        "POST",
        "/mutate",
        {"inserts": 1},
        400,
        "connector",
        field="connector",
    ),
    AdminCase(
        "mutate-unknown-connector",
        "POST",
        "/mutate",
        {"connector": "Profit_Nope", "inserts": 1},
        400,
        "Profit_Nope",
    ),
    AdminCase("mutate-broken-json", "POST", "/mutate", b'{"connector": ', 400, "not valid JSON"),
    AdminCase("mutate-json-list", "POST", "/mutate", b"[1, 2]", 400, "JSON object"),
    AdminCase(
        "clear-faults-with-keys", "DELETE", "/faults", {"all": True}, 400, "all", field="all"
    ),
    AdminCase("faults-wrong-method", "PATCH", "/faults", {}, 405, "takes GET, POST, DELETE"),
    AdminCase("unknown-route", "POST", "/wipe", {}, 404, "no admin route"),
]


def state(sandbox: RunningSandbox) -> dict[str, Any]:
    """Everything an admin call could change: data, faults and latency."""
    persons = sorted(sandbox.rows("Profit_Persons"), key=lambda r: str(r["PersonId"]))
    counts = {c.id: len(sandbox.rows(c.id)) for c in sandbox.core.dataset.get_connectors}
    return {
        "persons": persons,
        "counts": counts,
        "faults": [(f.kind, f.status, f.connector) for f in sandbox.faults.list()],
        "latency": (sandbox.latency.fixed_ms, sandbox.latency.per_row_ms),
    }


@pytest.mark.parametrize("case", ADMIN_CASES, ids=[c.id for c in ADMIN_CASES])
def test_a_bad_admin_call_is_refused_with_one_json_error(
    case: AdminCase, afas_sandbox: RunningSandbox
) -> None:
    afas_sandbox.faults.add(status=503, connector="Profit_Debtors")  # something to wipe
    before = state(afas_sandbox)
    raw = case.body if isinstance(case.body, bytes) or case.body is None else json.dumps(case.body)
    response = requests.request(
        case.method,
        afas_sandbox.root_url + "/_sandbox" + case.route,
        data=raw,
        headers=case.headers,
        timeout=30,
    )
    assert response.status_code == case.status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    answer = response.json()
    assert set(answer) <= {"error", "field"}
    assert isinstance(answer["error"], str)
    assert "\n" not in answer["error"]
    assert case.says.lower() in answer["error"].lower(), answer["error"]
    assert answer.get("field") == case.field
    assert state(afas_sandbox) == before


def test_the_same_admin_calls_done_right_are_served(afas_sandbox: RunningSandbox) -> None:
    """The refusals above are about the input: the endpoint itself works, also via localhost."""
    url = afas_sandbox.root_url.replace("127.0.0.1", "localhost") + "/_sandbox"
    persons = len(afas_sandbox.rows("Profit_Persons"))
    added = requests.post(url + "/faults", json={"status": 500, "connector": "X"}, timeout=30)
    assert added.status_code == 200, added.text
    assert requests.put(url + "/latency", json={"fixed_ms": 1}, timeout=30).status_code == 200
    mutated = requests.post(
        url + "/mutate", json={"connector": "Profit_Persons", "inserts": 2}, timeout=30
    )
    assert mutated.status_code == 200, mutated.text
    assert len(afas_sandbox.rows("Profit_Persons")) == persons + 2
    assert afas_sandbox.latency.fixed_ms == 1
    cleared = requests.delete(url + "/faults", json={}, timeout=30)
    assert cleared.status_code == 200
    assert afas_sandbox.faults.list() == []
    port = afas_sandbox.root_url.rsplit(":", 1)[1]
    info = requests.get(url, headers={"Host": f"[::1]:{port}"}, timeout=30)
    assert info.status_code == 200, info.text
