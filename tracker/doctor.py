"""``tracker doctor``: what a deployment needs, checked end to end, one line per check (OK, WARN or FAIL).

Checks (docs/operations.md, "tracker doctor"): the configuration loads; the database is reachable and at the
latest migration; each jurisdiction's portal answers one small request; the ``[email]`` SMTP server accepts a
connection (EHLO, STARTTLS and login as configured; no mail is sent); a scheduler is running (its heartbeat,
``scheduler_lease.checked_at``, which a running scheduler updates every 5 seconds); the feeds' public base URL
is set when feeds are written; free disk space where the database and the crawls' stage files live.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from tracker.errors import TrackerError

Status = Literal["OK", "WARN", "FAIL"]

#: A scheduler updates its heartbeat every 5 seconds (scheduler.LOCK_CHECK_SECONDS); a long SQLite write can
#: hold it back a while, so it counts as stopped only past this.
HEARTBEAT_STALE = timedelta(minutes=5)
DISK_WARN = 1024**3  # 1 GB
DISK_FAIL = 100 * 1024**2  # 100 MB


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.message}"


def run_checks(config_path: str | None, *, timeout: float = 10.0) -> list[Check]:
    from tracker.config import load_config

    try:
        config = load_config(config_path)
    except TrackerError as exc:
        return [Check("config", "FAIL", str(exc))]
    checks = [Check("config", "OK", f"{config.source}: {len(config.jurisdictions)} jurisdiction(s)")]
    db = _database(config)
    checks.append(db)
    if config.jurisdictions:  # in parallel: a dead portal costs one timeout, not one per city
        with ThreadPoolExecutor(max_workers=min(8, len(config.jurisdictions))) as pool:
            checks += pool.map(lambda j: _portal(j, config, timeout), config.jurisdictions)
    checks.append(_smtp(config, timeout))
    if db.status == "OK":
        checks.append(_scheduler(config))
    else:
        checks.append(Check("scheduler", "FAIL", "not checked: the database is not usable"))
    checks.append(_base_url(config))
    checks += _disk(config)
    return checks


# -- database -----------------------------------------------------------------------------------------


def _database(config: Any) -> Check:
    from sqlalchemy.exc import DBAPIError

    from db.engine import current_revision, head_revision, make_engine, redact_url, require_file

    where = redact_url(config.database_url)
    try:
        engine = make_engine(config.database_url)
        require_file(engine)  # a missing SQLite file is not created by looking into it
    except TrackerError as exc:
        return Check("database", "FAIL", str(exc))
    try:
        current = current_revision(engine)
        head = head_revision(engine)
    except DBAPIError as exc:
        return Check("database", "FAIL", f"{where} unreachable: {_first_line(exc.orig)}")
    finally:
        engine.dispose()
    if current is None:
        return Check("database", "FAIL", f"{where} has no schema: run `tracker init`")
    if current != head:
        return Check("database", "FAIL", f"{where} is at {current}, not at {head}: run `tracker init`")
    return Check("database", "OK", f"{where} at the latest migration ({current})")


# -- portals ------------------------------------------------------------------------------------------


def probe_url(j: Any) -> str:
    """The platform's cheapest request: one bill, or the shortest listing it has."""
    platform = j.platform
    if platform == "legistar":
        return f"{j.api_base}/{j.client}/matters?$top=1"
    if platform == "legistar-web":
        return f"{j.base}/Legislation.aspx"
    if platform == "primegov":
        return f"{j.base}/api/v2/PublicPortal/ListUpcomingMeetings"
    if platform == "civicclerk":
        return f"{j.api}/v1/Events?$top=1"
    if platform == "elms":
        return f"{j.api_base}/matter?top=1"
    raise TrackerError(f"no probe for platform {platform!r}")


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _portal(j: Any, config: Any, timeout: float) -> Check:
    import httpx

    name = f"portal {j.slug}"
    url = probe_url(j)
    params = {}
    if j.token_env:
        token = j.token()
        if token is None:
            return Check(name, "FAIL", f"environment variable {j.token_env} (token_env) is not set")
        params["token"] = token  # on the wire only: never printed
    started = time.monotonic()
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": config.crawl.user_agent}
        ) as client:
            response = client.get(url, params=params)
    except httpx.TimeoutException:
        return Check(name, "FAIL", f"no answer from {_shown(url)} within {timeout:g} s")
    except httpx.HTTPError as exc:
        reason = str(exc).replace(str(params.get("token", "\0")), "***") or type(exc).__name__
        return Check(name, "FAIL", f"cannot reach {_shown(url)}: {reason}")
    took = time.monotonic() - started
    if response.status_code >= 400:
        return Check(name, "FAIL", f"HTTP {response.status_code} from {_shown(url)}")
    return Check(name, "OK", f"HTTP {response.status_code} from {_shown(url)} in {took:.1f} s")


