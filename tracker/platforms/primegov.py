"""PrimeGov public portal: meetings and their agenda items.

A city's settings, its public URLs, and the readers of what the portal answers (meeting listings, compiled
HTML agendas and journals) into agenda appearances (tracker/platforms/agenda.py builds the bills); the spider
is crawler/spiders/primegov.py, the wire format and what is read are in docs/platform-primegov.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urljoin, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from tracker.config_fields import check_http_url
from tracker.contract import NormalizedMeeting
from tracker.errors import DataError, LayoutChanged
from tracker.platforms.agenda import (
    FILE_NUMBER_MAX,
    AgendaSettings,
    Appearance,
    clip,
    int_field,
    meeting_start,
    read_one,
    says_cancelled,
    short,
)
from tracker.platforms.base import LinkTarget
from tracker.sanitize import clean_text

if TYPE_CHECKING:  # parsel is imported by the parsers alone: the config imports this module
    from parsel import Selector, SelectorList


class Settings(AgendaSettings):
    platform: Literal["primegov"]
    tenant: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # Default https://{tenant}.primegov.com.
    base_url: str | None = None
    # Only the meetings of these committees (the listings' committeeId); empty: every committee.
    committee_ids: list[int] = Field(default_factory=list)

    @property
    def base(self) -> str:
        return self.base_url or f"https://{self.tenant}.primegov.com"

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)

    @field_validator("committee_ids")
    @classmethod
    def _ids(cls, v: list[int]) -> list[int]:
        if any(i < 0 for i in v) or len(set(v)) != len(v):
            raise ValueError("committee_ids are distinct committee numbers (the listings' committeeId)")
        return v

    @property
    def source_key(self) -> str:
        return f"primegov:{self.tenant}"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.base).hostname}
        return {h for h in found if h}


def parse_url(url: str) -> LinkTarget | None:
    """PrimeGov has no public page per bill: its meeting pages (``/Portal/Meeting?meetingTemplateId=...``)
    name a meeting, and an item there (``#AgendaItem_...``) carries its file number only in the page. A
    URL the tracker itself recorded for a bill is still recognised (tracker/track.py looks stored URLs up
    first)."""
    return None


# -- meeting listings --------------------------------------------------------------------------------------

HTML_OUTPUT = 3  # compileOutputType of a compiled HTML document (1 is PDF)
PUBLISHED = 1  # publishStatus of every document of the recorded listings


@dataclass(frozen=True)
class Document:
    id: int
    template_id: int
    name: str
    output_type: int
    published: bool
    publish_date: datetime | None


@dataclass(frozen=True)
class Meeting:
    id: int
    title: str | None
    committee_id: int | None
    day: date
    # local wall-clock start, when the listing gives a time
    start: datetime | None
    documents: tuple[Document, ...]
    # the listing's fields kept with the stored meeting (meetingState's values are not documented)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def _naive_iso(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: expected a date string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DataError(f"{where}: malformed date {value!r}") from None
    if parsed.tzinfo is not None:
        raise DataError(f"{where}: expected a local time without an offset, got {value!r}")
    return parsed


def parse_meeting(row: Any) -> Meeting:
    """A meeting of the listings, strictly: a missing id, an unreadable date or a document without its ids
    raises :class:`DataError` naming the meeting and the field."""
    if not isinstance(row, dict):
        raise DataError("a meeting is not a JSON object")
    mid = int_field(row, "id", "a meeting")
    where = f"meeting {mid}"
    raw_date, raw_time = row.get("date"), row.get("time")
    if not isinstance(raw_date, str):
        raise DataError(f"{where}: missing or invalid date ({raw_date!r})")
    try:
        day = datetime.strptime(raw_date.strip(), "%b %d, %Y").date()
    except ValueError:
        raise DataError(f"{where}: malformed date {raw_date!r}") from None
    start = None
    if raw_time not in (None, ""):
        if not isinstance(raw_time, str):
            raise DataError(f"{where}: invalid time ({raw_time!r})")
        try:
            clock = datetime.strptime(raw_time.strip(), "%I:%M %p").time()
        except ValueError:
            raise DataError(f"{where}: malformed time {raw_time!r}") from None
        start = datetime.combine(day, clock)
    stamp = _naive_iso(row.get("dateTime"), f"{where}: dateTime")
    if stamp is not None:
        # newer payloads carry both: they must agree
        if stamp.date() != day or (start is not None and stamp != start):
            given = f"{raw_date!r} {raw_time!r}"
            raise DataError(f"{where}: dateTime {row.get('dateTime')!r} disagrees with {given}")
        start = stamp
    docs = row.get("documentList")
    if not isinstance(docs, list):
        raise DataError(f"{where}: documentList is not a list")
    documents = []
    for doc in docs:
        if not isinstance(doc, dict):
            raise DataError(f"{where}: a document is not a JSON object")
        doc_id = int_field(doc, "id", f"{where} document")
        here = f"{where} document {doc_id}"
        name = doc.get("templateName")
        if not isinstance(name, str):
            raise DataError(f"{here}: missing or invalid templateName ({name!r})")
        documents.append(
            Document(
                id=doc_id,
                template_id=int_field(doc, "templateId", here),
                name=" ".join(name.split()),
                output_type=int_field(doc, "compileOutputType", here),
                published=doc.get("publishStatus") == PUBLISHED,
                publish_date=_naive_iso(doc.get("publishDate"), f"{here}: publishDate"),
            )
        )
    title = row.get("title")
    return Meeting(
        id=mid,
        title=clean_text(title) if isinstance(title, str) else None,
        committee_id=int_field(row, "committeeId", where, optional=True),
        day=day,
        start=start,
        documents=tuple(documents),
        raw={k: row.get(k) for k in _RAW_KEYS if k in row},
    )


_RAW_KEYS = ("id", "title", "date", "time", "dateTime", "committeeId", "meetingTypeId", "meetingState")


_MINUTES = re.compile(r"\b(journal|minutes)\b", re.I)
_AGENDA = re.compile(r"\b(agenda|packet)\b", re.I)


def page_document(meeting: Meeting) -> tuple[Document, str] | None:
    """The HTML document to read for a meeting's items, and its kind ("minutes" or "agenda"): a journal or
    minutes (it records outcomes; full minutes before summary minutes), else an agenda (before a packet)."""
    html = [d for d in meeting.documents if d.output_type == HTML_OUTPUT and d.published]

    def rank(doc: Document, words: tuple[str, ...]) -> tuple[int, int]:
        lowered = doc.name.lower()
        return (sum(w in lowered for w in words), doc.id)

    minutes = [d for d in html if _MINUTES.search(d.name)]
    if minutes:
        return min(minutes, key=lambda d: rank(d, ("summary",))), "minutes"
    agendas = [d for d in html if _AGENDA.search(d.name) and "cancel" not in d.name.lower()]
    if agendas:
        return min(agendas, key=lambda d: rank(d, ("packet",))), "agenda"
    return None


PDF_OUTPUT = 1
PAGE_PATH = "/Portal/Meeting?meetingTemplateId={template_id}"
PDF_PATH = "/Public/CompiledDocument?meetingTemplateId={template_id}&compileOutputType=1"
_CANCELLED_SUFFIX = re.compile(r"\s*[-\u2013\u2014:(]+\s*cancel+ed\)?\s*$", re.I)


def document_url(base: str, document: Document) -> str:
    """A document's public link: the HTML page of an HTML document, the compiled PDF of a PDF one."""
    path = PAGE_PATH if document.output_type == HTML_OUTPUT else PDF_PATH
    return base + path.format(template_id=document.template_id)


def _best(meeting: Meeting, pattern: re.Pattern[str], worse: str) -> Document | None:
    """The published document whose name matches: HTML before PDF, without ``worse`` in its name first."""
    found = [
        d
        for d in meeting.documents
        if d.published and pattern.search(d.name) and "cancel" not in d.name.lower()
    ]
    if not found:
        return None
    return min(found, key=lambda d: (d.output_type != HTML_OUTPUT, worse in d.name.lower(), d.id))


def meeting_record(meeting: Meeting, base: str, timezone: str) -> NormalizedMeeting:
    """A listed meeting as the tracker stores it, without its items (the spider adds those it reads).

    PrimeGov has no cancelled flag and no location in its listings: a meeting is cancelled when its title
    or one of its documents says so (``... - Cancelled``, ``Notice of Cancellation``)."""
    cancelled = says_cancelled(meeting.title, *(d.name for d in meeting.documents))
    body = meeting.title
    if body and cancelled:
        body = _CANCELLED_SUFFIX.sub("", body) or body
    agenda = _best(meeting, _AGENDA, "packet")
    minutes = _best(meeting, _MINUTES, "summary")
    read = page_document(meeting)
    public = read[0] if read is not None else agenda or minutes
    return NormalizedMeeting(
        source_id=str(meeting.id),
        body_name=clip(body, 300),
        starts_at=meeting_start(meeting.day, meeting.start, ZoneInfo(timezone)),
        local_date=meeting.day,
        time_zone=timezone,
        agenda_url=document_url(base, agenda) if agenda else None,
        minutes_url=document_url(base, minutes) if minutes else None,
        public_url=document_url(base, public) if public else None,
        cancelled=cancelled,
        items_complete=False,  # True once its agenda is read
        raw={"platform": "primegov", "timed": meeting.start is not None, **meeting.raw},
        timed=meeting.start is not None,
    )


# -- agenda pages --------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .:/()#-]*$")
_OUTCOME_WORD = re.compile("[A-Z][A-Z'\u2019-]+$")
# words after which an outcome in capitals goes on as its object: "CONTINUED TO NOVEMBER 3", "ADOPTED BY ..."
_OUTCOME_STOP = frozenset({"TO", "UNTIL", "BY", "FOR", "WITH", "ON", "IN", "AT", "OF", "THE"})
_TALLY = re.compile(r"\(\s*(\d+)\s*\)\s*Yes\s*;\s*\(\s*(\d+)\s*\)\s*No", re.I)


def _text(node: Selector | SelectorList[Selector]) -> str | None:
    return clean_text(" ".join(node.xpath(".//text()").getall()))


def _one(found: SelectorList[Selector], what: str, item_id: str) -> Selector:
    if len(found) != 1:
        raise LayoutChanged(f"agenda item {item_id}: expected one {what}, found {len(found)}")
    return found[0]


def parse_outcome(action: str) -> tuple[str, str | None]:
    """A journal's action text → (outcome, tally): ``APPROVED Motion (Buscaino - Lee) - (3) Yes; (0) No`` is
    ("Approved", "3-0"). The outcome is the run of words in capitals the text starts with."""
    words: list[str] = []
    for word in action.split():
        token = word.rstrip(",.;:")
        if not _OUTCOME_WORD.match(token) or (words and token in _OUTCOME_STOP):
            break
        words.append(token)
        if token != word:
            break  # punctuation ends the outcome
    if not words:
        raise DataError(f"action text does not start with an outcome in capitals: {action[:80]!r}")
    tally = _TALLY.search(action)
    return " ".join(words).capitalize(), (f"{tally.group(1)}-{tally.group(2)}" if tally else None)


@dataclass
class PageItem:
    item_id: str
    position: int
    label: str | None  # the number cell, "(1)"
    number: str | None
    note: str | None  # the cell beside the title (LA: the council district)
    title: str | None
    action: str | None
    attachments: list[tuple[str, str | None, str | None]]


def parse_page(text: str, url: str) -> tuple[list[PageItem], list[str]]:
    """The items of a compiled HTML agenda or journal, and the problems of single items (named, skipped).

    Raises :class:`LayoutChanged` when the page is not in the layout read here: no agenda section
    (``[data-sectionid]``) and no item (``div.meeting-item``), or an item without exactly one number cell,
    item cell and ``div.agenda-item``, or a ``table.forcepopulate`` not shaped as number row + title row.
    """
    from parsel import Selector

    sel = Selector(text=text)
    items = sel.xpath("//div[has-class('meeting-item')]")
    if not items and not sel.xpath("//*[@data-sectionid]"):
        raise LayoutChanged("no agenda sections ([data-sectionid]) or items (div.meeting-item) on the page")
    found: list[PageItem] = []
    problems: list[str] = []
    for position, node in enumerate(items):
        item_id = node.attrib.get("data-itemid", "")
        # (str.isdigit on purpose: a digit int() refuses, "²", passes here and fails its item alone below)
        if not item_id.isdigit():
            raise LayoutChanged(f"an agenda item has no numeric data-itemid ({item_id[:20]!r})")
        # one item's odd field rejects that item alone (named); a LayoutChanged fails the page
        item = read_one(
            problems,
            f"{url}: agenda item {short(item_id)}",
            partial(_page_item, sel, node, position, item_id, url),
        )
        if item is not None:
            found.append(item)
    return found, problems


def _page_item(sel: Selector, node: Selector, position: int, item_id: str, url: str) -> PageItem:
    """One ``div.meeting-item`` of a page (see :func:`parse_page`)."""
    label = _text(_one(node.xpath(".//td[has-class('number-cell')]"), "td.number-cell", item_id))
    cell = _one(node.xpath(".//td[has-class('item-cell')]"), "td.item-cell", item_id)
    body = _one(cell.xpath("./div[has-class('agenda-item')]"), "div.agenda-item", item_id)
    tables = body.xpath(".//table[has-class('forcepopulate')]")
    number = note = None
    if len(tables) > 1:
        raise LayoutChanged(f"agenda item {item_id}: expected at most one table.forcepopulate")
    if tables:
        rows = tables[0].xpath("./tr | ./tbody/tr")
        first = rows[0].xpath("./td") if rows else []
        second = rows[1].xpath("./td") if len(rows) > 1 else []
        if len(rows) != 2 or len(first) != 1 or len(second) != 2:
            raise LayoutChanged(
                f"agenda item {item_id}: table.forcepopulate is not a number row and a title row"
            )
        number, note, title = _text(first[0]), _text(second[0]), _text(second[1])
    else:
        title = _text(body)
    if number is not None and (len(number) > FILE_NUMBER_MAX or not _NUMBER.match(number)):
        raise DataError(f"not a file number: {number[:80]!r}")
    actions = cell.xpath("./div[not(has-class('agenda-item')) and not(has-class('item_contents'))]")
    if len(actions) > 1:
        raise LayoutChanged(f"agenda item {item_id}: {len(actions)} action blocks where one is expected")
    action = _text(actions[0]) if actions else None
    attachments = []
    areas = sel.xpath(f"//div[@id='agenda_item_area_{item_id}']")
    if len(areas) > 1:
        raise LayoutChanged(f"agenda item {item_id}: {len(areas)} document areas")
    for holder in areas.xpath(".//div[has-class('attachment-holder')]"):
        links = holder.xpath(".//a[contains(@href, 'historyId=')]")
        if len(links) != 1:
            raise LayoutChanged(f"agenda item {item_id}: a document without exactly one historyId link")
        href = links[0].attrib["href"]
        history = (parse_qs(urlsplit(href).query).get("historyId") or [""])[0]
        if not history:
            raise LayoutChanged(f"agenda item {item_id}: a document link without a historyId")
        link = urljoin(url, href)
        attachments.append(
            (
                clip(history, 64) or history,
                _text(links[0]),
                link if urlsplit(link).scheme in ("http", "https") else None,
            )
        )
    return PageItem(item_id, position, label, number, note, title, action, attachments)


def appearance(
    item: PageItem, kind: str, meeting: Meeting, document: Document, at: datetime | None, page: str
) -> Appearance:
    """One item of a page as an appearance (its key and order computed here, so that an item they fail
    on is rejected alone rather than failing the city's bills)."""
    outcome = tally = None
    if kind == "minutes" and item.action:
        outcome, tally = parse_outcome(item.action)
    appearance = Appearance(
        meeting_id=str(meeting.id),
        item_id=item.item_id,
        position=item.position,
        meeting_date=meeting.day,
        meeting_at=at,
        body=meeting.title,
        number=item.number,
        title=item.title,
        type_name=None,
        outcome=outcome,
        tally=tally,
        text=clip(item.action, 4000),
        public_url=f"{page}#AgendaItem_{item.item_id}",
        source_url=page,
        attachments=item.attachments,
        raw={
            "meeting_id": meeting.id,
            "item_id": int(item.item_id),
            "template_id": document.template_id,
            "document": document.name,
            "label": item.label,
            "note": item.note,
        },
    )
    appearance.check()
    return appearance
