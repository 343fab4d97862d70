"""A local PrimeGov-like portal on loopback, for the PrimeGov tests and ``bench/bench_primegov.py``.

It serves what the PrimeGov spider reads (docs/platform-primegov.md):

- ``GET /api/v2/PublicPortal/ListArchivedMeetings?year=YYYY`` and
  ``GET /api/v2/PublicPortal/ListUpcomingMeetings``: bare JSON arrays of meetings, in the shape of the real
  recorded responses in ``../shared/portal-samples/primegov/`` (a listing can also be served as those
  recorded bytes, unchanged);
- ``GET /Portal/Meeting?meetingTemplateId=N``: a compiled HTML agenda or journal (:func:`render_page`).

No recorded PrimeGov agenda page exists (the samples' README says so), so the pages this module renders are
modelled on what public code reads from the real ones: the ``div.meeting-item[data-itemid]`` wrapper with its
``td.number-cell`` and ``td.item-cell``, the ``div.agenda-item#AgendaItem_{id}`` holding a
``table.forcepopulate`` (file number in a two-column first row, then district and title), and the item's
``div.item_contents#agenda_item_area_{id}`` with one ``div.attachment-holder`` per document linking a
``historyId`` (Engagic's vendors/adapters/parsers/primegov_parser.py docstring and akcho/la-council-scraper
docs/TECHNICAL_NOTES.md, both describing lacity.primegov.com); sections carry ``data-sectionid``. A journal
(minutes) page adds, between an item's table and its documents, the action text that starts with the outcome
in capitals, e.g. ``APPROVED Motion (Buscaino - Lee) - (3) Yes; (0) No`` (the wording cdp-scrapers'
prime_gov_utils.py ``get_matter`` parses).

:class:`AppServer` is a small threaded HTTP/1.1 server around any ``(path, query) -> Reply`` function, with
an added latency per request; the CivicClerk test server uses it too.
"""

from __future__ import annotations

import html
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tracker.safe_output import ascii_digits

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

ARCHIVED = "/api/v2/publicportal/listarchivedmeetings"
UPCOMING = "/api/v2/publicportal/listupcomingmeetings"
MEETING_PAGE = "/portal/meeting"

#: What IIS answers when the application behind it is down: a 200 HTML page where JSON was expected.
ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' "
    b"Application.</h1><p>An application error occurred on the server.</p></body></html>"
)


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


# -- the HTTP server ---------------------------------------------------------------------------------------


class AppServer:
    """Serve ``app(path, query)`` on 127.0.0.1 in background threads; every answer waits ``latency`` s."""

    def __init__(self, app: Callable[[str, dict[str, list[str]]], Reply], latency: float = 0.0) -> None:
        self.app = app
        self.latency = latency
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, keep_blank_values=True)
                with server._lock:
                    server.requests.append((parts.path, query))
                if server.latency:
                    time.sleep(server.latency)
                reply = server.app(parts.path, query)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="agenda-portal", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def paths(self) -> list[str]:
        with self._lock:
            return [p for p, _ in self.requests]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def __enter__(self) -> AppServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


# -- the portal's content ----------------------------------------------------------------------------------


@dataclass
class Item:
    """One item of a compiled agenda page."""

    item_id: int
    title: str
    number: str | None = None  # the council file number; None: an item without one (no forcepopulate table)
    district: str = ""
    # journal pages: the action text ("ADOPTED ... - (12) Yes; (0) No"); None: no action recorded
    action: str | None = None
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (historyId, link text)


@dataclass
class Page:
    """A compiled HTML agenda or journal: sections of items."""

    title: str
    sections: list[tuple[str, list[Item]]]


