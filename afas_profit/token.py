"""The AFAS token: accepted as full XML, as its 64-hex ``<data>`` value, or already base64.

The ``Authorization`` header is ``AfasToken <base64 of the complete token XML>`` with one space
(afas-rest-api.md section 2). ``AFASToken`` keeps the secret out of ``repr`` and ``str``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from afas_profit.errors import AFASConfigError

_XML = re.compile(
    r"\s*<token>\s*<version>(\d+)</version>\s*<data>([^<]+)</data>\s*</token>\s*", re.S
)
_DATA = re.compile(r"[0-9A-Fa-f]{64}")


@dataclass(frozen=True, slots=True)
class AFASToken:
    """A validated token; ``header`` is the value for the ``Authorization`` header."""

    xml: str = field(repr=False)

    @property
    def header(self) -> str:
        return "AfasToken " + base64.b64encode(self.xml.encode("utf-8")).decode("ascii")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of this token that must never be printed."""
        match = _XML.fullmatch(self.xml)
        data = match.group(2) if match else self.xml
        encoded = self.header.split(" ", 1)[1]
        return (self.xml, data, encoded)

    def __str__(self) -> str:
        return "AFASToken(<redacted>)"


def parse_token(value: str) -> AFASToken:
    """Normalise the ``token`` setting; raises AFASConfigError saying what is wrong."""
    text = value.strip()
    if not text:
        raise AFASConfigError("Setting 'token' is empty: paste your App Connector token.")
    if _XML.fullmatch(text):
        return AFASToken(text)
    if _DATA.fullmatch(text):
        return AFASToken(f"<token><version>1</version><data>{text.upper()}</data></token>")
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if _XML.fullmatch(decoded):
        return AFASToken(decoded.strip())
    raise AFASConfigError(
        "Setting 'token' is not an AFAS token: expected the XML "
        "'<token><version>1</version><data>…</data></token>', only its 64-character data "
        "value, or the base64 of that XML (the value is not shown here because it is secret)."
    )
