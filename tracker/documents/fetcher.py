"""One document: download it (conditionally when it was seen before), check what the bytes are,
extract the text in the child process, store the outcome and re-match its bill when its text changed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models_documents import Document
from tracker.config import Config
from tracker.documents.download import Download, download
from tracker.documents.errors import FetchFailed, TooLarge, one_line
from tracker.documents.hosts import HostPolicy, Resolver, system_resolver
from tracker.extract import (
    DOCX,
    HTML,
    PDF,
    SHORT_NAMES,
    Extracted,
    ExtractError,
    ExtractorProcess,
    describe,
    sniff,
)
from tracker.matcher.apply import match_bills
from tracker.outbound import Refused

EXPECTED_BY_EXTENSION = {".pdf": PDF, ".docx": DOCX}


@dataclass
class Candidate:
    bill_id: int
    url: str
    name: str | None
    document_id: int | None
    status: str | None
    content_hash: str | None
    etag: str | None
    last_modified: str | None


@dataclass
class Outcome:
    kind: str  # extracted | unchanged | refused | too_large | unsupported | failed
    message: str | None = None
    download: Download | None = None
    media_type: str | None = None
    content_hash: str | None = None
    extracted: Extracted | None = None


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")[:40]
    return None


class Fetcher:
    """Downloads, checks and extracts documents; one extraction child for its lifetime."""

    def __init__(self, config: Config, *, resolver: Resolver = system_resolver, force: bool = False) -> None:
        self.settings = config.documents
        self.user_agent = config.crawl.user_agent
        self.resolver = resolver
        self.force = force
        self.extractor = ExtractorProcess(
            timeout=self.settings.extract_timeout_seconds, memory_mb=self.settings.extract_memory_mb
        )

    def close(self) -> None:
        self.extractor.close()

    def fetch(self, engine: Engine, policy: HostPolicy, cand: Candidate) -> Outcome:
        conditional = not self.force and cand.status == "ok" and cand.content_hash is not None
        try:
            got = download(
                cand.url,
                policy,
                self.settings,
                user_agent=self.user_agent,
                etag=cand.etag if conditional else None,
                last_modified=cand.last_modified if conditional else None,
                resolver=self.resolver,
            )
        except Refused as exc:
            return Outcome("refused", str(exc))
        except TooLarge as exc:
            return Outcome("too_large", str(exc))
        except FetchFailed as exc:
            return Outcome("failed", str(exc))
        if got.not_modified:
            return Outcome("unchanged", download=got)
        media_type = sniff(got.body, got.content_type)
        declared = (got.content_type or "").split(";")[0].strip().lower()
        expected = EXPECTED_BY_EXTENSION.get(_extension(got.final_url)) or EXPECTED_BY_EXTENSION.get(
            _extension(cand.url)
        )
        problem = _mismatch(media_type, declared, expected, got)
        if problem is not None:
            return problem
        if media_type not in self.settings.media_types:
            return Outcome("unsupported", f"{media_type} is not in [documents] media_types")
        digest = hashlib.sha256(got.body).hexdigest()
        if not self.force and digest == cand.content_hash and cand.status == "ok":
            return Outcome("unchanged", download=got, media_type=media_type, content_hash=digest)
        extracted = None if self.force else _known_text(engine, digest)
        if extracted is None:
            try:
                extracted = self.extractor.extract(
                    media_type,
                    got.body,
                    charset=_charset(got.content_type),
                    max_chars=self.settings.max_text_chars,
                )
            except ExtractError as exc:
                return Outcome(
                    "failed", f"cannot extract the text: {exc}", download=got, media_type=media_type
                )
        return Outcome("extracted", None, got, media_type, digest, extracted)


def _mismatch(media_type: str | None, declared: str, expected: str | None, got: Download) -> Outcome | None:
    """Why a download is not the document it should be (None when it is): an error page where a PDF was
    linked or declared is ``failed`` (retried later), anything unreadable ``unsupported``."""
    what = SHORT_NAMES.get(media_type or "", "") or describe(got.body, got.content_type)
    if declared in (PDF, DOCX) and media_type != declared:
        are = SHORT_NAMES.get(media_type or "", "something else")
        return Outcome("failed", f"declared {declared} but the bytes are {are}", download=got)
    if expected and media_type != expected and (media_type == HTML or declared.startswith("text/")):
        return Outcome(
            "failed", f"the link names a {SHORT_NAMES[expected]} but the server sent {what}", download=got
        )
    if media_type is None or (expected and media_type != expected):
        return Outcome("unsupported", f"not a document the tracker can read ({what})", download=got)
    return None


def _extension(url: str) -> str:
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") else ""


def _known_text(engine: Engine, digest: str) -> Extracted | None:
    """The text already extracted from identical bytes (the same file attached to another bill)."""
    with session_scope(engine) as s:
        row = s.execute(
            select(Document.text, Document.text_truncated, Document.pages)
            .where(Document.content_hash == digest, Document.status == "ok", Document.text.is_not(None))
            .limit(1)
        ).first()
    return None if row is None else Extracted(row.text, row.text_truncated, row.pages)


def _clean_for_db(text: str) -> str:
    return text.replace("\x00", " ")


def store_outcome(engine: Engine, cand: Candidate, outcome: Outcome, now: datetime) -> tuple[bool, Any]:
    """Record an attempt; re-match the bill when its text changed. Returns (text changed, match summary)."""
    with session_scope(engine) as s:
        row = _locked_row(s, cand, now)
        row.checked_at = now
        if cand.name is not None:
            row.name = cand.name
        got = outcome.download
        if outcome.kind in ("extracted", "unchanged"):
            row.status, row.error, row.failures = "ok", None, 0
            if got is not None:
                row.final_url = got.final_url
                row.etag, row.last_modified = got.etag, got.last_modified
                if not got.not_modified:
                    row.fetched_at = now
                    row.size = len(got.body)
            if outcome.media_type:
                row.media_type = outcome.media_type
            if outcome.content_hash:
                row.content_hash = outcome.content_hash
        else:
            row.status, row.error = outcome.kind, one_line(outcome.message or outcome.kind, 500)
            row.failures = (row.failures or 0) + 1
            if got is not None:
                row.final_url = got.final_url
        changed = False
        summary = None
        if outcome.kind == "extracted" and outcome.extracted is not None:
            text = _clean_for_db(outcome.extracted.text)
            changed = text != (row.text or "") or row.text is None
            row.text, row.text_truncated, row.pages = (
                text,
                outcome.extracted.truncated,
                outcome.extracted.pages,
            )
            if changed:
                row.extracted_at = now
            s.flush()
            if changed:
                summary = match_bills(s, [cand.bill_id], now=now)
        return changed, summary


def _locked_row(s: Session, cand: Candidate, now: datetime) -> Document:
    key = url_hash(cand.url)
    q = select(Document).where(Document.bill_id == cand.bill_id, Document.url_hash == key).with_for_update()
    row = s.scalar(q)
    if row is not None:
        return row
    try:
        with s.begin_nested():
            row = Document(
                bill_id=cand.bill_id,
                url=cand.url,
                url_hash=key,
                name=cand.name,
                status="failed",
                checked_at=now,
                failures=0,
                text_truncated=False,
            )
            s.add(row)
            s.flush()
        return row
    except IntegrityError:  # another run inserted it meanwhile
        row = s.scalar(q)
        assert row is not None
        return row