def render_page(page: Page) -> str:
    """The page in the modelled PrimeGov layout (see the module docstring). Every text is escaped."""
    e = html.escape
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{e(page.title)}</title></head><body><div id='agenda-content'>",
    ]
    number = 0
    for section_id, (heading, items) in enumerate(page.sections, start=1):
        out.append(f"<div class='agenda-section' data-sectionid='{1000 + section_id}'><h3>{e(heading)}</h3>")
        for item in items:
            number += 1
            out.append(
                f"<div class='meeting-item' data-itemid='{item.item_id}' "
                f"data-hasattachments='{bool(item.attachments)}'>"
                "<table class='item-table'><tr>"
                f"<td class='number-cell'><span>({number})</span></td><td class='item-cell'>"
                f"<div class='agenda-item' id='AgendaItem_{item.item_id}'>"
            )
            if item.number is not None:
                out.append(
                    "<table class='forcepopulate'>"
                    f"<tr><td colspan='2'><strong>{e(item.number)}</strong></td></tr>"
                    f"<tr><td>{e(item.district)}</td><td><div>{e(item.title)}</div></td></tr></table>"
                )
            else:
                out.append(f"<p>{e(item.title)}</p>")
            out.append("</div>")
            if item.action is not None:
                out.append(f"<div class='item-action'><p>{e(item.action)}</p></div>")
            out.append(f"<div class='item_contents' id='agenda_item_area_{item.item_id}'>")
            for history_id, name in item.attachments:
                link = f"/api/compilemeetingitem/historyattachment/?historyId={history_id}"
                out.append(
                    "<div class='attachment-holder'><a class='attachment-icon' href='#'></a>"
                    f"<a href='{e(link)}' target='_blank'>{e(name)}</a></div>"
                )
            out.append("</div></td></tr></table></div>")
        out.append("</div>")
    out.append("</div></body></html>")
    return "".join(out)


