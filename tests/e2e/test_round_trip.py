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

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tests.support.cli import console_script, start_cli, write_json
from tests.support.clock import clock_ahead
from tests.support.singer_messages import json_lines
from tests.support.tap_runs import TapRun, run_tap, tap_config
from tests.support.target_runs import run_target

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


def run_source_tap(sandbox: RunningSandbox, **options: Any) -> TapRun:
    """The tap on Profit_Persons of ``sandbox`` (its stdout is what the target reads)."""
    return run_tap(tap_config(sandbox, connectors=["Profit_Persons"]), **options)


def read_back(sandbox: RunningSandbox) -> list[Row]:
    """Profit_Persons of the destination as the tap gives them.

    A sync reads up to its start second (exclusive), so the tap runs a second ahead of the
    real time: rows written in the current second are in its window.
    """
    return run_source_tap(sandbox, clock=clock_ahead()).records(SOURCE_STREAM)


# --------------------------------------------------------------------------- configuration


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
    tap_run = run_source_tap(source)
    originals = tap_run.records(SOURCE_STREAM)
    assert len(originals) >= 500

    run = run_target(target_config(destination, tmp_path / "ledger.sqlite3"), tap_run.stdout)

    written = read_back(destination)
    assert projected(written) == projected(originals)
    assert f"Summary {ALIAS}: inserted {len(originals)}" in run.log_messages("INFO")
    assert not [message for message in run.log_messages("WARNING") if ALIAS in message]
    # The tap's final STATE comes out of the target once every record has an outcome.
    assert run.states
    assert run.states[-1] == json.loads(json.dumps(tap_run.state, default=str))


def test_stream_map_shapes_what_the_target_receives(
    source: RunningSandbox, destination: RunningSandbox, tmp_path: Path
) -> None:
    # Properties the stream map drops never reach AFAS: the destination's persons have no
    # phone numbers, member numbers or newsletter flags although the source's do.
    tap_run = run_source_tap(source)
    originals = tap_run.records(SOURCE_STREAM)
    assert any(r["Phone"] for r in originals)
    run_target(target_config(destination, tmp_path / "ledger.sqlite3"), tap_run.stdout)
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
    tap_run = run_source_tap(source)
    count = len(tap_run.records(SOURCE_STREAM))
    config = target_config(destination, tmp_path / "ledger.sqlite3")
    run_target(config, tap_run.stdout)
    first = projected(read_back(destination))

    again = run_target(config, tap_run.stdout)

    assert f"Summary {ALIAS}: unchanged {count}" in again.log_messages("INFO")
    assert projected(read_back(destination)) == first


# --------------------------------------------------------------------------- command line


@pytest.mark.slow
def test_round_trip_through_a_pipe(
    source: RunningSandbox, destination: RunningSandbox, tmp_path: Path
) -> None:
    tap_file = write_json(tmp_path, "tap.json", tap_config(source, connectors=["Profit_Persons"]))
    target_file = write_json(
        tmp_path, "target.json", target_config(destination, tmp_path / "ledger.sqlite3")
    )
    with (tmp_path / "tap.log").open("wb") as tap_log, (tmp_path / "target.log").open("wb") as log:
        tap = start_cli(
            [*console_script("tap-afas"), "--config", str(tap_file)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=tap_log,
        )
        target = start_cli(
            [*console_script("target-afas"), "--config", str(target_file)],
            cwd=tmp_path,
            stdin=tap.stdout,
            stdout=subprocess.PIPE,
            stderr=log,
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

    originals = run_source_tap(source).records(SOURCE_STREAM)
    written = read_back(destination)
    assert projected(written) == projected(originals)
    assert f"Summary {ALIAS}: inserted {len(originals)}" in target_log
    emitted = json_lines(target_stdout.decode("utf-8"))
    assert emitted, "the target emits the tap's state once the records have landed"
    assert SOURCE_STREAM in emitted[-1]["bookmarks"]
