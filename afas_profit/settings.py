"""The settings tap and target share: environment properties as JSON Schema, and the zone.

Both plugins merge ``ENVIRONMENT_PROPERTIES`` into their ``config_jsonschema``. Secrets carry
``"secret": true`` and ``"writeOnly": true``, the markers singer-sdk and Meltano read. Both
read their ``timezone`` setting with ``zone_from_setting``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from afas_profit.errors import AFASConfigError

ENVIRONMENT_TYPES = ("production", "test", "accept")

ENVIRONMENT_PROPERTIES: dict[str, dict[str, Any]] = {
    "environment_id": {
        "type": ["string", "null"],
        "title": "Environment number",
        "description": (
            "Your AFAS Profit participant/environment number: the 5 digits in "
            "https://12345.rest.afas.online. Not needed when api_url is set."
        ),
    },
    "environment_type": {
        "type": ["string", "null"],
        "enum": [*ENVIRONMENT_TYPES, None],
        "default": "production",
        "title": "Environment type",
        "description": (
            "production (rest.afas.online), test (resttest.afas.online) or accept "
            "(restaccept.afas.online). A token only works in the environment it was made for."
        ),
    },
    "api_url": {
        "type": ["string", "null"],
        "title": "API URL override",
        "description": (
            "Full base URL ending in /ProfitRestServices; overrides environment_id and "
            "environment_type. For afas-sandbox (http://127.0.0.1:8765/ProfitRestServices) "
            "or a proxy."
        ),
    },
    "token": {
        "type": "string",
        "secret": True,
        "writeOnly": True,
        "title": "App Connector token",
        "description": (
            "The token of your App Connector user: the full <token><version>1</version>"
            "<data>…</data></token> XML, only its 64-character data value, or already base64."
        ),
    },
    "integration_id": {
        "type": ["string", "null"],
        "title": "IntegrationId",
        "description": (
            "Sent as the IntegrationId header (for example 12345_678900); mandatory for "
            "certified partner integrations, otherwise optional."
        ),
    },
}

REQUIRED_ENVIRONMENT_SETTINGS = ("token",)
MAX_SHOWN_ZONE_CHARS = 60


def environment_schema() -> dict[str, Any]:
    """A JSON Schema object with the environment settings (a fresh copy each call)."""
    return {
        "type": "object",
        "properties": {name: dict(spec) for name, spec in ENVIRONMENT_PROPERTIES.items()},
        "required": list(REQUIRED_ENVIRONMENT_SETTINGS),
    }


def zone_from_setting(value: Any, default: str) -> ZoneInfo:
    """The ``timezone`` setting as a zone (``default`` when empty); refuses unknown names."""
    name = str(value or default)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= MAX_SHOWN_ZONE_CHARS else name[:MAX_SHOWN_ZONE_CHARS] + "…"
        raise AFASConfigError(
            f"Setting 'timezone' is {shown!r}, not an IANA time zone name: use one like "
            f"{default} (AFAS Online's zone)."
        ) from None