def meeting_row(
    meeting_id: int,
    title: str,
    when: datetime,
    documents: list[tuple[int, int, str, int]],
    committee_id: int = 1,
) -> dict[str, Any]:
    """A meeting of the listings, in the newer shape (with ``dateTime`` and ``publishDate``, like the
    Clayton County sample). ``documents``: (document id, template id, template name, compileOutputType)."""
    return {
        "id": meeting_id,
        "meetingTypeId": 2,
        "committeeId": committee_id,
        "dateTime": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "date": when.strftime("%b %d, %Y"),
        "time": when.strftime("%I:%M %p"),
        "documentList": [
            {
                "id": doc_id,
                "language": "en-US",
                "compileOutputType": output,
                "publishStatus": 1,
                "publishDate": (when - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                "templateId": template_id,
                "meetingId": meeting_id,
                "sortOrder": 1,
                "templateSortOrder": 1,
                "link": None,
                "templateName": name,
            }
            for doc_id, template_id, name, output in documents
        ],
        "videoUrl": None,
        "meetingState": 3,
        "publishDate": None,
        "title": title,
    }


class PrimeGovPortal:
    """The portal's state: listings and pages, changeable while it is served.

    ``archived[year]`` and ``upcoming`` are lists of meeting dicts, or raw bytes served as they are (the
    recorded samples); a year not in ``archived`` is an empty list. ``pages[template_id]`` is a
    :class:`Page` or raw bytes. ``faults[path or (path, key)]`` answers a (status, content type, body)
    instead, e.g. ``faults["/api/v2/PublicPortal/ListUpcomingMeetings"] = (200, HTML_TYPE, ERROR_PAGE)``.
    """

    def __init__(self) -> None:
        self.archived: dict[int, list[dict[str, Any]] | bytes] = {}
        self.upcoming: list[dict[str, Any]] | bytes = []
        self.pages: dict[int, Page | bytes] = {}
        self.faults: dict[Any, tuple[int, str, bytes]] = {}

    def __call__(self, path: str, query: dict[str, list[str]]) -> Reply:
        route = path.lower().rstrip("/")
        key: Any = None
        if route == ARCHIVED:
            key = (query.get("year") or [""])[0]
        elif route == MEETING_PAGE:
            key = (query.get("meetingTemplateId") or [""])[0]
        fault = self.faults.get((route, key)) or self.faults.get(route)
        if fault is not None:
            return Reply(*fault)
        if route == UPCOMING:
            return _listing(self.upcoming)
        if route == ARCHIVED:
            if not ascii_digits(str(key)):
                return Reply(400, JSON_TYPE, b'{"message":"The year field is required."}')
            return _listing(self.archived.get(int(key), []))
        if route == MEETING_PAGE and ascii_digits(str(key)) and int(key) in self.pages:
            page = self.pages[int(key)]
            body = page if isinstance(page, bytes) else render_page(page).encode()
            return Reply(200, HTML_TYPE, body)
        return Reply(404, HTML_TYPE, b"<html><body><h1>Document Not Found</h1></body></html>")


def _listing(rows: list[dict[str, Any]] | bytes) -> Reply:
    return Reply(200, JSON_TYPE, rows if isinstance(rows, bytes) else json.dumps(rows).encode())


# -- a generated portal (the benchmark) ----------------------------------------------------------------------

OUTCOMES = ("ADOPTED", "APPROVED", "CONTINUED", "REFERRED", "RECEIVED AND FILED", "ADOPTED AS AMENDED")


def generated_portal(
    items: int = 2000, per_meeting: int = 20, today: date | None = None, seed: int = 0
) -> PrimeGovPortal:
    """A portal with ``items`` agenda items over past (journal) and upcoming (agenda) meetings.

    Each file number is heard twice, at a committee and then at the council a week later (so about half as
    many bills as items); one item in ten has no number. Past meetings publish an HTML journal with
    outcomes, upcoming ones an HTML agenda.
    """
    rng = random.Random(seed)
    today = today or date.today()
    portal = PrimeGovPortal()
    archived: dict[int, list[dict[str, Any]]] = {}
    upcoming: list[dict[str, Any]] = []
    meetings = max(2, -(-items // per_meeting))
    made = 0
    file_counter = 0
    pending: list[tuple[str, str]] = []  # (file number, title) heard at a committee, due at the council
    for m in range(meetings):
        # spread over the last 300 days and the next 20, oldest first; even meetings are committees
        day = today - timedelta(days=300) + timedelta(days=m * 320 // meetings)
        committee = m % 2 == 0
        when = datetime(day.year, day.month, day.day, 10 if committee else 14)
        past = day < today
        meeting_id, template_id = 5000 + m, 90000 + m
        name = "HTML Journal" if past else "HTML Agenda"
        title = "Public Safety Committee" if committee else "City Council Meeting"
        documents = [(70000 + m, template_id, name, 3)]
        row = meeting_row(meeting_id, title, when, documents, 7 if committee else 1)
        if past:
            archived.setdefault(day.year, []).append(row)
        else:
            upcoming.append(row)
        page_items = []
        for _ in range(min(per_meeting, items - made)):
            made += 1
            item_id = 200000 + made
            if rng.random() < 0.1:
                number, subject = None, f"Presentation {made}: community report"
            elif not committee and pending:
                number, subject = pending.pop(0)
            else:
                file_counter += 1
                number = f"{26 - (m < meetings // 2)}-{file_counter:04d}"
                subject = f"Motion relative to city services, item {file_counter}"
                pending.append((number, subject))
            action = None
            if past:
                yes = rng.randint(8, 14)
                action = f"{rng.choice(OUTCOMES)} Motion - ({yes}) Yes; ({14 - yes}) No"
            attachments = [(f"{item_id:08x}-0000-4000-8000-000000000001", f"Report {made}.pdf")]
            page_items.append(Item(item_id, subject, number, f"CD {made % 15 + 1}", action, attachments))
        portal.pages[template_id] = Page(title, [("Items for consideration", page_items)])
    portal.archived.update(archived)
    portal.upcoming = upcoming
    return portal


def change_outcomes(portal: PrimeGovPortal, share: float, seed: int = 1) -> int:
    """Change the recorded outcome of ``share`` of the journal items (a journal corrected or amended);
    returns how many changed."""
    rng = random.Random(seed)
    journal = [
        item
        for page in portal.pages.values()
        if isinstance(page, Page)
        for _, items in page.sections
        for item in items
        if item.action is not None
    ]
    chosen = rng.sample(journal, max(1, int(len(journal) * share))) if journal else []
    for item in chosen:
        item.action = "CONTINUED" if not (item.action or "").startswith("CONTINUED") else "ADOPTED"
    return len(chosen)
