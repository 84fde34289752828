"""Unit layer: ``afas_profit.errors`` and ``afas_profit.messages`` (classifying AFAS answers).

The status/body pairs are the ones AFAS documents (afas-rest-api.md sections 2, 3.2, 3.3, 7).
"""

from __future__ import annotations

import json

import pytest

from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import (
    AFASAPIError,
    AFASAuthError,
    AFASRateLimitError,
    AFASRequestError,
    AFASServerError,
    classify_response,
    parse_error_body,
)
from afas_profit.messages import failure_message

REFERENCE = "0A1B2C3D4E5F60718293A4B5C6D7E8F9"


def _afas(message: str, number: int = -2147180999) -> str:
    return json.dumps(
        {"externalMessage": message, "errorNumber": number, "profitLogReference": REFERENCE}
    )


CASES: list[tuple[int, bytes | str | None, type[AFASAPIError] | None]] = [
    (200, b'{"skip":0,"take":100,"rows":[]}', None),
    (201, b'{"results":{}}', None),
    (200, None, None),
    (401, None, AFASAuthError),
    (401, b"", AFASAuthError),
    (401, _afas("Ongeldige token"), AFASAuthError),
    (403, b"", AFASAuthError),
    (
        500,
        _afas("GetConnector not supported for this app or the user is not authorized", -2147180996),
        AFASAuthError,
    ),
    (
        500,
        _afas(
            "General message: Deze UpdateConnector wordt niet ondersteund of de gebruiker is niet "
            "geautoriseerd.",
            -2147180996,
        ),
        AFASAuthError,
    ),
    (500, _afas("Connector field 'X' not found"), AFASRequestError),
    (500, _afas("An unexpected error has occurred."), AFASRequestError),
    (500, _afas("The entered value for 'Employee' does not exist.", -2147220469), AFASRequestError),
    (500, _afas("This GetConnector (definition) is blocked"), AFASRequestError),
    (
        500,
        _afas("De maximale tijdsduur voor het uitvoeren van de opdracht is verstreken."),
        AFASServerError,
    ),
    (
        500,
        _afas("The maximum duration for performing the assignment has been exceeded."),
        AFASServerError,
    ),
    (500, _afas("Out of String space"), AFASServerError),
    (500, _afas("Out of memory"), AFASServerError),
    (500, None, AFASServerError),
    (500, b"", AFASServerError),
    (500, b"<html>Internal Server Error</html>", AFASServerError),
    (
        503,
        json.dumps({"error": {"code": "503", "message": "Maintenance"}, "retry_after": 7200}),
        AFASRateLimitError,
    ),
    (503, b"", AFASRateLimitError),
    (404, b"", AFASRequestError),
    (400, _afas("Missing elements"), AFASRequestError),
    (502, b"Bad Gateway", AFASServerError),
    (504, b"", AFASServerError),
]
CASE_IDS = [
    "200-rows",
    "201-insert",
    "200-no-body",
    "401-no-body",
    "401-empty",
    "401-ongeldige-token",
    "403-ip-restriction",
    "500-getconnector-not-authorized",
    "500-dutch-not-authorized",
    "500-connector-field-not-found",
    "500-unexpected-error-is-functional",
    "500-validation-message",
    "500-connector-blocked",
    "500-max-duration-dutch",
    "500-max-duration-english",
    "500-out-of-string-space",
    "500-out-of-memory",
    "500-no-body",
    "500-empty-body",
    "500-html-body",
    "503-maintenance-retry-after",
    "503-empty",
    "404-wrong-url-or-too-long",
    "400-missing-elements",
    "502-bad-gateway",
    "504-gateway-timeout",
]


@pytest.mark.parametrize(("status", "body", "expected"), CASES, ids=CASE_IDS)
def test_classify_response(
    status: int, body: bytes | str | None, expected: type[AFASAPIError] | None
) -> None:
    assert classify_response(status, body) is expected


