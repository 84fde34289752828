"""Unit layer: ``afas_profit.environment`` (base URL, validation of settings, request headers)."""

from __future__ import annotations

from typing import Any

import pytest

from afas_profit.environment import DEFAULT_TIMEOUT_SECONDS, ProfitEnvironment
from afas_profit.errors import AFASConfigError
from afas_profit.token import parse_token

DATA = "89ABCDEF01234567" * 4
XML = f"<token><version>1</version><data>{DATA}</data></token>"


def _config(**settings: Any) -> dict[str, Any]:
    return {"token": XML, **settings}


@pytest.mark.parametrize(
    ("environment_id", "environment_type", "expected"),
    [
        ("12345", "production", "https://12345.rest.afas.online/ProfitRestServices"),
        ("12345", "test", "https://12345.resttest.afas.online/ProfitRestServices"),
        ("12345", "accept", "https://12345.restaccept.afas.online/ProfitRestServices"),
        ("12345", None, "https://12345.rest.afas.online/ProfitRestServices"),
        ("O12345AA", "production", "https://12345.rest.afas.online/ProfitRestServices"),
        ("O12345AA", "test", "https://12345.resttest.afas.online/ProfitRestServices"),
        ("O12345AA", "accept", "https://12345.restaccept.afas.online/ProfitRestServices"),
        (" 12345 ", "production", "https://12345.rest.afas.online/ProfitRestServices"),
    ],
    ids=[
        "12345-production",
        "12345-test",
        "12345-accept",
        "12345-default-is-production",
        "O12345AA-production",
        "O12345AA-test",
        "O12345AA-accept",
        "padded-id",
    ],
)
def test_base_url_from_environment_id_and_type(
    environment_id: str, environment_type: str | None, expected: str
) -> None:
    environment = ProfitEnvironment.from_config(
        _config(environment_id=environment_id, environment_type=environment_type)
    )
    assert environment.base_url == expected


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        (
            "http://127.0.0.1:8765/ProfitRestServices/",
            "http://127.0.0.1:8765/ProfitRestServices",
        ),
        (
            "http://127.0.0.1:8765/ProfitRestServices",
            "http://127.0.0.1:8765/ProfitRestServices",
        ),
        ("https://proxy.example/afas//", "https://proxy.example/afas"),
    ],
    ids=["trailing-slash", "no-slash", "double-slash"],
)
def test_api_url_overrides_environment_id_and_loses_trailing_slashes(
    api_url: str, expected: str
) -> None:
    environment = ProfitEnvironment.from_config(
        _config(api_url=api_url, environment_id="99999", environment_type="test")
    )
    assert environment.base_url == expected


def test_api_url_alone_is_enough() -> None:
    environment = ProfitEnvironment.from_config(_config(api_url="http://localhost:1/P"))
    assert environment.base_url == "http://localhost:1/P"


@pytest.mark.parametrize(
    "settings",
    [{}, {"environment_id": "", "api_url": ""}, {"environment_id": None, "api_url": None}],
    ids=["absent", "empty-strings", "nulls"],
)
def test_missing_environment_id_and_api_url_names_both(settings: dict[str, Any]) -> None:
    with pytest.raises(AFASConfigError) as caught:
        ProfitEnvironment.from_config(_config(**settings))
    message = str(caught.value)
    assert "environment_id" in message
    assert "api_url" in message


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        ({"environment_id": "12345", "environment_type": "prod"}, ["environment_type", "test"]),
        ({"environment_id": "12345", "environment_type": "Test"}, ["environment_type"]),
        ({"environment_id": "abc"}, ["environment_id", "12345"]),
        ({"environment_id": "1234"}, ["environment_id"]),
        ({"api_url": "ftp://example.com/x"}, ["api_url"]),
        ({"api_url": "12345.rest.afas.online"}, ["api_url"]),
        ({"environment_id": "12345", "accept_language": "en-gb"}, ["accept_language", "en-us"]),
        ({"environment_id": "12345", "accept_language": "english"}, ["accept_language"]),
        ({"environment_id": "12345", "request_timeout": 0}, ["request_timeout"]),
        ({"environment_id": "12345", "request_timeout": -5}, ["request_timeout"]),
        ({"environment_id": "12345", "request_timeout": "soon"}, ["request_timeout"]),
        ({"environment_id": "12345", "request_timeout": [30]}, ["request_timeout"]),
    ],
    ids=[
        "environment_type-unknown",
        "environment_type-wrong-case",
        "environment_id-letters",
        "environment_id-too-short",
        "api_url-not-http",
        "api_url-without-scheme",
        "accept_language-unsupported",
        "accept_language-prose",
        "request_timeout-zero",
        "request_timeout-negative",
        "request_timeout-text",
        "request_timeout-list",
    ],
)
def test_bad_settings_raise_a_config_error_naming_the_setting(
    settings: dict[str, Any], names: list[str]
) -> None:
    with pytest.raises(AFASConfigError) as caught:
        ProfitEnvironment.from_config(_config(**settings))
    message = str(caught.value)
    for name in names:
        assert name in message
    assert DATA not in message


@pytest.mark.parametrize("token", [None, 12345, {"xml": XML}], ids=["missing", "number", "object"])
def test_token_must_be_a_string(token: object) -> None:
    with pytest.raises(AFASConfigError, match="'token'"):
        ProfitEnvironment.from_config({"environment_id": "12345", "token": token})


def test_invalid_token_is_reported_as_config_error() -> None:
    with pytest.raises(AFASConfigError, match="'token'"):
        ProfitEnvironment.from_config({"environment_id": "12345", "token": "nope"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, float(DEFAULT_TIMEOUT_SECONDS)), (30, 30.0), ("45", 45.0), (2.5, 2.5)],
    ids=["default", "int", "numeric-string", "fraction"],
)
def test_request_timeout(value: object, expected: float) -> None:
    environment = ProfitEnvironment.from_config(
        _config(environment_id="12345", request_timeout=value)
    )
    assert environment.timeout_seconds == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("nl-nl", "nl-nl"), ("EN-US", "en-us"), ("de-DE", "de-de"), (None, None), ("", None)],
    ids=["nl-nl", "upper-case", "mixed-case", "null", "empty"],
)
def test_accept_language_is_normalised(value: str | None, expected: str | None) -> None:
    environment = ProfitEnvironment.from_config(
        _config(environment_id="12345", accept_language=value)
    )
    assert environment.accept_language == expected


@pytest.mark.parametrize(
    ("settings", "expected_extra"),
    [
        ({}, {}),
        ({"integration_id": "12345_678900"}, {"IntegrationId": "12345_678900"}),
        ({"accept_language": "nl-nl"}, {"Accept-Language": "nl-nl"}),
        (
            {"integration_id": "12345_678900", "accept_language": "en-us"},
            {"IntegrationId": "12345_678900", "Accept-Language": "en-us"},
        ),
        ({"integration_id": ""}, {}),
    ],
    ids=["plain", "integration-id", "language", "both", "empty-integration-id"],
)
def test_headers(settings: dict[str, Any], expected_extra: dict[str, str]) -> None:
    environment = ProfitEnvironment.from_config(_config(environment_id="12345", **settings))
    expected = {
        "Authorization": parse_token(XML).header,
        "Accept": "application/json",
        **expected_extra,
    }
    assert environment.headers() == expected
