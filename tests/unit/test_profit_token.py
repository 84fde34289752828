"""Unit layer: ``afas_profit.token`` (the three accepted token forms and keeping the secret out)."""

from __future__ import annotations

import base64

import pytest

from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import AFASConfigError, redact
from afas_profit.token import AFASToken, parse_token

DATA = "0123456789ABCDEF" * 4
XML = f"<token><version>1</version><data>{DATA}</data></token>"
B64 = base64.b64encode(XML.encode("utf-8")).decode("ascii")
EXPECTED_HEADER = "AfasToken " + B64


@pytest.mark.parametrize(
    "value",
    [
        XML,
        DATA,
        B64,
        f"  {XML}\r\n",
        f"\n{DATA}  ",
        f"{B64}\n",
    ],
    ids=[
        "xml",
        "64-hex-data",
        "base64-of-xml",
        "xml-with-crlf-as-otp-returns-it",
        "data-with-whitespace",
        "base64-with-newline",
    ],
)
def test_every_accepted_form_gives_the_same_header(value: str) -> None:
    token = parse_token(value)
    assert token.header == EXPECTED_HEADER


def test_header_has_exactly_one_space_and_decodes_to_the_complete_xml() -> None:
    header = parse_token(DATA).header
    scheme, _, encoded = header.partition(" ")
    assert scheme == "AfasToken"
    assert not encoded.startswith(" ")
    assert base64.b64decode(encoded).decode("utf-8") == XML


GARBAGE = [
    "not a token at all",
    DATA[:-1],
    DATA + "A",
    "G" * 64,
    "<token><version>1</version></token>",
    f"<token><data>{DATA}</data></token>",
    base64.b64encode(b"hello world, this is no token").decode("ascii"),
    base64.b64encode(DATA.encode("ascii")).decode("ascii"),
    "AfasToken " + B64,
    B64[:-4],
]
GARBAGE_IDS = [
    "prose",
    "63-hex",
    "65-hex",
    "64-non-hex",
    "xml-without-data",
    "xml-without-version",
    "base64-of-prose",
    "base64-of-hex-data",
    "whole-header-pasted",
    "truncated-base64",
]


@pytest.mark.parametrize("value", GARBAGE, ids=GARBAGE_IDS)
def test_garbage_raises_config_error_without_echoing_the_value(value: str) -> None:
    with pytest.raises(AFASConfigError) as caught:
        parse_token(value)
    message = str(caught.value)
    assert "'token'" in message
    assert value not in message
    # The message is the same whatever was pasted, so no part of the input can leak.
    with pytest.raises(AFASConfigError) as reference:
        parse_token("x" * 40)
    assert message == str(reference.value)


@pytest.mark.parametrize("value", ["", "   ", "\r\n"], ids=["empty", "spaces", "newline"])
def test_empty_token_says_it_is_empty(value: str) -> None:
    with pytest.raises(AFASConfigError, match="empty"):
        parse_token(value)


@pytest.mark.parametrize("value", [XML, DATA, B64], ids=["xml", "data", "base64"])
def test_token_repr_and_str_hide_every_form_of_the_secret(value: str) -> None:
    token = parse_token(value)
    for text in (repr(token), str(token), f"{token}", f"{token!r}", repr([token])):
        assert DATA not in text
        assert B64 not in text
        assert "<data>" not in text


def test_environment_repr_and_str_hide_the_token() -> None:
    environment = ProfitEnvironment.from_config({"environment_id": "12345", "token": XML})
    for text in (repr(environment), str(environment), f"{environment}", repr({"e": environment})):
        assert DATA not in text
        assert B64 not in text
        assert "https://12345.rest.afas.online/ProfitRestServices" in text


def test_secrets_lists_xml_data_and_base64_and_redact_removes_them() -> None:
    token = parse_token(DATA)
    assert set(token.secrets) == {XML, DATA, B64}
    leaked = f"header=AfasToken {B64} xml={XML} data={DATA.lower()}|{DATA}"
    cleaned = redact(leaked, token.secrets)
    assert DATA not in cleaned
    assert B64 not in cleaned
    assert cleaned.count("<redacted>") >= 3


def test_token_is_a_frozen_value() -> None:
    token = AFASToken(XML)
    with pytest.raises(AttributeError):
        token.xml = "other"  # type: ignore[misc]
    assert token == parse_token(B64)