@pytest.mark.parametrize(
    ("error", "retriable"),
    [
        (AFASAuthError, False),
        (AFASRequestError, False),
        (AFASServerError, True),
        (AFASRateLimitError, True),
    ],
    ids=["auth", "request", "server", "rate-limit"],
)
def test_retriable_errors_are_server_errors(error: type[AFASAPIError], retriable: bool) -> None:
    assert issubclass(error, AFASServerError) is retriable


def test_parse_error_body_of_a_500() -> None:
    body = _afas("  Connector field 'X' not found  ", -2147180999).encode("utf-8")
    info = parse_error_body(500, body)
    assert info.status == 500
    assert info.external_message == "Connector field 'X' not found"
    assert info.error_number == -2147180999
    assert info.profit_log_reference == REFERENCE
    assert info.retry_after_seconds is None


def test_parse_error_body_of_a_503_gives_retry_after_and_message() -> None:
    body = json.dumps({"error": {"code": "503", "message": "Onderhoud"}, "retry_after": 7200})
    info = parse_error_body(503, body)
    assert info.retry_after_seconds == 7200.0
    assert info.external_message == "Onderhoud"


@pytest.mark.parametrize(
    "body",
    [None, b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"retry_after": true}'],
    ids=["none", "empty", "not-json", "list", "string", "bad-utf8", "bool-retry-after"],
)
def test_parse_error_body_tolerates_odd_bodies(body: bytes | None) -> None:
    info = parse_error_body(502, body)
    assert info.status == 502
    assert info.external_message is None
    assert info.retry_after_seconds is None
    assert info.quote() == "HTTP 502"


DATA = "FEDCBA9876543210" * 4
XML = f"<token><version>1</version><data>{DATA}</data></token>"
ENVIRONMENT = ProfitEnvironment.from_config({"environment_id": "12345", "token": XML})


def test_failure_message_quotes_external_message_and_log_reference() -> None:
    info = parse_error_body(500, _afas("Connector field 'X' not found"))
    message = failure_message(
        "GetConnector 'Profit_Persons' page skip=0 take=100",
        info,
        AFASRequestError,
        ENVIRONMENT.base_url,
    )
    assert message.startswith("GetConnector 'Profit_Persons' page skip=0 take=100 failed")
    assert "'Connector field 'X' not found'" in message
    assert f"profitLogReference={REFERENCE}" in message
    assert "500" in message


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (401, b"", ["token", ENVIRONMENT.base_url, "environment"]),
        (401, _afas("Ongeldige token"), ["token", ENVIRONMENT.base_url]),
        (403, b"", ["403", "IP"]),
        (
            500,
            _afas("GetConnector not supported for this app or the user is not authorized"),
            ["not supported for this app", REFERENCE, "App Connector"],
        ),
        (404, b"", ["404", "2049", "api_url"]),
        (
            503,
            json.dumps({"error": {"code": "503", "message": "Onderhoud"}, "retry_after": 60}),
            ["503", "Onderhoud", "maintenance"],
        ),
        (
            500,
            _afas("The maximum duration for performing the assignment has been exceeded."),
            ["maximum duration", REFERENCE, "Retry"],
        ),
        (502, b"", ["502", "Retry"]),
    ],
    ids=[
        "401-check-token-and-environment",
        "401-with-body",
        "403-ip",
        "500-not-authorized",
        "404-url-or-length",
        "503-maintenance",
        "500-transient",
        "502",
    ],
)
def test_failure_message_gives_advice_and_never_the_token(
    status: int, body: bytes | str, words: list[str]
) -> None:
    error = classify_response(status, body)
    assert error is not None
    message = failure_message(
        "GET /metainfo", parse_error_body(status, body), error, ENVIRONMENT.base_url
    )
    assert message.startswith("GET /metainfo failed")
    for word in words:
        assert word in message
    for secret in ENVIRONMENT.token.secrets:
        assert secret not in message
    assert ENVIRONMENT.token.header not in message
