"""Tokens and App Connectors: who may call which connector.

The header is ``Authorization: AfasToken <base64 of <token><version>1</version><data>…</data>
</token>>`` (afas-rest-api.md section 2). Each token belongs to an App Connector that lists the
Get- and UpdateConnectors it may use, the other connectors it offers (``SubjectConnector``, and
the file, image and report connectors), and may be restricted to client IP addresses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from enum import Enum

_TOKEN_XML = re.compile(
    r"\s*<token>\s*<version>1</version>\s*<data>([0-9A-Fa-f]{64})</data>\s*</token>\s*", re.S
)


@dataclass(frozen=True, slots=True)
class AppConnector:
    """An App Connector: its name, the connectors it offers (``None`` = all) and allowed IPs.

    ``other_connectors`` names the connectors that are neither Get- nor UpdateConnectors:
    ``SubjectConnector`` (dossier files, "AppConnectorSubject" in Profit), ``FileConnector``,
    ``ImageConnector`` and ``ReportConnector``.
    """

    name: str
    user: str
    get_connectors: frozenset[str] | None = None
    update_connectors: frozenset[str] | None = None
    allowed_ips: frozenset[str] | None = None
    other_connectors: frozenset[str] | None = None

    def may_get(self, connector_id: str) -> bool:
        return self.get_connectors is None or connector_id in self.get_connectors

    def may_update(self, connector_id: str) -> bool:
        return self.update_connectors is None or connector_id in self.update_connectors

    def may_use(self, connector: str) -> bool:
        """Whether the App Connector offers ``connector`` (e.g. ``"SubjectConnector"``)."""
        return self.other_connectors is None or connector in self.other_connectors


@dataclass(frozen=True, slots=True)
class SandboxToken:
    """A token of the sandbox: a 64-hex data value bound to one App Connector."""

    name: str
    data: str
    app: AppConnector

    @property
    def xml(self) -> str:
        return f"<token><version>1</version><data>{self.data}</data></token>"

    @property
    def header(self) -> str:
        """The complete ``Authorization`` header value for this token."""
        return "AfasToken " + base64.b64encode(self.xml.encode("ascii")).decode("ascii")

    def __repr__(self) -> str:
        return f"SandboxToken(name={self.name!r}, app={self.app.name!r}, data=<redacted>)"


def demo_token_data(name: str) -> str:
    """The fixed 64-hex data value of a named demo token (the same for every seed)."""
    return hashlib.sha256(f"afas-sandbox/{name}".encode()).hexdigest().upper()


class AuthFailure(Enum):
    """Why a request's token was refused."""

    MISSING = "missing"
    MALFORMED = "malformed"
    PLAIN_TEXT = "plain_text"
    UNKNOWN = "unknown"


def authenticate(header: str | None, tokens: dict[str, SandboxToken]) -> SandboxToken | AuthFailure:
    """Decode an ``Authorization`` header and find its token (``tokens`` is keyed by data).

    A token sent as plain XML instead of base64 is refused separately: since Profit 6 that is
    an HTTP 500, not a 401 (afas-rest-api.md section 2).
    """
    if not header:
        return AuthFailure.MISSING
    scheme, _, value = header.partition(" ")
    if scheme != "AfasToken" or not value:
        return AuthFailure.MALFORMED
    if value.lstrip().startswith("<"):
        return AuthFailure.PLAIN_TEXT
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return AuthFailure.MALFORMED
    match = _TOKEN_XML.fullmatch(decoded)
    if match is None:
        return AuthFailure.MALFORMED
    token = tokens.get(match.group(1).upper())
    return AuthFailure.UNKNOWN if token is None else token
