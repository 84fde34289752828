"""The one door to AFAS: every request of the tap and the target is sent here.

``ProfitClient`` alone sends requests (pages, metainfo, deletes, key snapshots, lookups, writes)
and alone decides what an answer means. One ``RetryPolicy`` and one classification hold for
every call:

=================================================  ====================  =====================
answer                                             GET                   write (POST/PUT/DELETE)
=================================================  ====================  =====================
2xx                                                success               landed
401 / 403, or 500 "not authorised for this app"    definitive (auth)     definitive (auth)
other 4xx                                          definitive            definitive (rejected)
500 with an AFAS error body                        definitive [1]        definitive (rejected) [2]
503 (AFAS: service not available)                  safe to repeat        safe to repeat
connection refused, connect time-out               safe to repeat        safe to repeat [3]
502, 504, other 5xx, 500 without an AFAS body      safe to repeat        unknown
read time-out, reset after sending, truncated      safe to repeat        unknown [4]
=================================================  ====================  =====================

[1] except AFAS's documented temporary messages (time-out, out of memory, locked, deadlock:
    ``errors.TRANSIENT_MESSAGE_PATTERNS``), which a GET may repeat.
[2] AFAS: a 500 on an UpdateConnector means the content was refused and the transaction was not
    committed (help page "API-responses bij connectoren"). Reported, never retried.
[3] The request never reached AFAS: nothing can have been written.
[4] The request may have been processed: ``write`` raises ``AFASOutcomeUnknownError`` and never
    sends it again. The caller verifies with a lookup where one exists, or reports the record as
    "outcome unknown". A 2xx whose body breaks off after the status line is a success.

``download`` (the file connectors) classifies like a GET; in addition a 404 is
``AFASNotFoundError`` (that one file is gone or may not be read), and a body that breaks off,
or that its consumer finds incomplete (``FileBodyError``), is safe to repeat: the file is
fetched again from the start.

"Safe to repeat" answers are retried up to ``RetryPolicy.max_tries`` times with exponential
waits (a 503's ``retry_after`` is honoured up to ``max_retry_after_seconds``); each retry is one
WARNING line saying what, attempt n of m, why, and how long it waits. Messages never carry the
token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

import msgspec
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from afas_profit.cursor import PageRequest
from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import (
    AFASAPIError,
    AFASAuthError,
    AFASNotFoundError,
    AFASOutcomeUnknownError,
    AFASRejectedError,
    AFASRequestError,
    AFASResponseInfo,
    AFASServerError,
    classify_response,
    parse_error_body,
)
from afas_profit.file_decoder import FileBodyError
from afas_profit.filters import MAX_QUERY_CHARS, query_length
from afas_profit.messages import connector_refused_message, failure_message
from afas_profit.metainfo import (
    EnvironmentInfo,
    GetConnectorInfo,
    parse_environment,
    parse_get_connector,
)

Row = dict[str, Any]
DEFAULT_PARALLEL_REQUESTS = 4  # AFAS: at most 8 parallel calls per environment, "up to 5" advised
MAX_PARALLEL_REQUESTS = 8
CONNECTION_POOL_SIZE = 16  # above AFAS's 8 parallel calls, so no request waits for a socket
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
DOWNLOAD_CHUNK_BYTES = 1 << 16
MAX_ERROR_BODY_BYTES = 1 << 16  # an error answer is read this far, never whole
T = TypeVar("T")
LOGGER = logging.getLogger("afas_profit.client")
_JSON = msgspec.json.Decoder(float_hook=Decimal)  # numbers with decimals as Decimal
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long answers that are safe to repeat are retried."""

    max_tries: int = 6
    base_wait_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after_seconds))
        return float(min(self.base_wait_seconds * 2 ** (attempt - 1), self.max_wait_seconds))


class Meaning(str, Enum):
    """What an answer (or the lack of one) means for the request that got it."""

    SUCCESS = "success"
    DEFINITIVE = "definitive"
    SAFE_TO_REPEAT = "safe to repeat"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """A write AFAS accepted: its status and the ``results`` it returned (if any)."""

    status: int
    results: Any


