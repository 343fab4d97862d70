"""Bill documents (issue 7): download each attachment of a bill within size and time limits, from the
portal's own hosts only, extract its text in a child process, store it with a content hash, and feed it to
the matcher. See docs/documents.md.

Safety, in the order a URL meets it (:class:`HostPolicy`, :func:`download`):

1. only ``http``/``https`` URLs without credentials;
2. only the jurisdiction's document hosts (:func:`policy_for`): the hosts of the URLs in its
   configuration, its ``document_hosts``, or else its platform's default document hosts; each on its
   configured port, or the scheme's default port;
3. the host's addresses are resolved once, and a host that resolves to a private, loopback, link-local or
   otherwise non-global address is refused unless it is listed in ``document_hosts``; the connection goes
   to the address that was checked (no second lookup that could answer differently);
4. redirects are followed by hand, at most ``max_redirects``, each hop checked by the same rules;
5. the body is streamed and abandoned past ``max_bytes``; the whole download shares one deadline;
6. what the bytes are is sniffed (:func:`tracker.extract.sniff`), never taken from the URL or the header
   alone; the parser runs in a child process with a time and memory limit.

An unchanged document is neither downloaded nor parsed again: conditional requests (``ETag``,
``Last-Modified``) first, then the sha256 of the bytes (identical bytes stored for any bill reuse that
text). A document whose text changed re-matches its bill in the same transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Attachment, Bill, Jurisdiction
from db.models_documents import Document
from db.types import utcnow
from tracker import outbound
from tracker.config import Config, Documents
from tracker.errors import TrackerError
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
from tracker.outbound import DEFAULT_PORTS, Refused, is_public, pinned_connection

logger = logging.getLogger(__name__)

#: The matcher reads the first MATCH_CHARS_PER_DOCUMENT characters of each document of a bill, and at most
#: MATCH_CHARS_PER_BILL characters in all (docs/documents.md): the operative sections of an ordinance are
#: at its start, and a 300-page contract's exhibits would only add noise and time.
MATCH_CHARS_PER_DOCUMENT = 50_000
MATCH_CHARS_PER_BILL = 200_000
#: Between two documents in the matcher's text field: wider than any cue's reach (rules.toml
#: ``proximity``) and made of a symbol no phrase contains, so no match spans two documents.
SEPARATOR = "\n" + "\u241e" * 198 + "\n"

REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024
EXPECTED_BY_EXTENSION = {".pdf": PDF, ".docx": DOCX}

#: Where Legistar serves attachments (``MatterAttachmentHyperlink``), besides the client's InSite host:
#: ``https://{client}.legistar1.com/{client}/attachments/<uuid>.pdf`` and ``legistar*.granicus.com``.
LEGISTAR_DOCUMENT_HOSTS = (
    "{client}.legistar.com",
    "{client}.legistar1.com",
    "{client}.legistar2.com",
    "legistar.granicus.com",
    "legistar1.granicus.com",
    "legistar2.granicus.com",
    "legistar3.granicus.com",
)


class TooLarge(Exception):
    """The document is larger than ``max_bytes``."""


class FetchFailed(Exception):
    """The download failed (network, HTTP status, timeout, too many redirects)."""


# -- which hosts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostRule:
    host: str
    port: int | None  # None: the scheme's default port
    explicit: bool  # listed in document_hosts: may resolve to a private address
    source: str  # where it comes from, for `tracker documents hosts`

    def allows(self, host: str, port: int, scheme: str) -> bool:
        return self.host == host and port == (self.port if self.port is not None else DEFAULT_PORTS[scheme])

    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port is not None else host


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """:func:`tracker.outbound.system_resolver`, a failure being a FetchFailed (tried again later)."""
    try:
        return outbound.system_resolver(host, port)
    except outbound.Unresolvable as exc:
        raise FetchFailed(str(exc)) from None


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, ready for the request line
    rule: HostRule


class HostPolicy:
    """The hosts one jurisdiction's documents may come from."""

    def __init__(self, slug: str, rules: Iterable[HostRule]) -> None:
        self.slug = slug
        self.rules = tuple(rules)

    def check(self, url: str) -> Target:
        """The parsed URL if its scheme, host and port are allowed; :class:`Refused` otherwise."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise Refused(f"not a valid URL: {_short(url)}") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise Refused(
                f"only http and https URLs are fetched, not {scheme or 'a relative'} URL {_short(url)}"
            )
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise Refused(f"no host in {_short(url)}")
        if parts.username is not None or parts.password is not None:
            raise Refused(f"URL with credentials refused: {scheme}://…@{host}")
        port = port if port is not None else DEFAULT_PORTS[scheme]
        rule = next((r for r in self.rules if r.allows(host, port, scheme)), None)
        if rule is None:
            shown = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
            raise Refused(f"host {shown} is not one of {self.slug}'s document hosts")
        path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
        if parts.query:
            path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
        return Target(url.strip(), scheme, host, port, path, rule)

    def addresses(self, target: Target, resolver: Resolver) -> list[str]:
        """The addresses to connect to; :class:`Refused` when a non-explicit host resolves privately."""
        found = resolver(target.host, target.port)
        if not found:
            raise FetchFailed(f"cannot resolve {target.host}")
        if not target.rule.explicit:
            private = [a for a in found if not is_public(a)]
            if private:
                raise Refused(
                    f"host {target.host} resolves to a non-public address ({private[0]}); "
                    "list it in document_hosts to allow it"
                )
        return found


def _url_fields(jurisdiction: Any) -> list[tuple[str, str, bool]]:
    """(field, URL, set in the file) for every URL-valued setting of a jurisdiction."""
    out = []
    for name in type(jurisdiction).model_fields:
        value = getattr(jurisdiction, name, None)
        if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
            out.append((name, value, name in jurisdiction.model_fields_set))
    return out


def _rule(entry: str, explicit: bool, source: str) -> HostRule:
    parts = urlsplit(entry if "://" in entry else f"//{entry}")
    host = (parts.hostname or "").rstrip(".")
    port = parts.port
    if parts.scheme in DEFAULT_PORTS and port == DEFAULT_PORTS[parts.scheme]:
        port = None
    return HostRule(host, port, explicit, source)


def policy_for(jurisdiction: Any) -> HostPolicy:
    """The document hosts of a configured jurisdiction (see the module docstring and docs/documents.md).

    Only ``document_hosts`` entries may resolve to private addresses: that list is the operator's
    explicit word on where documents come from. The hosts of URLs set in the file come next; without
    ``document_hosts``, the platform's defaults too."""
    configured = list(getattr(jurisdiction, "document_hosts", None) or [])
    rules = [_rule(entry, True, "document_hosts") for entry in configured]
    derived: list[HostRule] = []
    for name, url, in_file in _url_fields(jurisdiction):
        (rules if in_file else derived).append(_rule(url, False, name))
    if not configured:
        rules += derived
        platform = getattr(jurisdiction, "platform", "")
        for host in sorted(getattr(jurisdiction, "hosts", None) or ()):  # a platform's own hosts
            rules.append(HostRule(str(host).lower(), None, False, f"{platform} default"))
        client = str(getattr(jurisdiction, "client", "") or "").lower()
        if platform == "legistar" and client:
            for pattern in LEGISTAR_DOCUMENT_HOSTS:
                rules.append(HostRule(pattern.format(client=client), None, False, "legistar default"))
    unique: dict[tuple[str, int | None], HostRule] = {}
    for r in rules:
        if r.host and (r.host, r.port) not in unique:
            unique[(r.host, r.port)] = r
    return HostPolicy(jurisdiction.slug, unique.values())


