"""Configuration: a TOML file validated on load.

Where the file comes from: ``--config PATH``, else ``$TRACKER_CONFIG``, else ``./tracker.toml``.
Where the database is: ``$TRACKER_DATABASE_URL``, else ``[database] url``, else SQLite in the working
directory (``sqlite:///tracker.db``).

Every problem is reported as one :class:`~tracker.errors.ConfigError` line naming the file, the entry and
the problem, e.g. ``tracker.toml: jurisdictions[2] (slug 'nyc'): unknown key 'tokn_env'``.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from tracker.config_fields import ENV_NAME, Strict, check_cron, check_http_url, check_timezone
from tracker.errors import ConfigError
from tracker.platforms import AnyJurisdiction
from tracker.platforms.base import JurisdictionConfig

DEFAULT_CONFIG = "tracker.toml"
DEFAULT_DATABASE_URL = "sqlite:///tracker.db"


class CrawlSettings(Strict):
    """Politeness and robustness knobs; the defaults are safe for the shared Legistar API host."""

    per_host_concurrency: int = Field(16, ge=1, le=64)
    # Rows asked per page; Legistar serves at most 1000, and a shorter page is the last one.
    page_size: int = Field(1000, ge=1, le=1000)
    download_timeout: float = Field(30.0, gt=0, le=600)
    retries: int = Field(4, ge=0, le=20)
    backoff_base: float = Field(1.0, ge=0, le=60)
    backoff_max: float = Field(60.0, ge=0, le=3600)
    # Incremental crawls look back this far before the last successful crawl (clock skew, late writes,
    # actions recorded the day after their meeting). Changes of a matter's row are caught by its row version
    # whatever their dates, so a day is enough.
    overlap_hours: float = Field(24.0, ge=0, le=24 * 30)
    # A reconciliation sweep lists every matter (cheap: 1 request per 1000) and refetches those whose
    # status or row version differs; it runs on an incremental crawl when the last sweep is older than this.
    reconcile_every_hours: float = Field(24.0, ge=0, le=24 * 365)
    # A full or sweeping crawl that sees fewer than this fraction of the bills stored as present is
    # suspect: nothing is marked vanished and the crawl is reported.
    collapse_ratio: float = Field(0.5, ge=0, le=1)
    # Attachment lists cost one request per matter. A crawl fetches at most this many (newest matters
    # first); the rest wait in a backlog that later sweeps work off. 0 = no limit.
    attachments_per_crawl: int = Field(5000, ge=0, le=10_000_000)
    # A full crawl spends that budget only on the bills whose documents may matter (a rules term in the
    # title, or an opaque title: crawler/attachments.py); the others join the backlog at once. false: every
    # matter takes a slot, newest first.
    attachments_by_title: bool = True
    # A backfill (the full crawl of a city with no bill stored yet) fetches the sponsors of those bills only
    # too: the others are stored without sponsors at once and the next sweep fetches them (two requests
    # each: the histories again, then the sponsors). It halves a backfill's requests. false: every bill
    # comes with its sponsors. Legistar Web API only (the other platforms give sponsors with the bill).
    sponsors_by_title: bool = True
    # A sweep works off at most this many bills of that backlog (newest matters first; about two requests
    # each), so the first sweep after backfilling a large city is spread over several. 0 = no limit.
    sponsors_per_crawl: int = Field(5000, ge=0, le=10_000_000)
    # Processes of a full crawl of the Legistar API, the crawl process and processes - 1 spawned workers
    # (each lists every page and fetches its share of the matters; the per-host cap is shared out between
    # them): the crawler is CPU-bound, so a backfill uses every core. Incremental crawls and sweeps run in
    # one process.
    processes: int = Field(2, ge=1, le=8)
    # Limits of a crawl child process (tracker/children.py): killed past time_limit_minutes per
    # jurisdiction it crawls (12 hours at most), address space capped at memory_mb (0: no cap).
    time_limit_minutes: float = Field(180.0, gt=0, le=12 * 60)
    memory_mb: int = Field(4096, ge=0, le=1024 * 1024)
    # Meetings (docs/meetings.md): every crawl reads the meetings from meetings_back_days before today (for
    # outcomes and roll calls) to meetings_ahead_days after it (hearings to come); 0 and 0 read none.
    meetings_ahead_days: int = Field(60, ge=0, le=366)
    meetings_back_days: int = Field(14, ge=0, le=366)
    user_agent: str = "SanctuaryTracker/0.1 (+https://github.com/sanctuary-tracker; legislation monitoring)"

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, v: str) -> str:
        # an HTTP header's value: portals' operators read it to know who crawls them
        if not v.strip() or any(not (" " <= c <= "~") for c in v):
            raise ValueError("user_agent must be printable ASCII text, not empty")
        return v

    @model_validator(mode="after")
    def _backoff(self) -> CrawlSettings:
        if self.backoff_base > self.backoff_max:
            raise ValueError(
                f"backoff_base ({self.backoff_base:g}) is above backoff_max ({self.backoff_max:g})"
            )
        return self


class Database(Strict):
    url: str | None = None


class Schedule(Strict):
    crawl_cron: str = "17 */6 * * *"

    @field_validator("crawl_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        return check_cron(v) or v

    # On SIGTERM the scheduler stops its crawls and records them as interrupted within this many seconds.
    stop_timeout_seconds: float = Field(5.0, ge=1, le=600)


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


#: The longest address a mail server takes (RFC 5321: a path of 256 octets with its angle brackets; a local
#: part of at most 64).
MAX_EMAIL = 254


def check_email(value: str) -> str:
    shown = repr(value) if len(value) <= 80 else repr(value[:60]) + f"... ({len(value)} characters)"
    if not _EMAIL.match(value):
        raise ValueError(f"not an e-mail address: {shown}")
    if not value.isascii():
        # the SMTP client does not speak SMTPUTF8: such an address could never be sent to
        raise ValueError(
            f"not an e-mail address the tracker can send to: {shown} has characters outside ASCII (write an "
            "internationalised domain in its xn-- form)"
        )
    if len(value) > MAX_EMAIL or len(value.rsplit("@", 1)[0]) > 64:
        raise ValueError(
            f"not an e-mail address: {shown} is too long ({MAX_EMAIL} characters at most, 64 before the @)"
        )
    return value


class Email(Strict):
    """The SMTP server that sends digests and operator alerts. The password comes from the
    environment variable named by ``password_env``; it is never stored or logged."""

    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(587, ge=1, le=65535)
    from_address: str
    # STARTTLS on a plain connection (port 587); ``implicit_tls`` for SMTPS (port 465) instead.
    starttls: bool = True
    implicit_tls: bool = False
    username: str | None = None
    password_env: str | None = None
    timeout: float = Field(30.0, gt=0, le=600)

    @field_validator("from_address")
    @classmethod
    def _from(cls, v: str) -> str:
        return check_email(v)

    @field_validator("password_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not ENV_NAME.match(v):
            raise ValueError(f"password_env must be an environment variable name, got {v!r}")
        return v

    @model_validator(mode="after")
    def _tls(self) -> Email:
        if self.starttls and self.implicit_tls:
            raise ValueError("starttls and implicit_tls exclude each other")
        if self.username and not self.password_env:
            raise ValueError("username needs password_env (the variable holding the password)")
        return self

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


class Digests(Strict):
    """Digest delivery: schedule defaults, retries and the Atom feed directory."""

    # Default time zone of subscriptions that do not name one (their --at is local to it).
    timezone: str = "UTC"
    # Immediate subscriptions get at most one digest per this many minutes.
    immediate_every_minutes: int = Field(5, ge=1, le=1440)
    # A failed send is retried after retry_base_seconds, doubling up to retry_max_seconds, max_attempts times.
    max_attempts: int = Field(8, ge=1, le=100)
    retry_base_seconds: float = Field(60.0, ge=0, le=86400)
    retry_max_seconds: float = Field(6 * 3600.0, ge=0, le=7 * 86400)
    # A send claimed by a process on another host is in doubt once its claim is older than this.
    lease_seconds: float = Field(600.0, ge=30, le=86400)
    # A scheduled digest delayed by a busy or stopped machine still goes out within this grace.
    misfire_grace_hours: float = Field(6.0, gt=0, le=7 * 24)
    # Where the Atom feed of each subscription is written (one file per subscription); none when unset.
    feed_dir: str | None = None
    # The feed's self link base, e.g. https://tracker.example.org/feeds (optional).
    feed_base_url: str | None = None
    # The web app's public base URL, e.g. https://tracker.example.org: digests link each item to its bill
    # page there, and carry a one-click unsubscribe link and a link to manage subscriptions (optional).
    public_url: str | None = None
    # The environment variable holding the secret that signs unsubscribe links (never stored or logged);
    # without it (or without public_url) digests carry no unsubscribe link.
    secret_env: str = "TRACKER_SECRET_KEY"  # noqa: S105 (a variable's name, not a secret)
    # Webhook hosts ('host' or 'host:port') allowed to be or resolve to private, loopback or link-local
    # addresses (an internal chat server); every other webhook must be public (docs/security.md).
    webhook_private_hosts: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("feed_base_url", "public_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v).rstrip("/")

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, v: str) -> str:
        if not ENV_NAME.match(v):
            raise ValueError(f"secret_env must be an environment variable name, got {v!r}")
        return v

    @model_validator(mode="after")
    def _retry(self) -> Digests:
        if self.retry_base_seconds > self.retry_max_seconds:
            raise ValueError(
                f"retry_base_seconds ({self.retry_base_seconds:g}) is above retry_max_seconds "
                f"({self.retry_max_seconds:g})"
            )
        return self

    def secret(self) -> str | None:
        """The unsubscribe links' signing secret, from the environment."""
        return os.environ.get(self.secret_env) or None


