"""Tap layer: failures and retries against the sandbox (auth, AFAS errors, faults, URL limit).

Faults that must hit GetConnector pages (not the discovery's metainfo calls, which name the
same connector) are added after discovery, or behind a one-shot no-op fault that the
metainfo call consumes.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from afas_sandbox.auth import SandboxToken
from tap_afas.tap import TapAFAS
from tests.support.recorders import RequestRecorder
from tests.support.records import multiset
from tests.support.sandbox_reading import SandboxReader
from tests.support.tap_runs import discovery_error, run_tap, run_tap_cli, tap_config

BAD_DATA = "0123456789ABCDEF" * 4
BAD_XML = f"<token><version>1</version><data>{BAD_DATA}</data></token>"
LOG_REFERENCE = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
FUNCTIONAL_MESSAGE = "Veld 'Saldo' kan niet worden berekend voor deze debiteur."


def _secrets(xml: str, data: str) -> list[str]:
    encoded = base64.b64encode(xml.encode("ascii")).decode("ascii")
    return [xml, data, data.lower(), data.upper(), encoded]


def _token_secrets(token: SandboxToken) -> list[str]:
    return _secrets(token.xml, token.data)


def _assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, "a form of the token appears in the output"


def _skip_metainfo_then(sandbox: RunningSandbox, connector: str, **fault: Any) -> Any:
    """A no-op fault the discovery's metainfo call consumes, then the real fault for pages."""
    sandbox.faults.add(kind="slow", delay_seconds=0.0, connector=connector, times=1)
    return sandbox.faults.add(connector=connector, **fault)


