"""A Legistar InSite site on loopback, for the ``legistar-web`` tests.

What it serves and what it is modelled on (see fixtures/legistar_web/README.md):

- ``Legislation.aspx``: the real recorded search page of a client (``../shared/portal-samples/
  legistar-insite/{chicago,metro,nyc}/bills.html``) used as the page template. Its results grid is
  re-rendered for each answer with this server's bills, in the markup of the recorded rows, and its pager
  in RadGrid's shape (numbered links, "..." links to the neighbouring groups of ten, "Page N of M, items
  A to B of T."). The ASP.NET behaviour the spider must reproduce is checked like the real site does:
  a POST must carry the session cookie set by the GET and a ``__VIEWSTATE`` this server issued in that
  session (else a redirect to ``Error.aspx``, as InSite answers an invalid postback); the search is fired
  by ``__EVENTTARGET`` = the search button and reads the years drop-down from its ``..._ClientState``
  JSON; pages are turned by posting back the ``__EVENTTARGET`` of a pager link issued with the previous
  page.
- ``LegislationDetail.aspx?ID=..&GUID=..``: fixtures/legistar_web/LegislationDetail.html (written for
  these tests) filled with a bill's fields and history.
- ``Gateway.aspx?M=L&ID=..``: a 302 to the bill's detail page (python-legistar-scraper's
  ``legislation_detail_url`` relies on that redirect).
- ``Calendar.aspx``: the real recorded Nashville calendar (``nashville/Calendar.aspx.GET.body.html``) as
  the page template, its grid re-rendered with this server's meetings (newest first, in the markup of the
  recorded rows) and paged like the search. The years drop-down is posted back as the recorded Nashville
  postback does (``__EVENTTARGET`` = ``ctl00$ContentPlaceHolder1$lstYears``, the value in its
  ``_ClientState`` JSON); a value the drop-down does not offer keeps the year shown, as the recorded answer
  did. The GET shows "This Year".
- ``MeetingDetail.aspx?ID=..&GUID=..``: fixtures/legistar_web/MeetingDetail.html (written for these tests)
  with a meeting's agenda items (a roll call row without a file, then one row per bill).
- ``HistoryDetail.aspx?ID=..&GUID=..``: fixtures/legistar_web/HistoryDetail.html (written for these tests)
  with an agenda item's action, result and roll call (``Meeting.votes``); an agenda row of a bill in
  ``votes`` shows an "Action details" link (``radopen('HistoryDetail.aspx?ID=..')``, the ID from
  :func:`history_id`), the other rows "Not available".
- ``People.aspx``: the real recorded people page of a client (``{chicago,metro,nyc}/people.html``) as it was
  recorded (``people``).
- ``PersonDetail.aspx?ID=..&GUID=..``: fixtures/legistar_web/PersonDetail.html (written for these tests) for
  each person the recorded people page links, its memberships grid filled with ``persons[ID]`` (body, title,
  start, end), "No records to display." for a person without any; another ID is "Invalid parameters!".
- Faults (``faults``): ``"search"``, ``"calendar"``, ``"people"``, ``"meeting:<ID>"``, ``"history:<ID>"``,
  ``"person:<ID>"`` or ``"detail:<ID>"`` →
  ``"error"`` (302 to ``Error.aspx``), ``"empty"`` (a 200 with no body), ``"garbage"`` (bytes that are no
  page; every page answers these three the same way, ``_page_fault``), ``"layout"`` (the results grid
  renamed, the calendar's "Meeting Date" header renamed, the agenda grid or the history table removed, as
  after a redesign; the vote grid or the people grid removed), ``"gone"`` (detail: InSite's "This record no
  longer exists" page); ``"history:<ID>"`` → ``"other"``: the details of another action; ``"person:<ID>"`` →
  ``"layout"`` (the memberships grid removed), ``"other"`` (another person's page), ``"date"`` (a start date
  InSite never writes).

For the meetings (tests/platforms/test_legistar_web_meetings.py) a calendar row also carries its meeting's
iCalendar export link (``View.ashx?M=IC&ID=..``, the id a meeting shows before it is published), its
location with InSite's comment line under it (``<br><em>CANCELLED</em>``, as the recorded Chicago row), an
agenda link when the meeting has one, and "Next Year" lists next year's meetings; a meeting page's rows show
the action and result of each bill (``outcomes``).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date
from html import escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import lxml.html

from tests.loopback import LoopbackServer

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "portal-samples" / "legistar-insite"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "legistar_web"

GRID = "ctl00_ContentPlaceHolder1_gridMain_ctl00"
HISTORY = "ctl00_ContentPlaceHolder1_gridLegislation_ctl00"
SEARCH = "ctl00$ContentPlaceHolder1$btnSearch"
SWITCH = "ctl00$ContentPlaceHolder1$btnSwitch"
YEARS_STATE = "ctl00_ContentPlaceHolder1_lstYearsAdvanced_ClientState"
PAGER = "ctl00$ContentPlaceHolder1$gridMain$ctl00$ctl03$ctl01$"
CALENDAR = "ctl00_ContentPlaceHolder1_gridCalendar_ctl00"
CALENDAR_PAGER = "ctl00$ContentPlaceHolder1$gridCalendar$ctl00$ctl03$ctl01$"
CALENDAR_YEARS = "ctl00$ContentPlaceHolder1$lstYears"
CALENDAR_YEARS_STATE = "ctl00_ContentPlaceHolder1_lstYears_ClientState"
AGENDA = "ctl00_ContentPlaceHolder1_gridMain_ctl00"
GARBAGE = b"\x1f\x8b\x08\x00<<not a page>>\x00\xff" + bytes(range(256)) * 4  # the "garbage" fault's answer


@dataclass
class History:
    date: date
    body: str
    action: str | None
    result: str | None = None
    id: int | None = None  # HistoryDetail.aspx ID; None: minutes not final ("Not available")
    meeting_id: int | None = None
    ver: str = "1"


@dataclass
class Bill:
    id: int
    guid: str
    file: str
    type: str
    status: str
    title: str
    intro: date
    final: date | None = None
    name: str | None = None
    in_control: str | None = None
    agenda: date | None = None
    sponsors: list[str] = field(default_factory=list)
    attachments: list[tuple[int, str]] = field(default_factory=list)
    history: list[History] = field(default_factory=list)  # oldest first (pages list the newest first)
    # grid cells by column name, for columns the fields above do not fill (a recorded row's own cells)
    cells: dict[str, str] = field(default_factory=dict)
    public: bool = True


@dataclass
class Meeting:
    id: int
    guid: str
    body: str
    date: date
    time: str = "10:00 AM"
    location: str = "Council Chambers, City Hall"
    bills: list[int] = field(default_factory=list)  # ids of the bills on its agenda, in agenda order
    published: bool = True  # False: "Meeting details" shown without a link
    comment: str = ""  # the line under the location ("CANCELLED")
    agenda: bool = False  # an agenda link (View.ashx?M=A&ID=..)
    outcomes: dict[int, tuple[str, str]] = field(default_factory=dict)  # bill id -> (action, result)
    # bill id -> its roll call [(person, vote)]: the row shows an "Action details" link ([]: no roll call)
    votes: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def history_id(meeting: Meeting, bill_id: int) -> int:
    """The HistoryDetail.aspx ID of a bill's row on a meeting's agenda."""
    return meeting.id * 100 + meeting.bills.index(bill_id)


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, str]
    cookie: str


def mdy(d: date | None) -> str:
    return "" if d is None else f"{d.month}/{d.day}/{d.year}"


def parse_mdy(text: str) -> date | None:
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text.strip())
    return None if m is None else date(int(m.group(3)), int(m.group(1)), int(m.group(2)))


def _tr(html: str):
    """One table row parsed from HTML (a bare <tr> is not a valid fragment)."""
    return lxml.html.fromstring(f"<table><tbody>{html}</tbody></table>").xpath(".//tr")[0]


def recorded_bills(city: str = "chicago") -> list[Bill]:
    """The 100 rows of a recorded search page as bills (their ids, GUIDs, file numbers, types, statuses,
    dates and titles as recorded), with a made-up history: "Introduced" and "Referred" on the intro date,
    and the status as an action on the final-action date when there is one; a sponsor named after the
    row's ward when the row shows one. Read with plain lxml, independently of the code under test."""
    doc = lxml.html.parse(str(SAMPLES / city / "bills.html")).getroot()
    grid = doc.get_element_by_id(GRID)
    headers = [" ".join(th.text_content().split()) for th in grid.xpath("./thead/tr/th")]
    bills = []
    for tr in grid.xpath("./tbody/tr"):
        tds = tr.xpath("./td")
        cells = {
            h: " ".join(td.text_content().replace("\xa0", " ").split())
            for h, td in zip(headers, tds, strict=True)
        }
        href = tr.xpath(".//a")[0].get("href")
        q = parse_qs(urlsplit(href).query)
        bid, guid = int(q["ID"][0]), q["GUID"][0]
        intro = parse_mdy(cells.get("Intro Date") or cells.get("File Created") or "") or date(2018, 1, 2)
        final = parse_mdy(cells.get("Final Action") or "")
        history = [
            History(
                intro, "City Council", "Introduced", id=bid * 10 + 1, meeting_id=700000 + intro.toordinal()
            ),
            History(
                intro, "City Council", "Referred", id=bid * 10 + 2, meeting_id=700000 + intro.toordinal()
            ),
        ]
        if final:
            history.append(History(final, "City Council", cells["Status"], "Pass", id=bid * 10 + 3))
        ward = cells.get("Main Sponsor's Ward/Office")
        bills.append(
            Bill(
                id=bid,
                guid=guid,
                file=cells[headers[0]],
                type=cells["Type"],
                status=cells["Status"],
                title=cells["Title"],
                intro=intro,
                final=final,
                sponsors=[f"Alderperson of ward {ward}"] if ward else [],
                history=history,
                cells=cells,
            )
        )
    return bills


