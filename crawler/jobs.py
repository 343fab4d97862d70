"""What one crawl of one jurisdiction is asked to do, and what happened to it.

A :class:`CrawlJob` is created by :mod:`tracker.crawl` before the reactor starts, handed to the spider,
filled in while crawling, and read back after the crawl to decide whether and what to import.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from tracker.config import CrawlSettings
from tracker.contract import NormalizedVote
from tracker.platforms import Platform, platform
from tracker.platforms.base import JurisdictionConfig
from tracker.safe_output import ascii_digits
from tracker.sanitize import scrub

# track: fetch only the bills in ``only`` (tracked by link); it never moves the incremental watermark.
Mode = Literal["full", "incremental", "sweep", "track"]

# How many problems are kept verbatim for the report (all are counted).
_KEEP_ERRORS = 20


@dataclass
class CrawlJob:
    jurisdiction: JurisdictionConfig
    mode: Mode
    started_at: datetime
    stage_path: Path
    since: datetime | None = None
    # source id -> (row version, status) as stored; incremental crawls and sweeps refetch a matter whose
    # pair differs (or that is new, or has a recent date).
    known: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # source id -> history ids stored as its actions: a probe of a quiet matter's histories that finds the
    # same ids needs no further requests.
    known_actions: dict[str, frozenset[str]] = field(default_factory=dict)
    # source ids of stored bills whose attachments were never fetched (the backlog).
    attachments_pending: set[str] = field(default_factory=set)
    # source ids of stored bills whose sponsors were never fetched (the sponsors backlog of a backfill).
    sponsors_pending: set[str] = field(default_factory=set)
    # A backfill (a full crawl of a city with no bill stored) with ``[crawl] sponsors_by_title``: the
    # sponsors of the bills whose titles need no documents are left to the sweeps (crawler/attachments.py).
    defer_sponsors: bool = False
    settings: CrawlSettings = field(default_factory=CrawlSettings)
    # track mode: the source ids to fetch (and nothing else).
    only: set[str] = field(default_factory=set)
    # source ids of bills tracked by link: fetched by every crawl, whatever their dates.
    tracked: set[str] = field(default_factory=set)
    # (i, n): this process fetches the bills of shard i of n (a full crawl split over worker processes;
    # every shard lists every page). Stage files of the other shards are imported with this one's.
    shard: tuple[int, int] = (0, 1)
    other_stage_paths: list[Path] = field(default_factory=list)
    # meetings stored with a start from the crawl's window on (docs/meetings.md, "Legistar Web API"): source
    # id -> the stamp of the event whose items and roll calls were read completely (None: not completely).
    # A listed meeting with the same stamp is not read again.
    known_meetings: dict[str, str | None] = field(default_factory=dict)
    # (meeting source id, item source id) -> (tally, roll call) stored: a roll call read once is not read
    # again while the item's tally stays the same.
    known_votes: dict[tuple[str, str], tuple[str | None, list[NormalizedVote]]] = field(default_factory=dict)
    # members by name key (tracker.contract.name_key) -> their stored terms (body, title, start, end): a
    # member the portal lists with the same terms is not staged again
    known_members: dict[str, frozenset[tuple[str, str | None, date | None, date | None]]] = field(
        default_factory=dict
    )

    # -- filled in by the crawl ---------------------------------------------------------------------
    listed: set[str] = field(default_factory=set)
    fetched: int = 0
    probed_unchanged: int = 0
    attachment_requests: int = 0
    # bills of the sponsors backlog fetched (at most ``[crawl] sponsors_per_crawl``): only sweeps fetch
    # them, and a sweep runs in one process, so no shard shares this count
    sponsors_backlog_taken: int = 0
    staged: int = 0
    rejected: int = 0
    # matters whose own requests (histories, sponsors, attachments) failed for good: each is rejected and
    # kept as stored; when no fetched matter could be read at all, the crawl fails (:meth:`unread_matter`)
    unread: int = 0
    first_unread: str | None = None
    skipped_restricted: int = 0
    # records stored with a field cut to its limit or dropped (tracker/sanitize.py); the first few named
    cut: int = 0
    cuts: list[str] = field(default_factory=list)
    fatal: str | None = None
    problems: list[str] = field(default_factory=list)
    # meetings (docs/meetings.md): the window of start times whose listing the crawl read completely (None:
    # not read, or not completely; then no stored meeting is marked as gone), the meetings listed in it,
    # and how many were staged
    meetings_window: tuple[datetime, datetime] | None = None
    meetings_listed: set[str] = field(default_factory=set)
    meetings_staged: int = 0
    # what the crawl read but found wrong as a whole, without failing (an agenda platform whose meetings
    # list no agenda items): the crawl is recorded as partial with these words
    warnings: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.jurisdiction.slug

    @property
    def platform(self) -> Platform:
        return platform(self.jurisdiction.platform)

    @property
    def lists_everything(self) -> bool:
        """Whether this crawl lists every bill (so absent ones have vanished): full crawls and sweeps of a
        platform that can list every bill."""
        return self.mode in ("full", "sweep") and self.platform.lists_everything

    def owns(self, source_id: str) -> bool:
        """Whether this process fetches that bill (always, unless the crawl is sharded)."""
        index, count = self.shard
        if count == 1:
            return True
        number = int(source_id) if ascii_digits(source_id) else zlib.crc32(source_id.encode())
        return number % count == index

    def merge(self, shard: CrawlJob) -> None:
        """Fold the outcome of another shard of this crawl into this one."""
        self.listed |= shard.listed
        self.fetched += shard.fetched
        self.probed_unchanged += shard.probed_unchanged
        self.attachment_requests += shard.attachment_requests
        self.staged += shard.staged
        self.rejected += shard.rejected
        self.unread += shard.unread
        self.first_unread = self.first_unread or shard.first_unread
        self.skipped_restricted += shard.skipped_restricted
        self.cut += shard.cut
        self.cuts = (self.cuts + shard.cuts)[:_KEEP_ERRORS]
        if self.fatal is None:
            self.fatal = shard.fatal
        self.problems = (self.problems + shard.problems)[:_KEEP_ERRORS]
        self.other_stage_paths.append(shard.stage_path)
        self.warnings = self.warnings + [w for w in shard.warnings if w not in self.warnings]
        self.meetings_listed |= shard.meetings_listed
        self.meetings_staged += shard.meetings_staged
        if shard.meetings_window is not None:
            self.meetings_window = shard.meetings_window

    def take_attachment_slot(self) -> bool:
        """Whether this crawl may still fetch one more attachment list."""
        limit = self.settings.attachments_per_crawl
        if limit and self.shard[1] > 1:
            limit = -(-limit // self.shard[1])  # the budget is shared out between the shards
        if limit and self.attachment_requests >= limit:
            return False
        self.attachment_requests += 1
        return True

    def take_sponsors_slot(self) -> bool:
        """Whether this crawl may still work off one more bill of the sponsors backlog."""
        limit = self.settings.sponsors_per_crawl
        if limit and self.sponsors_backlog_taken >= limit:
            return False
        self.sponsors_backlog_taken += 1
        return True

    def fail(self, message: str) -> None:
        """A fetch failed for good: the crawl is incomplete and nothing of it will be imported."""
        message = scrub(message)  # it may quote a portal: stored, logged and mailed as text only
        if self.fatal is None:
            self.fatal = message
        self._keep(message)

    def reject(self, message: str) -> None:
        """One record failed validation: it is skipped, the rest is imported, the crawl is partial."""
        self.rejected += 1
        self._keep(message)

    def unread_matter(self, source_id: object, detail: str, what: str = "matter") -> None:
        """One matter's own request failed for good: that bill is rejected (kept as stored, named) and the
        others are imported; the crawl is partial, so the watermark stays and the next crawl asks again.
        ``what`` names the record (an agenda platform's is a meeting)."""
        self.unread += 1
        self.first_unread = self.first_unread or detail
        self.reject(f"{self.slug}: {what} {source_id} not read: {detail}")

    def settle_unread(self) -> None:
        """At the end of the crawl: when not one fetched matter could be read, the portal is broken rather
        than one record, and the crawl fails with the first failure (nothing is imported)."""
        if self.unread and self.unread >= self.fetched and self.fatal is None:
            self.rejected -= self.unread  # one failure, not one per matter besides it
            self.fail(f"{self.slug}: {self.first_unread}")

    def note_cut(self, message: str) -> None:
        """One record is stored with a field cut to its limit or dropped: counted and named, not an error."""
        self.cut += 1
        if len(self.cuts) < _KEEP_ERRORS:
            self.cuts.append(message)

    def _keep(self, message: str) -> None:
        if len(self.problems) < _KEEP_ERRORS:
            self.problems.append(scrub(message))

    @property
    def errors(self) -> int:
        return self.rejected + (1 if self.fatal else 0)
