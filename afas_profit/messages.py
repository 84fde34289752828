"""Error messages that say what failed, what AFAS said, and what to do (never the token)."""

from __future__ import annotations

from afas_profit.errors import (
    AFASAPIError,
    AFASAuthError,
    AFASRateLimitError,
    AFASRequestError,
    AFASResponseInfo,
    AFASServerError,
)

ADVICE_401 = (
    "AFAS refused the token (HTTP 401). Check that 'token' is the token of an App Connector user "
    "of this environment ({base_url}): tokens only work in the environment they were made for "
    "(production, test or accept), and a deleted or replaced token stops working."
)
ADVICE_403 = (
    "AFAS refused the request (HTTP 403): the App Connector is restricted to certain IP "
    "addresses. Add this machine's public IP address to the App Connector in Profit."
)
ADVICE_NOT_AUTHORIZED = (
    "Add the connector to the App Connector in Profit (or fix its id), or remove it from the "
    "configuration."
)
ADVICE_REQUEST = "Fix the request or the connector definition; retrying will not help."
ADVICE_SERVER = "Retry later, or give the profitLogReference to your AFAS administrator."
ADVICE_MAINTENANCE = "AFAS is in maintenance or at capacity; retry after the window."


def failure_message(
    what: str, info: AFASResponseInfo, error: type[AFASAPIError], base_url: str
) -> str:
    """``"<what> failed: <status> — AFAS said: '…' (profitLogReference=…). <advice>"``."""
    said = info.quote()
    if error is AFASAuthError and info.status == 401:
        return f"{what} failed: {ADVICE_401.format(base_url=base_url)}"
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
