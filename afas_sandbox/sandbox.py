"""The sandbox's core: ``AFASSandbox.handle(request) -> SimResponse``, free of any HTTP server.

Routing is case-insensitive, as AFAS's documents and clients mix ``/metainfo`` and
``/MetaInfo`` (afas-rest-api.md section 1). Order of checks: query-string length (404), token
(401/403/500), App Connector rights, scripted faults, then the endpoint itself. Messages come
in the request's language (``Accept-Language``, else the environment's: Dutch), and what AFAS
leaves undocumented follows ``self.quirks`` (quirks.py).
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from afas_sandbox.auth import AuthFailure, SandboxToken, authenticate
from afas_sandbox.clock import Clock, SystemClock, local_stamp
from afas_sandbox.datasets import Dataset
from afas_sandbox.fault_responses import DiscardedWrites, fault_response
from afas_sandbox.faults import FaultPlan, LatencyModel
from afas_sandbox.file_connectors import FILE_CONNECTORS, FileConnectors
from afas_sandbox.filters import FilterSyntaxError, parse_compact, parse_json
from afas_sandbox.messages import language_of, message, translated
from afas_sandbox.query import (
    INT64_MAX,
    QueryError,
    compile_page,
    parse_order,
    parse_paging,
    row_json_expression,
    rowid_range_sql,
    whole_number,
)
from afas_sandbox.quirks import Quirks, filter_with_z, memo_as_blob
from afas_sandbox.responses import (
    SimResponse,
    afas_error,
    empty,
    json_response,
    not_authorized,
    not_found,
)
from afas_sandbox.store import Store
from afas_sandbox.updates.engine import run_delete, run_write

PREFIX = "/profitrestservices"
MAX_QUERY_CHARS = 2049  # from '?' on (afas-rest-api.md section 3.2)
PROFIT_VERSION = "22.22.5"
ENV_ID = "O12345AA"


@dataclass(slots=True)
class SimRequest:
    """An HTTP request as the core sees it."""

    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote_addr: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class AFASSandbox:
    """One AFAS Profit environment: dataset, data, faults, latency and clock."""

    def __init__(
        self,
        dataset: Dataset,
        store: Store,
        *,
        faults: FaultPlan | None = None,
        latency: LatencyModel | None = None,
        clock: Clock | None = None,
        quirks: Quirks | None = None,
        files: FileConnectors | None = None,
    ) -> None:
        self.dataset = dataset
        self.files = files or FileConnectors()
        self.quirks = quirks or Quirks()
        self.store = store
        self.faults = faults or FaultPlan()
        self.latency = latency or LatencyModel()
        self.clock: Clock = clock or SystemClock()
        self.tokens: dict[str, SandboxToken] = {t.data: t for t in dataset.tokens}
        self._rng = random.Random()
        self._rng_lock = threading.Lock()

    def handle(self, request: SimRequest) -> SimResponse:
        path = request.path.rstrip("/") or "/"
        if not path.lower().startswith(PREFIX):
            return not_found()
        if request.query_string and len(request.query_string) + 1 > MAX_QUERY_CHARS:
            return not_found()
        segments = [s for s in path[len(PREFIX) :].split("/") if s]
        if not segments:
            return not_found()
        token = authenticate(request.header("Authorization"), self.tokens)
        if token is AuthFailure.PLAIN_TEXT:
            return afas_error(message("plain_text_token", self._language(request)))
        if isinstance(token, AuthFailure):
            return empty(401)
        if token.app.allowed_ips is not None and request.remote_addr not in token.app.allowed_ips:
            return empty(403)
        connector = self._connector_of(segments)
        before = self.faults.pick(request.method, connector, "before")
        # Slow and truncated answers carry the real response, so they apply after handling.
        if before is not None and before.kind not in ("slow", "truncate"):
            return fault_response(before, None)
        after = self.faults.pick(request.method, connector, "after")
        # An answer that says AFAS committed nothing (500 with its body, 503, 4xx) must leave
        # no trace of a write: the write runs, then rolls back (table in faults.py).
        store = self.store if after is None or after.keeps_write else DiscardedWrites(self.store)
        response = self._route(request, segments, token, store)
        response.delay_seconds += self.latency.seconds(response.rows, response.skipped)
        for fault in (before, after):
            if fault is not None:
                response = fault_response(fault, response)
        return response

    @staticmethod
    def _connector_of(segments: list[str]) -> str | None:
        head = segments[0].lower()
        if head == "connectors" and len(segments) >= 2:
            return segments[1]
        if head == "metainfo" and len(segments) >= 3:
            return segments[2]
        return FILE_CONNECTORS.get(head)  # faults can aim at "FileConnector" etc.

    def _route(
        self, request: SimRequest, segments: list[str], token: SandboxToken, store: Store
    ) -> SimResponse:
        head = segments[0].lower()
        method = request.method.upper()
        language = self._language(request)
        if head == "metainfo" and method == "GET":
            return self._metainfo(segments[1:], token, language)
        if head == "connectors" and len(segments) >= 2:
            if method == "GET" and len(segments) == 2:
                return self._get_connector(segments[1], request.query_string, token, language)
            if method in ("POST", "PUT", "DELETE"):
                return self._update_connector(method, segments[1:], request, token, language, store)
        if head == "profitversion" and method == "GET" and len(segments) == 1:
            return json_response({"version": PROFIT_VERSION})
        if head == "subjectconnector" and method == "GET":
            if not token.app.may_use("SubjectConnector"):
                return self._not_authorized("SubjectConnector", language)
            return self._subject_file(segments[1:], request.query_string)
        if head in FILE_CONNECTORS and method == "GET":
            if not token.app.may_use(FILE_CONNECTORS[head]):
                return self._not_authorized(FILE_CONNECTORS[head], language)
            return self.files.handle(head, segments[1:], request.query_string, store)
        return not_found()

    def _language(self, request: SimRequest) -> str:
        return language_of(request.header("Accept-Language"), self.quirks.language)

    def _not_authorized(self, kind: str, language: str) -> SimResponse:
        """A connector outside the token's App Connector, or one that does not exist."""
        text = message("not_authorized", language, kind=kind)
        return not_authorized(text, self.quirks.unauthorized_connector)

    def _metainfo(self, rest: list[str], token: SandboxToken, language: str) -> SimResponse:
        app = token.app
        if not rest:
            return json_response(
                {
                    "updateConnectors": [
                        {"id": c.id, "description": c.description}
                        for c in self.dataset.update_connectors
                        if app.may_update(c.id)
                    ],
                    "getConnectors": [
                        {"id": c.id, "description": c.description}
                        for c in self.dataset.get_connectors
                        if app.may_get(c.id)
                    ],
                    "info": {
                        "envid": ENV_ID,
                        "appName": app.name,
                        "group": f"AuthorizationGroup 101 ({app.user})",
                        "tokenExpiry": "0",
                    },
                }
            )
        if len(rest) == 2 and rest[0].lower() == "get":
            get_def = self.dataset.get_connector(rest[1])
            if get_def is None or not app.may_get(get_def.id):
                return self._not_authorized("GetConnector", language)
            return self._described(get_def.metainfo())
        if len(rest) == 2 and rest[0].lower() == "update":
            update_def = self.dataset.update_connector(rest[1])
            if update_def is None or not app.may_update(update_def.id):
                return self._not_authorized("UpdateConnector", language)
            return self._described(update_def.metainfo())
        return not_found()

    def _described(self, metainfo: dict[str, Any]) -> SimResponse:
        blob = self.quirks.memo_type == "blob"
        return json_response(memo_as_blob(metainfo) if blob else metainfo)

    def _get_connector(
        self, connector_id: str, query: str, token: SandboxToken, language: str
    ) -> SimResponse:
        definition = self.dataset.get_connector(connector_id)
        if definition is None or not token.app.may_get(definition.id):
            return self._not_authorized("GetConnector", language)
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key.lower(), value)
        try:
            paging = parse_paging(params.get("skip"), params.get("take"))
            if "filterjson" in params:
                where = parse_json(params["filterjson"])
            else:
                where = parse_compact(
                    params.get("filterfieldids"),
                    params.get("filtervalues"),
                    params.get("operatortypes"),
                )
            filtered = filter_with_z(where, definition, self.quirks.filter_z)
            order = parse_order(params.get("orderbyfieldids"))
            if paging.echo_take == 0 and not paging.all_rows:
                if self.quirks.take_zero == "error":
                    return afas_error(message("unexpected", language))
                if self.quirks.take_zero == "no-rows":
                    filtered = None
            if filtered is None:  # no row can match: an empty page
                page = {"skip": paging.echo_skip, "take": paging.echo_take, "rows": []}
                return json_response(page)
            where = filtered
            low, high = self.store.query(rowid_range_sql(definition))[0] if not order else (0, 0)
            with self._rng_lock:
                compiled = compile_page(definition, where, order, paging, self._rng, (low, high))
        except QueryError as exc:
            return afas_error(translated(exc.message, language))
        except FilterSyntaxError:
            return afas_error(message("unexpected", language))
        rows = [r[0] for r in self.store.query(compiled.sql, compiled.params)]
        head = f'{{"skip":{paging.echo_skip},"take":{paging.echo_take},"rows":['
        body = (head + ",".join(rows) + "]}").encode("utf-8")
        return SimResponse(status=200, body=body, rows=len(rows), skipped=paging.skip)

    def _update_connector(
        self,
        method: str,
        rest: list[str],
        request: SimRequest,
        token: SandboxToken,
        language: str,
        store: Store,
    ) -> SimResponse:
        definition = self.dataset.update_connector(rest[0])
        if definition is None or not token.app.may_update(definition.id):
            return self._not_authorized("UpdateConnector", language)
        writer = self.dataset.writers[definition.id]
        stamp = local_stamp(self.clock.now())
        if method == "DELETE":
            return run_delete(
                store,
                definition,
                writer,
                segments=rest[1:],
                stamp=stamp,
                user=token.app.user,
                language=language,
                quirks=self.quirks,
            )
        # POST /connectors/{id}/{Sub} inserts into an existing root (afas-rest-api.md 6.1).
        if len(rest) > 2 or (len(rest) == 2 and method != "POST"):
            return not_found()
        return run_write(
            store,
            definition,
            writer,
            verb=method,
            body=request.body,
            stamp=stamp,
            user=token.app.user,
            language=language,
            quirks=self.quirks,
            sub_object=rest[1] if len(rest) == 2 else None,
        )

    def _subject_file(self, rest: list[str], query: str) -> SimResponse:
        params = {k.lower(): v for k, v in parse_qsl(query)}
        if len(rest) == 2:
            subject_text, file_id = rest
        else:
            subject_text, file_id = params.get("subjectid", ""), params.get("fileid", "")
        # A number beyond 64 bits (or in other scripts' digits) is no subject id: 404, no crash.
        subject_id = whole_number(subject_text, INT64_MAX) if subject_text.isdigit() else None
        if subject_id is None or not file_id:
            return not_found()
        demo_file = self.files.subject_file(self.store, subject_id, file_id)
        if demo_file is not None:
            return demo_file
        with self.store.transaction() as conn:
            found = self.dataset.subject_files(conn, subject_id, file_id)
        if found is None:
            return not_found()
        filename, mimetype, data = found
        return json_response({"filename": filename, "mimetype": mimetype, "filedata": data})

    def rows(self, connector_id: str) -> list[dict[str, Any]]:
        """Every row of a GetConnector as AFAS shows it (for tests: the expected data)."""
        definition = self.dataset.get_connector(connector_id)
        if definition is None:
            raise ValueError(f"unknown GetConnector {connector_id!r}")
        sql = f"SELECT {row_json_expression(definition)} FROM {definition.source}"
        return [json.loads(r[0]) for r in self.store.query(sql)]
