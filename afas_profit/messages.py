"""Error messages that say what failed, what AFAS said, and what to do (never the token)."""

from __future__ import annotations

from afas_profit.errors import (
    NOT_AUTHORIZED_PATTERN,
    AFASAPIError,
    AFASAuthError,
    AFASRateLimitError,
    AFASRequestError,
    AFASResponseInfo,
    AFASServerError,
)

ADVICE_401 = (
    "AFAS refused the token (HTTP 401{said}). Check that 'token' is the token of an App Connector "
    "user of this environment ({base_url}): tokens only work in the environment they were made "
    "for (production, test or accept), and a deleted, replaced or expired token stops working. "
    "If other connectors work, this one is not in the token's App Connector: add it there in "
    "Profit, or fix its id."
)
ADVICE_403 = (
    "AFAS refused the request (HTTP 403): the App Connector is restricted to certain IP "
    "addresses. Add this machine's public IP address to the App Connector in Profit."
)
ADVICE_NOT_AUTHORIZED = (
    "Add the connector to the App Connector in Profit (or fix its id), or remove it from the "
    "configuration."
)
# AFAS answers 401 both for a refused token and for a connector the App Connector lacks (help
# page "API-responses bij connectoren"); some environments say "not authorized" with a 500.
CONNECTOR_REFUSED = (
    "{kind} {connector!r} is not available to this token ({said}): it is not in the token's "
    "App Connector, or no {kind} has this id. Add it to the App Connector in Profit, or fix the "
    "id{in_setting}. If every connector fails this way, the token itself is wrong or expired "
    "for {base_url}."
)
ADVICE_REQUEST = "Fix the request or the connector definition; retrying will not help."
ADVICE_SERVER = "Retry later, or give the profitLogReference to your AFAS administrator."
ADVICE_MAINTENANCE = "AFAS is in maintenance or at capacity; retry after the window."


def failure_message(
    what: str, info: AFASResponseInfo, error: type[AFASAPIError], base_url: str
) -> str:
    """``"<what> failed: <status> — AFAS said: '…' (profitLogReference=…). <advice>"``."""
    said = info.quote()
    refused_connector = NOT_AUTHORIZED_PATTERN.search(info.external_message or "") is not None
    if error is AFASAuthError and info.status == 401 and not refused_connector:
        quoted = f"; {said}" if info.external_message else ""
        return f"{what} failed: {ADVICE_401.format(base_url=base_url, said=quoted)}"
    if error is AFASAuthError and info.status == 403:
        return f"{what} failed: {ADVICE_403}"
    if error is AFASAuthError:
        return f"{what} failed: {info.status} — {said}. {ADVICE_NOT_AUTHORIZED}"
    if info.status == 404 and not info.external_message:
        return (
            f"{what} failed: HTTP 404. The URL is wrong (check 'api_url' / 'environment_id') or "
            "the query string is longer than AFAS's 2049 characters (shorten 'filters')."
        )
    if error is AFASRateLimitError:
        return f"{what} failed: {info.status} — {said}. {ADVICE_MAINTENANCE}"
    if error is AFASRequestError:
        return f"{what} failed: {info.status} — {said}. {ADVICE_REQUEST}"
    if error is AFASServerError:
        return f"{what} failed: {info.status} — {said}. {ADVICE_SERVER}"
    return f"{what} failed: {info.status} — {said}."


def connector_refused_message(
    kind: str, connector: str, info: AFASResponseInfo | None, base_url: str, setting: str = ""
) -> str:
    """Why a Get- or UpdateConnector was refused, and what to check (``setting`` names where
    its id was configured, e.g. ``mappings.people.connector``)."""
    said = f"HTTP {info.status}" if info is not None else "refused"
    if info is not None and info.external_message:
        said += f", {info.quote()}"
    return CONNECTOR_REFUSED.format(
        kind=kind,
        connector=connector,
        said=said,
        in_setting=f" in '{setting}'" if setting else "",
        base_url=base_url,
    )
