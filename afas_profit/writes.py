"""UpdateConnector calls (POST / PUT / DELETE) and batched key look-ups through GetConnectors.

Retries cover transient failures only. A request that provably never left (connection
refused, connect time-out) is retried; a POST whose outcome is unknown (read time-out, reset
or truncated answer after sending) raises ``AFASOutcomeUnknownError`` instead of being sent
again: the caller checks whether it landed. PUT and DELETE are safe to repeat.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from afas_profit.client import ProfitClient
from afas_profit.cursor import PageRequest
from afas_profit.errors import (
    AFASAuthError,
    AFASOutcomeUnknownError,
    AFASRejectedError,
    AFASServerError,
    classify_response,
    parse_error_body,
)
from afas_profit.filters import Condition, Op, filter_params, query_length
from afas_profit.messages import failure_message

LOOKUP_QUERY_BUDGET = 1900  # characters, under AFAS's 2049 with room for order/paging


@dataclass(frozen=True, slots=True)
class WriteResult:
    status: int
    results: Any


def _not_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", None)
    return isinstance(inner, NewConnectionError) or isinstance(reason, NewConnectionError)


class ProfitWriter:
    """Writes through UpdateConnectors with the client's environment, session and retry policy."""

    def __init__(self, client: ProfitClient) -> None:
        self.client = client

    def send(self, method: str, path: str, body: Any | None, what: str) -> WriteResult:
        """Send one write; raises AFASRejectedError, AFASAuthError or AFASOutcomeUnknownError."""
        env = self.client.environment
        retry = self.client.retry
        headers = {**env.headers(), "Content-Type": "application/json;charset=utf-8"}
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        for attempt in range(1, retry.max_tries + 1):
            try:
                response = self.client.session.request(
                    method,
                    env.base_url + path,
                    data=data,
                    headers=headers,
                    timeout=env.timeout_seconds,
                )
            except requests.RequestException as exc:
                if method == "POST" and not _not_sent(exc):
                    raise AFASOutcomeUnknownError(
                        f"{what}: no answer after sending ({type(exc).__name__}); the record may "
                        "or may not have been written."
                    ) from None
                if attempt == retry.max_tries:
                    raise AFASServerError(
                        f"{what}: {type(exc).__name__} after {attempt} tries"
                    ) from None
                self.client.sleep(retry.wait(attempt, None))
                continue
            error = classify_response(response.status_code, response.content)
            if error is None:
                return WriteResult(response.status_code, _results(response))
            info = parse_error_body(response.status_code, response.content)
            message = failure_message(what, info, error, env.base_url)
            if issubclass(error, AFASAuthError):
                raise AFASAuthError(message, info)
            if not issubclass(error, AFASServerError):
                raise AFASRejectedError(message, info)
            if attempt == retry.max_tries:
                raise AFASServerError(message, info)
            self.client.sleep(retry.wait(attempt, info.retry_after_seconds))
        raise AFASServerError(f"{what} failed")  # pragma: no cover

    def lookup(
        self, connector: str, field: str, values: Iterable[str], extra: Sequence[Condition] = ()
    ) -> dict[str, list[dict[str, Any]]]:
        """Rows of a GetConnector whose ``field`` equals one of ``values`` (case-insensitive).

        Values are asked for in OR-groups, as many per request as fit in the URL limit.
        """
        found: dict[str, list[dict[str, Any]]] = {}
        # AFAS compares case-insensitively: ask for each key once, whatever its spelling.
        distinct = sorted({str(v).casefold(): str(v) for v in values}.values())
        for chunk in _chunks(field, distinct, extra):
            where = [[Condition(field, Op.EQUAL, v), *extra] for v in chunk]
            # All matches of a bounded set of keys in one request: paging with skip could miss
            # or repeat rows that tie on the lookup field.
            rows = self.client.get_rows(connector, PageRequest(where, (field,), skip=-1, take=-1))
            for row in rows:
                found.setdefault(str(row.get(field)).casefold(), []).append(row)
        return found


def _chunks(field: str, values: list[str], extra: Sequence[Condition]) -> Iterable[list[str]]:
    chunk: list[str] = []
    for value in values:
        trial = [*chunk, value]
        where = [[Condition(field, Op.EQUAL, v), *extra] for v in trial]
        if chunk and query_length(dict(filter_params(where))) > LOOKUP_QUERY_BUDGET:
            yield chunk
            chunk = [value]
        else:
            chunk = trial
    if chunk:
        yield chunk


def _results(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        document = json.loads(response.content)
    except ValueError:
        return None
    return document.get("results", document) if isinstance(document, dict) else document
