"""Contract tests of the ``afas-sandbox`` command line and of the generated datasets.

Layer: afas-sandbox only. The CLI runs in a subprocess (``python -m afas_sandbox``) and is
talked to over HTTP with plain ``requests``; dataset properties (size, determinism, the empty
dataset) are checked through the GetConnectors and, for the generator itself, by comparing
table dumps of two independently built templates.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from afas_sandbox import RunningSandbox, TemplateCache, start_sandbox
from afas_sandbox.cli import build_parser
from afas_sandbox.datasets import load_dataset
from afas_sandbox.dbfile import inspect
from afas_sandbox.store import build_template
from tests.support import cli
from tests.support.sandbox_reading import RawClient

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_LIMIT_SECONDS = 60.0
STOP_LIMIT_SECONDS = 20.0
SANDBOX = (sys.executable, "-m", "afas_sandbox")
SERVE = (*SANDBOX, "serve")
TOKEN_XML = re.compile(r"<token>.*?</token>")


def header_of(xml: str) -> str:
    return "AfasToken " + base64.b64encode(xml.encode("ascii")).decode("ascii")


def wait_for_file(path: Path, process: subprocess.Popen[bytes]) -> str:
    """The url file's first line, once the server has written it (bounded poll)."""
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text(encoding="utf-8")
            if text.endswith("\n"):
                return text.strip()
        if process.poll() is not None:
            pytest.fail(f"afas-sandbox exited early with {process.returncode}")
        time.sleep(0.05)
    pytest.fail(f"afas-sandbox did not write {path} within {STARTUP_LIMIT_SECONDS}s")


@pytest.fixture
def cli_env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return cli.cli_env(PYTHONPATH=path)


