"""Which AFAS environment to talk to, parsed once from the plugin config.

``ProfitEnvironment.from_config`` derives the base URL from ``environment_id`` and
``environment_type`` (``https://{id}.{rest|resttest|restaccept}.afas.online/ProfitRestServices``,
afas-rest-api.md section 1) unless ``api_url`` overrides it, and validates the token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from afas_profit.errors import AFASConfigError
from afas_profit.token import AFASToken, parse_token

HOSTS = {"production": "rest", "test": "resttest", "accept": "restaccept"}
DEFAULT_TIMEOUT_SECONDS = 300
ACCEPT_LANGUAGES = ("nl-nl", "nl-be", "fr-fr", "de-de", "en-us")
_ENVIRONMENT_ID = re.compile(r"[A-Za-z]?(\d{5,6})[A-Za-z]{0,2}")
# An HTTP header value: visible ASCII, inner spaces allowed (no CR/LF: no header injection).
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


@dataclass(frozen=True, slots=True)
class ProfitEnvironment:
    """Everything needed to call one AFAS environment."""

    base_url: str
    token: AFASToken = field(repr=False)
    integration_id: str | None = None
    accept_language: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProfitEnvironment:
        token_value = config.get("token")
        if token_value is None:
            raise AFASConfigError("Setting 'token' is required: your App Connector token.")
        if not isinstance(token_value, str):
            raise AFASConfigError(
                "Setting 'token' must be a string: your App Connector token (the value is not "
                "shown: it is secret)."
            )
        return cls(
            base_url=base_url_from_config(config),
            token=parse_token(token_value),
            integration_id=_integration_id(config.get("integration_id")),
            accept_language=_accept_language(config.get("accept_language")),
            timeout_seconds=_timeout(config.get("request_timeout")),
        )

    def headers(self) -> dict[str, str]:
        """Headers for every request: auth, JSON, IntegrationId and language when set."""
        headers = {"Authorization": self.token.header, "Accept": "application/json"}
        if self.integration_id:
            headers["IntegrationId"] = self.integration_id
        if self.accept_language:
            headers["Accept-Language"] = self.accept_language
        return headers


def base_url_from_config(config: Mapping[str, Any]) -> str:
    api_url = config.get("api_url")
    if api_url:
        parsed = urlparse(str(api_url))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise AFASConfigError(
                f"Setting 'api_url' ({api_url!r}) is not an http(s) URL; expected for example "
                "https://12345.rest.afas.online/ProfitRestServices."
            )
        return str(api_url).rstrip("/")
    environment_id = config.get("environment_id")
    if not environment_id:
        raise AFASConfigError(
            "Set 'environment_id' (your 5-digit AFAS environment number, as in "
            "https://12345.rest.afas.online) or 'api_url'."
        )
    match = _ENVIRONMENT_ID.fullmatch(str(environment_id).strip())
    if match is None:
        raise AFASConfigError(
            f"Setting 'environment_id' ({environment_id!r}) is not an AFAS environment number: "
            "use the digits of your environment, e.g. 12345 (from O12345AA)."
        )
    kind = config.get("environment_type") or "production"
    if kind not in HOSTS:
        raise AFASConfigError(
            f"Setting 'environment_type' is {kind!r}; use one of: {', '.join(HOSTS)}."
        )
    return f"https://{match.group(1)}.{HOSTS[kind]}.afas.online/ProfitRestServices"


def _integration_id(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)
    if not _HEADER_VALUE.fullmatch(text):
        raise AFASConfigError(
            f"Setting 'integration_id' is {text[:40]!r}: it is sent as the IntegrationId header, "
            "so it must be plain ASCII without line breaks or surrounding spaces (e.g. "
            "12345_678900)."
        )
    return text


def _accept_language(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).lower()
    if text not in ACCEPT_LANGUAGES:
        raise AFASConfigError(
            f"Setting 'accept_language' is {value!r}; AFAS accepts {', '.join(ACCEPT_LANGUAGES)}."
        )
    return text


def _timeout(value: Any) -> float:
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1
    if seconds <= 0:
        raise AFASConfigError("Setting 'request_timeout' must be a positive number of seconds.")
    return seconds