def write_meaning(status: int, body: bytes | None) -> Meaning:
    """The meaning of an UpdateConnector answer (see the table in the module docstring)."""
    if status < 300:
        return Meaning.SUCCESS
    if status == 503 or status in (408, 429):
        return Meaning.SAFE_TO_REPEAT
    if status < 500:
        return Meaning.DEFINITIVE
    if status == 500 and parse_error_body(status, body).external_message:
        return Meaning.DEFINITIVE
    return Meaning.UNKNOWN


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably did not reach the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (NewConnectionError, ConnectionRefusedError)):
            return True
        inner = getattr(cause, "reason", None)
        if isinstance(inner, BaseException):
            cause = inner
            continue
        nested = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        cause = nested or cause.__cause__ or cause.__context__
    return False


class _PageDocument(msgspec.Struct):
    rows: list[msgspec.Raw] | None = None


_PAGE = msgspec.json.Decoder(_PageDocument)


@dataclass(frozen=True, slots=True)
class Page:
    """A GetConnector page as AFAS sent it: each row's JSON text (views into the body, about a
    third of the size of the decoded rows), decoded one at a time by ``decode_row``. A reader
    that holds pages a while holds them like this."""

    raw_rows: list[msgspec.Raw]


def decode_row(raw: msgspec.Raw) -> Row:
    """One row of a ``Page``, as ``get_rows`` decodes it (numbers with decimals as Decimal)."""
    row = _JSON.decode(raw)
    if not isinstance(row, dict):
        raise _not_an_object(raw)
    return row


def _not_an_object(raw: msgspec.Raw) -> AFASServerError:
    return AFASServerError(f"A GetConnector row is not a JSON object: {bytes(raw)[:80]!r}")


class FieldReader:
    """One field of a ``Page``'s rows, read without decoding the rest of the row (about a
    fifth of ``decode_row``'s time): what a reader needs of rows it holds before emitting."""

    def __init__(self, field_id: str) -> None:
        one_field = msgspec.defstruct(
            "OneField", [("value", Any, None)], rename={"value": field_id}
        )
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
            one_field, float_hook=Decimal
        )

    def __call__(self, raw: msgspec.Raw) -> Any:
        """The field's value (None when the row does not have it)."""
        try:
            return self._decoder.decode(raw).value
        except msgspec.ValidationError:
            raise _not_an_object(raw) from None


