"""Legistar InSite web pages (``Legislation.aspx``, ``LegislationDetail.aspx``, ``Gateway.aspx``, and
``Calendar.aspx`` with ``MeetingDetail.aspx`` to find the bills on recent agendas and to store meetings,
``HistoryDetail.aspx`` for roll calls, ``People.aspx`` for members and ``PersonDetail.aspx`` for their
bodies and terms):
settings, track-by-link, and the normalizers from the pages' HTML to the tracker's bill and meeting
(docs/platform-legistar-web.md, docs/meetings.md).

The spider is crawler/spiders/legistar_web.py. Everything here works on HTML text and is tested without
Scrapy.

Parsing is intentionally fragile: elements are looked up by their exact ASP.NET ids, each lookup says how
many matches it expects, and a page that is not shaped as expected raises :class:`LayoutChanged` (the
crawl of the city fails, naming the URL and what is missing) while one bad record raises
:class:`~tracker.errors.DataError` (that record is skipped and named). Scraped text is untrusted: it is
whitespace-normalized, length-checked against the columns it goes to, and links are resolved against the
configured site, never followed to a host read from a page.

Source ids are the ids InSite puts in its links, which are the Legistar Web API's ids: a bill's source id is
the ``ID`` of ``LegislationDetail.aspx?ID=...`` (the API's MatterId), an action's is the ``ID`` of its
``HistoryDetail.aspx`` link (MatterHistoryId), an attachment's the ``ID`` of ``View.ashx?M=F&ID=...``
(MatterAttachmentId). A city can therefore move between ``legistar`` and ``legistar-web`` and keep its bills.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
from lxml.etree import ParserError
from pydantic import Field, field_validator

from tracker.config_fields import check_http_url
from tracker.contract import (
    NormalizedAction,
    NormalizedAttachment,
    NormalizedBill,
    NormalizedMeeting,
    NormalizedMeetingItem,
    NormalizedMember,
    NormalizedSponsor,
    NormalizedTerm,
    NormalizedVote,
    identifier_key,
    name_key,
)
from tracker.errors import DataError, LayoutChanged
from tracker.platforms.base import JurisdictionConfig, LinkTarget
from tracker.platforms.legistar import ITEMS_STAMP_KEY, vote_value
from tracker.safe_output import ascii_digits
from tracker.sanitize import clean_text
from tracker.stages import classify_action, stage_for

# A value of the search form's years drop-down ("All", "This Year", "2024", "Session 2018-2021"...).
_YEAR_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")


class Settings(JurisdictionConfig):
    platform: Literal["legistar-web"]
    client: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    # The InSite site (default https://{client}.legistar.com).
    web_base: str | None = None
    # Values of the legislation search's years drop-down searched by full crawls and sweeps.
    search_years: list[str] = Field(default_factory=lambda: ["All"])
    # ... and by incremental crawls (cheap: only this and last year's legislation is listed).
    incremental_years: list[str] = Field(default_factory=lambda: ["This Year", "Last Year"])
    # Incremental crawls and sweeps also read the calendar (Calendar.aspx) for the meetings held since the
    # last crawl (less calendar_days) and fetch every bill on their agendas (MeetingDetail.aspx).
    calendar: bool = True
    calendar_days: int = Field(default=7, ge=0, le=366)
    # Every crawl but track crawls also stores the calendar's meetings of the [crawl] meetings window with
    # their agenda items (docs/meetings.md, "Legistar web pages"); false reads none.
    meetings: bool = True

    @property
    def base(self) -> str:
        return self.web_base or f"https://{self.client}.legistar.com"

    @field_validator("web_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)

    @field_validator("search_years", "incremental_years")
    @classmethod
    def _years(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("must name at least one value of the search's years drop-down")
        for value in v:
            if not _YEAR_VALUE.match(value):
                raise ValueError(f"not a years drop-down value: {value!r}")
        if len(set(v)) != len(v):
            raise ValueError(f"lists a value twice: {v!r}")
        return v

    @property
    def source_key(self) -> str:
        return f"legistar-web:{self.client}"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.base).hostname}
        return {h for h in found if h}


# -- track by link ------------------------------------------------------------------------------------------

_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def _page_id(value: str) -> bool:
    """Whether ``value`` is an InSite page's ID (a detail, meeting, calendar or person link): ASCII digits, at
    most 18 of them (a 64-bit integer; a longer one is not an id InSite gives)."""
    return ascii_digits(value) and len(value) <= 18


def _query(url: str) -> dict[str, str]:
    """The query parameters of a URL, names lower-cased, first value of each."""
    return {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def detail_id(url: str) -> tuple[str, str | None] | None:
    """(ID, GUID or None) of a ``LegislationDetail.aspx?ID=...&GUID=...`` URL or path, else None."""
    parts = urlsplit(url)
    if not parts.path.lower().endswith("legislationdetail.aspx"):
        return None
    q = _query(url)
    mid = q.get("id", "")
    if not _page_id(mid):
        return None
    guid = q.get("guid")
    return mid, guid if guid and _GUID.match(guid) else None


def parse_url(url: str) -> LinkTarget | None:
    """A public InSite bill page (``LegislationDetail.aspx?ID=...``, or the ``Gateway.aspx?M=L&ID=...``
    permalink) → its source id, the ID (the API's MatterId). The host is matched to a configured
    jurisdiction by the caller."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    found = detail_id(url.strip())
    if found is None and parts.path.lower().endswith("/gateway.aspx"):
        q = _query(url.strip())
        if q.get("m", "").lower() == "l" and _page_id(q.get("id", "")):
            found = (q["id"], None)
    if found is None:
        return None
    return LinkTarget(
        platform="legistar-web", host=parts.hostname.lower(), source_id=found[0], url=url.strip()
    )


def public_url(base: str, source_id: str, guid: str) -> str:
    """The bill's public page; the same URL the ``legistar`` platform records for the bill."""
    return f"{base}/LegislationDetail.aspx?ID={source_id}&GUID={guid}"


# -- pages --------------------------------------------------------------------------------------------------


GONE_TEXT = "This record no longer exists"
INVALID_TEXT = "Invalid parameters!"

SEARCH_GRID = "ctl00_ContentPlaceHolder1_gridMain_ctl00"
HISTORY_GRID = "ctl00_ContentPlaceHolder1_gridLegislation_ctl00"
YEARS = "ctl00_ContentPlaceHolder1_lstYearsAdvanced"
MAX = "ctl00_ContentPlaceHolder1_lstMax"
SWITCH = "ctl00_ContentPlaceHolder1_btnSwitch"
SEARCH_TARGET = "ctl00$ContentPlaceHolder1$btnSearch"
TEXT_FIELD = "ctl00$ContentPlaceHolder1$txtText"
GRID_UNIQUE = "ctl00$ContentPlaceHolder1$gridMain$"


def page_problem(body: bytes, text: str) -> str | None:
    """Why a 200 answer is not a page to parse: empty, or InSite's record-gone / invalid-id pages."""
    if not body.strip():
        return "empty body"
    if GONE_TEXT in text:
        return "record gone"
    if INVALID_TEXT in text and "ctl00_ContentPlaceHolder1" not in text:
        return "invalid parameters"
    return None


def parse_html(text: str) -> Any:
    """An HTML document (lxml), or LayoutChanged when there is nothing to parse."""
    try:
        return lxml.html.document_fromstring(text)
    except ValueError:  # a str with an XML encoding declaration
        return lxml.html.document_fromstring(text.encode("utf-8"))
    except ParserError:
        raise LayoutChanged("not an HTML page") from None


def _by_id(doc: Any, element_id: str) -> list[Any]:
    found: list[Any] = doc.xpath("//*[@id=$i]", i=element_id)
    return found


def _one(doc: Any, element_id: str, what: str, *, required: bool = True) -> Any:
    found = _by_id(doc, element_id)
    if len(found) > 1:
        raise LayoutChanged(f"{len(found)} elements with id {element_id} ({what})")
    if not found:
        if required:
            raise LayoutChanged(f"{what} ({element_id}) missing")
        return None
    return found[0]


def _text(el: Any) -> str | None:
    """An element's text, whitespace collapsed (line breaks count as spaces)."""
    if el is None:
        return None
    for br in el.iter("br"):
        br.tail = " " + (br.tail or "")
    return clean_text(el.text_content())


def _has_class(el: Any, name: str) -> bool:
    return name in (el.get("class") or "").split()


_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_date(value: str | None, where: str) -> date | None:
    """InSite's ``M/D/YYYY`` dates."""
    if value is None:
        return None
    m = _DATE.match(value)
    if not m:
        raise DataError(f"{where}: malformed date {value[:40]!r}")
    month, day, year = (int(g) for g in m.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise DataError(f"{where}: malformed date {value[:40]!r}") from None


def _limit(value: str | None, size: int, where: str) -> str | None:
    if value is not None and len(value) > size:
        raise DataError(f"{where}: {len(value)} characters (at most {size})")
    return value


# -- the grids ----------------------------------------------------------------------------------------------


def _require_columns(headers: list[str], columns: Iterable[str], what: str) -> None:
    """A grid without one of the columns a parser reads is a changed layout."""
    missing = [c for c in columns if c not in headers]
    if missing:
        raise LayoutChanged(f"{what} has no {', '.join(missing)} column")


def _grid_headers(table: Any, what: str) -> list[str]:
    """Column names of a RadGrid table (its one header row), made unique."""
    rows = table.xpath("./thead/tr[th[contains(concat(' ', normalize-space(@class), ' '), ' rgHeader ')]]")
    if len(rows) != 1:
        raise LayoutChanged(f"{what}: {len(rows)} header rows instead of 1")
    names: list[str] = []
    for th in rows[0].xpath("./th"):
        name = _text(th) or th.xpath("string(.//input/@value)") or th.xpath("string(.//img/@alt)") or ""
        name = clean_text(name) or ""
        base, n = name, 2
        while name in names:
            name, n = f"{base} ({n})", n + 1
        names.append(name)
    return names


def _grid_rows(table: Any, what: str, width: int) -> list[Any]:
    """The data rows of a RadGrid table; [] for its "No records to display." row."""
    out = []
    for i, tr in enumerate(table.xpath("./tbody/tr")):
        if _has_class(tr, "rgNoRecords"):
            continue
        if not (_has_class(tr, "rgRow") or _has_class(tr, "rgAltRow")):
            raise LayoutChanged(f"{what}: row {i + 1} is neither rgRow nor rgAltRow ({tr.get('class')!r})")
        cells = tr.xpath("./td")
        if len(cells) != width:
            raise LayoutChanged(f"{what}: row {i + 1} has {len(cells)} cells for {width} columns")
        out.append(tr)
    return out


@dataclass
class GridRow:
    """One row of the legislation search results."""

    source_id: str
    guid: str | None
    identifier: str | None
    status: str | None
    cells: dict[str, str | None]
    # Any M/D/YYYY date shown in the row (intro date, final action...): what makes a row "recent".
    dates: list[date]
    # A hash of every cell: what an incremental crawl compares with the stored bill (its row version).
    fingerprint: str


@dataclass
class SearchPage:
    rows: list[GridRow]
    rejected: list[str]
    page: int
    pages: int
    total: int
    # The postback target of the next page's pager link, when there is one.
    next_target: str | None


# ASCII digits, at most nine (\d also takes other scripts' digits; an absurd count is a changed layout, and
# int() refuses more than 4,300 digits)
_N = r"([0-9]{1,9})"
_PAGER_INFO = re.compile(rf"Page {_N} of {_N}, items {_N} to {_N} of {_N}(?![0-9])")
_POSTBACK = re.compile(r"__doPostBack\('([^']*)'")
_UNIQUE_ID = re.compile(r"^[A-Za-z0-9_$]{1,200}$")


def fingerprint(cells: dict[str, str | None]) -> str:
    blob = json.dumps(sorted(cells.items()), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _pager(table: Any, count: int, grid: str, what: str, unique: str) -> tuple[int, int, int, str | None]:
    """(page, pages, total, next page's postback target) from a RadGrid's footer pager; a grid without one
    is one page of ``count`` rows."""
    page, pages, total, next_target = 1, 1, count, None
    pager = table.xpath("./tfoot/tr[contains(concat(' ', normalize-space(@class), ' '), ' rgPager ')]")
    if len(pager) > 1:
        raise LayoutChanged(f"{grid} has {len(pager)} pagers")
    if pager:
        info = clean_text(pager[0].xpath("string(.//div[contains(@class, 'rgInfoPart')])")) or ""
        m = _PAGER_INFO.search(info)
        if not m:
            raise LayoutChanged(f"{what}'s 'Page N of M, items ...' text is missing")
        page, pages, total = int(m.group(1)), int(m.group(2)), int(m.group(5))
        current = pager[0].xpath(
            ".//a[contains(concat(' ', normalize-space(@class), ' '), ' rgCurrentPage ')]"
        )
        if len(current) != 1:
            raise LayoutChanged(f"{what} has {len(current)} current-page links")
        following = current[0].xpath("following-sibling::a[1]")
        if page < pages:
            if not following:
                raise LayoutChanged(f"{what} shows page {page} of {pages} but no next-page link")
            m2 = _POSTBACK.search(following[0].get("href") or "")
            target = unquote(m2.group(1)) if m2 else ""
            if not _UNIQUE_ID.match(target) or not target.startswith(unique):
                raise LayoutChanged(f"{what}'s next-page link is not a grid postback ({target[:80]!r})")
            next_target = target
    return page, pages, total, next_target


def parse_search_page(doc: Any) -> SearchPage:
    """The legislation search results grid of a ``Legislation.aspx`` page."""
    table = _one(doc, SEARCH_GRID, "the legislation results grid")
    headers = _grid_headers(table, "the legislation results grid")
    rows, rejected = [], []
    for i, tr in enumerate(_grid_rows(table, "the legislation results grid", len(headers))):
        links = tr.xpath(".//a[substring(@id, string-length(@id) - 7) = '_hypFile']")
        if len(links) != 1:
            raise LayoutChanged(f"the legislation results grid: row {i + 1} has {len(links)} file links")
        href = links[0].get("href") or ""
        found = detail_id(href)
        if found is None:
            rejected.append(f"row {i + 1} links to {href[:120]!r}, not a LegislationDetail.aspx?ID= page")
            continue
        cells = {h: _text(td) for h, td in zip(headers, tr.xpath("./td"), strict=True)}
        try:
            dates = [parse_date(v, f"row {i + 1}") for v in cells.values() if v and _DATE.match(v)]
        except DataError as exc:
            rejected.append(str(exc))
            continue
        rows.append(
            GridRow(
                source_id=found[0],
                guid=found[1],
                identifier=_text(links[0]),
                status=cells.get("Status"),
                cells=cells,
                dates=[d for d in dates if d is not None],
                fingerprint=fingerprint(cells),
            )
        )
    page, pages, total, next_target = _pager(
        table, len(rows) + len(rejected), "the legislation results grid", "the results pager", GRID_UNIQUE
    )
    return SearchPage(rows, rejected, page, pages, total, next_target)


# -- the form and its postbacks ------------------------------------------------------------------------------


def form_fields(doc: Any) -> list[tuple[str, str]]:
    """What a browser would post back from the page's ``aspnetForm``: hidden and text inputs, checked
    boxes, selected options (no buttons). ``__VIEWSTATE`` must be there."""
    form = _one(doc, "aspnetForm", "the page form")
    fields: list[tuple[str, str]] = []
    for el in form.xpath(".//input | .//select | .//textarea"):
        name = el.get("name")
        if not name:
            continue
        if el.tag == "input":
            kind = (el.get("type") or "text").lower()
            if kind in ("submit", "image", "button", "reset", "file"):
                continue
            if kind in ("checkbox", "radio") and el.get("checked") is None:
                continue
            fields.append((name, el.get("value") or ("on" if kind in ("checkbox", "radio") else "")))
        elif el.tag == "select":
            chosen = el.xpath("./option[@selected]") or el.xpath("./option[1]")
            if chosen:
                fields.append((name, chosen[0].get("value", chosen[0].text or "")))
        else:
            fields.append((name, el.text or ""))
    if sum(1 for name, _ in fields if name == "__VIEWSTATE") != 1:
        raise LayoutChanged("the page form has no __VIEWSTATE")
    return fields


def postback(
    fields: list[tuple[str, str]], target: str, overrides: dict[str, str] | None = None, argument: str = ""
) -> list[tuple[str, str]]:
    """The form fields of a postback fired by ``target``: the page's own fields (``__VIEWSTATE``,
    ``__EVENTVALIDATION``... copied from the previous answer), ``__EVENTTARGET``/``__EVENTARGUMENT``,
    and ``overrides`` replacing or adding fields."""
    extra = {"__EVENTTARGET": target, "__EVENTARGUMENT": argument, **(overrides or {})}
    out = [(k, v) for k, v in fields if k not in extra]
    out += list(extra.items())
    return out


@dataclass
class Combo:
    """A Telerik RadComboBox of the form: its unique id and (value, text) items."""

    unique_id: str
    client_state: str
    items: list[tuple[str, str]] = field(default_factory=list)


_CREATE = re.compile(
    r"\$create\(Telerik\.Web\.UI\.RadComboBox,\s*(\{.*?\}),\s*(?:null|\{[^{}]*\}),\s*(?:null|\{[^{}]*\}),\s*"
    r"\$get\(\"([A-Za-z0-9_]+)\"\)\)",
    re.S,
)


def combos(doc: Any, page_text: str) -> dict[str, Combo]:
    """The page's RadComboBoxes by element id, from their ``$create(...)`` scripts and drop-down lists."""
    out: dict[str, Combo] = {}
    for m in _CREATE.finditer(page_text):
        try:
            config = json.loads(m.group(1))
        except json.JSONDecodeError:
            continue
        element_id = m.group(2)
        texts = [_text(li) or "" for li in doc.xpath("//*[@id=$i]//li", i=f"{element_id}_DropDown")]
        values = [str(item.get("value", "")) for item in config.get("itemData") or []]
        if len(texts) != len(values):
            raise LayoutChanged(f"drop-down {element_id}: {len(values)} values for {len(texts)} items")
        out[element_id] = Combo(
            unique_id=str(config.get("_uniqueId") or ""),
            client_state=str(config.get("clientStateFieldID") or f"{element_id}_ClientState"),
            items=list(zip(values, texts, strict=True)),
        )
    return out


def is_advanced(doc: Any) -> bool:
    """Whether the page shows the advanced search (the years and max-results drop-downs)."""
    return bool(_by_id(doc, f"{YEARS}_Input"))


def switch_button(doc: Any) -> tuple[str, str]:
    """(name, value) of the simple/advanced switch button of a simple search page."""
    button = _one(doc, SWITCH, "the simple/advanced search switch")
    name, value = button.get("name"), button.get("value") or ""
    if not name or "advanced" not in value.lower():
        raise LayoutChanged(f"the search switch does not lead to the advanced search ({value[:40]!r})")
    return name, value


def search_overrides(doc: Any, page_text: str, year: str) -> dict[str, str]:
    """The fields of an advanced legislation search of every type and status in the years value ``year``,
    with the most results per search the form offers. Raises DataError when ``year`` is not offered."""
    found = combos(doc, page_text)
    years, most = found.get(YEARS), found.get(MAX)
    if years is None:
        raise LayoutChanged(f"the years drop-down ({YEARS}) missing")
    if most is None:
        raise LayoutChanged(f"the max-results drop-down ({MAX}) missing")
    item = next(((v, t) for v, t in years.items if v == year), None) or next(
        ((v, t) for v, t in years.items if t == year), None
    )
    if item is None:
        offered = ", ".join(v for v, _ in years.items)
        raise DataError(f"the years drop-down does not offer {year!r} (it offers: {offered[:300]})")
    numeric = [(int(v), v, t) for v, t in most.items if ascii_digits(v)]
    if not numeric:
        raise LayoutChanged("the max-results drop-down has no numeric value")
    _, max_value, max_text = max(numeric)
    return {
        TEXT_FIELD: "",
        years.unique_id: item[1],
        years.client_state: json.dumps({"value": item[0]}, separators=(",", ":")),
        most.unique_id: max_text,
        most.client_state: json.dumps({"value": max_value}, separators=(",", ":")),
    }


# -- the detail page -----------------------------------------------------------------------------------------

_FIELD = "ctl00_ContentPlaceHolder1_"
_HISTORY_ID = re.compile(r"HistoryDetail\.aspx\?([^'\"\s]+)", re.I)
_MEETING_ID = re.compile(r"MeetingDetail\.aspx\?([^'\"\s]+)", re.I)


def _link_id(link: Any, pattern: re.Pattern[str]) -> str | None:
    """The ID parameter of a HistoryDetail/MeetingDetail link (in its href or its radopen() onclick)."""
    if link is None:
        return None
    for attr in ("onclick", "href"):
        m = pattern.search(link.get(attr) or "")
        if m:
            value = _query("x?" + m.group(1).replace("&amp;", "&")).get("id", "")
            if _page_id(value):
                return value
    return None


def _row_link(tr: Any, suffix: str, where: str) -> Any:
    links = tr.xpath(f".//a[substring(@id, string-length(@id) - {len(suffix) - 1}) = '{suffix}']")
    if len(links) > 1:
        raise LayoutChanged(f"{where}: {len(links)} links ending in {suffix}")
    return links[0] if links else None


HISTORY_COLUMNS = ("Date", "Action By", "Action", "Result")


def _actions(doc: Any, where: str) -> list[NormalizedAction]:
    table = _one(doc, HISTORY_GRID, "the history table")
    headers = _grid_headers(table, "the history table")
    _require_columns(headers, HISTORY_COLUMNS, "the history table")
    parsed = []
    for i, tr in enumerate(_grid_rows(table, "the history table", len(headers))):
        here = f"{where} history row {i + 1}"
        cells = {h: _text(td) for h, td in zip(headers, tr.xpath("./td"), strict=True)}
        day = parse_date(cells["Date"], f"{here}: Date")
        details = _link_id(_row_link(tr, "_hypDetails", here), _HISTORY_ID)
        meeting = _link_id(_row_link(tr, "_hypMeetingDetail", here), _MEETING_ID)
        parsed.append((day, i, details, meeting, cells))
    # The page lists the newest first: oldest first here, a day's rows in the order they happened.
    parsed.sort(key=lambda p: (p[0] or date.min, -p[1]))
    actions: list[NormalizedAction] = []
    seen_rows: set[tuple[Any, ...]] = set()
    seen_ids: set[str] = set()
    for day, i, details, meeting, cells in parsed:
        here = f"{where} history row {i + 1}"
        name, body, result = cells["Action"], cells["Action By"], cells["Result"]
        key = (day, (name or "").lower(), (body or "").lower(), (result or "").lower())
        if name and key in seen_rows:
            continue  # Legistar's double rows for one action collapse onto the first (as from the API)
        seen_rows.add(key)
        if details is not None:
            sid = details
        else:
            blob = json.dumps([str(day), cells.get("Ver."), body, name, result], ensure_ascii=False)
            sid = "row-" + hashlib.sha256(blob.encode()).hexdigest()[:16]
            n = 2
            while sid in seen_ids:
                sid = f"{sid.split('~')[0]}~{n}"
                n += 1
        if sid in seen_ids:
            continue  # the same action details twice
        seen_ids.add(sid)
        actions.append(
            NormalizedAction(
                source_id=sid,
                sequence=len(actions),
                action_date=day,
                acted_at=None,
                description=name,
                text=None,
                body_name=_limit(body, 300, f"{here}: Action By"),
                result=_limit(result, 100, f"{here}: Result"),
                tally=None,
                classification=classify_action(name),
                status_source_id=None,
                event_source_id=meeting,
                raw={"cells": cells, "history_id": details, "meeting_id": meeting},
            )
        )
    return actions


def _sponsors(doc: Any, where: str) -> list[NormalizedSponsor]:
    span = _one(doc, f"{_FIELD}lblSponsors2", "the sponsors", required=False)
    if span is None:
        return []
    links = span.xpath(".//a")
    names = [_text(a) for a in links] if links else (_text(span) or "").split(",")
    out: list[str] = []
    for name in names:
        clean = clean_text(name)
        if clean and clean not in out:
            out.append(_limit(clean, 300, f"{where}: sponsor") or clean)
    return [NormalizedSponsor(sequence=i, name=n, is_primary=i == 0) for i, n in enumerate(out)]


def _attachments(doc: Any, base: str, where: str) -> list[NormalizedAttachment]:
    span = _one(doc, f"{_FIELD}lblAttachments2", "the attachments", required=False)
    if span is None:
        return []
    out: list[NormalizedAttachment] = []
    seen: set[str] = set()
    for a in span.xpath(".//a"):
        href = (a.get("href") or "").strip()
        url = urljoin(base + "/", href)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DataError(f"{where}: attachment link {href[:120]!r} is not an http(s) URL")
        q = _query(url)
        if parts.path.lower().endswith("/view.ashx") and ascii_digits(q.get("id", "")):
            sid = q["id"]
        else:
            sid = "url-" + hashlib.sha256(url.encode()).hexdigest()[:16]
        if sid in seen:
            continue
        seen.add(sid)
        out.append(NormalizedAttachment(source_id=sid, sequence=len(out), name=_text(a), url=url))
    return out


# (element id suffix, NormalizedBill field, column size or None for dates)
_DETAIL_TEXT = (
    ("lblFile2", "identifier", 100),
    ("lblType2", "type_name", 200),
    ("lblStatus2", "status", 200),
    ("lblName2", "name", None),
    ("lblTitle2", "title", None),
    ("lblVersion2", "version", 20),
    ("lblEnactmentNumber2", "enactment_number", 100),
    ("hypInControlOf2", "body_name", 300),
)
_DETAIL_DATES = (
    ("lblIntroduced2", "introduced"),
    ("lblOnAgenda2", "agenda_date"),
    ("lblPassed2", "passed_date"),
    ("lblEnactmentDate2", "enacted_date"),
)
_REQUIRED = {"lblFile2": "the file number", "lblStatus2": "the status"}


def parse_detail(
    doc: Any,
    *,
    source_id: str,
    guid: str,
    base: str,
    slug: str,
    stage_overrides: Mapping[str, str] | None = None,
    row_version: str | None = None,
    listed_identifier: str | None = None,
) -> NormalizedBill:
    """A ``LegislationDetail.aspx`` page → the bill with its history, sponsors and attachments.

    ``row_version``: the fingerprint of the bill's search results row (None when it was fetched without
    being listed); ``listed_identifier``: the file number that row showed, which the page must show too."""
    where = f"{slug} bill {source_id}"
    form = _one(doc, "aspnetForm", "the page form")
    action = form.get("action") or ""
    shown = detail_id(action)
    if shown is not None and shown[0] != source_id:
        raise DataError(f"{where}: the page is the detail page of ID {shown[0]}")
    values: dict[str, Any] = {}
    raw: dict[str, Any] = {"guid": guid}
    for suffix, name, size in _DETAIL_TEXT:
        label = _REQUIRED.get(suffix, name.replace("_", " "))
        el = _one(doc, _FIELD + suffix, label, required=suffix in _REQUIRED)
        value = _text(el)
        raw[suffix] = value
        values[name] = _limit(value, size, f"{where}: {label}") if size else value
    for suffix, name in _DETAIL_DATES:
        el = _one(doc, _FIELD + suffix, name.replace("_", " "), required=False)
        raw[suffix] = _text(el)
        values[name] = parse_date(_text(el), f"{where}: {name.replace('_', ' ')}")
    if not values["identifier"]:
        raise DataError(f"{where}: the file number is empty")
    if listed_identifier and listed_identifier != values["identifier"]:
        raise DataError(
            f"{where}: the page shows file {values['identifier']!r}, the search listed {listed_identifier!r}"
        )
    status = values["status"]
    url = public_url(base, source_id, guid)
    return NormalizedBill(
        source_id=source_id,
        status_source_id=None,
        stage=stage_for(status, stage_overrides),
        source_url=url,
        public_url=url,
        portal_modified_at=None,
        portal_row_version=row_version,
        raw=raw,
        actions=_actions(doc, where),
        sponsors=_sponsors(doc, where),
        attachments=_attachments(doc, base, where),
        **values,
    )


# -- the calendar -------------------------------------------------------------------------------------------

CALENDAR_GRID = "ctl00_ContentPlaceHolder1_gridCalendar_ctl00"
CALENDAR_UNIQUE = "ctl00$ContentPlaceHolder1$gridCalendar$"
CALENDAR_YEARS = "ctl00_ContentPlaceHolder1_lstYears"
CALENDAR_BODIES = "ctl00_ContentPlaceHolder1_lstBodies"
CALENDAR_COLUMNS = ("Name", "Meeting Date", "Meeting Time", "Meeting Location", "Meeting Details")
MEETING_GRID = "ctl00_ContentPlaceHolder1_gridMain_ctl00"
MEETING_UNIQUE = "ctl00$ContentPlaceHolder1$gridMain$"
AGENDA_COLUMNS = ("File #", "Title")


@dataclass
class Meeting:
    """One row of the calendar grid."""

    # the ID and GUID of its MeetingDetail.aspx link (the API's EventId); None while the site shows
    # "Meeting details" without a link (a meeting not yet published)
    source_id: str | None
    guid: str | None
    body: str | None
    date: date
    time: str | None
    location: str | None
    # the agenda and minutes links, resolved on the configured site (None: "Not available")
    agenda_url: str | None
    minutes_url: str | None
    cells: dict[str, str | None]
    # the meeting's id even while it is not published: the ID of its MeetingDetail.aspx link, else of its
    # iCalendar export link (View.ashx?M=IC&ID=...), both the API's EventId
    event_id: str | None = None
    # the location without the comment InSite shows under it (``<br><em>CANCELLED</em>``), and that comment
    place: str | None = None
    comment: str | None = None
    # the row is struck through (NYC shows its deferred meetings so)
    struck: bool = False


@dataclass
class CalendarPage:
    meetings: list[Meeting]
    rejected: list[str]
    page: int
    pages: int
    total: int
    next_target: str | None
    # the text the years drop-down shows ("This Year", "2025"): which year the grid lists
    year: str | None


_MEETING_LINK = re.compile(r"(?:^|/)MeetingDetail\.aspx$", re.I)


def meeting_id(url: str) -> tuple[str, str | None] | None:
    """(ID, GUID or None) of a ``MeetingDetail.aspx?ID=...&GUID=...`` URL or path, else None."""
    if not _MEETING_LINK.search(urlsplit(url).path):
        return None
    q = _query(url)
    mid = q.get("id", "")
    if not _page_id(mid):
        return None
    guid = q.get("guid")
    return mid, guid if guid and _GUID.match(guid) else None


def meeting_url(base: str, source_id: str, guid: str) -> str:
    return f"{base}/MeetingDetail.aspx?ID={source_id}&GUID={guid}&Options=info&Search="


def _link_url(link: Any, base: str, where: str) -> str | None:
    """A document link of a row (agenda, minutes), resolved on the configured site; None without href."""
    if link is None or not (link.get("href") or "").strip():
        return None
    url: str = urljoin(base + "/", link.get("href").strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataError(f"{where}: link {link.get('href')[:120]!r} is not an http(s) URL")
    return url


def parse_calendar_page(doc: Any, base: str) -> CalendarPage:
    """The meetings grid of a ``Calendar.aspx`` page. Columns are found by their exact header text; a
    missing grid, column or row link is a changed layout."""
    table = _one(doc, CALENDAR_GRID, "the calendar grid")
    headers = _grid_headers(table, "the calendar grid")
    _require_columns(headers, CALENDAR_COLUMNS, "the calendar grid")
    years = _one(doc, f"{CALENDAR_YEARS}_Input", "the calendar's years drop-down")
    meetings, rejected = [], []
    for i, tr in enumerate(_grid_rows(table, "the calendar grid", len(headers))):
        where = f"calendar row {i + 1}"
        cells = {h: _text(td) for h, td in zip(headers, tr.xpath("./td"), strict=True)}
        detail = _row_link(tr, "_hypMeetingDetail", where)
        if detail is None:
            raise LayoutChanged(f"the calendar grid: row {i + 1} has no meeting details link")
        try:
            day = parse_date(cells["Meeting Date"], f"{where}: Meeting Date")
            if day is None:
                raise DataError(f"{where}: no meeting date")
            found = None
            href = (detail.get("href") or "").strip()
            if href:
                found = meeting_id(href)
                if found is None or found[1] is None:
                    raise DataError(
                        f"{where} links to {href[:120]!r}, not a MeetingDetail.aspx?ID=&GUID= page"
                    )
            place, comment = _place(tr.xpath("./td")[headers.index("Meeting Location")])
            ical = _row_link(tr, "_hypiCal", where)
            meetings.append(
                Meeting(
                    source_id=found[0] if found else None,
                    guid=found[1] if found else None,
                    body=_limit(cells["Name"], 300, f"{where}: Name"),
                    date=day,
                    time=cells["Meeting Time"],
                    location=cells["Meeting Location"],
                    agenda_url=_link_url(_row_link(tr, "_hypAgenda", where), base, where),
                    minutes_url=_link_url(_row_link(tr, "_hypMinutes", where), base, where),
                    cells=cells,
                    event_id=found[0] if found else _ical_id(ical),
                    place=place,
                    comment=comment,
                    struck=bool(tr.xpath("./td[1]//strike | ./td[1]//s | ./td[1]//del")),
                )
            )
        except DataError as exc:
            if isinstance(exc, LayoutChanged):
                raise
            rejected.append(str(exc))
    page, pages, total, next_target = _pager(
        table, len(meetings) + len(rejected), "the calendar grid", "the calendar pager", CALENDAR_UNIQUE
    )
    return CalendarPage(meetings, rejected, page, pages, total, next_target, clean_text(years.get("value")))


def calendar_overrides(doc: Any, page_text: str, year: str) -> tuple[str, dict[str, str]]:
    """(the text shown for ``year``, the fields of the calendar's years drop-down postback for it) with
    every body; the postback's ``__EVENTTARGET`` is the drop-down itself (as the recorded Nashville
    postback and python-legistar-scraper's ``eventSearch``). DataError when ``year`` is not offered."""
    found = combos(doc, page_text)
    years = found.get(CALENDAR_YEARS)
    if years is None:
        raise LayoutChanged(f"the calendar's years drop-down ({CALENDAR_YEARS}) missing")
    item = next(((v, t) for v, t in years.items if v == year), None) or next(
        ((v, t) for v, t in years.items if t == year), None
    )
    if item is None:
        offered = ", ".join(v for v, _ in years.items)
        raise DataError(
            f"the calendar's years drop-down does not offer {year!r} (it offers: {offered[:300]})"
        )
    out = {years.client_state: json.dumps({"value": item[0]}, separators=(",", ":"))}
    bodies = found.get(CALENDAR_BODIES)
    if bodies is not None:
        every = next(((v, t) for v, t in bodies.items if v == "All"), None)
        if every is None:
            raise LayoutChanged(f"the calendar's bodies drop-down ({CALENDAR_BODIES}) has no 'All' item")
        out[bodies.client_state] = json.dumps({"value": "All"}, separators=(",", ":"))
    return item[1], {"__EVENTTARGET": years.unique_id, **out}


def check_calendar_year(page: CalendarPage, shown: str) -> None:
    """The calendar answer must list the year asked for (InSite sometimes answers another range, as
    python-legistar-scraper notes; the recorded Nashville postback of a year it does not offer kept
    "This Year")."""
    if page.year != shown:
        raise DataError(f"the calendar shows {page.year!r} after a postback asking for {shown!r}")


# -- the meeting page ---------------------------------------------------------------------------------------


@dataclass
class AgendaItem:
    source_id: str
    guid: str | None
    identifier: str | None
    cells: dict[str, str | None]


@dataclass
class MeetingPage:
    items: list[AgendaItem]
    rejected: list[str]
    page: int
    pages: int
    total: int
    next_target: str | None


def _agenda_grid(doc: Any, source_id: str) -> tuple[Any, list[str]]:
    """The agenda items grid of meeting ``source_id``'s ``MeetingDetail.aspx`` page and its headers; an
    error when the page is another meeting's or the grid lacks a column the parsers read."""
    form = _one(doc, "aspnetForm", "the page form")
    shown = meeting_id(form.get("action") or "")
    if shown is not None and shown[0] != source_id:
        raise DataError(f"meeting {source_id}: the page is the meeting page of ID {shown[0]}")
    table = _one(doc, MEETING_GRID, "the agenda items grid")
    headers = _grid_headers(table, "the agenda items grid")
    _require_columns(headers, AGENDA_COLUMNS, "the agenda items grid")
    return table, headers


def parse_meeting_page(doc: Any, source_id: str) -> MeetingPage:
    """The agenda items grid of a ``MeetingDetail.aspx`` page → the bills on the agenda (the ``ID`` and
    ``GUID`` of each item's ``LegislationDetail.aspx`` file link). Items without a file number (roll
    call, public comment) have no link and are skipped; a file number without a bill link is rejected."""
    table, headers = _agenda_grid(doc, source_id)
    items, rejected, seen = [], [], set()
    for i, tr in enumerate(_grid_rows(table, "the agenda items grid", len(headers))):
        where = f"meeting {source_id} agenda row {i + 1}"
        cells = {h: _text(td) for h, td in zip(headers, tr.xpath("./td"), strict=True)}
        link = _row_link(tr, "_hypFile", where)
        if link is None:
            if cells["File #"]:
                rejected.append(f"{where}: file {cells['File #'][:40]!r} has no link")
            continue
        href = link.get("href") or ""
        found = detail_id(href)
        if found is None:
            rejected.append(f"{where} links to {href[:120]!r}, not a LegislationDetail.aspx?ID= page")
            continue
        if found[0] in seen:
            continue  # a bill twice on one agenda (two versions, two items)
        seen.add(found[0])
        items.append(AgendaItem(found[0], found[1], _text(link), cells))
    page, pages, total, next_target = _pager(
        table, len(items) + len(rejected), "the agenda items grid", "the agenda pager", MEETING_UNIQUE
    )
    return MeetingPage(items, rejected, page, pages, total, next_target)


# -- meetings (docs/meetings.md, "Legistar web pages") ---------------------------------------------------


def _place(td: Any) -> tuple[str | None, str | None]:
    """(location, comment) of a calendar row's location cell: InSite writes the meeting's comment on a
    line of its own under the location, in ``<em>`` ("CANCELLED", "Special Meeting")."""
    cell = copy.deepcopy(td)
    notes = []
    for em in cell.xpath(".//em"):
        note = _text(em)
        if note:
            notes.append(note)
        em.drop_tree()
    return _text(cell), clean_text(" ".join(notes))


def _ical_id(link: Any) -> str | None:
    """The ID of a row's iCalendar export link (``View.ashx?M=IC&ID=...``), shown before the meeting is."""
    if link is None:
        return None
    q = _query(link.get("href") or "")
    value = q.get("id", "")
    if q.get("m", "").upper() != "IC" or not _page_id(value):
        return None
    return value


_TIME = re.compile(r"^(\d{1,2}):(\d{2})\s*([AaPp])\.?\s*[Mm]\.?$")
# What InSite shows for a cancelled meeting: "CANCELLED" under the location (Chicago), "Cancelled" or
# "Canceled" in the time column; NYC shows "Deferred" instead of the time and strikes the row through.
_CANCEL = re.compile(r"\bcancel", re.I)
_OFF = re.compile(r"^(?:deferred|postponed)$", re.I)


def meeting_time(value: str | None) -> time | None:
    """InSite's ``10:00 AM`` → a time; None when the column shows no time ("Deferred", empty)."""
    m = _TIME.match(value or "")
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if not (1 <= hour <= 12 and minute < 60):
        return None
    return time(hour % 12 + (12 if m.group(3).lower() == "p" else 0), minute)


def calendar_cancelled(meeting: Meeting, statuses: Mapping[str, str | None] | None = None) -> bool:
    """Whether the calendar row (and the meeting page's agenda and minutes statuses) say the meeting will
    not take place as listed."""
    said = [meeting.time, meeting.location, *(statuses or {}).values()]
    if any(v and _CANCEL.search(v) for v in said):
        return True
    if meeting.time and _OFF.match(meeting.time):
        return True
    return meeting.struck


@dataclass
class AgendaRow:
    """One row of a meeting's agenda items grid, every row (roll call and public comment too)."""

    bill_id: str | None
    identifier: str | None
    title: str | None
    action: str | None
    result: str | None
    cells: dict[str, str | None]
    # (ID, GUID or None) of the row's "Action details" link (HistoryDetail.aspx, the API's
    # MatterHistoryId); None while the row shows "Not available"
    history: tuple[str, str | None] | None = None


@dataclass
class Agenda:
    rows: list[AgendaRow]
    rejected: list[str]
    page: int
    pages: int
    total: int
    next_target: str | None
    # the page's "Agenda status" and "Minutes status" (Final, Draft, Cancelled...)
    statuses: dict[str, str | None]


_STATUSES = {"agenda": "lblAgendaStatus", "minutes": "lblMinutesStatus"}


def parse_agenda(doc: Any, source_id: str) -> Agenda:
    """Every row of a ``MeetingDetail.aspx`` agenda items grid, for the meeting's record: the file number,
    the bill of its ``LegislationDetail.aspx`` link (the platform's bill id), title, action and result."""
    table, headers = _agenda_grid(doc, source_id)
    statuses = {
        k: _text(_one(doc, _FIELD + v, f"the {k} status", required=False)) for k, v in _STATUSES.items()
    }
    rows, rejected = [], []
    for i, tr in enumerate(_grid_rows(table, "the agenda items grid", len(headers))):
        where = f"meeting {source_id} agenda row {i + 1}"
        cells = {h: _text(td) for h, td in zip(headers, tr.xpath("./td"), strict=True)}
        link = _row_link(tr, "_hypFile", where)
        bill_id = None
        identifier = cells["File #"]
        if link is not None:
            found = detail_id(link.get("href") or "")
            bill_id = found[0] if found else None
            identifier = _text(link) or identifier
        try:
            rows.append(
                AgendaRow(
                    bill_id=bill_id,
                    identifier=_limit(identifier, 100, f"{where}: File #"),
                    title=cells["Title"] or cells.get("Name"),
                    action=_limit(cells.get("Action"), 200, f"{where}: Action"),
                    result=_limit(cells.get("Result"), 100, f"{where}: Result"),
                    cells=cells,
                    history=history_link(_row_link(tr, "_hypDetails", where)),
                )
            )
        except DataError as exc:
            rejected.append(str(exc))
    page, pages, total, next_target = _pager(
        table, len(rows) + len(rejected), "the agenda items grid", "the agenda pager", MEETING_UNIQUE
    )
    return Agenda(rows, rejected, page, pages, total, next_target, statuses)


def agenda_items(rows: list[AgendaRow]) -> list[NormalizedMeetingItem]:
    """The agenda's rows as meeting items. InSite shows no id for an agenda item, so an item's id is what
    keeps it the same item from one crawl to the next: ``L{bill id}`` for a bill (``~2``, ``~3`` for its
    next rows on the same agenda, e.g. a second version), else ``F`` and its file number, else ``T`` and a
    hash of its title and type (roll call, public comment). Renumbering the agenda changes no id, so it
    announces nothing."""
    out: list[NormalizedMeetingItem] = []
    seen: dict[str, int] = {}
    for row in rows:
        if row.bill_id:
            key = f"L{row.bill_id}"
        elif row.identifier:
            key = "F" + (identifier_key(row.identifier) or row.identifier)[:60]
        else:
            blob = json.dumps([row.title, row.cells.get("Type")], ensure_ascii=False)
            key = "T" + hashlib.sha256(blob.encode()).hexdigest()[:16]
        seen[key] = seen.get(key, 0) + 1
        sid = key if seen[key] == 1 else f"{key}~{seen[key]}"
        out.append(
            NormalizedMeetingItem(
                source_id=sid,
                sequence=len(out),
                title=row.title,
                bill_source_id=row.bill_id,
                identifier=row.identifier,
                action=row.action,
                result=row.result,
            )
        )
    return out


def normalize_meeting(
    meeting: Meeting,
    *,
    zone: str,
    base: str,
    slug: str,
    statuses: Mapping[str, str | None] | None = None,
    rows: list[AgendaRow] | None = None,
    complete: bool = True,
    roll_calls: Mapping[str, RollCall] | None = None,
    stored: Mapping[tuple[str, str], tuple[str | None, list[NormalizedVote]]] | None = None,
    read: Mapping[str, str] | None = None,
) -> NormalizedMeeting:
    """A calendar row (and, when its page was read, every row of its agenda) → the meeting's record.

    The date, time, body and location are the calendar's; a time the column does not give as ``H:MM AM``
    ("Deferred", empty) gives a start at local midnight of the date, the column's text kept in ``raw``.
    ``rows`` None: the agenda was not read (not published, or its page failed); ``complete`` False: some of
    its rows could not be read. Either way the stored items missing from ``rows`` are kept.

    Roll calls (docs/meetings.md, "Legistar web pages"): ``roll_calls`` are the ``HistoryDetail.aspx`` pages
    read by this crawl, by item id; an item without one keeps the roll call ``stored`` before (by meeting
    and item id), so re-reading an agenda never erases one. ``read`` (item id → the HistoryDetail ID read
    for it, by this crawl or before) is kept in ``raw`` so that no crawl reads an action's details
    twice."""
    if not meeting.event_id:
        raise DataError(f"{slug} meeting of {meeting.body!r} on {meeting.date}: no meeting id in its row")
    tz = ZoneInfo(zone)
    at = meeting_time(meeting.time)
    starts_at = datetime.combine(meeting.date, at or time(0), tzinfo=tz)
    statuses = dict(statuses or {})
    public = (
        meeting_url(base, meeting.source_id, meeting.guid) if meeting.source_id and meeting.guid else None
    )
    raw: dict[str, Any] = {
        "cells": meeting.cells,
        "guid": meeting.guid,
        "time": meeting.time,
        "timed": at is not None,
        "comment": meeting.comment,
        "statuses": statuses,
    }
    if read:
        raw[ITEMS_STAMP_KEY] = details_stamp(read)
    return NormalizedMeeting(
        source_id=meeting.event_id,
        body_name=meeting.body,
        starts_at=starts_at,
        local_date=meeting.date,
        time_zone=zone,
        location=meeting.place,
        agenda_url=meeting.agenda_url,
        minutes_url=meeting.minutes_url,
        public_url=public,
        cancelled=calendar_cancelled(meeting, statuses),
        items=with_roll_calls(meeting.event_id, agenda_items(rows), roll_calls, stored)
        if rows is not None
        else [],
        items_complete=rows is not None and complete,
        raw=raw,
        timed=at is not None,
    )


# -- roll calls (docs/meetings.md, "Legistar web pages") --------------------------------------------------

VOTE_GRID = "ctl00_ContentPlaceHolder1_gridVote_ctl00"
VOTE_COLUMNS = ("Person Name", "Vote")
ACTION_TOP = "ctl00_ContentPlaceHolder1_pageTop1"
_HISTORY_LINK = re.compile(r"(?:^|/)HistoryDetail\.aspx$", re.I)


def history_link(link: Any) -> tuple[str, str | None] | None:
    """(ID, GUID or None) of an "Action details" link (``radopen('HistoryDetail.aspx?ID=..&GUID=..')`` in
    its onclick, or its href); None for "Not available" (no link)."""
    if link is None:
        return None
    for attr in ("onclick", "href"):
        m = _HISTORY_ID.search(link.get(attr) or "")
        if m:
            q = _query("x?" + m.group(1).replace("&amp;", "&"))
            value, guid = q.get("id", ""), q.get("guid")
            if _page_id(value):
                return value, guid if guid and _GUID.match(guid) else None
    return None


def history_url(base: str, history_id: str, guid: str | None) -> str:
    """An action's details page (the pop-up of its "Action details" link) on the configured site."""
    return f"{base}/HistoryDetail.aspx?ID={history_id}" + (f"&GUID={guid}" if guid else "")


@dataclass
class RollCall:
    """What an action's ``HistoryDetail.aspx`` page shows: its fields and the vote grid."""

    history_id: str
    action: str | None
    result: str | None
    tally: str | None
    votes: list[NormalizedVote]


def _fields(top: Any) -> dict[str, str | None]:
    """The label/value pairs of an action's details: a label is an element of the page's
    ``ctl00_ContentPlaceHolder1_`` ids whose text ends with a colon ("Result:"), its value the next such
    element that is not a label."""
    out: dict[str, str | None] = {}
    label: str | None = None
    for el in top.xpath(".//*[starts-with(@id, $p)]", p=_FIELD):
        text = _text(el)
        if text is not None and text.endswith(":"):
            label = text[:-1].strip()
            continue
        if label is not None and label not in out:
            out[label] = text
        label = None
    return out


def parse_history_detail(doc: Any, history_id: str) -> RollCall:
    """An action's ``HistoryDetail.aspx`` page → its roll call: the vote grid ``gridVote`` (columns
    ``Person Name`` and ``Vote``) and the action, result and tally shown above it. A page of another
    action, or a roll call naming a member twice, is a DataError; a page without the details block or the
    vote grid (a grid with "No records to display." is an empty roll call) is a changed layout."""
    form = _one(doc, "aspnetForm", "the page form")
    action_url = (form.get("action") or "").strip()
    if _HISTORY_LINK.search(urlsplit(action_url).path):
        shown = _query(action_url).get("id")
        if shown and shown != history_id:
            raise DataError(f"action {history_id}: the page shows the details of action {shown[:20]}")
    top = _one(doc, ACTION_TOP, "the action details")
    fields = _fields(top)
    table = _one(doc, VOTE_GRID, "the vote grid")
    headers = _grid_headers(table, "the vote grid")
    _require_columns(headers, VOTE_COLUMNS, "the vote grid")
    votes: list[NormalizedVote] = []
    seen: set[str] = set()
    for i, tr in enumerate(_grid_rows(table, "the vote grid", len(headers))):
        cells = {h: _text(td) for h, td in zip(headers, tr.xpath("./td"), strict=True)}
        name, word = cells["Person Name"], cells["Vote"]
        where = f"action {history_id} vote row {i + 1}"
        if not name:
            raise DataError(f"{where}: no person name")
        _limit(name, 300, f"{where}: Person Name")
        key = name_key(name)
        if key in seen:
            raise DataError(f"{where}: {name[:60]!r} votes twice")
        seen.add(key)
        votes.append(NormalizedVote(member=name, vote=vote_value(word), text=_limit(word, 100, where)))
    return RollCall(
        history_id=history_id,
        action=_limit(fields.get("Action"), 200, f"action {history_id}: Action"),
        result=_limit(fields.get("Result"), 100, f"action {history_id}: Result"),
        tally=_limit(fields.get("Tally"), 100, f"action {history_id}: Tally"),
        votes=votes,
    )


def voted(row: AgendaRow) -> bool:
    """Whether an agenda row of a bill carries a vote worth reading: an "Action details" link and an action
    or a result."""
    return row.bill_id is not None and row.history is not None and bool(row.action or row.result)


def details_stamp(read: Mapping[str, str]) -> str:
    """The item ids whose action details were read, with the HistoryDetail ID read (kept in the
    meeting's ``raw``)."""
    return json.dumps(dict(sorted(read.items())), separators=(",", ":"))


def read_stamp(value: str | None) -> dict[str, str]:
    """:func:`details_stamp` read back; anything else (another platform's stamp) is nothing read."""
    if not value:
        return {}
    try:
        found = json.loads(value)
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items() if isinstance(k, str) and isinstance(v, str | int)}


def with_roll_calls(
    meeting_id: str,
    items: list[NormalizedMeetingItem],
    roll_calls: Mapping[str, RollCall] | None,
    stored: Mapping[tuple[str, str], tuple[str | None, list[NormalizedVote]]] | None,
) -> list[NormalizedMeetingItem]:
    """The agenda's items with the roll calls read now, else the ones stored before."""
    out = []
    for item in items:
        call = (roll_calls or {}).get(item.source_id)
        kept = (stored or {}).get((meeting_id, item.source_id))
        if call is not None:
            item = replace(
                item,
                votes=list(call.votes),
                tally=call.tally,
                action=item.action or call.action,
                result=item.result or call.result,
            )
        elif kept is not None and kept[1]:
            item = replace(item, votes=list(kept[1]), tally=item.tally or kept[0])
        out.append(item)
    return out


# -- members (People.aspx) --------------------------------------------------------------------------------

PEOPLE_GRID = "ctl00_ContentPlaceHolder1_gridPeople_ctl00"
PEOPLE_UNIQUE = "ctl00$ContentPlaceHolder1$gridPeople$"
_PERSON_LINK = re.compile(r"(?:^|/)PersonDetail\.aspx$", re.I)


@dataclass
class PeoplePage:
    members: list[NormalizedMember]
    rejected: list[str]
    page: int
    pages: int
    total: int
    # the GUID of each member's PersonDetail.aspx link, by source id (when the link carries one)
    guids: dict[str, str] = field(default_factory=dict)


def parse_people(doc: Any) -> PeoplePage:
    """The people grid of ``People.aspx`` (``gridPeople``, its ``Person Name`` column required) → members
    by name, with the ``ID`` of their ``PersonDetail.aspx`` link (the API's PersonId) as source id. The page
    gives no bodies and no terms (Chicago's "Ward/Office" is a ward number), so the members have none: they
    are on each member's own page (:func:`parse_person_detail`)."""
    table = _one(doc, PEOPLE_GRID, "the people grid")
    headers = _grid_headers(table, "the people grid")
    if "Person Name" not in headers:
        raise LayoutChanged("the people grid has no Person Name column")
    members: list[NormalizedMember] = []
    rejected: list[str] = []
    guids: dict[str, str] = {}
    seen: set[str] = set()
    rows = _grid_rows(table, "the people grid", len(headers))
    for i, tr in enumerate(rows):
        where = f"people row {i + 1}"
        td = tr.xpath("./td")[headers.index("Person Name")]
        name = _text(td)
        if not name:
            rejected.append(f"{where}: no person name")
            continue
        if len(name) > 300:
            rejected.append(f"{where}: a name of {len(name)} characters (at most 300)")
            continue
        source_id = guid = None
        link = _row_link(tr, "_hypPerson", where)
        if link is not None and _PERSON_LINK.search(urlsplit(link.get("href") or "").path):
            query = _query(link.get("href") or "")
            value = query.get("id", "")
            source_id = value if _page_id(value) else None
            guid = query.get("guid") if _GUID.match(query.get("guid") or "") else None
        key = name_key(name)
        if key in seen:
            continue  # listed twice (two offices): one member
        seen.add(key)
        members.append(NormalizedMember(name=name, source_id=source_id))
        if source_id and guid:
            guids[source_id] = guid
    page, pages, total, _next = _pager(table, len(rows), "the people grid", "the people pager", PEOPLE_UNIQUE)
    return PeoplePage(members, rejected, page, pages, total, guids)


# -- a member's bodies and terms (PersonDetail.aspx) ------------------------------------------------------

PERSON_GRID = "ctl00_ContentPlaceHolder1_gridDepartments_ctl00"
PERSON_COLUMNS = ("Department Name", "Title", "Start Date", "End Date")


def person_url(base: str, source_id: str, guid: str | None) -> str:
    """A member's page (the link of their name on ``People.aspx``) on the configured site."""
    return f"{base}/PersonDetail.aspx?ID={source_id}" + (f"&GUID={guid}" if guid else "")


def parse_person_detail(doc: Any, member: NormalizedMember) -> NormalizedMember:
    """A member's ``PersonDetail.aspx`` page → the member with their terms: one per row of the memberships
    grid ``gridDepartments`` (columns ``Department Name``, ``Title``, ``Start Date``, ``End Date``; a grid
    with "No records to display." gives none). All or nothing: the page of another person (the form's
    ``ID``), a row without a body, a malformed date or a term ending before it starts is a DataError, a page
    without the grid or one of its columns a changed layout, so a page that differs never stores part of
    a member's terms (the stored ones would be replaced by them)."""
    where = f"member {member.source_id}"
    form = _one(doc, "aspnetForm", "the page form")
    action_url = (form.get("action") or "").strip()
    if _PERSON_LINK.search(urlsplit(action_url).path):
        shown = _query(action_url).get("id")
        if shown and shown != member.source_id:
            raise DataError(f"{where}: the page shows person {shown[:20]}")
    table = _one(doc, PERSON_GRID, "the memberships grid")
    headers = _grid_headers(table, "the memberships grid")
    _require_columns(headers, PERSON_COLUMNS, "the memberships grid")
    rows = _grid_rows(table, "the memberships grid", len(headers))
    _page, pages, _total, _next = _pager(
        table, len(rows), "the memberships grid", "the memberships pager", "ctl00$ContentPlaceHolder1$"
    )
    if pages > 1:
        raise DataError(f"{where}: the memberships grid has {pages} pages (only one is read)")
    terms: list[NormalizedTerm] = []
    for i, tr in enumerate(rows):
        here = f"{where} membership row {i + 1}"
        cells = {h: _text(td) for h, td in zip(headers, tr.xpath("./td"), strict=True)}
        body = cells["Department Name"]
        if not body:
            raise DataError(f"{here}: no department name")
        start = parse_date(cells["Start Date"], f"{here}: Start Date")
        end = parse_date(cells["End Date"], f"{here}: End Date")
        if start is not None and end is not None and end < start:
            raise DataError(f"{here}: ends ({end}) before it starts ({start})")
        terms.append(
            NormalizedTerm(
                body_name=_limit(body, 300, f"{here}: Department Name") or body,
                title=_limit(cells["Title"], 200, f"{here}: Title"),
                start=start,
                end=end,
            )
        )
    return replace(member, terms=terms)
