"""The CivicClerk spider: events from the OData v4 API, and each event's agenda items with their motions.

Wire format (../shared/portal-samples/README.md, docs/platform-civicclerk.md):

- ``GET {api}/v1/Events?$filter=startDateTime ge {first day} and startDateTime lt {day after the last}
  [and categoryId in (...)]&$orderby=startDateTime asc, id asc``: an OData envelope
  ``{"@odata.context": ..., "value": [...]}``; while more rows remain it carries ``@odata.nextLink``, which is
  followed as it is (on the API's own host only). Event fields read: ``id``, ``eventName``,
  ``startDateTime``, ``categoryId``, ``agendaId``, ``hasAgenda``. The timestamps end in ``Z`` but are the
  city's local wall-clock time (City-Bureau/city-scrapers-atl's South Fulton mixin drops the ``Z`` for the
  same reason): the ``Z`` is dropped and the city's ``timezone`` applied.
- ``GET {api}/v1/Meetings/{agendaId}``: the agenda, ``{"id": agendaId, "items": [...]}``, items nested in
  ``childItems`` under sections (``isSection`` 1). An item carries ``agendaObjectItemName`` (HTML),
  ``resolutionFormattedNumber`` / ``ordinanceFormattedNumber``, ``attachmentsList`` and the motions recorded
  in the minutes, ``minutesItemVotes`` (``motionName``, ``passFail`` 1 passed / 0 failed, ``yesVotes``,
  ``noVotes``, ``abstainVotes``). The shape is the one public code reads from real tenants (Engagic's
  civicclerk_adapter_async.py for items and attachments; a Macon-Bibb sync route and a reviewed council
  adapter for ``minutesItemVotes`` and the 0/1 meaning of ``passFail``); no recorded response exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from parsel import Selector
from scrapy.http import Request, Response

from crawler.jobs import CrawlJob
from crawler.middlewares import JSON_META
from crawler.spiders.agenda import AgendaSpider, LayoutError, local_instant, read_one, settles, short
from tracker.errors import DataError
from tracker.platforms.agenda import FILE_NUMBER_MAX, Appearance, clean, clip
from tracker.sanitize import scrub

_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,7})?Z?$")


@dataclass(frozen=True)
class Event:
    id: int
    name: str | None
    category_id: int | None
    # local wall-clock start (the API's "Z" notwithstanding)
    start: datetime
    agenda_id: int | None  # None: no agenda to read


def _int(row: dict[str, Any], key: str, where: str, *, optional: bool = False) -> int | None:
    value = row.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{where}: missing or invalid {key} ({value!r})")
    return value


def parse_local_stamp(value: Any, where: str) -> datetime:
    """``2026-04-15T17:00:00Z`` as the local wall-clock time it really is (naive)."""
    match = _STAMP.match(value) if isinstance(value, str) else None
    if not match:
        raise DataError(f"{where}: malformed time {value!r}")
    try:
        return datetime.fromisoformat(match.group(1))
    except ValueError:
        raise DataError(f"{where}: malformed time {value!r}") from None


def parse_event(row: Any) -> Event:
    """An event of the listing, strictly (:class:`DataError` names the event and the field)."""
    if not isinstance(row, dict):
        raise DataError("an event is not a JSON object")
    eid = _int(row, "id", "an event")
    where = f"event {eid}"
    has_agenda = row.get("hasAgenda")
    if not isinstance(has_agenda, bool):
        raise DataError(f"{where}: missing or invalid hasAgenda ({has_agenda!r})")
    agenda_id = _int(row, "agendaId", where, optional=not has_agenda)
    if has_agenda and (agenda_id is None or agenda_id <= 0):
        raise DataError(f"{where}: hasAgenda without an agendaId ({agenda_id!r})")
    name = row.get("eventName")
    return Event(
        id=eid,  # type: ignore[arg-type]
        name=clean(name) if isinstance(name, str) else None,
        category_id=_int(row, "categoryId", where, optional=True),
        start=parse_local_stamp(row.get("startDateTime"), f"{where}: startDateTime"),
        agenda_id=agenda_id if has_agenda else None,
    )


def html_text(value: Any) -> str | None:
    """The text of an HTML fragment (CivicClerk item names carry markup); the markup itself is dropped."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise DataError(f"expected text, got {value!r:.80}")
    value = scrub(value)  # lxml refuses NUL and control characters
    if "<" not in value and "&" not in value:
        return clean(value)
    return clean(" ".join(Selector(text=f"<div>{value}</div>").xpath("//div[1]//text()").getall()))


@dataclass
class AgendaItem:
    id: int
    position: int
    outline: str | None
    number: str | None
    type_name: str | None
    title: str | None
    outcome: str | None
    result: str | None
    tally: str | None
    text: str | None
    attachments: list[tuple[str, str | None, int]]  # (id, file name, attachment id)


