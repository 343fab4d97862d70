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

The spider only makes the requests; what they answer is read in tracker/platforms/civicclerk.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

from scrapy.http import Request, Response

from crawler.jobs import CrawlJob
from crawler.middlewares import JSON_META
from crawler.spiders.agenda import AgendaSpider, settles
from tracker.errors import DataError, LayoutChanged
from tracker.platforms.agenda import local_instant, meeting_order, read_one
from tracker.platforms.civicclerk import (
    Event,
    Settings,
    appearance,
    meeting_record,
    parse_agenda,
    parse_event,
)


def events_url(api: str, first: date, last: date, categories: list[int]) -> str:
    after = last + timedelta(days=1)
    terms = [f"startDateTime ge {first.isoformat()}", f"startDateTime lt {after.isoformat()}"]
    if categories:
        terms.append(f"categoryId in ({','.join(map(str, categories))})")
    query = {"$filter": " and ".join(terms), "$orderby": "startDateTime asc, id asc"}
    return f"{api}/v1/Events?" + "&".join(f"{k}={quote(v, safe='(),')}" for k, v in query.items())


class CivicClerkSpider(AgendaSpider[Settings]):
    name = "civicclerk"
    platform = "civicclerk"

    def window_end(self, job: CrawlJob, today: date) -> date | None:
        # as far ahead as the city's lookahead_days, or [crawl] meetings_ahead_days when that is further
        return today + timedelta(days=self.ahead_days(job, self.jurisdiction(job).lookahead_days))

    def first_requests(self, job: CrawlJob) -> list[Request]:
        j = self.jurisdiction(job)
        state = self.city(job)
        assert state.last_day is not None
        url = events_url(j.api, state.first_day, state.last_day, j.category_ids)
        return [self.city_request(job, url, self.parse_events, expect="object", pages=frozenset({url}))]

    @settles
    def parse_events(self, response: Response, slug: str, pages: frozenset[str]) -> list[Request]:
        job = self.jobs[slug]
        j = self.jurisdiction(job)
        doc = response.meta[JSON_META]
        rows = doc.get("value")
        if not isinstance(rows, list):
            raise LayoutChanged("expected an OData envelope with a value list")
        out = []
        rejected: list[str] = []
        following = doc.get("@odata.nextLink")
        if following is not None:
            out.append(self._next_page(job, following, pages))
        for row in rows:
            try:
                event = parse_event(row)
            except DataError as exc:
                self.listing_problem(job, f"{slug}: {exc}")
                continue
            if not self.in_window(job, event.start.date()):
                continue  # the API answered more than was asked: not this crawl's window
            if j.category_ids and event.category_id not in j.category_ids:
                continue
            if not self.add_meeting(job, str(event.id)):
                continue
            record = read_one(
                rejected,
                f"{slug}: event {event.id}",
                partial(meeting_record, event, j.portal, j.timezone),
            )
            if record is not None:
                self.add_record(job, record)
            if event.agenda_id is None:
                continue
            job.fetched += 1
            url = f"{j.api}/v1/Meetings/{event.agenda_id}"
            # failing for good, this agenda alone is not read (AgendaSpider.unread_agenda)
            order = meeting_order(str(event.id), event.start.date(), local_instant(event.start, j.zone))
            out.append(
                self.city_request(
                    job,
                    url,
                    self.parse_meeting,
                    expect="object",
                    priority=1,
                    agenda_of=(str(event.id), order),
                    event=event,
                )
            )
        for problem in rejected:
            self.listing_problem(job, problem)
        return out

    def _next_page(self, job: CrawlJob, link: Any, pages: frozenset[str]) -> Request:
        api = urlsplit(self.jurisdiction(job).api)
        parts = urlsplit(link) if isinstance(link, str) else None
        if parts is None or (parts.scheme, parts.netloc) != (api.scheme, api.netloc):
            raise LayoutChanged(f"@odata.nextLink leaves the API host: {str(link)[:200]!r}")
        if link in pages:
            raise LayoutChanged("@odata.nextLink points back at a page already read")
        return self.city_request(job, link, self.parse_events, expect="object", pages=pages | {link})

    @settles
    def parse_meeting(self, response: Response, slug: str, event: Event) -> list[Any]:
        job = self.jobs[slug]
        j = self.jurisdiction(job)
        assert event.agenda_id is not None
        items, problems = parse_agenda(response.meta[JSON_META], event.agenda_id)
        for problem in problems:
            job.reject(f"{slug}: {problem}")
        state = self.city(job)
        at = local_instant(event.start, j.zone)
        page = f"{j.portal}/event/{event.id}/files"
        rejected: list[str] = []
        for item in items:
            seen = read_one(
                rejected,
                f"{slug}: agenda {event.agenda_id}: agenda item {item.id}",
                partial(appearance, item, event, at, page, response.url),
            )
            if seen is not None:
                state.appearances.append(seen)
        for problem in rejected:
            job.reject(problem)
        mid = str(event.id)
        if problems or rejected:
            state.incomplete.add(mid)  # an item was not read: the meeting's item list is not its agenda
        record = state.records.get(mid)
        if record is not None:
            record.items_complete = True
        return []
