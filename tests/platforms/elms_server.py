"""A loopback server that speaks the Chicago eLMS public API as far as the tracker reads it.

What it emulates, and where that comes from (../shared/portal-samples/README.md, "Chicago eLMS"):

- ``GET /meeting``: the recorded answer (portal-samples/elms/chicago/meeting-list.json), byte for byte; with
  a query (``filter=date ge X and date lt Y&sort=date asc&top=&skip=``, as the tracker asks for its window),
  ``meeting_rows`` (the recorded rows unless a test sets its own) filtered and paged in the same envelope,
  each row's ``agenda`` null as the listing writes it.
- ``GET /meeting-agenda/{meetingId}``: that row of ``meeting_rows`` with its ``agenda`` (``{"status": null,
  "version": null, "groups": [...]}``, the shape of the public captures of that endpoint: items naming their
  matter by ``matterId``, ``matterTitle``, ``recordNumber``, with ``actionName``; a row without one answers
  ``groups`` empty); 404 with a JSON message for an unknown id.
- ``GET /matter?filter=&sort=&top=&skip=``: the list envelope of that recording (``facets``, ``data``,
  ``meta`` with ``skip``, ``top``, ``count``, ``pages``), its rows the matters with ``actions``, ``sponsors``
  and ``attachments`` null (as public eLMS clients note the list does). ``filter`` is the OData-like syntax
  scrapers-us-municipal chicago/bills.py sends (``actions/any(a: a/actionDate gt X) or introductionDate gt X
  or ...``, ``and``/``or``, parentheses, ``gt ge lt le eq``); a filter it cannot read is a 400, like a real
  API refusing it. ``$filter`` is ignored, as the API is reported to ignore it. A ``skip`` past
  ``max_offset`` is refused with a 400 (chicago/base.py: the API refuses offsets beyond 100000).
- ``GET /matter/{matterId}``: the matter with everything (404 with a JSON message when unknown).

The matters are the fixtures in tests/platforms/fixtures/elms/matters/ (written for these tests; see the
README there). Tests change them between crawls (:meth:`ElmsServer.update`, :meth:`ElmsServer.add_action`)
and inject faults (:meth:`ElmsServer.fail`).
"""

from __future__ import annotations

import copy
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.loopback import LoopbackServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "elms"
MEETINGS = Path(__file__).resolve().parents[2] / ".." / "shared" / "portal-samples" / "elms" / "chicago"
# ``date`` is the meetings' start (GET /meeting)
DATE_FIELDS = {"introductionDate", "recordCreateDate", "finalActionDate", "lastPublicationDate", "date"}
SORTABLE = {"recordCreateDate", "introductionDate", "finalActionDate", "fileYear", "status", "date"}