def _render_pager(grid, prefix: str, page: int, pages: int, size: int, shown: int, total: int) -> dict:
    """RadGrid's footer pager (numbered links, "..." links to the neighbouring groups of ten, "Page N of
    M, items A to B of T."), or no footer without rows; → the postback target of each link → its page."""
    targets: dict[str, int] = {}
    tfoot = grid.find("tfoot")
    if not shown:
        grid.remove(tfoot)
        return targets
    links = []
    start = (page - 1) // 10 * 10 + 1
    end = min(start + 9, pages)
    if start > 1:
        links.append(("...", start - 1))
    links += [(str(n), n) for n in range(start, end + 1)]
    if end < pages:
        links.append(("...", end + 1))
    html = []
    for k, (label, n) in enumerate(links):
        target = f"{prefix}ctl{2 + 2 * k:02d}"
        targets[target] = n
        href = "javascript:__doPostBack('" + target.replace("$", "%24") + "','')"
        current = ' onclick="return false;" class="rgCurrentPage"' if label != "..." and n == page else ""
        html.append(f'<a{current} href="{href}"><span>{label}</span></a>')
    num = tfoot.xpath(".//div[contains(@class, 'rgNumPart')]")[0]
    num.getparent().replace(
        num, lxml.html.fragment_fromstring(f'<div class="rgWrap rgNumPart">{"".join(html)}</div>')
    )
    first, last = (page - 1) * size + 1, (page - 1) * size + shown
    info = tfoot.xpath(".//div[contains(@class, 'rgInfoPart')]")[0]
    info.getparent().replace(
        info,
        lxml.html.fragment_fromstring(
            f'<div class="rgWrap rgInfoPart">\xa0Page <strong>{page}</strong> of <strong>{pages}'
            f"</strong>, items <strong>{first}</strong> to <strong>{last}</strong> of "
            f"<strong>{total}</strong>.</div>"
        ),
    )
    return targets


