"""A small AFAS client for metainfo (discovery) and one-off calls, with retries.

Streams page through GetConnectors with singer-sdk's own request machinery; this client serves
what happens outside a stream. Transient failures (see ``errors.classify_response``) are retried
with exponential backoff, honouring a 503's ``retry_after`` up to ``max_wait_seconds``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from afas_profit.cursor import PageRequest
from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import (
    AFASAPIError,
    AFASAuthError,
    AFASRequestError,
    AFASServerError,
    classify_response,
    parse_error_body,
)
from afas_profit.filters import MAX_QUERY_CHARS, query_length
from afas_profit.messages import failure_message
from afas_profit.metainfo import (
    EnvironmentInfo,
    GetConnectorInfo,
    parse_environment,
    parse_get_connector,
)

TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry transient failures."""

    max_tries: int = 5
    base_wait_seconds: float = 1.0
    max_wait_seconds: float = 120.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_wait_seconds)
        return float(min(self.base_wait_seconds * 2 ** (attempt - 1), self.max_wait_seconds))


class ProfitClient:
    """GET requests against one AFAS environment."""

    def __init__(
        self,
        environment: ProfitEnvironment,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.environment = environment
        self.session = session or requests.Session()
        self.retry = retry or RetryPolicy()
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"ProfitClient(base_url={self.environment.base_url!r})"

    def get_json(self, path: str, what: str, params: dict[str, str | int] | None = None) -> Any:
        """GET ``path`` (relative to the base URL); ``what`` names it in error messages."""
        url = self.environment.base_url + path
        for attempt in range(1, self.retry.max_tries + 1):
            try:
                response = self.session.get(
                    url,
                    params=params,
                    headers=self.environment.headers(),
                    timeout=self.environment.timeout_seconds,
                )
            except TRANSPORT_ERRORS as exc:
                if attempt == self.retry.max_tries:
                    raise AFASServerError(
                        f"{what} failed after {attempt} attempts: {type(exc).__name__}. "
                        f"Check that {self.environment.base_url} is reachable."
                    ) from None
                self.sleep(self.retry.wait(attempt, None))
                continue
            error = classify_response(response.status_code, response.content)
            if error is None:
                try:
                    return json.loads(response.content, parse_float=Decimal)
                except ValueError:
                    raise AFASServerError(f"{what} answered with a body that is not JSON") from None
            info = parse_error_body(response.status_code, response.content)
            if not issubclass(error, AFASServerError) or attempt == self.retry.max_tries:
                raise error(failure_message(what, info, error, self.environment.base_url), info)
            self.sleep(self.retry.wait(attempt, info.retry_after_seconds))
        raise AFASAPIError(f"{what} failed")  # pragma: no cover - the loop always returns/raises

    def get_rows(self, connector_id: str, request: PageRequest) -> list[dict[str, Any]]:
        """One page of a GetConnector (numbers with decimals as ``Decimal``)."""
        params = request.params()
        length = query_length(params)
        if length > MAX_QUERY_CHARS:
            raise AFASRequestError(
                f"GetConnector {connector_id!r}: the query string would be {length} characters, "
                f"over AFAS's limit of {MAX_QUERY_CHARS}."
            )
        what = f"GetConnector {connector_id!r} at {request.describe()}"
        document = self.get_json(f"/connectors/{connector_id}", what, params)
        rows = document.get("rows") if isinstance(document, dict) else None
        if not isinstance(rows, list):
            raise AFASServerError(f"{what} answered without a 'rows' list")
        return rows

    def environment_info(self) -> EnvironmentInfo:
        return parse_environment(self.get_json("/metainfo", "GET /metainfo"))

    def get_connector_info(self, connector_id: str) -> GetConnectorInfo:
        what = f"GetConnector {connector_id!r} metainfo (GET /metainfo/get/{connector_id})"
        try:
            document = self.get_json(f"/metainfo/get/{connector_id}", what)
        except AFASAuthError as exc:
            raise AFASAuthError(
                f"{exc} The GetConnector {connector_id!r} does not exist in this environment or "
                "is not in the token's App Connector.",
                exc.info,
            ) from None
        return parse_get_connector(connector_id, document)
