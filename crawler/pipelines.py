"""Validate → normalize → sanitise → stage. Storage happens after the crawl, in one transaction per
jurisdiction (:mod:`tracker.store`), and only if the crawl completed: a crawl cut short stores nothing.

Every platform's records pass through :meth:`StagePipeline.process_item`, so this is the normalizer boundary:
each record is made safe here (:func:`tracker.sanitize.sanitize_record`), whichever spider produced it, and
one record that cannot be made safe, or that a parser fails on, is rejected alone (named in the crawl's
summary; the crawl is partial) while the city's other records are staged.
"""

from __future__ import annotations

import logging
from typing import IO, TYPE_CHECKING, Any, cast

from tracker.contract import NormalizedBill, NormalizedMeeting, NormalizedMember, content_hash
from tracker.errors import DataError
from tracker.sanitize import clean_text, sanitize_record

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.jobs import CrawlJob
    from crawler.spiders.base import PortalSpider

logger = logging.getLogger(__name__)

# A problem's text is kept for the crawl's summary: bounded, whatever a portal put in it.
_PROBLEM_CHARS = 500


def _problem(text: str) -> str:
    text = clean_text(text) or ""
    return text if len(text) <= _PROBLEM_CHARS else text[: _PROBLEM_CHARS - 1] + "…"


def _kind(record: object) -> str:
    if isinstance(record, NormalizedMeeting):
        return "meeting"
    if isinstance(record, NormalizedMember):
        return "member"
    return "bill"


def _name(record: object) -> object:
    return record.name if isinstance(record, NormalizedMember) else getattr(record, "source_id", None)


class StagePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.files: dict[str, IO[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StagePipeline:
        return cls(crawler)

    @property
    def _jobs(self) -> dict[str, CrawlJob]:
        # Items come from the crawl's spider, a PortalSpider, once it runs.
        return cast("PortalSpider[Any]", self.crawler.spider).jobs

    def _job(self, slug: str) -> CrawlJob:
        return self._jobs[slug]

    def open_spider(self) -> None:
        for slug, job in self._jobs.items():
            job.stage_path.parent.mkdir(parents=True, exist_ok=True)
            self.files[slug] = job.stage_path.open("w", encoding="utf-8")

    def close_spider(self) -> None:
        for handle in self.files.values():
            handle.close()

    def process_item(self, item: dict[str, Any]) -> None:
        job = self._job(item["slug"])
        j = job.jurisdiction
        staged = item.get("bill") or item.get("meeting") or item.get("member")
        # A spider stages a parsed record ("bill", "meeting", "member"), or the parser to run on its raw
        # payloads here ("parse", a callable of the platform module returning a NormalizedBill, an
        # AttachmentsUpdate, a NormalizedMeeting or a NormalizedMember), so that a parser's error on one
        # record rejects that record like any other.
        if staged is not None and not isinstance(
            staged, NormalizedBill | NormalizedMeeting | NormalizedMember
        ):
            raise TypeError(f"{j.slug}: a spider staged {type(staged).__name__}, not a normalized record")
        try:
            record = staged if staged is not None else item["parse"]()
            where = f"{j.slug} {_kind(record)} {clean_text(_name(record)) or '?'}"[:120]
            outcome = sanitize_record(record, where)
        except DataError as exc:
            problem = _problem(str(exc))
            logger.warning("rejected: %s", problem)
            job.reject(problem)
            return None
        except Exception as exc:  # a parser's bug on one odd record rejects that record, not the city
            problem = _problem(
                f"{j.slug} {self._describe(item)}: could not be read ({type(exc).__name__}: {exc})"
            )
            logger.warning("rejected: %s", problem)
            logger.debug("%s: the parser's error", j.slug, exc_info=True)  # for a developer, with -v
            job.reject(problem)
            return None
        if outcome.cuts:
            message = _problem(f"{where}: " + "; ".join(outcome.cuts))
            logger.warning("%s", message)
            job.note_cut(message)
        if isinstance(record, NormalizedBill):
            if outcome.changed or not record.content_hash:
                record.content_hash = content_hash(record)
            job.staged += 1
        elif isinstance(record, NormalizedMeeting):
            job.meetings_staged += 1
        self.files[j.slug].write(record.to_json() + "\n")
        return None

    @staticmethod
    def _describe(item: dict[str, Any]) -> str:
        bill = item.get("bill")
        if isinstance(bill, NormalizedBill):
            return f"bill {clean_text(bill.source_id) or '?'}"
        return f"{item.get('record', 'record')} {clean_text(item.get('source_id')) or '?'}"