# -- SMTP ---------------------------------------------------------------------------------------------


def _smtp(config: Any, timeout: float) -> Check:
    from tracker.digests.channels import DeliveryError, SmtpChannel

    if config.email is None:
        return Check("smtp", "WARN", "no [email] table: digests and alerts are not mailed")
    settings = config.email.model_copy(update={"timeout": min(config.email.timeout, timeout)})
    try:
        return Check("smtp", "OK", SmtpChannel(settings).check())
    except DeliveryError as exc:
        return Check("smtp", "FAIL", str(exc))


# -- scheduler ----------------------------------------------------------------------------------------


def _scheduler(config: Any) -> Check:
    from sqlalchemy import select

    from db.engine import make_engine, session_scope
    from db.models import SchedulerLease
    from db.types import utcnow
    from scheduler import scheduler_state

    engine = make_engine(config.database_url)
    try:
        with session_scope(engine) as session:
            lease = session.scalars(select(SchedulerLease).order_by(SchedulerLease.id).limit(1)).first()
            if lease is None:
                return Check("scheduler", "WARN", "no scheduler has run on this database (tracker schedule)")
            age = utcnow() - lease.checked_at
            who = f"pid {lease.owner_pid} on {lease.owner_host}"
            seen = f"last heartbeat {_ago(age)} ago"
            if age > HEARTBEAT_STALE or not scheduler_state(config.database_url).startswith("running"):
                # a scheduler that stopped cleanly a moment ago has a fresh heartbeat but no lock
                return Check("scheduler", "FAIL", f"not running: {seen} ({who})")
            return Check("scheduler", "OK", f"running ({who}), {seen}")
    finally:
        engine.dispose()


def _ago(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


# -- base URL -----------------------------------------------------------------------------------------


def _base_url(config: Any) -> Check:
    d = config.digests
    missing = []
    if d.feed_dir and not d.feed_base_url:
        missing.append(
            "[digests] feed_base_url is not set: the Atom feeds written to feed_dir have no self link"
        )
    if config.email is not None and not d.public_url:
        missing.append(
            "[digests] public_url is not set: digests carry no link to the tracker's bill pages and no "
            "one-click unsubscribe link"
        )
    elif config.email is not None and d.secret() is None:  # its value is never shown
        missing.append(
            f"${d.secret_env} ([digests] secret_env) is not set: digests carry no one-click unsubscribe "
            "link (staff are told to ask an admin to pause their subscription)"
        )
    if missing:  # each one, so that setting the first does not reveal the second only then
        return Check("base url", "WARN", "; ".join(missing))
    links = (("web app", d.public_url), ("feeds", d.feed_base_url))
    shown = ", ".join(f"{what} {url}" for what, url in links if url)
    return Check("base url", "OK", f"digests link to the {shown}" if shown else "no digests by e-mail")


# -- disk ---------------------------------------------------------------------------------------------


def _disk(config: Any) -> list[Check]:
    from sqlalchemy.engine import make_url

    from db.engine import normalise_url

    places: list[tuple[str, Path]] = []
    try:
        url = make_url(normalise_url(config.database_url))
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            places.append(("disk database", Path(url.database).resolve().parent))
    except Exception:  # reported by the database check  # noqa: S110
        pass
    places.append(("disk stage files", Path(tempfile.gettempdir())))
    if config.digests.feed_dir:
        places.append(("disk feeds", Path(config.digests.feed_dir)))
    return [_free(name, path) for name, path in places]


def _free(name: str, path: Path) -> Check:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():  # the folder cannot be created under a file
        return Check(name, "FAIL", f"{path}: not a directory ({probe} is a file)")
    if not os.access(probe, os.W_OK | os.X_OK):
        verb = "write in" if probe == path else "create"
        return Check(name, "FAIL", f"{path}: the tracker cannot {verb} it (permission denied on {probe})")
    try:
        free = shutil.disk_usage(probe).free
    except OSError as exc:
        return Check(name, "FAIL", f"{path}: {exc.strerror or exc}")
    text = f"{_size(free)} free in {path}" + ("" if probe == path else f" (to be created in {probe})")
    if free < DISK_FAIL:
        return Check(name, "FAIL", text + " (under 100 MB)")
    if free < DISK_WARN:
        return Check(name, "WARN", text + " (under 1 GB)")
    return Check(name, "OK", text)


def _size(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GB"
    return f"{n / 1024**2:.0f} MB"


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