class ProfitClient:
    """Requests against one AFAS environment, classified and retried in one place."""

    def __init__(
        self,
        environment: ProfitEnvironment,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        logger: logging.Logger | None = None,
        max_in_flight: int = MAX_PARALLEL_REQUESTS,
    ) -> None:
        """``max_in_flight`` bounds the requests in flight through this client, all threads."""
        self.environment = environment
        self._in_flight = threading.BoundedSemaphore(max(1, max_in_flight))
        self.session = session or _new_session()
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.logger = logger or LOGGER
        # The quickest GET answer so far (sent to body read), about AFAS's latency per request.
        self.quickest_answer: float | None = None

    def __repr__(self) -> str:
        return f"ProfitClient(base_url={self.environment.base_url!r})"

    def _answered_in(self, seconds: float) -> None:
        if self.quickest_answer is None or seconds < self.quickest_answer:
            self.quickest_answer = seconds

    def close(self) -> None:
        self.session.close()

    # -- reading -----------------------------------------------------------------------------

    def get_json(self, path: str, what: str, params: dict[str, str | int] | None = None) -> Any:
        """GET ``path`` (relative to the base URL) as JSON, numbers with decimals as Decimal.

        ``what`` names the call in log lines and error messages.
        """
        return self._get_document(path, what, params, decode_json)

    def _get_document(
        self,
        path: str,
        what: str,
        params: dict[str, str | int] | None,
        decode: Callable[[bytes], T],
    ) -> T:
        """GET ``path`` and ``decode`` the answer (a ``ValueError``: not JSON, retried)."""
        url = self.environment.base_url + path
        headers = self.environment.headers()
        for attempt in range(1, self.retry.max_tries + 1):
            try:
                with self._in_flight:
                    started = time.monotonic()
                    response = self.session.get(
                        url,
                        params=params,
                        headers=headers,
                        timeout=self.environment.timeout_seconds,
                        stream=True,
                    )
                    body = _read_whole(response)
                    self._answered_in(time.monotonic() - started)
            except requests.RequestException as exc:
                self._retry_or_raise(what, attempt, _transport_reason(exc), None)
                continue
            error = classify_response(response.status_code, body)
            if error is None:
                try:
                    return decode(body)
                except ValueError:
                    reason = "the answer is not JSON (truncated?)"
                    self._retry_or_raise(what, attempt, reason, None)
                    continue
            self._refused_get(what, attempt, response.status_code, body)
        raise AFASAPIError(f"{what} failed")  # pragma: no cover - the loop returns or raises

    def download(
        self,
        path: str,
        what: str,
        consume: Callable[[Iterator[bytes]], T],
        params: Mapping[str, str | int] | None = None,
    ) -> T:
        """GET a file answer and hand its body, in chunks as they arrive, to ``consume``.

        Raises ``AFASNotFoundError`` on a 404, and otherwise as ``get_json``. When the body
        breaks off, or ``consume`` raises ``FileBodyError``, the file is fetched again and
        ``consume`` is called again from the start: it must begin afresh each call. The
        request counts as in flight until ``consume`` returns.
        """
        url = self.environment.base_url + path
        headers = self.environment.headers()
        for attempt in range(1, self.retry.max_tries + 1):
            try:
                with self._in_flight:
                    response = self.session.get(
                        url,
                        params=dict(params) if params else None,
                        headers=headers,
                        timeout=self.environment.timeout_seconds,
                        stream=True,
                    )
                    with response:
                        if response.status_code < 300:
                            return consume(response.iter_content(DOWNLOAD_CHUNK_BYTES))
                        body = _read_start(response)
            except requests.RequestException as exc:
                self._retry_or_raise(what, attempt, _transport_reason(exc), None)
                continue
            except FileBodyError as exc:
                self._retry_or_raise(what, attempt, f"the answer is incomplete: {exc}", None)
                continue
            status = response.status_code
            if status == 404:
                raise AFASNotFoundError(
                    f"{what}: AFAS answered 404: the file does not exist (any more), or the "
                    "token's user may not read it.",
                    parse_error_body(status, body),
                )
            self._refused_get(what, attempt, status, body)
        raise AFASAPIError(f"{what} failed")  # pragma: no cover - the loop returns or raises

    def get_rows(self, connector_id: str, request: PageRequest) -> list[Row]:
        """One page of a GetConnector."""
        what, params = self._page_request(connector_id, request)
        document = self._get_document(f"/connectors/{connector_id}", what, params, decode_json)
        rows = document.get("rows") if isinstance(document, dict) else None
        if not isinstance(rows, list):
            raise AFASServerError(f"{what} answered without a 'rows' list")
        return rows

    def get_page(self, connector_id: str, request: PageRequest) -> Page:
        """One page of a GetConnector, its rows not decoded yet (see ``Page``)."""
        what, params = self._page_request(connector_id, request)
        document = self._get_document(f"/connectors/{connector_id}", what, params, _decode_page)
        if document is None or document.rows is None:
            raise AFASServerError(f"{what} answered without a 'rows' list")
        return Page(document.rows)

    def _page_request(
        self, connector_id: str, request: PageRequest
    ) -> tuple[str, dict[str, str | int]]:
        """The page's name in log lines and errors, and its query parameters; refuses a query
        string AFAS cannot take."""
        params = request.params()
        length = query_length(params)
        if length > MAX_QUERY_CHARS:
            raise AFASRequestError(
                f"GetConnector {connector_id!r}: the query string would be {length} characters, "
                f"over AFAS's limit of {MAX_QUERY_CHARS} (AFAS answers 404). Shorten the "
                "'filters' setting for this connector."
            )
        what = f"GetConnector {connector_id!r} at {request.describe()}"
        self.logger.debug("%s", what)
        return what, params

    def environment_info(self) -> EnvironmentInfo:
        return parse_environment(self.get_json("/metainfo", "GET /metainfo"))

    def get_connector_info(self, connector_id: str) -> GetConnectorInfo:
        document = self._connector_metainfo("GetConnector", connector_id)
        return parse_get_connector(connector_id, document)

    def update_connector_metainfo(self, connector_id: str, setting: str = "") -> Any:
        """``/metainfo/update/{id}`` as JSON (``setting``: where the id was configured)."""
        return self._connector_metainfo("UpdateConnector", connector_id, setting)

    def _connector_metainfo(self, kind: str, connector_id: str, setting: str = "") -> Any:
        """A connector's metainfo; when AFAS refuses it (401, or 500 "not authorized"), the
        AFASAuthError names the connector and what to check (403 keeps its IP advice)."""
        path = f"/metainfo/{'get' if kind == 'GetConnector' else 'update'}/{connector_id}"
        what = f"{kind} {connector_id!r} metainfo (GET {path})"
        try:
            return self.get_json(path, what)
        except AFASAuthError as exc:
            if exc.info is not None and exc.info.status == 403:
                raise
            reason = connector_refused_message(
                kind, connector_id, exc.info, self.environment.base_url, setting
            )
            raise AFASAuthError(f"{what} failed: {reason}", exc.info) from None

    # -- writing -----------------------------------------------------------------------------

    def write(self, method: str, path: str, body: Any | None, what: str) -> WriteResult:
        """Send one UpdateConnector write.

        Returns the accepted answer. Raises ``AFASAuthError`` or ``AFASRejectedError`` when AFAS
        refused it (nothing written), ``AFASOutcomeUnknownError`` when it may or may not have
        been written (never sent again here), and ``AFASServerError`` when AFAS stayed
        unavailable through every try (nothing written).
        """
        if method not in WRITE_METHODS:
            raise ValueError(f"not a write method: {method}")
        headers = {**self.environment.headers(), "Content-Type": "application/json;charset=utf-8"}
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        url = self.environment.base_url + path
        for attempt in range(1, self.retry.max_tries + 1):
            try:
                with self._in_flight:
                    response = self.session.request(
                        method,
                        url,
                        data=data,
                        headers=headers,
                        timeout=self.environment.timeout_seconds,
                        stream=True,
                    )
                    content = _read_body(response)
            except requests.RequestException as exc:
                reason = _transport_reason(exc)
                if not never_sent(exc):
                    raise AFASOutcomeUnknownError(
                        f"{what}: no answer after sending ({reason}); it may or may not have "
                        "been written."
                    ) from None
                self._retry_or_raise(what, attempt, reason, None)
                continue
            status = response.status_code
            if isinstance(content, requests.RequestException):
                if status < 300:
                    return WriteResult(status, None)  # accepted; the keys were cut off
                raise AFASOutcomeUnknownError(
                    f"{what}: HTTP {status} and then {_transport_reason(content)}; it may or may "
                    "not have been written."
                )
            meaning = write_meaning(status, content)
            if meaning is Meaning.SUCCESS:
                return WriteResult(status, _results(content))
            info = parse_error_body(status, content)
            error = classify_response(status, content) or AFASServerError
            message = failure_message(what, info, error, self.environment.base_url)
            if meaning is Meaning.DEFINITIVE:
                if issubclass(error, AFASAuthError):
                    raise AFASAuthError(message, info)
                raise AFASRejectedError(message, info)
            if meaning is Meaning.UNKNOWN:
                raise AFASOutcomeUnknownError(
                    f"{what}: {_status_reason(info)} without an AFAS error body; it may or may "
                    "not have been written.",
                    info,
                )
            self._retry_or_raise(what, attempt, _status_reason(info), info, message)
        raise AFASServerError(f"{what} failed")  # pragma: no cover - the loop returns or raises

    # -- retries -----------------------------------------------------------------------------

    def _refused_get(self, what: str, attempt: int, status: int, body: bytes | None) -> None:
        """A GET answered with an error: raise it when definitive, else wait for the retry."""
        info = parse_error_body(status, body)
        error = classify_response(status, body) or AFASServerError
        message = failure_message(what, info, error, self.environment.base_url)
        if not issubclass(error, AFASServerError):
            raise error(message, info)
        self._retry_or_raise(what, attempt, _status_reason(info), info, message)

    def _retry_or_raise(
        self,
        what: str,
        attempt: int,
        reason: str,
        info: AFASResponseInfo | None,
        message: str | None = None,
    ) -> None:
        """Wait before the next attempt, or raise when this was the last one."""
        tries = self.retry.max_tries
        if attempt >= tries:
            raise AFASServerError(
                message
                or f"{what} failed after {attempt} attempts: {reason}. Check that "
                f"{self.environment.base_url} is reachable, then run again.",
                info,
            )
        wait = self.retry.wait(attempt, info.retry_after_seconds if info else None)
        self.logger.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.1f s",
            what,
            attempt,
            tries,
            reason,
            wait,
        )
        self.sleep(wait)