class InsiteServer(LoopbackServer):
    def __init__(
        self,
        bills: list[Bill],
        *,
        template: str = "chicago",
        page_size: int = 100,
        today: date = date(2019, 1, 7),
        simple_first: bool = False,
        meetings: list[Meeting] | None = None,
        calendar_page_size: int = 100,
        people: str = "chicago",
        persons: dict[str, list[tuple[str, str | None, date | None, date | None]]] | None = None,
    ) -> None:
        self.bills = {b.id: b for b in bills}
        self.meetings = {m.id: m for m in meetings or []}
        self.calendar_page_size = calendar_page_size
        self.page_size = page_size
        self.today = today
        self.simple_first = simple_first
        self.faults: dict[str, str] = {}
        self.hits: list[Hit] = []
        self.issued: list[str] = []  # every __VIEWSTATE handed out, in order
        self._lock = threading.Lock()
        # __VIEWSTATE token -> what the page it was issued with showed
        self._states: dict[str, dict] = {}
        self._search_page = lxml.html.parse(str(SAMPLES / template / "bills.html")).getroot()
        self._detail_page = lxml.html.parse(str(FIXTURES / "LegislationDetail.html")).getroot()
        self._calendar_page = lxml.html.parse(
            str(SAMPLES / "nashville" / "Calendar.aspx.GET.body.html")
        ).getroot()
        self._meeting_page = lxml.html.parse(str(FIXTURES / "MeetingDetail.html")).getroot()
        self._history_page = lxml.html.parse(str(FIXTURES / "HistoryDetail.html")).getroot()
        self.people = people
        # PersonDetail.aspx ID -> memberships (body, title, start, end); every person the people page links
        self.persons: dict[str, list[tuple[str, str | None, date | None, date | None]]] = {
            pid: [] for pid in re.findall(r"PersonDetail\.aspx\?ID=(\d+)", self._people_text())
        }
        self.persons.update(persons or {})
        self._person_page = lxml.html.parse(str(FIXTURES / "PersonDetail.html")).getroot()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server._handle(self, "GET", b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                server._handle(self, "POST", self.rfile.read(length))

            def log_message(self, *args):
                pass

        self._listen(Handler)

    @property
    def base_url(self) -> str:
        return self.origin

    def hits_to(self, path: str, method: str | None = None) -> list[Hit]:
        return [h for h in self.hits if h.path.lower() == path.lower() and method in (None, h.method)]

    # -- HTTP ------------------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        parts = urlsplit(h.path)
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)) if method == "POST" else {}
        cookie = h.headers.get("Cookie") or ""
        self.hits.append(Hit(method, parts.path, parse_qs(parts.query), form, cookie))
        query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path.lower()
        headers: dict[str, str] = {}
        if path == "/legislation.aspx" and method == "GET":
            session = secrets.token_hex(8)
            headers["Set-Cookie"] = f"ASP.NET_SessionId={session}; path=/; HttpOnly; SameSite=Lax"
            status, page = self._form_page(session)
        elif path == "/legislation.aspx" and method == "POST":
            status, page = self._postback(form, cookie)
        elif path == "/calendar.aspx" and method == "GET":
            session = secrets.token_hex(8)
            headers["Set-Cookie"] = f"ASP.NET_SessionId={session}; path=/; HttpOnly; SameSite=Lax"
            status, page = 200, self._calendar(session, "This Year", 1)
        elif path == "/calendar.aspx" and method == "POST":
            status, page = self._calendar_postback(form, cookie)
        elif path == "/meetingdetail.aspx":
            status, page = self._meeting(query.get("id", ""), query.get("guid", ""))
        elif path == "/historydetail.aspx":
            status, page = self._history(query.get("id", ""), query.get("guid", ""))
        elif path == "/people.aspx":
            status, page = self._people()
        elif path == "/persondetail.aspx":
            status, page = self._person(query.get("id", ""), query.get("guid", ""))
        elif path == "/legislationdetail.aspx":
            status, page = self._detail(query.get("id", ""), query.get("guid", ""))
        elif path == "/gateway.aspx":
            status, page = self._gateway(query.get("id", ""))
        elif path == "/error.aspx":
            status, page = 200, b"<html><body><h1>An error has occurred.</h1></body></html>"
        else:
            status, page = 404, b"<html><body>Not found</body></html>"
        if isinstance(page, str):  # a redirect
            headers["Location"] = page
            page = b""
        h.send_response(status)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(page)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(page)

    @staticmethod
    def _error(page: str) -> tuple[int, str]:
        return 302, f"/Error.aspx?aspxerrorpath=/{page}"

    @classmethod
    def _page_fault(cls, fault: str | None, page: str) -> tuple[int, bytes | str] | None:
        """The answer to a fault every page can be given: "error" (the portal's error redirect), "empty" (a
        200 with no body), "garbage" (bytes that are no page); None for no fault or a page's own."""
        if fault == "error":
            return cls._error(page)
        if fault == "empty":
            return 200, b""
        if fault == "garbage":
            return 200, GARBAGE
        return None

    def _issue(self, doc, state: dict) -> None:
        token = "VS" + secrets.token_hex(12)
        with self._lock:
            self._states[token] = state
            self.issued.append(token)
        doc.xpath("//input[@name='__VIEWSTATE']")[0].set("value", token)

    # -- the search ------------------------------------------------------------------------------------
    def _form_page(self, session: str) -> tuple[int, bytes]:
        if self.simple_first:
            doc = copy.deepcopy(self._search_page)
            years = doc.get_element_by_id("ctl00_ContentPlaceHolder1_lstYearsAdvanced_Input")
            years.getparent().remove(years)
            doc.get_element_by_id("ctl00_ContentPlaceHolder1_btnSwitch").set("value", "Advanced search >>>")
            self._issue(doc, {"session": session, "simple": True})
            return 200, lxml.html.tostring(doc, encoding="utf-8")
        return 200, self._results(session, "All", 1)

    def _postback(self, form: dict[str, str], cookie: str) -> tuple[int, bytes | str]:
        token = form.get("__VIEWSTATE", "")
        with self._lock:
            state = self._states.get(token)
        session = re.search(r"ASP\.NET_SessionId=([0-9a-f]+)", cookie)
        if state is None or session is None or session.group(1) != state["session"]:
            return self._error("Legislation.aspx")
        fault = self.faults.get("search")
        if (answer := self._page_fault(fault, "Legislation.aspx")) is not None:
            return answer
        target = form.get("__EVENTTARGET", "")
        if SWITCH in form:
            return 200, self._results(state["session"], "All", 1)
        if target == SEARCH or SEARCH in form:
            year = json.loads(form.get(YEARS_STATE) or '{"value": "?"}')["value"]
            return 200, self._results(state["session"], year, 1)
        if target in state.get("targets", {}):
            return 200, self._results(state["session"], state["year"], state["targets"][target])
        return self._error("Legislation.aspx")

    def _matching(self, year: str) -> list[Bill]:
        def keep(b: Bill) -> bool:
            if year == "All":
                return True
            if year == "This Year":
                return b.intro.year == self.today.year
            if year == "Last Year":
                return b.intro.year == self.today.year - 1
            return year.isdigit() and b.intro.year == int(year)

        # InSite's default order: newest first
        return sorted(
            (b for b in self.bills.values() if keep(b)), key=lambda b: (b.intro, b.id), reverse=True
        )

    def _cell(self, bill: Bill, header: str) -> str:
        by_header = {
            "Type": bill.type,
            "Status": bill.status,
            "Intro Date": mdy(bill.intro),
            "File Created": mdy(bill.intro),
            "Final Action": mdy(bill.final),
            "Title": bill.title,
            "Committee": bill.in_control or "",
            "Prime Sponsor": bill.sponsors[0] if bill.sponsors else "",
        }
        if header in by_header:
            return by_header[header]
        return bill.cells.get(header, "")

    def _results(self, session: str, year: str, page: int) -> bytes:
        bills = self._matching(year)
        pages = max(1, -(-len(bills) // self.page_size))
        rows = bills[(page - 1) * self.page_size : page * self.page_size]
        doc = copy.deepcopy(self._search_page)
        grid = doc.get_element_by_id(GRID)
        headers = [" ".join(th.text_content().split()) for th in grid.xpath("./thead/tr/th")]
        tbody = grid.find("tbody")
        proto = tbody[0]
        for tr in list(tbody):
            tbody.remove(tr)
        for i, bill in enumerate(rows):
            tr = copy.deepcopy(proto)
            tr.set("class", "rgRow" if i % 2 == 0 else "rgAltRow")
            tr.set("id", f"{GRID}__{i}")
            for header, td in zip(headers, tr.xpath("./td"), strict=True):
                link = td.xpath(".//a")
                if link:
                    link[0].set("id", f"{GRID}_ctl{4 + 2 * i:02d}_hypFile")
                    link[0].set(
                        "href", f"LegislationDetail.aspx?ID={bill.id}&GUID={bill.guid}&Options=&Search="
                    )
                    value = bill.file
                else:
                    value = self._cell(bill, header)
                leaf = td.xpath(".//*[not(*)]")[-1]
                leaf.text = value or "\xa0"
            tbody.append(tr)
        if not rows:
            tbody.append(
                _tr(
                    f'<tr class="rgNoRecords"><td colspan="{len(headers)}">'
                    "<div>No records to display.</div></td></tr>"
                )
            )
        targets = _render_pager(grid, PAGER, page, pages, self.page_size, len(rows), len(bills))
        if self.faults.get("search") == "layout":
            grid.set("id", "ctl00_ContentPlaceHolder1_gridResults_ctl00")  # a redesign renamed the grid
        self._issue(doc, {"session": session, "year": year, "page": page, "targets": targets})
        return lxml.html.tostring(doc, encoding="utf-8")

    # -- bills -----------------------------------------------------------------------------------------
    def _gateway(self, raw_id: str) -> tuple[int, bytes | str]:
        bill = self.bills.get(int(raw_id)) if raw_id.isdigit() else None
        if bill is None:
            return self._error("Gateway.aspx")
        if not bill.public:
            return 200, b"<html><body>This page is not available.</body></html>"
        return 302, f"LegislationDetail.aspx?ID={bill.id}&GUID={bill.guid}"

    def _detail(self, raw_id: str, guid: str) -> tuple[int, bytes | str]:
        fault = self.faults.get(f"detail:{raw_id}")
        if (answer := self._page_fault(fault, "LegislationDetail.aspx")) is not None:
            return answer
        bill = self.bills.get(int(raw_id)) if raw_id.isdigit() else None
        if fault == "gone" or bill is None:
            return 200, (
                b"<html><body><form id='aspnetForm'><span id='ctl00_ContentPlaceHolder1_lblMessage'>"
                b"This record no longer exists. It might have been deleted.</span></form></body></html>"
            )
        if guid.upper() != bill.guid.upper():
            return 200, b"<html><body>Invalid parameters!</body></html>"
        doc = copy.deepcopy(self._detail_page)
        doc.find(".//title").text = f"File #: {bill.file}"
        doc.get_element_by_id("aspnetForm").set(
            "action", f"./LegislationDetail.aspx?ID={bill.id}&GUID={bill.guid}&Options=&Search="
        )

        def put(suffix: str, value: str | None) -> None:
            el = doc.get_element_by_id(f"ctl00_ContentPlaceHolder1_{suffix}")
            for child in list(el):
                el.remove(child)
            el.text = value or ""

        put("lblFile2", bill.file)
        put("lblVersion2", "1")
        put("lblName2", bill.name)
        put("lblType2", bill.type)
        put("lblStatus2", bill.status)
        put("lblIntroduced2", mdy(bill.intro))
        put("hypInControlOf2", bill.in_control)
        put("lblOnAgenda2", mdy(bill.agenda))
        put("lblPassed2", mdy(bill.final))
        put("lblTitle2", bill.title)
        put("lblIndexes2", "")
        sponsors = doc.get_element_by_id("ctl00_ContentPlaceHolder1_lblSponsors2")
        put("lblSponsors2", None)
        for k, name in enumerate(bill.sponsors):
            a = lxml.html.fragment_fromstring(
                f'<a href="PersonDetail.aspx?ID={500 + k}&amp;GUID=X">{escape(name)}</a>'
            )
            a.tail = ", " if k < len(bill.sponsors) - 1 else ""
            sponsors.append(a)
        attachments = doc.get_element_by_id("ctl00_ContentPlaceHolder1_lblAttachments2")
        put("lblAttachments2", None)
        for k, (aid, name) in enumerate(bill.attachments):
            a = lxml.html.fragment_fromstring(
                f'<a href="View.ashx?M=F&amp;ID={aid}&amp;GUID=X">{escape(name)}</a>'
            )
            a.tail = ", " if k < len(bill.attachments) - 1 else ""
            attachments.append(a)
        table = doc.get_element_by_id(HISTORY)
        tbody = table.find("tbody")
        for tr in list(tbody):
            tbody.remove(tr)
        for i, row in enumerate(reversed(bill.history)):
            tbody.append(_tr(self._history_row(i, row)))
        if fault == "layout":
            table.getparent().remove(table)
        return 200, lxml.html.tostring(doc, encoding="utf-8")

    @staticmethod
    def _history_row(i: int, row: History) -> str:
        ctl = f"{HISTORY}_ctl{4 + 2 * i:02d}"
        if row.id is None:
            details = f'<a id="{ctl}_hypDetails" class="draftActionHyplink">Not&nbsp;available</a>'
        else:
            details = (
                f'<a id="{ctl}_hypDetails" onclick="radopen(\'HistoryDetail.aspx?ID={row.id}&amp;GUID=X\', '
                f'\'HistoryDetail\');return false;" href="#">Action&nbsp;details</a>'
            )
        if row.meeting_id is None:
            meeting = f'<a id="{ctl}_hypMeetingDetail" class="meeting_NoMeeting">Meeting&nbsp;details</a>'
        else:
            meeting = (
                f'<a id="{ctl}_hypMeetingDetail" href="MeetingDetail.aspx?ID={row.meeting_id}&amp;GUID=X'
                f'&amp;Options=&amp;Search=">Meeting&nbsp;details</a>'
            )
        return (
            f'<tr class="{"rgRow" if i % 2 == 0 else "rgAltRow"}" valign="top" id="{HISTORY}__{i}">'
            f'<td class="rgSorted">{mdy(row.date)}</td><td>{row.ver}</td>'
            f'<td><a id="{ctl}_hypBody">{escape(row.body)}</a></td>'
            f"<td>{escape(row.action or '') or '&nbsp;'}</td>"
            f"<td>{escape(row.result or '') or '&nbsp;'}</td><td>{details}</td><td>{meeting}</td>"
            f'<td><span><a id="{ctl}_hypVideo" class="historyVideoIndexNotAvailableLink">'
            "Not&nbsp;available</a></span></td></tr>"
        )

    # -- the calendar ----------------------------------------------------------------------------------
    def _calendar_postback(self, form: dict[str, str], cookie: str) -> tuple[int, bytes | str]:
        token = form.get("__VIEWSTATE", "")
        with self._lock:
            state = self._states.get(token)
        session = re.search(r"ASP\.NET_SessionId=([0-9a-f]+)", cookie)
        if state is None or session is None or session.group(1) != state["session"] or "year" not in state:
            return self._error("Calendar.aspx")
        fault = self.faults.get("calendar")
        if (answer := self._page_fault(fault, "Calendar.aspx")) is not None:
            return answer
        target = form.get("__EVENTTARGET", "")
        if target == CALENDAR_YEARS:
            year = json.loads(form.get(CALENDAR_YEARS_STATE) or '{"value": "?"}')["value"]
            if year not in state["offered"]:
                year = state["year"]  # as the recorded Nashville answer: the year shown is kept
            return 200, self._calendar(state["session"], year, 1)
        if target in state.get("targets", {}):
            return 200, self._calendar(state["session"], state["year"], state["targets"][target])
        return self._error("Calendar.aspx")

    def _in_year(self, d: date, year: str) -> bool:
        if year == "All":
            return True
        if year == "This Year":
            return d.year == self.today.year
        if year == "Last Year":
            return d.year == self.today.year - 1
        if year == "Next Year":
            return d.year == self.today.year + 1
        return year.isdigit() and d.year == int(year)

    def _calendar(self, session: str, year: str, page: int) -> bytes:
        meetings = sorted(
            (m for m in self.meetings.values() if self._in_year(m.date, year)),
            key=lambda m: (m.date, m.id),
            reverse=True,
        )
        size = self.calendar_page_size
        pages = max(1, -(-len(meetings) // size))
        rows = meetings[(page - 1) * size : page * size]
        doc = copy.deepcopy(self._calendar_page)
        grid = doc.get_element_by_id(CALENDAR)
        for tr in grid.xpath("./thead/tr[contains(@class, 'rgPager')]"):
            tr.getparent().remove(
                tr
            )  # the recorded page's pager above the grid (this one renders the footer)
        headers = [" ".join(th.text_content().split()) for th in grid.xpath("./thead/tr/th")]
        tbody = grid.find("tbody")
        proto = tbody[0]
        for tr in list(tbody):
            tbody.remove(tr)
        for i, m in enumerate(rows):
            tr = copy.deepcopy(proto)
            tr.set("class", "rgRow" if i % 2 == 0 else "rgAltRow")
            tr.set("id", f"{CALENDAR}__{i}")
            for el in tr.xpath(".//*[@id]"):
                el.set("id", el.get("id").replace("_ctl04_", f"_ctl{4 + 2 * i:02d}_"))
            cells = dict(zip(headers, tr.xpath("./td"), strict=True))
            name = cells["Name"].xpath(".//a")[0]
            (name.xpath(".//*[not(*)]") or [name])[-1].text = m.body  # the recorded <a><font>Name</font></a>
            for header, value in (
                ("Meeting Date", mdy(m.date)),
                ("Meeting Time", m.time),
            ):
                leaf = cells[header].xpath(".//*[not(*)]") or [cells[header]]
                leaf[-1].text = value
            # the recorded cell: <font>Location<br><em>comment</em></font>
            (em,) = cells["Meeting Location"].xpath(".//em")
            em.getparent().text = m.location
            em.text = m.comment
            ical = tr.xpath(".//a[substring(@id, string-length(@id) - 7) = '_hypiCal']")[0]
            ical.set("href", f"View.ashx?M=IC&ID={m.id}&GUID={m.guid}")
            if m.agenda:
                agenda = tr.xpath(".//a[substring(@id, string-length(@id) - 9) = '_hypAgenda']")[0]
                agenda.set("href", f"View.ashx?M=A&ID={m.id}&GUID={m.guid}")
                agenda.attrib.pop("class", None)
            link = tr.xpath(".//a[substring(@id, string-length(@id) - 16) = '_hypMeetingDetail']")[0]
            if m.published:
                link.set("href", f"MeetingDetail.aspx?ID={m.id}&GUID={m.guid}&Options=info|&Search=")
            tbody.append(tr)
        if not rows:
            tbody.append(
                _tr(
                    f'<tr class="rgNoRecords"><td colspan="{len(headers)}">'
                    "<div>No records to display.</div></td></tr>"
                )
            )
        targets = _render_pager(grid, CALENDAR_PAGER, page, pages, size, len(rows), len(meetings))
        # the drop-down's items ("All Years" is the text of the value "All"; the others show their value)
        offered = {
            "All" if li.text_content().strip() == "All Years" else li.text_content().strip()
            for li in doc.xpath("//*[@id='ctl00_ContentPlaceHolder1_lstYears_DropDown']//li")
        }
        shown = {"All": "All Years"}.get(year, year)
        doc.get_element_by_id("ctl00_ContentPlaceHolder1_lstYears_Input").set("value", shown)
        if self.faults.get("calendar") == "layout":
            (th,) = [
                th
                for th in grid.xpath("./thead/tr/th")
                if " ".join(th.text_content().split()) == "Meeting Date"
            ]
            th.xpath(".//a")[0].text = "Date"  # a redesign renamed the column
        self._issue(doc, {"session": session, "year": year, "targets": targets, "offered": offered})
        return lxml.html.tostring(doc, encoding="utf-8")

    def _meeting(self, raw_id: str, guid: str) -> tuple[int, bytes | str]:
        fault = self.faults.get(f"meeting:{raw_id}")
        if (answer := self._page_fault(fault, "MeetingDetail.aspx")) is not None:
            return answer
        meeting = self.meetings.get(int(raw_id)) if raw_id.isdigit() else None
        if meeting is None or guid.upper() != meeting.guid.upper():
            return 200, b"<html><body>Invalid parameters!</body></html>"
        doc = copy.deepcopy(self._meeting_page)
        doc.get_element_by_id("aspnetForm").set(
            "action", f"./MeetingDetail.aspx?ID={meeting.id}&GUID={meeting.guid}&Options=info|&Search="
        )
        doc.get_element_by_id("ctl00_ContentPlaceHolder1_hypName").text = meeting.body
        doc.get_element_by_id("ctl00_ContentPlaceHolder1_lblDate").text = mdy(meeting.date)
        doc.get_element_by_id("ctl00_ContentPlaceHolder1_lblTime").text = meeting.time
        doc.get_element_by_id("ctl00_ContentPlaceHolder1_lblLocation").text = meeting.location
        table = doc.get_element_by_id(AGENDA)
        tbody = table.find("tbody")
        rows = list(tbody)
        roll_call, proto = rows[0], rows[1]
        for tr in rows[1:]:
            tbody.remove(tr)
        for i, bid in enumerate(meeting.bills):
            bill = self.bills[bid]
            tr = copy.deepcopy(proto)
            n = i + 1
            tr.set("class", "rgRow" if n % 2 == 0 else "rgAltRow")
            tr.set("id", f"{AGENDA}__{n}")
            for el in tr.xpath(".//*[@id]"):
                el.set("id", el.get("id").replace("_ctl06_", f"_ctl{4 + 2 * n:02d}_"))
            tds = tr.xpath("./td")
            a = tds[0].xpath(".//a")[0]
            a.set("href", f"LegislationDetail.aspx?ID={bill.id}&GUID={bill.guid}&Options=&Search=")
            a.text = bill.file
            for k, value in ((2, f"{n + 1}."), (3, bill.name or "\xa0"), (4, bill.type), (5, bill.status)):
                tds[k].text = value
            tds[6].text = bill.title
            action, result = meeting.outcomes.get(bid, ("\xa0", "\xa0"))
            tds[7].text, tds[8].text = action, result
            if bid in meeting.votes:
                link = tds[9].xpath(".//a")[0]
                link.attrib.pop("class", None)
                link.set(
                    "onclick",
                    f"radopen('HistoryDetail.aspx?ID={history_id(meeting, bid)}&GUID={meeting.guid}', "
                    "'HistoryDetail');return false;",
                )
                link.set("href", "#")
                link.text = "Action\xa0details"
            tbody.append(tr)
        assert roll_call is tbody[0]
        if fault == "layout":
            table.getparent().remove(table)
        return 200, lxml.html.tostring(doc, encoding="utf-8")

    def _history(self, raw_id: str, guid: str) -> tuple[int, bytes | str]:
        fault = self.faults.get(f"history:{raw_id}")
        if (answer := self._page_fault(fault, "HistoryDetail.aspx")) is not None:
            return answer
        found = None
        for meeting in self.meetings.values():
            for bid in meeting.votes:
                if raw_id.isdigit() and history_id(meeting, bid) == int(raw_id):
                    found = (meeting, bid)
        if found is None or guid.upper() != found[0].guid.upper():
            return 200, b"<html><body>Invalid parameters!</body></html>"
        meeting, bid = found
        bill = self.bills[bid]
        doc = copy.deepcopy(self._history_page)
        shown = int(raw_id) + 1 if fault == "other" else int(raw_id)
        doc.get_element_by_id("aspnetForm").set(
            "action", f"./HistoryDetail.aspx?ID={shown}&GUID={meeting.guid}"
        )
        action, result = meeting.outcomes.get(bid, ("", ""))
        for suffix, value in (
            ("hypFileNumber", bill.file),
            ("lblType", bill.type),
            ("lblTitle", bill.title),
            ("lblAction", action),
            ("lblResult", result),
        ):
            doc.get_element_by_id(f"ctl00_ContentPlaceHolder1_{suffix}").text = value
        grid = doc.get_element_by_id("ctl00_ContentPlaceHolder1_gridVote_ctl00")
        tbody = grid.find("tbody")
        proto = tbody[0]
        for tr in list(tbody):
            tbody.remove(tr)
        for i, (person, vote) in enumerate(meeting.votes[bid]):
            tr = copy.deepcopy(proto)
            tr.set("class", "rgRow" if i % 2 == 0 else "rgAltRow")
            tr.set("id", f"ctl00_ContentPlaceHolder1_gridVote_ctl00__{i}")
            a = tr.xpath(".//a")[0]
            a.set("id", f"ctl00_ContentPlaceHolder1_gridVote_ctl00_ctl{4 + 2 * i:02d}_hypPerson")
            a.set("href", f"PersonDetail.aspx?ID={600 + i}&GUID=X")
            a.text = person
            tr.xpath("./td")[1].text = vote
            tbody.append(tr)
        if not meeting.votes[bid]:
            tbody.append(
                _tr('<tr class="rgNoRecords"><td colspan="2"><div>No records to display.</div></td></tr>')
            )
        if fault == "layout":
            grid.getparent().remove(grid)
        return 200, lxml.html.tostring(doc, encoding="utf-8")

    def _people(self) -> tuple[int, bytes | str]:
        fault = self.faults.get("people")
        if (answer := self._page_fault(fault, "People.aspx")) is not None:
            return answer
        page = (SAMPLES / self.people / "people.html").read_bytes()
        if fault == "layout":
            page = page.replace(b"gridPeople_ctl00", b"gridMembers_ctl00")  # a redesign renamed the grid
        return 200, page

    def _people_text(self) -> str:
        return (SAMPLES / self.people / "people.html").read_text(encoding="utf-8")

    def _person(self, raw_id: str, guid: str) -> tuple[int, bytes | str]:
        fault = self.faults.get(f"person:{raw_id}")
        if (answer := self._page_fault(fault, "PersonDetail.aspx")) is not None:
            return answer
        if raw_id not in self.persons or not guid:
            return 200, b"<html><body>Invalid parameters!</body></html>"
        doc = copy.deepcopy(self._person_page)
        shown = int(raw_id) + 1 if fault == "other" else int(raw_id)
        doc.get_element_by_id("aspnetForm").set("action", f"./PersonDetail.aspx?ID={shown}&GUID={guid}")
        grid = doc.get_element_by_id("ctl00_ContentPlaceHolder1_gridDepartments_ctl00")
        tbody = grid.find("tbody")
        proto = tbody[0]
        for tr in list(tbody):
            tbody.remove(tr)
        for i, (body, title, start, end) in enumerate(self.persons[raw_id]):
            tr = copy.deepcopy(proto)
            tr.set("class", "rgRow" if i % 2 == 0 else "rgAltRow")
            tr.set("id", f"ctl00_ContentPlaceHolder1_gridDepartments_ctl00__{i}")
            cells = tr.xpath("./td")
            a = cells[0].xpath(".//a")[0]
            a.set("id", f"ctl00_ContentPlaceHolder1_gridDepartments_ctl00_ctl{4 + 2 * i:02d}_hypDepartment")
            a.set("href", f"DepartmentDetail.aspx?ID={31000 + i}&GUID=X")
            a.text = body
            cells[1].text = title or "\xa0"
            cells[2].text = ("2023-13-45" if fault == "date" and i == 0 else mdy(start)) or "\xa0"
            cells[3].text = mdy(end) or "\xa0"
            tbody.append(tr)
        if not self.persons[raw_id]:
            tbody.append(
                _tr('<tr class="rgNoRecords"><td colspan="4"><div>No records to display.</div></td></tr>')
            )
        if fault == "layout":
            grid.getparent().remove(grid)
        return 200, lxml.html.tostring(doc, encoding="utf-8")