class Alerts(Strict):
    """Operator alerts about crawl health."""

    operator_email: str | None = None
    # No successful crawl for longer than this raises an alert (per-jurisdiction stale_after_hours wins).
    stale_after_hours: float = Field(48.0, gt=0, le=24 * 3660)
    # This many failed or suspect crawls in a row raise an alert.
    failures_in_a_row: int = Field(3, ge=1, le=100)
    # An alert still open is mailed again after this long (0: only when it opens and when it clears).
    remind_every_hours: float = Field(24.0, ge=0, le=24 * 366)
    # How often the scheduler evaluates alerts.
    check_every_minutes: int = Field(15, ge=1, le=1440)

    @field_validator("operator_email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v is None else check_email(v)


#: The media types whose text the tracker can extract (docs/documents.md).
DOCUMENT_MEDIA_TYPES = (
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/html",
    "text/plain",
)


class Documents(Strict):
    """Bill documents: attachments downloaded within limits, their text extracted and matched."""

    # Fetch documents after every crawl (`tracker documents fetch` works either way).
    after_crawl: bool = False
    # Documents fetched per jurisdiction after a crawl, newest bills first (0: no limit).
    per_crawl: int = Field(200, ge=0, le=1_000_000)
    # A download larger than this is refused (stopped as soon as it is known: header or stream).
    max_bytes: int = Field(20 * 1024 * 1024, ge=1024, le=1024**3)
    # The whole download (every redirect hop, connect and read) must finish within this.
    timeout_seconds: float = Field(60.0, gt=0, le=3600)
    max_redirects: int = Field(5, ge=0, le=20)
    # Text extraction runs in a child process, killed past this time or memory.
    extract_timeout_seconds: float = Field(60.0, gt=0, le=3600)
    extract_memory_mb: int = Field(1024, ge=256, le=65536)
    # Extracted text kept per document (characters); the matcher reads only the start (docs/documents.md).
    max_text_chars: int = Field(1_000_000, ge=1000, le=50_000_000)
    # A stored document is asked again (conditional GET) after this long; a failed one after retry_hours.
    recheck_hours: float = Field(168.0, ge=0, le=24 * 3660)
    retry_hours: float = Field(6.0, ge=0, le=24 * 366)
    media_types: list[str] = Field(default_factory=lambda: list(DOCUMENT_MEDIA_TYPES), min_length=1)

    @field_validator("media_types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        for t in v:
            if t not in DOCUMENT_MEDIA_TYPES:
                known = ", ".join(DOCUMENT_MEDIA_TYPES)
                raise ValueError(f"media type {t!r} cannot be extracted (one of: {known})")
        return v


class MatcherSettings(Strict):
    """The learned matcher's scheduled retraining (docs/matching.md)."""

    # When the scheduler's `matcher:retrain` job runs (UTC, like crawl_cron): weekly, Sunday 03:00. Named,
    # not numbered: APScheduler 3 reads a weekday 0 as Monday, not as crontab's Sunday.
    retrain_cron: str = "0 3 * * sun"
    # It retrains only when at least this many editors' decisions are newer than the active model.
    min_new_decisions: int = Field(20, ge=1, le=1_000_000)

    @field_validator("retrain_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        return check_cron(v, "retrain_cron") or v


class Web(Strict):
    """The web app: the time zone its pages show times in (None: ``[digests] timezone``)."""

    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)


class Config(Strict):
    database: Database = Database()
    crawl: CrawlSettings = CrawlSettings()
    schedule: Schedule = Schedule()
    email: Email | None = None
    digests: Digests = Digests()
    alerts: Alerts = Alerts()
    documents: Documents = Field(default_factory=Documents)
    matcher: MatcherSettings = MatcherSettings()
    web: Web = Web()
    jurisdictions: list[AnyJurisdiction] = Field(default_factory=list)

    # Not part of the file: where it was read from, for messages.
    source: str = Field(DEFAULT_CONFIG, exclude=True)

    @model_validator(mode="after")
    def _unique_slugs(self) -> Config:
        seen: set[str] = set()
        for j in self.jurisdictions:
            if j.slug in seen:
                raise ValueError(f"duplicate slug {j.slug!r}")
            seen.add(j.slug)
        return self

    @property
    def display_timezone(self) -> str:
        """Where the web app shows times: ``[web] timezone``, else ``[digests] timezone`` (UTC by default)."""
        return self.web.timezone or self.digests.timezone

    @property
    def database_url(self) -> str:
        return os.environ.get("TRACKER_DATABASE_URL") or self.database.url or DEFAULT_DATABASE_URL

    def jurisdiction(self, slug: str) -> JurisdictionConfig:
        for j in self.jurisdictions:
            if j.slug == slug:
                return j
        known = ", ".join(j.slug for j in self.jurisdictions) or "none configured"
        raise ConfigError(f"{self.source}: no jurisdiction {slug!r} (known: {known})")

    def select(self, slugs: list[str] | tuple[str, ...]) -> list[JurisdictionConfig]:
        if not slugs:
            return list(self.jurisdictions)
        return [self.jurisdiction(s) for s in slugs]


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(explicit or os.environ.get("TRACKER_CONFIG") or DEFAULT_CONFIG)


def _where(loc: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """Turn a pydantic error location into 'jurisdictions[2] (slug 'nyc')'-style text."""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            label = f"{parts.pop() if parts else ''}[{item}]"
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("slug"), str):
                    label += f" (slug {node['slug']!r})"
            parts.append(label)
        elif isinstance(node, dict) and node.get("platform") == item:
            continue  # the platform tag of a jurisdiction: not a key of the file
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def _node(loc: tuple[Any, ...], raw: dict[str, Any]) -> Any:
    node: Any = raw
    for item in loc:
        if isinstance(node, list) and isinstance(item, int) and item < len(node):
            node = node[item]
        elif isinstance(node, dict):
            node = node.get(item)
        else:
            return None
    return node


def _describe(error: dict[str, Any], raw: dict[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "extra_forbidden" and loc:
        where = _where(loc[:-1], raw)
        text = f"unknown key {loc[-1]!r}"
        return f"{where}: {text}" if where else text
    if kind == "missing" and loc:
        where = _where(loc[:-1], raw)
        text = f"missing field {loc[-1]!r}"
        return f"{where}: {text}" if where else text
    where = _where(loc, raw)
    msg = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "unknown_platform":
        node = _node(loc, raw)
        if isinstance(node, dict) and "platform" not in node:
            msg = "missing field 'platform' (" + msg.removeprefix("platform must be ") + ")"
    return f"{where}: {msg}" if where else msg


def parse_config(data: dict[str, Any], source: str) -> Config:
    try:
        return Config.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(f"{source}: {_describe(dict(first), data)}{suffix}") from None


def load_config(path: str | os.PathLike[str] | None = None, *, required: bool = False) -> Config:
    """Read and validate the configuration.

    A missing file at the default location is an empty configuration (the database still works); a
    missing file named explicitly (``--config`` or ``TRACKER_CONFIG``) is an error.
    """
    explicit = path is not None or "TRACKER_CONFIG" in os.environ
    p = config_path(path)
    if not p.exists():
        if explicit or required:
            raise ConfigError(f"{p}: no such configuration file")
        return Config(source=str(p))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    return parse_config(data, str(p))