def _read_body(response: requests.Response) -> bytes | requests.RequestException:
    """The whole body, or the error that cut it off (the status line did arrive)."""
    with response:
        try:
            return response.content
        except requests.RequestException as exc:
            return exc


def _read_start(response: requests.Response) -> bytes:
    """The first ``MAX_ERROR_BODY_BYTES`` of an (error) answer's body."""
    start = bytearray()
    for chunk in response.iter_content(DOWNLOAD_CHUNK_BYTES):
        start.extend(chunk)
        if len(start) >= MAX_ERROR_BODY_BYTES:
            break
    return bytes(start[:MAX_ERROR_BODY_BYTES])


def _new_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=CONNECTION_POOL_SIZE, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _read_whole(response: requests.Response) -> bytes:
    """A GET's whole body in one read: ``response.content`` joins 10 KiB chunks, so a page of
    JSON is held twice while it arrives. urllib3's errors are raised as requests raises them;
    the connection goes back to the pool once the body is read, and is closed on an error."""
    try:
        return bytes(response.raw.read(decode_content=True))
    except Exception as exc:
        response.close()
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            raise requests.ReadTimeout(exc, response=response) from exc
        if isinstance(exc, urllib3.exceptions.DecodeError):
            raise requests.exceptions.ContentDecodingError(exc, response=response) from exc
        if isinstance(exc, urllib3.exceptions.SSLError):
            raise requests.exceptions.SSLError(exc, response=response) from exc
        if isinstance(exc, urllib3.exceptions.ProtocolError):  # reset or cut off in the body
            raise requests.exceptions.ChunkedEncodingError(exc, response=response) from exc
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
            raise requests.ConnectionError(exc, response=response) from exc
        raise


def _transport_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connect time-out"
    if isinstance(exc, requests.ReadTimeout):
        return "read time-out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer broke off (truncated)"
    if never_sent(exc):
        return "connection refused"
    if isinstance(exc, requests.ConnectionError):
        return "connection reset or closed"
    return type(exc).__name__


def _status_reason(info: AFASResponseInfo) -> str:
    said = f": {info.external_message}" if info.external_message else ""
    return f"HTTP {info.status}{said}"


def _results(content: bytes) -> Any:
    if not content:
        return None
    try:
        document = json.loads(content)
    except ValueError:
        return None
    return document.get("results", document) if isinstance(document, dict) else document


def decode_json(content: bytes) -> Any:
    """An answer's JSON body (a leading UTF-8 byte order mark is allowed, as ``json.loads``
    allows it); ``ValueError`` when it is not JSON."""
    return _JSON.decode(_without_bom(content))


def _without_bom(content: bytes) -> bytes:
    return content[3:] if content.startswith(UTF8_BOM) else content


def _decode_page(content: bytes) -> _PageDocument | None:
    """A page's rows, each as its JSON text (None: JSON, but not an object with a rows list)."""
    try:
        return _PAGE.decode(_without_bom(content))
    except msgspec.ValidationError:
        return None