# -- downloading ---------------------------------------------------------------------------------------------


@dataclass
class Download:
    final_url: str
    not_modified: bool = False
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def _header(value: str | None, limit: int = 300) -> str | None:
    """A response header value as stored: printable, one line, bounded."""
    if not value:
        return None
    value = "".join(ch for ch in value if ch.isprintable()).strip()
    return value[:limit] or None


def _remaining(deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed(f"timed out after {timeout:g} s")
    return left


def download(
    url: str,
    policy: HostPolicy,
    settings: Documents,
    *,
    user_agent: str,
    etag: str | None = None,
    last_modified: str | None = None,
    resolver: Resolver = system_resolver,
) -> Download:
    """GET ``url`` by the policy's rules (module docstring); raises Refused, TooLarge or FetchFailed."""
    timeout = settings.timeout_seconds
    deadline = time.monotonic() + timeout
    current = url
    headers = {
        "User-Agent": user_agent,
        "Accept": f"{PDF}, {DOCX}, text/html;q=0.8, text/plain;q=0.5, */*;q=0.1",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for _hop in range(settings.max_redirects + 1):
        target = policy.check(current)
        addresses = policy.addresses(target, resolver)
        conn = _connect(target, addresses, deadline, timeout)
        sock = conn.sock  # the response may take it over from the connection (Connection: close)
        assert sock is not None
        # Socket timeouts bound each read; the watchdog bounds them all (a server dripping one byte at a
        # time would otherwise restart the clock at every read).
        watchdog = threading.Timer(_remaining(deadline, timeout), _hang_up, args=(sock,))
        watchdog.daemon = True
        watchdog.start()
        resp: http.client.HTTPResponse | None = None
        try:
            conn.request("GET", target.path, headers=headers)
            sock.settimeout(_remaining(deadline, timeout))
            resp = conn.getresponse()
            if resp.status in REDIRECTS:
                location = resp.getheader("Location")
                if not location:
                    raise FetchFailed(f"HTTP {resp.status} without a Location header")
                current = urljoin(current, location.strip())
                continue
            if resp.status == 304 and (etag or last_modified):
                return Download(current, not_modified=True, etag=etag, last_modified=last_modified)
            if resp.status != 200:
                gone = " (gone from the portal)" if resp.status in (404, 410) else ""
                raise FetchFailed(f"HTTP {resp.status}{gone}")
            encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
            if encoding != "identity":
                raise FetchFailed(f"unexpected Content-Encoding {_header(encoding, 40)!r}")
            declared = resp.getheader("Content-Length")
            if declared and declared.strip().isdigit() and int(declared) > settings.max_bytes:
                raise TooLarge(
                    f"{int(declared):,} bytes announced, more than max_bytes ({settings.max_bytes:,})"
                )
            chunks, size = [], 0
            while not resp.isclosed():  # closed once the announced length has been read
                sock.settimeout(_remaining(deadline, timeout))
                chunk = resp.read1(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > settings.max_bytes:
                    raise TooLarge(f"more than max_bytes ({settings.max_bytes:,} bytes) sent")
                chunks.append(chunk)
            _remaining(deadline, timeout)
            if declared and declared.strip().isdigit() and size < int(declared):
                # The connection ended early: a truncated document is not stored (nor its ETag).
                raise FetchFailed(f"incomplete download: {size:,} of {int(declared):,} bytes announced")
            return Download(
                current,
                body=b"".join(chunks),
                content_type=_header(resp.getheader("Content-Type"), 200),
                etag=_header(resp.getheader("ETag")),
                last_modified=_header(resp.getheader("Last-Modified")),
            )
        except (http.client.HTTPException, OSError) as exc:
            if isinstance(exc, TimeoutError) or time.monotonic() >= deadline:
                raise FetchFailed(f"timed out after {timeout:g} s") from None
            raise FetchFailed(f"{type(exc).__name__}: {_one_line(str(exc)) or 'connection failed'}") from None
        finally:
            watchdog.cancel()
            if resp is not None:
                resp.close()  # closes the socket too (the response may own it)
            conn.close()
    raise FetchFailed(f"more than {settings.max_redirects} redirects")


def _hang_up(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _connect(
    target: Target, addresses: list[str], deadline: float, timeout: float
) -> http.client.HTTPConnection:
    last: Exception | None = None
    for address in addresses:
        conn = pinned_connection(target, address, _remaining(deadline, timeout))
        try:
            conn.connect()
            return conn
        except TimeoutError:
            conn.close()
            raise FetchFailed(f"timed out connecting to {target.host}") from None
        except OSError as exc:
            conn.close()
            last = exc
    raise FetchFailed(f"cannot connect to {target.host}: {_one_line(str(last))}")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(url: str) -> str:
    return _one_line(url, 120)


# -- one document --------------------------------------------------------------------------------------------


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
    from tracker.matching import match_bills

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
            row.status, row.error = outcome.kind, _one_line(outcome.message or outcome.kind, 500)
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


# -- runs ----------------------------------------------------------------------------------------------------


@dataclass
class FetchSummary:
    slug: str
    checked: int = 0
    extracted: int = 0  # new or changed text
    unchanged: int = 0
    refused: int = 0
    too_large: int = 0
    unsupported: int = 0
    failed: int = 0
    rematched: int = 0
    newly_relevant: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"{self.slug}: documents - {self.checked} checked, {self.extracted} new text, "
            f"{self.unchanged} unchanged, {self.failed} failed, {self.refused} refused, "
            f"{self.too_large} too large, {self.unsupported} unsupported; "
            f"{self.rematched} bills re-matched, {self.newly_relevant} newly relevant"
        )
        if self.errors:
            text += f" - first problem: {self.errors[0]}"
        return text


def candidates(
    session: Session,
    slug: str,
    settings: Documents,
    *,
    limit: int | None,
    now: datetime,
    bill_id: int | None = None,
    force: bool = False,
) -> list[Candidate]:
    """Attachments due for a (re)check, never-fetched first, then newest bills first."""
    q = (
        select(
            Attachment.bill_id,
            Attachment.url,
            Attachment.name,
            Document.id,
            Document.status,
            Document.content_hash,
            Document.etag,
            Document.last_modified,
        )
        .join(Bill, Bill.id == Attachment.bill_id)
        .join(Jurisdiction, Jurisdiction.id == Bill.jurisdiction_id)
        .outerjoin(Document, and_(Document.bill_id == Attachment.bill_id, Document.url == Attachment.url))
        .where(Jurisdiction.slug == slug, Attachment.url.is_not(None), Attachment.url != "")
        .order_by(Document.id.is_not(None), Bill.first_seen_at.desc(), Bill.id.desc(), Attachment.sequence)
    )
    # one bill: even when it vanished; a whole jurisdiction: only the bills still on the portal
    q = q.where(Bill.id == bill_id) if bill_id is not None else q.where(Bill.vanished_at.is_(None))
    if not force:
        recheck = now - timedelta(hours=settings.recheck_hours)
        retry = now - timedelta(hours=settings.retry_hours)
        q = q.where(
            or_(
                Document.id.is_(None),
                and_(Document.status == "failed", Document.checked_at <= retry),
                and_(Document.status != "failed", Document.checked_at <= recheck),
            )
        )
    out: list[Candidate] = []
    seen: set[tuple[int, str]] = set()
    if limit:
        q = q.limit(limit * 2)  # room for the same file attached twice
    for row in session.execute(q):
        key = (row.bill_id, row.url)
        if key in seen:  # the same file attached twice
            continue
        seen.add(key)
        out.append(Candidate(row.bill_id, row.url, row.name, *row[3:]))
        if limit and len(out) >= limit:
            break
    return out


def fetch_jurisdiction(
    engine: Engine,
    fetcher: Fetcher,
    jurisdiction: Any,
    *,
    limit: int | None,
    bill_id: int | None = None,
    now: datetime | None = None,
) -> FetchSummary:
    """Fetch the due documents of one jurisdiction. Never raises for a document: each outcome is recorded."""
    policy = policy_for(jurisdiction)
    summary = FetchSummary(jurisdiction.slug)
    started = now or utcnow()
    with session_scope(engine) as s:
        todo = candidates(
            s,
            jurisdiction.slug,
            fetcher.settings,
            limit=limit,
            now=started,
            bill_id=bill_id,
            force=fetcher.force,
        )
    for cand in todo:
        outcome = fetcher.fetch(engine, policy, cand)
        changed, matched = store_outcome(engine, cand, outcome, utcnow())
        summary.checked += 1
        kind = outcome.kind
        if kind == "extracted" and not changed:  # new bytes, same text (a re-saved file)
            kind = "unchanged"
        setattr(summary, kind, getattr(summary, kind) + 1)
        if outcome.kind not in ("extracted", "unchanged"):
            summary.errors.append(f"{_short(cand.url)}: {outcome.message}")
            logger.info(
                "%s: document %s: %s: %s", jurisdiction.slug, _short(cand.url), outcome.kind, outcome.message
            )
        if matched is not None:
            summary.rematched += matched.classified
            summary.newly_relevant += matched.newly_relevant
    return summary


def fetch_documents(
    config: Config,
    engine: Engine,
    slugs: list[str] | tuple[str, ...],
    *,
    limit: int | None = None,
    bill: str | None = None,
    force: bool = False,
    resolver: Resolver = system_resolver,
) -> list[FetchSummary]:
    """`tracker documents fetch`: the due documents of the named jurisdictions (all when none), or of one
    bill (``slug:identifier`` or id)."""
    bill_id = None
    if bill is not None:
        from tracker.review import resolve_bill

        with session_scope(engine) as s:
            row, jur = resolve_bill(s, bill)
            bill_id, slugs = row.id, [jur.slug]
    selected = config.select(list(slugs))
    if not selected:
        raise TrackerError(f"{config.source}: no jurisdictions configured")
    fetcher = Fetcher(config, resolver=resolver, force=force)
    try:
        return [fetch_jurisdiction(engine, fetcher, j, limit=limit, bill_id=bill_id) for j in selected]
    finally:
        fetcher.close()


def after_crawl(config: Config, engine: Engine, slugs: list[str]) -> list[str]:
    """After a crawl (``[documents] after_crawl``): fetch up to ``per_crawl`` due documents of each crawled
    jurisdiction. Never raises: a problem is one line of the result."""
    if not config.documents.after_crawl or not slugs:
        return []
    lines = []
    fetcher = Fetcher(config)
    try:
        for slug in slugs:
            try:
                summary = fetch_jurisdiction(
                    engine, fetcher, config.jurisdiction(slug), limit=config.documents.per_crawl or None
                )
                lines.append(summary.line())
            except Exception as exc:  # documents never fail the crawl
                logger.warning("%s: documents not fetched: %s", slug, exc, exc_info=True)
                lines.append(f"{slug}: documents not fetched - {_one_line(str(exc)) or type(exc).__name__}")
    finally:
        fetcher.close()
    return lines


# -- the matcher's view --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    label: str  # the document's name, unique within the bill
    start: int  # where it starts in the combined text
    end: int


class DocumentText(str):
    """The text the matcher reads for a bill: the start of each of its documents, joined by
    :data:`SEPARATOR`; ``parts`` says where each document lies, so evidence can name its document."""

    parts: tuple[Part, ...] = ()

    @classmethod
    def build(cls, documents: list[tuple[str, str]]) -> DocumentText | None:
        pieces, parts, pos, budget = [], [], 0, MATCH_CHARS_PER_BILL
        used: dict[str, int] = {}
        for name, text in documents:
            text = text[: min(MATCH_CHARS_PER_DOCUMENT, budget)]
            if not text.strip():
                continue
            used[name] = used.get(name, 0) + 1
            label = name if used[name] == 1 else f"{name} ({used[name]})"
            if pieces:
                pieces.append(SEPARATOR)
                pos += len(SEPARATOR)
            pieces.append(text)
            parts.append(Part(label, pos, pos + len(text)))
            pos += len(text)
            budget -= len(text)
            if budget <= 0:
                break
        if not pieces:
            return None
        out = cls("".join(pieces))
        out.parts = tuple(parts)
        return out

    def locate(self, start: int, end: int) -> tuple[str, int] | None:
        for p in self.parts:
            if p.start <= start and end <= p.end:
                return f"document:{p.label}", p.start
        return None


def bill_documents(session: Session, bill_ids: list[int]) -> dict[int, str]:
    """The matcher's text of each bill that has extracted documents still attached to it."""
    if not bill_ids:
        return {}
    rows = session.execute(
        select(
            Attachment.bill_id,
            Attachment.name,
            Attachment.sequence,
            Document.content_hash,
            # only what the matcher reads leaves the database
            func.substr(Document.text, 1, MATCH_CHARS_PER_DOCUMENT).label("text"),
        )
        .join(Document, and_(Document.bill_id == Attachment.bill_id, Document.url == Attachment.url))
        .where(Attachment.bill_id.in_(bill_ids), Document.text.is_not(None), Document.text != "")
        .order_by(Attachment.bill_id, Attachment.sequence, Attachment.id)
    ).all()
    grouped: dict[int, list[tuple[str, str]]] = {}
    seen: set[tuple[int, str | None]] = set()
    for row in rows:
        if (row.bill_id, row.content_hash) in seen:  # the same file under two names: read once
            continue
        seen.add((row.bill_id, row.content_hash))
        name = " ".join((row.name or "").split()) or f"attachment {row.sequence}"
        grouped.setdefault(row.bill_id, []).append((name, row.text))
    out: dict[int, str] = {}
    for bill_id, docs in grouped.items():
        text = DocumentText.build(docs)
        if text is not None:
            out[bill_id] = text
    return out


def name_documents(result: Any, text: str | None) -> Any:
    """A match result whose ``text`` evidence names the document it was found in (``document:<name>``,
    offsets within that document's text). Other results are returned as they are."""
    if not isinstance(text, DocumentText) or not any(e.field == "text" for e in result.evidence):
        return result
    evidence = []
    for e in result.evidence:
        where = text.locate(e.start, e.end) if e.field == "text" else None
        if where is not None:
            label, offset = where
            e = replace(e, field=label, start=e.start - offset, end=e.end - offset)
        evidence.append(e)
    return replace(result, evidence=evidence)


# -- showing -------------------------------------------------------------------------------------------------


def bill_document_rows(session: Session, ref: str) -> tuple[str, list[Document], list[dict[str, Any]]]:
    """(bill reference, its documents in attachment order, the document evidence of its match)."""
    from db.models_review import BillMatch
    from tracker.review import bill_ref, resolve_bill

    bill, jur = resolve_bill(session, ref)
    attached = session.execute(
        select(Attachment.url, Attachment.sequence)
        .where(Attachment.bill_id == bill.id)
        .order_by(Attachment.sequence)
    ).all()
    order = {url: seq for url, seq in reversed(attached)}
    docs = list(session.scalars(select(Document).where(Document.bill_id == bill.id)))
    docs.sort(key=lambda d: (d.url not in order, order.get(d.url, 0), d.id))
    match = session.scalar(select(BillMatch).where(BillMatch.bill_id == bill.id))
    evidence = [
        e for e in (match.evidence if match else []) if str(e.get("field", "")).startswith("document:")
    ]
    return bill_ref(jur.slug, bill), docs, evidence


def document_record(doc: Document, attached: bool = True) -> dict[str, Any]:
    return {
        "name": doc.name,
        "url": doc.url,
        "final_url": doc.final_url,
        "status": doc.status,
        "error": doc.error,
        "media_type": doc.media_type,
        "size": doc.size,
        "pages": doc.pages,
        "chars": len(doc.text) if doc.text is not None else None,
        "text_truncated": doc.text_truncated,
        "content_hash": doc.content_hash,
        "fetched_at": doc.fetched_at.isoformat() if doc.fetched_at else None,
        "extracted_at": doc.extracted_at.isoformat() if doc.extracted_at else None,
        "checked_at": doc.checked_at.isoformat(),
        "attached": attached,
    }


def format_documents(ref: str, docs: list[Document], evidence: list[dict[str, Any]], *, text: bool) -> str:
    if not docs:
        return f"{ref}: no documents fetched yet (`tracker documents fetch --bill {ref}`)"
    lines = [f"{ref}: {len(docs)} document{'s' if len(docs) != 1 else ''}"]
    for d in docs:
        what = SHORT_NAMES.get(d.media_type or "", d.media_type or "-")
        size = f"{d.size:,} bytes" if d.size is not None else "-"
        pages = f", {d.pages} pages" if d.pages else ""
        chars = f", {len(d.text):,} characters" if d.text is not None else ""
        lines.append(f"- {d.name or '(no name)'}: {d.status} ({what}, {size}{pages}{chars})")
        lines.append(f"  {d.url}")
        if d.error:
            lines.append(f"  problem: {d.error}")
        lines.append(
            f"  checked {d.checked_at:%Y-%m-%d %H:%M} UTC"
            + (f", text from {d.extracted_at:%Y-%m-%d %H:%M} UTC" if d.extracted_at else "")
        )
    if evidence:
        lines.append("Evidence in the documents:")
        texts = {" ".join((d.name or "").split()): d.text or "" for d in docs}
        for e in evidence:
            label = str(e["field"]).removeprefix("document:")
            body = texts.get(label) or texts.get(label.rsplit(" (", 1)[0]) or ""
            start, end = int(e["start"]), int(e["end"])
            left = " ".join(body[max(0, start - 60) : start].split())
            right = " ".join(body[end : end + 60].split())
            kind = e.get("rule") if e.get("kind") == "term" else f"{e.get('kind')} {e.get('rule')}"
            lines.append(f"  [{label}] …{left} «{e['phrase']}» {right}… ({kind})")
    if text:
        for d in docs:
            if d.text:
                lines += ["", f"== {d.name or d.url} ==", d.text]
    return "\n".join(lines)


def show_json(ref: str, docs: list[Document], evidence: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"bill": ref, "documents": [document_record(d) for d in docs], "evidence": evidence},
        ensure_ascii=False,
    )
