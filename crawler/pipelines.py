"""Validate → normalize → stage. Storage happens after the crawl, in one transaction per jurisdiction
(:mod:`tracker.store`), and only if the crawl completed: a crawl cut short stores nothing."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

from tracker.errors import DataError
from tracker.normalize import (
    AttachmentsUpdate,
    NormalizedBill,
    content_hash,
    normalize_attachments,
    normalize_matter,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.jobs import CrawlJob


class StagePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.files: dict[str, IO[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StagePipeline:
        return cls(crawler)

    def _job(self, slug: str) -> CrawlJob:
        return self.crawler.spider.jobs[slug]  # type: ignore[union-attr]

    def open_spider(self) -> None:
        for slug, job in self.crawler.spider.jobs.items():  # type: ignore[union-attr]
            job.stage_path.parent.mkdir(parents=True, exist_ok=True)
            self.files[slug] = job.stage_path.open("w", encoding="utf-8")

    def close_spider(self) -> None:
        for handle in self.files.values():
            handle.close()

    def process_item(self, item: dict[str, Any]) -> None:
        job = self._job(item["slug"])
        j = job.jurisdiction
        staged = item.get("bill")
        if staged is not None:
            # Platforms other than the Legistar API normalize in their spider (tracker/platforms/).
            if not isinstance(staged, NormalizedBill):
                raise TypeError(f"{j.slug}: a spider staged {type(staged).__name__}, not a NormalizedBill")
            if not staged.content_hash:
                staged.content_hash = content_hash(staged)
            self.files[j.slug].write(staged.to_json() + "\n")
            job.staged += 1
            return None
        if item.get("only_attachments"):
            mid = item["matter"].get("MatterId")
            try:
                update = AttachmentsUpdate(
                    source_id=str(mid),
                    attachments=normalize_attachments(item["attachments"], f"{j.slug} matter {mid}"),
                )
            except DataError as exc:
                job.reject(str(exc))
                return None
            self.files[j.slug].write(update.to_json() + "\n")
            return None
        try:
            bill = normalize_matter(
                slug=j.slug,
                matter=item["matter"],
                histories=item["histories"],
                sponsors=item["sponsors"],
                attachments=item["attachments"],
                api_base=j.api_base,
                client=j.client,
                web_base=j.public_base,
                zone=j.zone,
                stage_overrides=j.stages,
            )
        except DataError as exc:
            job.reject(str(exc))
            return None
        self.files[j.slug].write(bill.to_json() + "\n")
        job.staged += 1
        return None