@contextlib.contextmanager
def serving(
    folder: Path, env: dict[str, str], *args: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``afas-sandbox serve --port 0 --url-file F *args``: (process, url, its output file)."""
    url_file = folder / "url.txt"
    url_file.unlink(missing_ok=True)
    out_file = folder / "output.txt"
    with out_file.open("wb") as out:
        process = subprocess.Popen(
            [*SERVE, "--port", "0", "--url-file", str(url_file), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=env,
        )
    try:
        yield process, wait_for_file(url_file, process), out_file
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_LIMIT_SECONDS)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_LIMIT_SECONDS) == 0


@pytest.fixture
def served(
    tmp_path: Path, cli_env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """``afas-sandbox serve --port 0 --rows 500 --url-file F``: (process, url, stdout so far)."""
    with serving(tmp_path, cli_env, "--rows", "500") as (process, url, out_file):
        yield process, url, out_file.read_text(encoding="utf-8")


def test_serve_prints_url_and_tokens_and_serves_until_sigterm(
    served: tuple[subprocess.Popen[bytes], str, str],
) -> None:
    process, url, stdout = served
    assert url in stdout
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/ProfitRestServices", url), url
    tokens = TOKEN_XML.findall(stdout)
    assert len(tokens) >= 1
    # The full-access token is the one that may read every connector, Transactions included.
    full = [
        xml
        for xml in tokens
        if requests.get(
            url + "/connectors/Profit_Transactions",
            params={"take": 1},
            headers={"Authorization": header_of(xml)},
            timeout=30,
        ).status_code
        == 200
    ]
    assert len(full) == 1, stdout
    headers = {"Authorization": header_of(full[0])}
    assert requests.get(url + "/metainfo", headers=headers, timeout=30).status_code == 200
    persons = requests.get(url + "/connectors/Profit_Persons", headers=headers, timeout=30)
    assert persons.status_code == 200
    assert len(persons.json()["rows"]) > 0
    everything = requests.get(
        url + "/connectors/Profit_Transactions",
        params={"skip": -1, "take": -1},
        headers=headers,
        timeout=30,
    )
    assert len(everything.json()["rows"]) == 500

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_LIMIT_SECONDS) == 0
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/profitversion", headers=headers, timeout=5)


def test_serve_host_defaults_to_loopback() -> None:
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"


# ----------------------------------------------------------------------------- build --db


def test_build_then_start_reuses_the_file(
    tmp_path: Path,
    cli_env: dict[str, str],
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    db = tmp_path / "demo.sqlite"
    completed = run_cli(cli_env, "build", "--db", str(db), "--rows", "3000")
    assert completed.returncode == 0, completed.stderr
    assert db.exists()
    stat = db.stat()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()

    sandbox = afas_sandbox_factory(db_path=db, rows=3000, templates=TemplateCache())
    api = RawClient(sandbox, sandbox.tokens.full.header)
    try:
        assert len(api.all_rows("Profit_Transactions")) == 3000
    finally:
        api.close()
    assert db.stat().st_mtime_ns == stat.st_mtime_ns
    assert db.stat().st_ino == stat.st_ino
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def file_state(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_ino


def run_cli(env: dict[str, str], *args: str) -> cli.CliRun:
    """``python -m afas_sandbox args`` run to its end."""
    return cli.run_cli([*SANDBOX, *args], cwd=REPO_ROOT, env=env, timeout=120)


def transactions_served(url: str, token_xml: str) -> int:
    response = requests.get(
        url + "/connectors/Profit_Transactions",
        params={"skip": -1, "take": -1},
        headers={"Authorization": header_of(token_xml)},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return len(response.json()["rows"])


def full_token(output: str) -> str:
    line = next(line for line in output.splitlines() if "token full" in line)
    found = TOKEN_XML.search(line)
    assert found is not None, line
    return found.group(0)


def test_serve_reuses_a_sandbox_file_with_the_size_it_was_built_with(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    db = tmp_path / "big.sqlite"
    built = run_cli(cli_env, "build", "--db", str(db), "--rows", "1234")
    assert built.returncode == 0, built.stderr
    before = file_state(db)
    again = run_cli(cli_env, "build", "--db", str(db))  # nothing to do: the file holds it
    assert again.returncode == 0, again.stderr
    assert "1234 rows" in again.stdout
    with serving(tmp_path, cli_env, "--db", str(db)) as (process, url, out_file):
        output = out_file.read_text(encoding="utf-8")
        assert "(seed 1, 1234 rows)" in output
        assert transactions_served(url, full_token(output)) == 1234
        stop(process)
    assert "ERROR" not in out_file.read_text(encoding="utf-8")
    assert file_state(db) == before


def test_serve_with_other_rows_and_rebuild_says_so_and_rebuilds(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    db = tmp_path / "demo.sqlite"
    assert run_cli(cli_env, "build", "--db", str(db), "--rows", "800").returncode == 0
    args = ("--db", str(db), "--rows", "300", "--rebuild")
    with serving(tmp_path, cli_env, *args) as (process, url, out_file):
        output = out_file.read_text(encoding="utf-8")
        assert transactions_served(url, full_token(output)) == 300
        stop(process)
    rebuilt = [line for line in output.splitlines() if "INFO: rebuilding" in line]
    assert len(rebuilt) == 1, output
    assert "800 rows" in rebuilt[0]
    assert "300 rows" in rebuilt[0]
    found = inspect(db)
    assert found is not None
    assert (found.dataset, found.seed, found.rows) == ("demo", 1, 300)


def write_legacy_file(path: Path, rows: int) -> None:
    """A sandbox file as versions before the application_id marker wrote it."""
    template = build_template(load_dataset("demo"), seed=1, rows=rows)
    target = sqlite3.connect(path)
    template.backup(target)
    target.close()
    template.close()


def test_a_sandbox_file_without_the_marker_is_still_recognised_and_reused(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.sqlite"
    write_legacy_file(db, rows=700)
    before = file_state(db)
    with start_sandbox(db_path=db, templates=TemplateCache()) as sandbox:
        assert (sandbox.seed, sandbox.size) == (1, 700)
        assert len(sandbox.rows("Profit_Transactions")) == 700
    assert file_state(db) == before


def test_a_sandbox_file_of_another_dataset_version_is_rebuilt_alike(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "stale.sqlite"
    write_legacy_file(db, rows=400)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE sandbox_meta SET value = '0' WHERE key = 'dataset_version'")
    conn.commit()
    conn.close()
    with (
        caplog.at_level(logging.INFO, logger="afas_sandbox"),
        start_sandbox(db_path=db, templates=TemplateCache()) as sandbox,
    ):
        assert len(sandbox.rows("Profit_Transactions")) == 400
    assert any("another afas-sandbox version" in m for m in caplog.messages), caplog.messages
    found = inspect(db)
    assert found is not None
    assert (found.dataset_version, found.rows) == (load_dataset("demo").version, 400)


# ----------------------------------------------------------------------------- determinism


def sorted_rows(api: RawClient, connector: str, *keys: str) -> list[dict[str, Any]]:
    return sorted(api.all_rows(connector), key=lambda r: tuple(r[k] for k in keys))


def snapshot(sandbox: RunningSandbox) -> dict[str, list[dict[str, Any]]]:
    api = RawClient(sandbox, sandbox.tokens.full.header)
    try:
        return {
            "persons": sorted_rows(api, "Profit_Persons", "PersonId"),
            "transactions": sorted_rows(api, "Profit_Transactions", "UnitId", "EntryNo", "SeqNo"),
        }
    finally:
        api.close()


def test_same_seed_gives_identical_rows_and_another_seed_differs(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    # Separate template caches: each sandbox generates its data itself.
    one = snapshot(afas_sandbox_factory(seed=1, rows=600, templates=TemplateCache()))
    two = snapshot(afas_sandbox_factory(seed=1, rows=600, templates=TemplateCache()))
    other = snapshot(afas_sandbox_factory(seed=2, rows=600, templates=TemplateCache()))
    assert len(one["persons"]) > 0
    assert len(one["transactions"]) == 600
    assert one == two
    assert one["persons"] != other["persons"]
    assert one["transactions"] != other["transactions"]


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}


def test_generator_is_deterministic_per_seed() -> None:
    demo = load_dataset("demo")
    first = dump(build_template(demo, seed=1, rows=500))
    second = dump(build_template(demo, seed=1, rows=500))
    third = dump(build_template(demo, seed=2, rows=500))
    assert first["persons"]
    assert len(first["transactions"]) == 500
    assert first == second
    assert first["persons"] != third["persons"]
    assert first["transactions"] != third["transactions"]


# ----------------------------------------------------------------------------- sizes, empty


@pytest.mark.parametrize("rows", [0, 2, 777])
def test_rows_sizes_transactions_exactly(
    afas_sandbox_factory: Callable[..., RunningSandbox], rows: int
) -> None:
    sandbox = afas_sandbox_factory(rows=rows)
    api = RawClient(sandbox, sandbox.tokens.full.header)
    try:
        lines = api.all_rows("Profit_Transactions")
        assert len(lines) == rows
        keys = {(r["UnitId"], r["EntryNo"], r["SeqNo"]) for r in lines}
        assert len(keys) == rows
        assert len(api.all_rows("Profit_Persons")) > 0
    finally:
        api.close()


def test_empty_dataset_has_administrations_only(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = afas_sandbox_factory("empty")
    api = RawClient(sandbox, sandbox.tokens.full.header)
    try:
        meta = api.get("/metainfo")
        assert meta.status_code == 200
        connectors = [c["id"] for c in meta.json()["getConnectors"]]
        assert "Profit_Administrations" in connectors
        assert "Profit_Transactions" in connectors
        administrations = api.all_rows("Profit_Administrations")
        assert len(administrations) >= 1
        for connector in connectors:
            if connector != "Profit_Administrations":
                assert api.all_rows(connector) == [], connector
    finally:
        api.close()
