"""An HTTP server that speaks the Legistar Web API for a :class:`~tracker.demo.model.Portal`.

:class:`LegistarApp` turns a request line into a :class:`Reply` (routing, OData options, tokens, faults,
the request log) without any HTTP; :class:`LegistarPortalServer` serves it with the standard library's
threaded HTTP server (HTTP/1.1 keep-alive, ``Content-Length`` on every answer, Nagle disabled), one thread
per connection, in the background.

Faults (:meth:`LegistarApp.add_fault`) reproduce the ways real portals fail, for crawler tests:

``"500"``
    HTTP 500 with the Web API's JSON error body (``Message``, ``ExceptionMessage``...).
``"503"``
    HTTP 503 with IIS's HTML "Service Unavailable" page (and ``Retry-After`` when given).
``"429"``
    HTTP 429 with a ``Retry-After`` header (seconds; ``retry_after``, default 1) and a JSON ``Message``.
``"html200"``
    HTTP 200, ``text/html``: an ASP.NET "Server Error in '/' Application." page.
``"truncated"``
    HTTP 200, JSON content type, the body cut in the middle (``Content-Length`` matches what is sent).
``"disconnect"``
    The full ``Content-Length`` is announced, half the body is sent, then the connection is closed.
``"hang"``
    Waits ``delay`` seconds (default 30) before answering normally: triggers client timeouts.
``"empty"``
    HTTP 200 ``[]``.
``"ignore-skip"``
    The answer as if no ``$skip`` was asked: a listing's first page, again and again.
``"hostile404"``
    HTTP 404 whose JSON ``Message`` carries a NUL, a terminal escape sequence and a C1 control (text a
    careless portal may echo back: it must never reach a terminal, a log, a mail or the database raw).
``"garbage-date"``
    The normal answer, but every matter in it has ``MatterIntroDate`` set to ``"2024-13-45T00:00:00"``
    (every event its ``EventDate``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from tracker.demo import odata
from tracker.demo.model import ClientData, Portal
from tracker.demo.wire import (
    BODY,
    EVENT,
    EVENT_ITEM,
    MATTER,
    MATTER_ATTACHMENT,
    MATTER_HISTORY,
    MATTER_SPONSOR,
    MATTER_STATUS,
    MATTER_TYPE,
    OFFICE_RECORD,
    PERSON,
    VOTE,
    Entity,
)
from tracker.safe_output import ascii_digits

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
PAGE_CAP = 1000  # Legistar returns at most 1000 rows per request
MAX_QUERY_STRING = 2048  # IIS request filtering default (maxQueryString)
GARBAGE_DATE = "2024-13-45T00:00:00"
FAULT_KINDS = frozenset(
    {
        "500",
        "503",
        "429",
        "html200",
        "truncated",
        "disconnect",
        "hang",
        "empty",
        "garbage-date",
        "hostile404",
        "ignore-skip",
    }
)

Rows = Callable[[ClientData], list[dict[str, Any]]]
SubRows = Callable[[ClientData, int], list[dict[str, Any]]]

# Top-level collections: /v1/{client}/{name}[/{id}]
_COLLECTIONS: dict[str, tuple[Entity, Rows]] = {
    "bodies": (BODY, ClientData.body_rows),
    "matterstatuses": (MATTER_STATUS, ClientData.status_rows),
    "mattertypes": (MATTER_TYPE, ClientData.type_rows),
    "persons": (PERSON, ClientData.person_rows),
    "officerecords": (OFFICE_RECORD, ClientData.office_record_rows),
}
# Collections under a matter: /v1/{client}/matters/{id}/{name}
_MATTER_COLLECTIONS: dict[str, tuple[Entity, SubRows]] = {
    "histories": (MATTER_HISTORY, ClientData.history_rows),
    "sponsors": (MATTER_SPONSOR, ClientData.sponsor_rows),
    "attachments": (MATTER_ATTACHMENT, ClientData.attachment_rows),
}

_ERROR_500 = {
    "Message": "An error has occurred.",
    "ExceptionMessage": "Execution Timeout Expired.  The timeout period elapsed prior to completion of the "
    "operation or the server is not responding.",
    "ExceptionType": "System.Data.SqlClient.SqlException",
    "StackTrace": None,
}

_IIS_503 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n"
    "</BODY></HTML>\r\n"
)

_ASPNET_ERROR = """<!DOCTYPE html>
<html>
    <head>
        <title>Runtime Error</title>
        <meta name="viewport" content="width=device-width" />
    </head>
    <body bgcolor="white">
            <span><H1>Server Error in '/' Application.<hr width=100% size=1 color=silver></H1>
            <h2> <i>Runtime Error</i> </h2></span>
            <font face="Arial, Helvetica, Geneva, SunSans-Regular, sans-serif ">
            <b> Description: </b>An application error occurred on the server. The current custom error
            settings for this application prevent the details of the application error from being viewed
            remotely (for security reasons).<br><br>
            </font>
    </body>