def test_limited_token_with_a_connector_it_may_not_use_fails_cleanly(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    token = afas_sandbox.tokens.limited
    config = tap_config(afas_sandbox, token=token.xml, connectors=["Profit_Transactions"])
    done = run_tap_cli(tmp_path, config)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert "Profit_Transactions" in last_line  # the message a user reads last
    assert "ERROR" in last_line
    assert "Traceback" not in done.stderr  # a known failure is one clear line, not a dump
    assert not [m for m in done.messages if m.get("type") == "RECORD"]
    _assert_no_secret(done.stdout + done.stderr, _token_secrets(token))


def test_bad_token_fails_with_401_advice_and_never_shows_the_token(
    afas_sandbox: RunningSandbox,
) -> None:
    message = discovery_error(tap_config(afas_sandbox, token=BAD_XML))
    assert "401" in message
    assert "token" in message.lower()
    _assert_no_secret(message, _secrets(BAD_XML, BAD_DATA))


def test_ip_restricted_token_fails_with_403_advice(afas_sandbox: RunningSandbox) -> None:
    token = afas_sandbox.tokens.ip_restricted
    message = discovery_error(tap_config(afas_sandbox, token=token.xml))
    assert "403" in message
    assert "IP" in message
    _assert_no_secret(message, _token_secrets(token))


def test_malformed_token_setting_is_refused_without_echoing_it(
    afas_sandbox: RunningSandbox,
) -> None:
    value = "my-secret-but-not-a-token-value-12345"
    message = discovery_error(tap_config(afas_sandbox, token=value))
    assert "token" in message.lower()
    assert value not in message


def test_functional_500_fails_the_sync_quoting_afas_and_naming_connector_and_page(
    afas_sandbox: RunningSandbox, recorder: RequestRecorder
) -> None:
    fault: list[Any] = []

    def add_fault(tap: TapAFAS) -> None:
        # The first page succeeds (no-op fault), the second one fails.
        fault.append(
            _skip_metainfo_then(
                afas_sandbox,
                "Profit_Debtors",
                status=500,
                external_message=FUNCTIONAL_MESSAGE,
                profit_log_reference=LOG_REFERENCE,
            )
        )

    # One request at a time, so "the second request" is the second page (no partition probes).
    config = tap_config(
        afas_sandbox, page_size=50, connectors=["Profit_Debtors"], max_parallel_requests=1
    )
    run = run_tap(config, before_sync=add_fault, expect_error=True)
    message = run.error_text
    assert FUNCTIONAL_MESSAGE in message
    assert LOG_REFERENCE in message
    assert "Profit_Debtors" in message
    assert "take=50" in message  # the page
    assert "DatumGewijzigd >=" in message
    assert fault[0].hits == 1, "a functional 500 is not retried"
    assert len(run.records("profit_debtors")) == 50  # the first page was emitted
    assert [s.status for s in recorder.pages("Profit_Debtors")] == [200, 500]


def test_503_with_retry_after_is_retried_and_the_data_is_complete(
    afas_sandbox: RunningSandbox, reader: SandboxReader
) -> None:
    fault: list[Any] = []

    def add_fault(tap: TapAFAS) -> None:
        fault.append(
            afas_sandbox.faults.add(status=503, retry_after=1, times=2, connector="Profit_Debtors")
        )

    # One request at a time: both 503s fall on the first page (a first sync with parallel
    # requests also sends its probe and its undated rows' page with it).
    config = tap_config(afas_sandbox, connectors=["Profit_Debtors"], max_parallel_requests=1)
    started = time.monotonic()
    run = run_tap(config, before_sync=add_fault)
    assert time.monotonic() - started >= 2.0  # waited retry_after twice
    assert fault[0].hits == 2
    assert multiset(run.records("profit_debtors")) == multiset(reader.expected("Profit_Debtors"))


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_reset_and_truncated_pages_are_retried_and_the_data_is_complete(
    afas_sandbox: RunningSandbox, reader: SandboxReader, kind: str
) -> None:
    fault: list[Any] = []

    def add_fault(tap: TapAFAS) -> None:
        fault.append(afas_sandbox.faults.add(kind=kind, times=2, connector="Profit_Persons"))

    config = tap_config(afas_sandbox, connectors=["Profit_Persons"], page_size=200)
    run = run_tap(config, before_sync=add_fault)
    assert fault[0].hits == 2
    records = run.records("profit_persons")
    assert len(records) == len({r["PersonId"] for r in records})
    assert multiset(records) == multiset(reader.expected("Profit_Persons"))


def test_query_over_2049_characters_is_refused_before_any_request(
    afas_sandbox: RunningSandbox, recorder: RequestRecorder
) -> None:
    config = tap_config(
        afas_sandbox,
        connectors=["Profit_Debtors"],
        filters={
            "Profit_Debtors": [{"field": "Name", "operator": "contains", "value": "x" * 2100}]
        },
    )
    run = run_tap(config, expect_error=True)
    message = run.error_text
    assert "2049" in message
    assert "filters" in message
    assert "Profit_Debtors" in message
    assert recorder.pages("Profit_Debtors") == []  # no GetConnector request was sent
    assert not any(s.status == 404 for s in recorder.seen)


def _debug_output(done: Any) -> str:
    assert "DEBUG" in done.stderr, "debug logging is not on"
    return str(done.stdout) + str(done.stderr)


def test_token_never_appears_in_debug_output_of_a_successful_run(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    token = afas_sandbox.tokens.full
    for value in (token.xml, token.data, base64.b64encode(token.xml.encode()).decode()):
        config = tap_config(
            afas_sandbox, token=value, connectors=["Profit_Persons", "Profit_Administrations"]
        )
        done = run_tap_cli(tmp_path, config, log_level="DEBUG")
        assert done.returncode == 0, done.stderr[-2000:]
        assert len(done.records("profit_administrations")) == 3
        _assert_no_secret(_debug_output(done), _token_secrets(token))


def test_token_never_appears_in_debug_output_of_a_401_run(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    done = run_tap_cli(tmp_path, tap_config(afas_sandbox, token=BAD_XML), log_level="DEBUG")
    assert done.returncode != 0
    assert "401" in done.stderr
    assert "Traceback" in done.stderr  # at DEBUG the traceback is logged too
    _assert_no_secret(_debug_output(done), _secrets(BAD_XML, BAD_DATA))


def test_token_never_appears_in_debug_output_of_a_500_run(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    token = afas_sandbox.tokens.full
    _skip_metainfo_then(
        afas_sandbox,
        "Profit_Debtors",
        status=500,
        external_message=FUNCTIONAL_MESSAGE,
        profit_log_reference=LOG_REFERENCE,
    )
    config = tap_config(afas_sandbox, token=token.data, connectors=["Profit_Debtors"])
    done = run_tap_cli(tmp_path, config, log_level="DEBUG")
    assert done.returncode != 0
    assert LOG_REFERENCE in done.stderr
    _assert_no_secret(_debug_output(done), _token_secrets(token))