def _motions(item: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    """(outcome, result, tally, text) of an item's recorded motions; the last motion is the outcome.
    (Messages name the field; :func:`parse_agenda` names the item.)"""
    votes = item.get("minutesItemVotes")
    if votes is None or votes == []:
        return None, None, None, None
    if not isinstance(votes, list):
        raise DataError("minutesItemVotes is not a list")
    lines = []
    outcome = result = tally = None
    for vote in votes:
        if not isinstance(vote, dict):
            raise DataError("a motion is not a JSON object")
        motion = html_text(vote.get("motionName"))
        passed = vote.get("passFail")
        if not motion:
            raise DataError("a motion without motionName")
        if isinstance(passed, bool) or passed not in (0, 1):
            raise DataError(f"unknown passFail {passed!r} (1 passed, 0 failed)")
        counts = []
        for key in ("yesVotes", "noVotes", "abstainVotes"):
            names = vote.get(key) or []
            if not isinstance(names, list):
                raise DataError(f"{key} is not a list")
            counts.append(len(names))
        tally = "-".join(map(str, counts))
        result = "Pass" if passed == 1 else "Fail"
        outcome = motion if passed == 1 else f"{motion} (failed)"
        lines.append(f"{motion}: {'passed' if passed == 1 else 'failed'} {tally}")
    return outcome, result, tally, "; ".join(lines)


def parse_agenda(doc: Any, agenda_id: int) -> tuple[list[AgendaItem], list[str]]:
    """The items of an agenda (sections flattened), and the problems of single items (named, skipped).

    Raises :class:`LayoutError` when the document is not an agenda in the shape read here."""
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise LayoutError("expected an agenda object with an items list")
    if doc.get("id") != agenda_id:
        raise LayoutError(f"the agenda answered for agenda {agenda_id} is agenda {doc.get('id')!r}")
    found: list[AgendaItem] = []
    problems: list[str] = []
    seen: set[int] = set()

    def walk(rows: Any) -> None:
        if not isinstance(rows, list):
            raise LayoutError("childItems is not a list")
        for row in rows:
            if not isinstance(row, dict):
                raise LayoutError("an agenda item is not a JSON object")
            section = row.get("isSection")
            if isinstance(section, bool) or section not in (0, 1):
                raise LayoutError(f"agenda item {row.get('id')!r}: unknown isSection {section!r}")
            if section == 0:
                # one item's odd field rejects that item alone (named); a LayoutError fails the agenda
                item = read_one(
                    problems,
                    f"agenda {agenda_id}: agenda item {short(row.get('id'))}",
                    lambda row=row: _item(row, len(found)),
                )
                if item is not None and item.id not in seen:
                    seen.add(item.id)
                    found.append(item)
            children = row.get("childItems")
            walk([] if children is None else children)

    walk(doc["items"])
    return found, problems


def _item(row: dict[str, Any], position: int) -> AgendaItem | None:
    """One item of an agenda, None for an empty row. (Messages name the field; the caller names the item.)"""
    iid = _int(row, "id", "an agenda item")
    if iid <= 0:  # type: ignore[operator]
        raise DataError("invalid id")
    ordinance = html_text(row.get("ordinanceFormattedNumber"))
    resolution = html_text(row.get("resolutionFormattedNumber"))
    if ordinance and resolution and ordinance != resolution:
        raise DataError(f"both ordinance {ordinance!r} and resolution {resolution!r} numbers")
    number = ordinance or resolution
    if number and len(number) > FILE_NUMBER_MAX:
        raise DataError(f"not a file number: {number[:80]!r}")
    title = html_text(row.get("agendaObjectItemName"))
    if not title and not number:
        return None  # an empty row (a spacer): nothing to track
    outcome, result, tally, text = _motions(row)
    attachments = []
    for att in row.get("attachmentsList") or []:
        if not isinstance(att, dict):
            raise DataError("an attachment is not a JSON object")
        aid = _int(att, "id", "an attachment")
        if att.get("isPublished", True) is False or att.get("isDeleted", False) is True:
            continue
        name = html_text(att.get("fileName"))
        attachments.append((str(aid), name, aid))  # type: ignore[arg-type]
    return AgendaItem(
        id=iid,  # type: ignore[arg-type]
        position=position,
        outline=html_text(row.get("agendaObjectItemOutlineNumber")),
        number=number,
        type_name="Ordinance" if ordinance else "Resolution" if resolution else None,
        title=title,
        outcome=outcome,
        result=result,
        tally=tally,
        text=clip(text, 4000),
        attachments=attachments,  # type: ignore[arg-type]
    )


def events_url(api: str, first: date, last: date, categories: list[int]) -> str:
    after = last + timedelta(days=1)
    terms = [f"startDateTime ge {first.isoformat()}", f"startDateTime lt {after.isoformat()}"]
    if categories:
        terms.append(f"categoryId in ({','.join(map(str, categories))})")
    query = {"$filter": " and ".join(terms), "$orderby": "startDateTime asc, id asc"}
    return f"{api}/v1/Events?" + "&".join(f"{k}={quote(v, safe='(),')}" for k, v in query.items())


class CivicClerkSpider(AgendaSpider):
    name = "civicclerk"
    platform = "civicclerk"

    def window_end(self, job: CrawlJob, today: date) -> date | None:
        return today + timedelta(days=job.jurisdiction.lookahead_days)  # type: ignore[attr-defined]

    def first_requests(self, job: CrawlJob) -> list[Request]:
        j = job.jurisdiction
        state = self.city(job)
        assert state.last_day is not None
        url = events_url(j.api, state.first_day, state.last_day, j.category_ids)  # type: ignore[attr-defined]
        return [self.request(job, url, self.parse_events, expect="object", pages=frozenset({url}))]

    @settles
    def parse_events(self, response: Response, slug: str, pages: frozenset[str]) -> list[Request]:
        job = self.jobs[slug]
        j = job.jurisdiction
        doc = response.meta[JSON_META]
        rows = doc.get("value")
        if not isinstance(rows, list):
            raise LayoutError("expected an OData envelope with a value list")
        out = []
        following = doc.get("@odata.nextLink")
        if following is not None:
            out.append(self._next_page(job, following, pages))
        for row in rows:
            try:
                event = parse_event(row)
            except DataError as exc:
                job.reject(f"{slug}: {exc}")
                continue
            if not self.in_window(job, event.start.date()):
                continue  # the API answered more than was asked: not this crawl's window
            if j.category_ids and event.category_id not in j.category_ids:  # type: ignore[attr-defined]
                continue
            if not self.add_meeting(job, str(event.id)) or event.agenda_id is None:
                continue
            job.fetched += 1
            url = f"{j.api}/v1/Meetings/{event.agenda_id}"  # type: ignore[attr-defined]
            out.append(self.request(job, url, self.parse_meeting, expect="object", priority=1, event=event))
        return out

    def _next_page(self, job: CrawlJob, link: Any, pages: frozenset[str]) -> Request:
        api = urlsplit(job.jurisdiction.api)  # type: ignore[attr-defined]
        parts = urlsplit(link) if isinstance(link, str) else None
        if parts is None or (parts.scheme, parts.netloc) != (api.scheme, api.netloc):
            raise LayoutError(f"@odata.nextLink leaves the API host: {str(link)[:200]!r}")
        if link in pages:
            raise LayoutError("@odata.nextLink points back at a page already read")
        return self.request(job, link, self.parse_events, expect="object", pages=pages | {link})

    @settles
    def parse_meeting(self, response: Response, slug: str, event: Event) -> list[Any]:
        job = self.jobs[slug]
        j = job.jurisdiction
        assert event.agenda_id is not None
        items, problems = parse_agenda(response.meta[JSON_META], event.agenda_id)
        for problem in problems:
            job.reject(f"{slug}: {problem}")
        state = self.city(job)
        at = local_instant(event.start, j.zone)
        page = f"{j.portal}/event/{event.id}/files"  # type: ignore[attr-defined]
        rejected: list[str] = []
        for item in items:
            appearance = read_one(
                rejected,
                f"{slug}: agenda {event.agenda_id}: agenda item {item.id}",
                lambda item=item: _appearance(item, event, at, page, response.url),
            )
            if appearance is not None:
                state.appearances.append(appearance)
        for problem in rejected:
            job.reject(problem)
        return []


def _appearance(item: AgendaItem, event: Event, at: datetime, page: str, url: str) -> Appearance:
    """One item of an agenda as an appearance (its key and order computed here, so that an item they fail
    on is rejected alone rather than failing the city's bills)."""
    appearance = Appearance(
        meeting_id=str(event.id),
        item_id=str(item.id),
        position=item.position,
        meeting_date=event.start.date(),
        meeting_at=at,
        body=event.name,
        number=item.number,
        title=item.title,
        type_name=item.type_name,
        outcome=item.outcome,
        result=item.result,
        tally=item.tally,
        text=item.text,
        public_url=f"{page}#item-{item.id}",
        source_url=url,
        attachments=[(s, name, f"{page}/attachment/{a}") for s, name, a in item.attachments],
        raw={
            "event_id": event.id,
            "agenda_id": event.agenda_id,
            "item_id": item.id,
            "outline": item.outline,
        },
    )
    appearance.check()
    return appearance
