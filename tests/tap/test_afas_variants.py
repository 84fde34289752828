"""Tap layer: tap-afas copes with AFAS however it answers what its documents leave open.

The sandbox's quirks (afas_sandbox/quirks.py) choose among the answers AFAS may give; the tap
must read the same data and fail the same clear way under each, in Dutch and in English:
- a GetConnector taken out of the token's App Connector between discovery and the pages: 401
  with AFAS's body, 401 without one, or the "not authorized" message as a 500;
- AFAS's temporary messages (the 15-minute time-out) in Dutch and English are retried;
- ``take=0`` answering one row, none or an error never reaches the tap (it never sends it);
- memo fields with CR LF lines arrive unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from afas_sandbox.auth import SandboxToken
from tap_afas.tap import TapAFAS
from tests.support.recorders import RequestRecorder
from tests.support.records import multiset
from tests.support.sandbox_reading import SandboxReader
from tests.support.tap_runs import run_tap, tap_config

Factory = Callable[..., RunningSandbox]
LANGUAGES = pytest.mark.parametrize("accept_language", ["nl-nl", "en-us", None])


def _language(accept_language: str | None) -> dict[str, str]:
    return {"accept_language": accept_language} if accept_language else {}


def _withdraw(sandbox: RunningSandbox, connector: str) -> None:
    """Take ``connector`` out of the full token's App Connector, as an administrator might."""
    token = sandbox.tokens.full
    offered = frozenset(c.id for c in sandbox.core.dataset.get_connectors) - {connector}
    app = replace(token.app, get_connectors=offered)
    sandbox.core.tokens[token.data] = SandboxToken(token.name, token.data, app)


@LANGUAGES
@pytest.mark.parametrize("answer", ["401-body", "401-empty", "500"])
def test_connector_withdrawn_from_the_app_connector_fails_naming_it(
    afas_sandbox_factory: Factory, answer: str, accept_language: str | None
) -> None:
    sandbox = afas_sandbox_factory(quirks={"unauthorized_connector": answer})
    recorder = RequestRecorder(sandbox)
    config = tap_config(
        sandbox,
        connectors=["Profit_Administrations", "Profit_Debtors"],
        **_language(accept_language),
    )

    def withdraw(tap: TapAFAS) -> None:
        _withdraw(sandbox, "Profit_Debtors")

    run = run_tap(config, before_sync=withdraw, expect_error=True)
    message = run.error_text
    assert message.startswith("AFASAuthError"), message
    assert "Profit_Debtors" in message
    assert "App Connector" in message
    assert "\n" not in message
    assert sandbox.tokens.full.data not in message
    refused = [s for s in recorder.pages("Profit_Debtors") if s.status != 200]
    # The first page, and on a first sync the probe and the undated rows' page sent with it:
    # each refused once, none retried.
    assert {s.status for s in refused} == {int(answer[:3])}
    assert 1 <= len(refused) <= 3
    assert len({s.query for s in refused}) == len(refused), "a refused request was retried"


@LANGUAGES
def test_afas_time_out_message_is_retried_in_either_language(
    afas_sandbox: RunningSandbox, reader: SandboxReader, accept_language: str | None
) -> None:
    message = {
        "en-us": "The maximum duration for performing the assignment has been exceeded.",
        "nl-nl": "De maximale tijdsduur voor het uitvoeren van de opdracht is verstreken.",
        None: "De maximale tijdsduur voor het uitvoeren van de opdracht is verstreken.",
    }[accept_language]
    faults: list[Any] = []

    def add_fault(tap: TapAFAS) -> None:
        faults.append(
            afas_sandbox.faults.add(
                status=500, external_message=message, times=2, connector="Profit_Debtors"
            )
        )

    config = tap_config(afas_sandbox, connectors=["Profit_Debtors"], **_language(accept_language))
    run = run_tap(config, before_sync=add_fault)
    assert faults[0].hits == 2
    assert multiset(run.records("profit_debtors")) == multiset(reader.expected("Profit_Debtors"))


@pytest.mark.parametrize("take_zero", ["one-row", "no-rows", "error"])
def test_full_table_read_is_complete_whatever_take_zero_does(
    afas_sandbox_factory: Factory, take_zero: str
) -> None:
    sandbox = afas_sandbox_factory(quirks={"take_zero": take_zero, "language": "en"})
    recorder = RequestRecorder(sandbox)
    reader = SandboxReader(sandbox)
    config = tap_config(sandbox, connectors=["Profit_Contacts"], page_size=40)
    run = run_tap(config)
    assert multiset(run.records("profit_contacts")) == multiset(reader.expected("Profit_Contacts"))
    takes = {s.params.get("take") for s in recorder.pages("Profit_Contacts") if s.params}
    assert "0" not in takes
    reader.close()


def test_memo_lines_arrive_unchanged(afas_sandbox: RunningSandbox, reader: SandboxReader) -> None:
    run = run_tap(tap_config(afas_sandbox, connectors=["Profit_Subjects"]))
    bodies = {r["SubjectId"]: r["Body"] for r in run.records("profit_subjects")}
    expected = {r["SubjectId"]: r["Body"] for r in reader.all_rows("Profit_Subjects")}
    assert bodies == expected
    assert sum("\r\n" in (b or "") for b in bodies.values()) >= 50