def fixture_matters() -> list[dict[str, Any]]:
    """The matter fixtures, in file name order."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((FIXTURES / "matters").glob("*.json"))]


class FilterError(ValueError):
    pass


# -- a small reader of the filter syntax ---------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(\(|\)|'[^']*'|[^\s()]+)")


def _when(text: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f"not a date: {text!r}") from None
    if dt.tzinfo is None:
        raise FilterError(f"a date without offset: {text!r}")
    return dt


_OPS = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
}


class _Parser:
    """expr := conj ('or' conj)* ; conj := term ('and' term)* ; term := '(' expr ')' | comparison | any."""

    def __init__(self, text: str) -> None:
        self.tokens = _TOKEN.findall(text)
        if "".join(self.tokens).replace(" ", "") != text.replace(" ", ""):  # something left unread
            raise FilterError("unreadable filter")
        self.i = 0

    def _peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise FilterError("unexpected end of filter")
        self.i += 1
        return token

    def parse(self) -> Any:
        node = self._expr()
        if self._peek() is not None:
            raise FilterError(f"unexpected {self._peek()!r}")
        return node

    def _expr(self) -> Any:
        node = self._conj()
        while self._peek() == "or":
            self._take()
            node = ("or", node, self._conj())
        return node

    def _conj(self) -> Any:
        node = self._term()
        while self._peek() == "and":
            self._take()
            node = ("and", node, self._term())
        return node

    def _term(self) -> Any:
        token = self._take()
        if token == "(":
            node = self._expr()
            if self._take() != ")":
                raise FilterError("missing )")
            return node
        if token == "actions/any":
            # actions/any(a: a/actionDate gt X)
            if self._take() != "(" or self._take() != "a:":
                raise FilterError("expected actions/any(a: ...)")
            field, op, value = self._take(), self._take(), self._take()
            if field != "a/actionDate" or op not in _OPS or self._take() != ")":
                raise FilterError("only actions/any(a: a/actionDate op date) is understood")
            return ("any", op, _when(value))
        field, op, value = token, self._take(), self._take()
        if op not in _OPS:
            raise FilterError(f"unknown operator {op!r}")
        if field in DATE_FIELDS:
            return ("cmp", field, op, _when(value))
        if field == "status" and value.startswith("'"):
            return ("cmp", field, op, value.strip("'"))
        raise FilterError(f"unknown field {field!r}")


def _value(matter: dict[str, Any], field: str) -> Any:
    raw = matter.get(field)
    if raw is None:
        return None
    return _when(raw) if field in DATE_FIELDS else raw


def _matches(node: Any, matter: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "or":
        return _matches(node[1], matter) or _matches(node[2], matter)
    if kind == "and":
        return _matches(node[1], matter) and _matches(node[2], matter)
    if kind == "any":
        _, op, when = node
        dates = [a["actionDate"] for a in matter.get("actions") or [] if a.get("actionDate")]
        return any(_OPS[op](_when(d), when) for d in dates)
    _, field, op, want = node
    have = _value(matter, field)
    return have is not None and _OPS[op](have, want)


# -- the server ----------------------------------------------------------------------------------------------


class ElmsServer(LoopbackServer):
    def __init__(
        self,
        matters: Iterable[dict[str, Any]] | None = None,
        *,
        max_offset: int = 100_000,
        meetings: Path = MEETINGS / "meeting-list.json",
    ) -> None:
        self.lock = threading.Lock()
        self.matters: dict[str, dict[str, Any]] = {}
        for m in fixture_matters() if matters is None else matters:
            self.matters[m["matterId"]] = copy.deepcopy(m)
        self.max_offset = max_offset
        self.meetings = meetings
        # GET /meeting with a filter, sort, top or skip answers these rows (by default the recorded ones)
        # filtered and paged like the matters; without any, the recorded answer byte for byte
        self.meeting_rows: list[dict[str, Any]] = json.loads(meetings.read_bytes())["data"]
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.faults: list[list[Any]] = []  # [compiled path pattern, kind, times left or None]
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with server.lock:
                    server.requests.append((parts.path, query))
                status, ctype, body = server._answer(parts.path, query)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._listen(Handler)

    @property
    def base_url(self) -> str:
        return self.origin

    # -- what tests change -------------------------------------------------------------------------------
    def update(self, matter_id: str, **fields: Any) -> None:
        with self.lock:
            self.matters[matter_id].update(copy.deepcopy(fields))

    def add_action(self, matter_id: str, action: dict[str, Any]) -> None:
        with self.lock:
            self.matters[matter_id]["actions"].append(copy.deepcopy(action))

    def fail(self, path_pattern: str, kind: str, times: int | None = None) -> None:
        """Answer requests whose path matches with a fault: "500", "garbage" (200, cut-off JSON), "html"
        (200, an HTML page), "envelope" (200, JSON that is not the list envelope)."""
        if kind not in ("500", "garbage", "html", "envelope"):
            raise ValueError(kind)
        with self.lock:
            self.faults.append([re.compile(path_pattern), kind, times])

    def list_requests(self) -> list[dict[str, list[str]]]:
        return [q for p, q in self.requests if p == "/matter"]

    def detail_requests(self) -> list[str]:
        return [p.removeprefix("/matter/") for p, _ in self.requests if p.startswith("/matter/")]

    def agenda_requests(self) -> list[str]:
        return [
            p.removeprefix("/meeting-agenda/") for p, _ in self.requests if p.startswith("/meeting-agenda/")
        ]

    # -- answers -------------------------------------------------------------------------------------------
    def _fault(self, path: str) -> tuple[int, str, bytes] | None:
        with self.lock:
            for fault in self.faults:
                pattern, kind, times = fault
                if not pattern.search(path) or times == 0:
                    continue
                if times is not None:
                    fault[2] = times - 1
                if kind == "500":
                    return 500, "application/json", b'{"message": "An error occurred while processing"}'
                if kind == "garbage":
                    return 200, "application/json; charset=utf-8", b'{"facets": [], "data": [{"matterId": "'
                if kind == "html":
                    return 200, "text/html", b"<html><body>Service Unavailable</body></html>"
                return 200, "application/json; charset=utf-8", b'{"items": [], "total": 0}'
        return None

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        fault = self._fault(path)
        if fault is not None:
            return fault
        if path.rstrip("/") == "/meeting":
            if not query:
                return 200, "application/json; charset=utf-8", self.meetings.read_bytes()
            try:
                return 200, "application/json; charset=utf-8", self._meeting_list(query)
            except FilterError as exc:
                return 400, "application/json", json.dumps({"message": str(exc)}).encode()
        if path.startswith("/meeting-agenda/"):
            key = unquote(path.removeprefix("/meeting-agenda/")).strip("/").upper()
            with self.lock:
                row = next((m for m in self.meeting_rows if str(m.get("meetingId")).upper() == key), None)
                body = None if row is None else json.dumps(self._with_agenda(row)).encode()
            if body is None:
                return 404, "application/json", b'{"message": "Meeting not found"}'
            return 200, "application/json; charset=utf-8", body
        if path.rstrip("/") == "/matter":
            try:
                return 200, "application/json; charset=utf-8", self._list(query)
            except FilterError as exc:
                return 400, "application/json", json.dumps({"message": str(exc)}).encode()
        if path.startswith("/matter/"):
            key = unquote(path.removeprefix("/matter/")).strip("/")
            with self.lock:
                matter = self.matters.get(key) or self.matters.get(key.upper())
                body = None if matter is None else json.dumps(matter).encode()
            if body is None:
                return 404, "application/json", b'{"message": "Matter not found"}'
            return 200, "application/json; charset=utf-8", body
        return 404, "application/json", b'{"message": "Not found"}'

    def _list(self, query: dict[str, list[str]]) -> bytes:
        def one(name: str, default: str) -> str:
            values = query.get(name, [default])
            if len(values) != 1:
                raise FilterError(f"{name} given twice")
            return values[0]

        try:
            top, skip = int(one("top", "100")), int(one("skip", "0"))
        except ValueError:
            raise FilterError("top and skip are numbers") from None
        if not 1 <= top <= 1000 or skip < 0:
            raise FilterError("top is 1 to 1000, skip 0 or more")
        if skip > self.max_offset:
            raise FilterError(f"skip must be {self.max_offset} or less")
        sort = one("sort", "recordCreateDate asc").split()
        if len(sort) not in (1, 2) or sort[0] not in SORTABLE or sort[1:] not in ([], ["asc"], ["desc"]):
            raise FilterError(f"cannot sort by {' '.join(sort)!r}")
        condition = query.get("filter")
        tree = _Parser(condition[0]).parse() if condition else None
        with self.lock:
            rows = [m for m in self.matters.values() if tree is None or _matches(tree, m)]
            rows.sort(
                key=lambda m: (m.get(sort[0]) is None, _value(m, sort[0]) or 0, m["matterId"]),
                reverse=sort[1:] == ["desc"],
            )
            listed = [{**m, "actions": None, "sponsors": None, "attachments": None} for m in rows]
        statuses = Counter(m.get("status") for m in listed)
        doc = {
            "facets": [
                {"name": "status", "values": [{"value": s, "count": n} for s, n in statuses.most_common()]}
            ],
            "data": listed[skip : skip + top],
            "meta": {"skip": skip, "top": top, "count": len(listed), "pages": math.ceil(len(listed) / top)},
        }
        return json.dumps(doc).encode()

    def _meeting_list(self, query: dict[str, list[str]]) -> bytes:
        """``meeting_rows`` filtered (``date ge/lt``), sorted by ``date`` and paged in the envelope."""
        top = int((query.get("top") or ["100"])[0])
        skip = int((query.get("skip") or ["0"])[0])
        sort = (query.get("sort") or ["date asc"])[0].split()
        if sort[0] != "date" or sort[1:] not in ([], ["asc"], ["desc"]):
            raise FilterError(f"cannot sort meetings by {' '.join(sort)!r}")
        condition = query.get("filter")
        tree = _Parser(condition[0]).parse() if condition else None
        with self.lock:
            rows = [
                {**copy.deepcopy(m), "agenda": None}
                for m in self.meeting_rows
                if tree is None or _matches(tree, m)
            ]
        rows.sort(key=lambda m: (_value(m, "date"), m["meetingId"]), reverse=sort[1:] == ["desc"])
        doc = {
            "facets": [],
            "data": rows[skip : skip + top],
            "meta": {"skip": skip, "top": top, "count": len(rows), "pages": math.ceil(len(rows) / top)},
        }
        return json.dumps(doc).encode()

    @staticmethod
    def _with_agenda(row: dict[str, Any]) -> dict[str, Any]:
        agenda = copy.deepcopy(row.get("agenda")) or {"groups": []}
        return {**copy.deepcopy(row), "agenda": {"status": None, "version": None, **agenda}}


def elms_entry(server: ElmsServer, **extra: Any) -> dict[str, Any]:
    """A ``[[jurisdictions]]`` entry for Chicago on this server (for tests.conftest.write_config)."""
    return {
        "slug": "chicago",
        "name": "Chicago City Council",
        "platform": "elms",
        "api_base": server.base_url,
        "timezone": "America/Chicago",
        **extra,
    }


# Quick retries: the faults tests inject are permanent, and a test should not wait for backoff.
CRAWL = {"retries": 1, "backoff_base": 0.05, "backoff_max": 0.5, "download_timeout": 5.0}