</html>
"""

_IIS_QUERY_TOO_LONG = (
    "<!DOCTYPE html><html><head><title>IIS 10.0 Detailed Error - 404.15 - Not Found</title></head><body>"
    "<h3>HTTP Error 404.15 - Not Found</h3><h4>The request filtering module is configured to deny a request "
    "where the query string is too long.</h4></body></html>"
)


class _File(NamedTuple):
    """A file to answer with as it is (an attachment's PDF), not as JSON."""

    body: bytes
    content_type: str


class LoggedRequest(NamedTuple):
    """One request as the server saw it: the decoded path and the decoded query parameters."""

    path: str
    query: dict[str, str]


@dataclass
class Fault:
    """A fault for the next ``times`` requests whose path matches ``path_regex`` (``times=None``: forever)."""

    path_regex: str
    kind: str
    times: int | None = 1
    retry_after: float | None = None
    delay: float | None = None
    query_regex: str | None = None
    hits: int = 0
    _path: re.Pattern[str] = field(init=False, repr=False)
    _query: re.Pattern[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        self._path = re.compile(self.path_regex, re.IGNORECASE)
        self._query = re.compile(self.query_regex) if self.query_regex else None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, path: str, query_string: str) -> bool:
        if self.exhausted or not self._path.search(path):
            return False
        return self._query is None or bool(self._query.search(query_string))


@dataclass
class Reply:
    """What to send: status, body, content type, headers; ``cut_at`` sends only a prefix, then closes."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    cut_at: int | None = None


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _message(status: int, message: str) -> tuple[int, Any]:
    return status, {"Message": message}


class LegistarApp:
    """The Legistar Web API over a portal, independent of HTTP. Thread-safe."""

    def __init__(
        self,
        portal: Portal,
        *,
        tokens: dict[str, str] | None = None,
        latency: float = 0.0,
        page_cap: int = PAGE_CAP,
        max_filter_nodes: int = odata.DEFAULT_MAX_NODES,
        max_query_string: int = MAX_QUERY_STRING,
    ) -> None:
        self.portal = portal
        self.tokens = {name.lower(): token for name, token in (tokens or {}).items()}
        self.latency = latency
        self.page_cap = page_cap
        self.max_filter_nodes = max_filter_nodes
        self.max_query_string = max_query_string
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._requests: list[LoggedRequest] = []
        self._targets: list[str] = []  # the same requests' targets as they came on the wire
        self._count = 0
        self._in_flight = 0
        self._max_in_flight = 0

    # ---------------------------------------------------------------- request log and faults

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return self._count

    @property
    def targets(self) -> list[str]:
        """The logged requests' targets (path and query) exactly as they came on the wire, oldest first."""
        with self._lock:
            return list(self._targets)

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._targets.clear()
            self._count = 0

    def add_fault(
        self,
        path_regex: str,
        kind: str,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float | None = None,
        *,
        query_regex: str | None = None,
    ) -> Fault:
        """Inject ``kind`` into the next ``times`` requests whose path matches (``re.search``, any case).

        ``query_regex`` narrows it to requests whose decoded query string matches, e.g. ``r"\\$skip=1000"``.
        """
        fault = Fault(path_regex, kind, times, retry_after, delay, query_regex)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str, query_string: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path, query_string):
                    fault.hits += 1
                    return fault
        return None

    # ---------------------------------------------------------------- requests

    @property
    def max_in_flight(self) -> int:
        """The most requests this server has been answering at the same time."""
        with self._lock:
            return self._max_in_flight

    def handle(self, method: str, target: str, wait: Callable[[float], object] | None = None) -> Reply:
        """Answer one request. ``target`` is the request target (path and query); ``wait`` sleeps."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            return self._answer(method, target, wait)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, method: str, target: str, wait: Callable[[float], object] | None) -> Reply:
        sleep = wait or threading.Event().wait
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self._requests.append(LoggedRequest(path, query))
            self._targets.append(target)
            self._count += 1
        if self.latency > 0:
            sleep(self.latency)
        if len(parts.query) > self.max_query_string:
            return Reply(404, _IIS_QUERY_TOO_LONG.encode(), HTML_TYPE)
        fault = self._take_fault(path, unquote(parts.query.replace("+", " ")))
        if fault is not None:
            early = self._early_fault(fault, sleep)
            if early is not None:
                return early
        if method != "GET":
            status, payload = _message(
                405, f"The requested resource does not support http method '{method}'."
            )
        else:
            if fault is not None and fault.kind == "ignore-skip":
                query.pop("$skip", None)  # every page of a listing is its first
            status, payload = self._dispatch(path, query, target)
        if isinstance(payload, _File):  # an attachment's PDF (faults that alter the answer still apply)
            body, content_type = payload.body, payload.content_type
            if fault is not None and fault.kind == "truncated":
                return Reply(status, body[: max(1, len(body) // 2)], content_type)
            if fault is not None and fault.kind == "disconnect":
                return Reply(status, body, content_type, cut_at=max(1, len(body) // 2))
            return Reply(status, body, content_type)
        if fault is not None and fault.kind == "garbage-date":
            payload = _garble(payload)
        body = _json(payload)
        if fault is not None and fault.kind == "truncated":
            return Reply(status, body[: max(1, len(body) // 2)])
        if fault is not None and fault.kind == "disconnect":
            return Reply(status, body, cut_at=max(1, len(body) // 2))
        return Reply(status, body)

    def _early_fault(self, fault: Fault, sleep: Callable[[float], object]) -> Reply | None:
        """Faults that replace the answer (None for those that alter or delay the normal answer)."""
        retry = () if fault.retry_after is None else (("Retry-After", str(math.ceil(fault.retry_after))),)
        if fault.kind == "500":
            return Reply(500, _json(_ERROR_500))
        if fault.kind == "503":
            return Reply(503, _IIS_503.encode("ascii"), "text/html; charset=us-ascii", retry)
        if fault.kind == "429":
            seconds = str(math.ceil(fault.retry_after if fault.retry_after is not None else 1))
            body = _json({"Message": "Too many requests. Please retry later."})
            return Reply(429, body, headers=(("Retry-After", seconds),))
        if fault.kind == "html200":
            return Reply(200, _ASPNET_ERROR.encode(), HTML_TYPE)
        if fault.kind == "empty":
            return Reply(200, b"[]")
        if fault.kind == "hostile404":
            return Reply(
                404, _json({"Message": "gone \u0000 \u001b]0;PWNED\u0007\u001b[2J \u009b31m <b>x</b>"})
            )
        if fault.kind == "hang":
            sleep(30.0 if fault.delay is None else fault.delay)
        return None

    def _dispatch(self, path: str, query: dict[str, str], target: str) -> tuple[int, Any]:
        segments = [s for s in path.split("/") if s]
        not_found = _message(404, f"No HTTP resource was found that matches the request URI '{target}'.")
        if len(segments) == 4 and segments[0] == "files" and segments[2] == "attachments":
            client = self.portal.get(segments[1])
            pdf = client.attachment_pdf(segments[3]) if client is not None else None
            return (200, _File(pdf, "application/pdf")) if pdf is not None else not_found
        if len(segments) == 6 and segments[0] == "files" and segments[2] == "meetings":
            client = self.portal.get(segments[1])
            pdf = client.meeting_pdf(segments[5]) if client is not None else None
            return (200, _File(pdf, "application/pdf")) if pdf is not None else not_found
        if len(segments) < 3 or segments[0].lower() != "v1":
            return not_found
        client = self.portal.get(segments[1])
        if client is None:
            return _message(
                404, f"LegistarConnectionString setting is not set up in InSite for client: {segments[1]}"
            )
        expected = self.tokens.get(client.name)
        if expected is not None:
            given = next((v for k, v in query.items() if k.lower() == "token"), None)
            if given is None:
                return _message(403, "Token is required.")
            if given != expected:
                return _message(403, "Token is invalid.")
        route = [s.lower() for s in segments[2:]]
        try:
            return self._route(client, route, query) or not_found
        except odata.ODataError as error:
            return _message(400, str(error))

    def _route(self, client: ClientData, route: list[str], query: dict[str, str]) -> tuple[int, Any] | None:
        name, rest = route[0], route[1:]
        if name == "matters":
            if not rest:
                options = odata.parse_options(query, MATTER, self.max_filter_nodes)
                rows = client.query_matters(options, self.max_filter_nodes)
                return 200, odata.page(rows, options, self.page_cap)
            if not ascii_digits(rest[0]):
                return None
            matter_id = int(rest[0])
            if len(rest) == 1:
                row = client.matter_row(matter_id)
                if row is None:
                    return _message(404, f"Matter with id {matter_id} was not found.")
                return 200, row
            if len(rest) == 2 and rest[1] in _MATTER_COLLECTIONS:
                entity, sub_rows = _MATTER_COLLECTIONS[rest[1]]
                return self._collection(entity, sub_rows(client, matter_id), query)
            return None
        if name == "events":
            return self._events(client, rest, query)
        if name == "eventitems":
            if len(rest) == 2 and ascii_digits(rest[0]) and rest[1] == "votes":
                return self._collection(VOTE, client.vote_rows(int(rest[0])), query)
            return None
        if name in _COLLECTIONS:
            entity, all_rows = _COLLECTIONS[name]
            if not rest:
                return self._collection(entity, all_rows(client), query)
            if len(rest) == 1 and ascii_digits(rest[0]):
                wanted = int(rest[0])
                found = next((r for r in all_rows(client) if r[entity.key] == wanted), None)
                if found is None:
                    return _message(404, f"{entity.name} with id {wanted} was not found.")
                return 200, found
        return None

    def _events(self, client: ClientData, rest: list[str], query: dict[str, str]) -> tuple[int, Any] | None:
        if not rest:
            return self._collection(EVENT, client.event_rows(), query)
        if not ascii_digits(rest[0]):
            return None
        event_id = int(rest[0])
        if len(rest) == 1:
            row = client.event_row(event_id)
            if row is None:
                return _message(404, f"Event with id {event_id} was not found.")
            return 200, row
        if len(rest) == 2 and rest[1] == "eventitems":
            flags = {key.lower(): value.strip() for key, value in query.items()}
            rows = client.event_item_rows(
                event_id,
                agenda_note=flags.get("agendanote") == "1",
                minutes_note=flags.get("minutesnote") == "1",
                attachments=flags.get("attachments") == "1",
            )
            return self._collection(EVENT_ITEM, rows, query)
        return None

    def _collection(
        self, entity: Entity, rows: list[dict[str, Any]], query: dict[str, str]
    ) -> tuple[int, Any]:
        options = odata.parse_options(query, entity, self.max_filter_nodes)
        selected = odata.filter_and_sort(rows, entity, options, self.max_filter_nodes)
        return 200, odata.page(selected, options, self.page_cap)


def _garble(payload: Any) -> Any:
    """Copies of the matters (events) in ``payload`` with an impossible MatterIntroDate (EventDate)."""
    if isinstance(payload, dict) and "MatterIntroDate" in payload:
        return {**payload, "MatterIntroDate": GARBAGE_DATE}
    if isinstance(payload, dict) and "EventDate" in payload:
        return {**payload, "EventDate": GARBAGE_DATE}
    if isinstance(payload, list):
        return [_garble(item) for item in payload]
    return payload


# --------------------------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "Microsoft-IIS/10.0"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body leave in one write
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: _ThreadedServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self.close_connection = True  # the request body is not read
        self._answer("POST")

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _answer(self, method: str) -> None:
        reply = self.server.app.handle(method, self.path, self.server.stopping.wait)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("X-Powered-By", "ASP.NET")
        self.end_headers()
        if reply.cut_at is None:
            self.wfile.write(reply.body)
            return
        self.wfile.write(reply.body[: reply.cut_at])
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _ThreadedServer(HTTPServer):
    """One daemon thread per connection, each tracked so that :meth:`close_connections` can end them."""

    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: LegistarApp, stopping: threading.Event) -> None:
        self.app = app
        self.stopping = stopping
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, socket.socket] = {}
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="legistar-portal-conn",
            daemon=True,
        )
        with self._lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client went away (gave up on a "hang", closed a keep-alive connection...)
        log.exception("error while serving %s", client_address)

    def close_connections(self, timeout: float) -> None:
        with self._lock:
            connections = list(self._connections.items())
        for _, sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread, _ in connections:
            thread.join(timeout)


class LegistarPortalServer:
    """A Legistar-Web-API-compatible server on loopback, run in background threads.

    >>> with LegistarPortalServer(demo_portal()) as server:   # doctest: +SKIP
    ...     urlopen(server.base_url + "/riverton/matters?$top=10")

    ``latency`` (seconds) delays every answer; ``tokens`` maps client names to the ``?token=`` they require.
    With ``local_documents``, attachment links (``MatterAttachmentHyperlink``) point at this server, which
    serves each attachment's PDF at ``/files/{client}/attachments/{file name}`` (without it they point at
    ``{client}.legistar1.com``, as Legistar's do, and are not served).
    Faults, the request log and ``latency`` can be changed while the server runs.
    """

    def __init__(
        self,
        portal: Portal,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        tokens: dict[str, str] | None = None,
        *,
        page_cap: int = PAGE_CAP,
        max_filter_nodes: int = odata.DEFAULT_MAX_NODES,
        max_query_string: int = MAX_QUERY_STRING,
        local_documents: bool = False,
    ) -> None:
        self.portal = portal
        self.host = host
        self.local_documents = local_documents
        self.app = LegistarApp(
            portal,
            tokens=tokens,
            latency=latency,
            page_cap=page_cap,
            max_filter_nodes=max_filter_nodes,
            max_query_string=max_query_string,
        )
        self._requested_port = port
        self._stopping = threading.Event()
        self._httpd: _ThreadedServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> LegistarPortalServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping.clear()
        self._httpd = _ThreadedServer((self.host, self._requested_port), self.app, self._stopping)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="legistar-portal",
            daemon=True,
        )
        self._thread.start()
        if self.local_documents:  # attachment links point here, where their PDFs are served
            self.portal.document_base = f"http://{self.host}:{self.port}/files"
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, end open connections (waking up any "hang"), and release the socket."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections(timeout)
        httpd.server_close()
        thread.join(timeout)
        self._httpd = self._thread = None

    def __enter__(self) -> LegistarPortalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # addresses
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, to use where ``https://webapi.legistar.com/v1`` would be."""
        return f"http://{self.host}:{self.port}/v1"

    def url(self, client: str, *segments: object, **query: object) -> str:
        """A URL on this server, e.g. ``url("riverton", "matters", **{"$top": 5})``."""
        path = "/".join(quote(str(s)) for s in (client, *segments))
        encoded = urlencode({k: str(v) for k, v in query.items()}, quote_via=quote)
        return f"{self.base_url}/{path}" + (f"?{encoded}" if encoded else "")

    # pass-throughs to the app
    @property
    def latency(self) -> float:
        return self.app.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self.app.latency = value

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log: ``(path, query)`` pairs, oldest first."""
        return self.app.requests

    @property
    def targets(self) -> list[str]:
        """The same requests' targets exactly as they came on the wire (still percent-encoded)."""
        return self.app.targets

    @property
    def request_count(self) -> int:
        return self.app.request_count

    @property
    def max_in_flight(self) -> int:
        return self.app.max_in_flight

    def reset_requests(self) -> None:
        self.app.reset_requests()

    def add_fault(
        self,
        path_regex: str,
        kind: str,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float | None = None,
        *,
        query_regex: str | None = None,
    ) -> Fault:
        """See :meth:`LegistarApp.add_fault` and the module docstring for the kinds."""
        return self.app.add_fault(path_regex, kind, times, retry_after, delay, query_regex=query_regex)

    def clear_faults(self) -> None:
        self.app.clear_faults()

    def iter_requests(self, path_regex: str) -> Iterator[LoggedRequest]:
        """Logged requests whose path matches ``path_regex`` (``re.search``, any case)."""
        pattern = re.compile(path_regex, re.IGNORECASE)
        return (r for r in self.requests if pattern.search(r.path))
