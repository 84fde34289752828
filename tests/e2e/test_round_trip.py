"""End-to-end layer: tap-afas -> singer-sdk stream map -> target-afas, between two sandboxes.

The tap reads Profit_Persons from a demo sandbox. The target's own ``stream_maps`` setting
(singer-sdk inline mapping) aliases the stream to ``people``, keeps a few properties under new
names and declares the new key; target-afas inserts the people through KnPerson (MatchPer 7,
the person number kept) into a second sandbox started with the ``empty`` dataset. Reading
Profit_Persons back from that sandbox must give the same people in every mapped field.

Piped in-process (the tap's stdout captured and fed to the target), and once through the two
command-line programs joined by an OS pipe.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tap_afas.tap import TapAFAS
from target_afas.target import TargetAFAS

SOURCE_STREAM = "profit_persons"
ALIAS = "people"
# Profit_Persons property -> the name the stream map gives it (and the target maps from).
RENAMED = {
    "PersonId": "number",
    "FirstName": "first_name",
    "Prefix": "prefix",
    "LastName": "last_name",
    "Gender": "gender",
    "BirthDate": "birth_date",
    "Email": "email",
    "Street": "street",
    "HouseNumber": "house_number",
    "ZipCode": "zip_code",
    "City": "city",
    "Country": "country",
}
COMPARED = tuple(RENAMED)

Row = dict[str, Any]


# --------------------------------------------------------------------------- running in-process


class _Logs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(f"{record.levelname} {record.getMessage()}")


@dataclass
class _Capture:
    out: io.TextIOWrapper
    raw: io.BytesIO
    logs: _Logs

    def text(self) -> str:
        """What was written so far (read inside the ``with``: the wrapper closes the buffer)."""
        self.out.flush()
        return self.raw.getvalue().decode("utf-8")


@contextlib.contextmanager
def _captured() -> Iterator[_Capture]:
    """stdout into a buffer, log lines collected, pytest's signal handlers kept."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    logs = _Logs()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(logs)
    root.setLevel(logging.INFO)
    saved = (
        {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        if threading.current_thread() is threading.main_thread()
        else {}
    )
    try:
        with contextlib.redirect_stdout(out):
            yield _Capture(out, raw, logs)
    finally:
        root.removeHandler(logs)
        root.setLevel(old_level)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def run_tap(sandbox: RunningSandbox) -> str:
    """The tap's whole stdout (Singer messages) for Profit_Persons."""
    with _captured() as capture:
        tap = TapAFAS(config=tap_config(sandbox), parse_env_config=False)
        tap.sync_all()
        return capture.text()


@dataclass
class TargetRun:
    stdout: str
    log: list[str]

    @property
    def states(self) -> list[Any]:
        """The state values the target emitted (a target writes each value on its own line)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_target(config: Mapping[str, Any], singer_input: str) -> TargetRun:
    with _captured() as capture:
        target = TargetAFAS(config=dict(config), parse_env_config=False)
        try:
            target.process_lines(io.StringIO(singer_input))
            target.process_endofpipe()
        finally:
            target.afas.ledger.close()
        return TargetRun(capture.text(), capture.logs.lines)


def read_back(sandbox: RunningSandbox) -> list[Row]:
    """Profit_Persons of the destination as the tap gives them.

    A sync reads up to its start second (exclusive), so rows written in the current second
    belong to the next sync: wait for the next second first (pacing, not an assertion).
    """
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.05)
    return records(run_tap(sandbox), SOURCE_STREAM)


def messages(text: str) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]


def records(text: str, stream: str) -> list[Row]:
    return [m["record"] for m in messages(text) if m["type"] == "RECORD" and m["stream"] == stream]


# --------------------------------------------------------------------------- configuration


def tap_config(sandbox: RunningSandbox) -> dict[str, Any]:
    return {
        "api_url": sandbox.base_url,
        "token": sandbox.tokens.full.xml,
        "connectors": ["Profit_Persons"],
    }


def target_config(sandbox: RunningSandbox, ledger: Path, **extra: Any) -> dict[str, Any]:
    stream_map: dict[str, Any] = {
        "__alias__": ALIAS,
        "__else__": None,
        "__key_properties__": ["number"],
        **{new: old for old, new in RENAMED.items()},
    }
    return {
        "api_url": sandbox.base_url,
        "token": sandbox.tokens.full.xml,
        "stream_maps": {SOURCE_STREAM: stream_map},
        "mappings": {
            ALIAS: {
                "connector": "KnPerson",
                "action": "insert",
                "fields": {
                    "BcCo": "number",
                    "FiNm": "first_name",
                    "Is": "prefix",
                    "LaNm": "last_name",
                    "ViGe": "gender",
                    "DaBi": "birth_date",
                    "EmAd": "email",
                },
                "constants": {"MatchPer": "7"},
                "objects": {
                    "KnBasicAddressAdr": {
                        "fields": {
                            "CoId": "country",
                            "Ad": "street",
                            "HmNr": "house_number",
                            "ZpCd": "zip_code",
                            "Rs": "city",
                        }
                    }
                },
            }
        },
        "batch_size": 20,
        "max_parallel_requests": 4,
        "on_reject": "fail",
        "ledger_path": str(ledger),
        **extra,
    }


def projected(rows: list[Row]) -> dict[str, tuple[Any, ...]]:
    """The compared fields per person number."""
    out = {str(r["PersonId"]): tuple(r[f] for f in COMPARED) for r in rows}
    assert len(out) == len(rows), "person numbers are unique"
    return out


@pytest.fixture
def source(afas_sandbox: RunningSandbox) -> RunningSandbox:
    return afas_sandbox


@pytest.fixture
def destination(afas_sandbox_factory: Callable[..., RunningSandbox]) -> RunningSandbox:
    return afas_sandbox_factory("empty")


# --------------------------------------------------------------------------- tests


def test_round_trip_in_process(
    source: RunningSandbox, destination: RunningSandbox, tmp_path: Path
) -> None:
    assert read_back(destination) == [], "the destination starts empty"
    tap_output = run_tap(source)
    originals = records(tap_output, SOURCE_STREAM)
    assert len(originals) >= 500

    run = run_target(target_config(destination, tmp_path / "ledger.sqlite3"), tap_output)

    written = read_back(destination)
    assert projected(written) == projected(originals)
    assert f"INFO Summary {ALIAS}: inserted {len(originals)}" in run.log
    assert not [line for line in run.log if line.startswith("WARNING") and ALIAS in line]
    # The tap's final STATE comes out of the target once every record has an outcome.
    tap_states = [m["value"] for m in messages(tap_output) if m["type"] == "STATE"]
    assert run.states
    assert run.states[-1] == json.loads(json.dumps(tap_states[-1], default=str))


def test_stream_map_shapes_what_the_target_receives(
    source: RunningSandbox, destination: RunningSandbox, tmp_path: Path
) -> None:
    # Properties the stream map drops never reach AFAS: the destination's persons have no
    # phone numbers, member numbers or newsletter flags although the source's do.
    tap_output = run_tap(source)
    originals = records(tap_output, SOURCE_STREAM)
    assert any(r["Phone"] for r in originals)
    run_target(target_config(destination, tmp_path / "ledger.sqlite3"), tap_output)
    written = read_back(destination)
    assert len(written) == len(originals)
    for row in written:
        assert (row["Phone"], row["Mobile"], row["Lidnummer"], row["Nieuwsbrief"]) == (
            None,
            None,
            None,
            None,
        ), row["PersonId"]


def test_second_run_with_the_same_ledger_writes_nothing(
    source: RunningSandbox, destination: RunningSandbox, tmp_path: Path
) -> None:
    tap_output = run_tap(source)
    count = len(records(tap_output, SOURCE_STREAM))
    config = target_config(destination, tmp_path / "ledger.sqlite3")
    run_target(config, tap_output)
    first = projected(read_back(destination))

    again = run_target(config, tap_output)

    assert f"INFO Summary {ALIAS}: unchanged {count}" in again.log
    assert projected(read_back(destination)) == first


# --------------------------------------------------------------------------- command line


def _command(name: str, module: str) -> list[str]:
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


@pytest.mark.slow
def test_round_trip_through_a_pipe(
    source: RunningSandbox, destination: RunningSandbox, tmp_path: Path
) -> None:
    tap_file = tmp_path / "tap.json"
    target_file = tmp_path / "target.json"
    tap_file.write_text(json.dumps(tap_config(source)), encoding="utf-8")
    target_file.write_text(
        json.dumps(target_config(destination, tmp_path / "ledger.sqlite3")), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_AFAS_", "TARGET_AFAS_"))}
    with (tmp_path / "tap.log").open("wb") as tap_log, (tmp_path / "target.log").open("wb") as log:
        tap = subprocess.Popen(
            [*_command("tap-afas", "tap_afas"), "--config", str(tap_file)],
            stdout=subprocess.PIPE,
            stderr=tap_log,
            env=env,
            cwd=tmp_path,
        )
        target = subprocess.Popen(
            [*_command("target-afas", "target_afas"), "--config", str(target_file)],
            stdin=tap.stdout,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=tmp_path,
        )
        assert tap.stdout is not None
        tap.stdout.close()  # the target holds the read end now; the tap sees it close
        try:
            target_stdout, _ = target.communicate(timeout=180)
            tap_code = tap.wait(timeout=60)
        finally:
            for process in (tap, target):
                if process.poll() is None:
                    process.kill()
                    process.wait()
    assert tap_code == 0, (tmp_path / "tap.log").read_text()[-2000:]
    target_log = (tmp_path / "target.log").read_text()
    assert target.returncode == 0, target_log[-3000:]

    originals = records(run_tap(source), SOURCE_STREAM)
    written = read_back(destination)
    assert projected(written) == projected(originals)
    assert f"Summary {ALIAS}: inserted {len(originals)}" in target_log
    emitted = TargetRun(target_stdout.decode("utf-8"), []).states
    assert emitted, "the target emits the tap's state once the records have landed"
    assert SOURCE_STREAM in emitted[-1]["bookmarks"]
