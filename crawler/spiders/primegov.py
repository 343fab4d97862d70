"""The PrimeGov spider: meetings from the public portal's listings, items from their compiled HTML pages.

Wire format (../shared/portal-samples/README.md, docs/platform-primegov.md):

- ``GET {base}/api/v2/PublicPortal/ListArchivedMeetings?year=YYYY`` for each year of the window, and
  ``GET {base}/api/v2/PublicPortal/ListUpcomingMeetings``: bare JSON arrays of meetings (``id``, ``title``,
  ``committeeId``, ``date`` "Oct 21, 2021" + ``time`` "10:00 AM", and in newer payloads ``dateTime``, local
  without an offset), each with its ``documentList`` (``templateId``, ``templateName``, ``compileOutputType``:
  1 = PDF, 3 = HTML, ``publishStatus``, and in newer payloads ``publishDate``). No paging.
- ``GET {base}/Portal/Meeting?meetingTemplateId={templateId}``: the public page of a compiled document. Of a
  meeting's published HTML documents (``compileOutputType`` 3), the journal or minutes is read when there is
  one (it records outcomes), else the agenda (or packet); a meeting with neither (a notice of cancellation,
  PDFs only) has no items to read.

The spider only makes the requests; what they answer is read in tracker/platforms/primegov.py. The agenda
layout read (:func:`~tracker.platforms.primegov.parse_page`) is the one public code describes for
lacity.primegov.com; see tracker/demo/primegov_portal.py for what it is modelled on. A page that has neither
agenda sections nor items in that layout is a :class:`~tracker.errors.LayoutChanged` naming its URL.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from scrapy.http import Request, Response

from crawler.jobs import CrawlJob
from crawler.middlewares import JSON_META
from crawler.spiders.agenda import AgendaSpider, html_page, settles
from tracker.errors import DataError
from tracker.platforms.agenda import local_instant, meeting_order, read_one, short
from tracker.platforms.primegov import (
    Document,
    Meeting,
    Settings,
    appearance,
    meeting_record,
    page_document,
    parse_meeting,
    parse_page,
)

ARCHIVED = "/api/v2/PublicPortal/ListArchivedMeetings?year={year}"
UPCOMING = "/api/v2/PublicPortal/ListUpcomingMeetings"
PAGE = "/Portal/Meeting?meetingTemplateId={template_id}"

# -- the spider ----------------------------------------------------------------------------------------------


class PrimeGovSpider(AgendaSpider[Settings]):
    name = "primegov"
    platform = "primegov"

    def first_requests(self, job: CrawlJob) -> list[Request]:
        base = self.jurisdiction(job).base
        state = self.city(job)
        requests = [
            self.city_request(
                job,
                base + ARCHIVED.format(year=year),
                self.parse_meetings,
                expect="list",
                listing=f"archive {year}",
            )
            for year in range(state.first_day.year, state.today.year + 1)
        ]
        requests.append(
            self.city_request(job, base + UPCOMING, self.parse_meetings, expect="list", listing="upcoming")
        )
        return requests

    @settles
    def parse_meetings(self, response: Response, slug: str, listing: str) -> list[Request]:
        job = self.jobs[slug]
        j = self.jurisdiction(job)
        out = []
        rejected: list[str] = []
        for row in response.meta[JSON_META]:
            try:
                meeting = parse_meeting(row)
            except DataError as exc:
                self.listing_problem(job, f"{slug}: {listing}: {exc}")
                continue
            if listing != "upcoming" and not self.in_window(job, meeting.day):
                continue  # the archive of the window's first year starts before the window
            if j.committee_ids and meeting.committee_id not in j.committee_ids:
                continue
            if not self.add_meeting(job, str(meeting.id)):
                continue
            record = read_one(
                rejected,
                f"{slug}: {listing}: meeting {meeting.id}",
                partial(meeting_record, meeting, j.base, j.timezone),
            )
            if record is not None:
                self.add_record(job, record)
            chosen = page_document(meeting)
            if chosen is None:
                continue  # cancelled, or only PDFs: no items to read
            document, kind = chosen
            job.fetched += 1
            url = j.base + PAGE.format(template_id=document.template_id)
            # failing for good (or not a page at all), this agenda alone is not read (unread_agenda)
            at = local_instant(meeting.start, j.zone) if meeting.start else None
            order = meeting_order(str(meeting.id), meeting.day, at)
            out.append(
                self.city_request(
                    job,
                    url,
                    self.parse_agenda,
                    accept="text/html",
                    priority=1,
                    agenda_of=(str(meeting.id), order),
                    meeting=meeting,
                    document=document,
                    kind=kind,
                )
            )
        for problem in rejected:
            self.listing_problem(job, problem)
        return out

    @settles
    def parse_agenda(
        self, response: Response, slug: str, meeting: Meeting, document: Document, kind: str
    ) -> list[Any]:
        job = self.jobs[slug]
        zone: ZoneInfo = job.jurisdiction.zone
        html_page(response)
        items, problems = parse_page(response.text, response.url)
        for problem in problems:
            job.reject(f"{slug}: {problem}")
        state = self.city(job)
        mid = str(meeting.id)
        at = local_instant(meeting.start, zone) if meeting.start else None
        page = self.jurisdiction(job).base + PAGE.format(template_id=document.template_id)
        rejected: list[str] = []
        for item in items:
            seen = read_one(
                rejected,
                f"{slug}: {response.url}: agenda item {short(item.item_id)}",
                partial(appearance, item, kind, meeting, document, at, page),
            )
            if seen is not None:
                state.appearances.append(seen)
        for problem in rejected:
            job.reject(problem)
        if problems or rejected:
            state.incomplete.add(mid)  # an item was not read: the meeting's item list is not its agenda
        record = state.records.get(mid)
        if record is not None:
            record.items_complete = True
            if kind == "minutes":
                record.minutes_url = record.minutes_url or page
            else:
                record.agenda_url = record.agenda_url or page
        return []
