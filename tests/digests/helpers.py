"""Helpers for the digest and scheduler tests: a real SMTP server and a webhook receiver on loopback,
small factories for bills, matches and status changes, and configuration files that point at them."""

from __future__ import annotations

import http.server
import itertools
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from db.models import Bill, CrawlRun, Jurisdiction, StatusChange
from db.models_review import BillMatch
from db.types import utcnow
from tests import clock
from tracker.config import Config, parse_config

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a real SMTP server -------------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; ``fail_next`` scripts the answers to the next DATA
    commands ("451 ...", "550 ...", or "drop": take the message, then close without answering)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.received_raw: list[bytes] = []
        self.fail_next: list[str] = []
        self.refuse_rcpt: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mode = self.fail_next.pop(0) if self.fail_next else None
        raw = envelope.original_content or envelope.content
        if mode == "drop":
            self.received_raw.append(raw)
            server.transport.close()
            return "250 OK"
        if mode:
            return mode
        self.received_raw.append(raw)
        self.messages.append(BytesParser(policy=policy.default).parsebytes(raw))
        return "250 2.0.0 Message accepted"


class SmtpServer:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages


# -- a webhook receiver -------------------------------------------------------------------------------


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    requests: list[Hook] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to the next requests (default 200)


class WebhookServer:
    def __init__(self) -> None:
        receiver = self.receiver = Receiver()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                receiver.requests.append(Hook(self.path, dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- configuration ------------------------------------------------------------------------------------

JURISDICTIONS = [
    {
        "slug": "riverton",
        "name": "Riverton City Council",
        "platform": "legistar",
        "client": "riverton",
        "api_base": "http://127.0.0.1:9/v1",
        "timezone": "America/Chicago",
    },
    {
        "slug": "portalder",
        "name": "Port Alder City Council",
        "platform": "legistar",
        "client": "portalder",
        "api_base": "http://127.0.0.1:9/v1",
        "timezone": "America/Los_Angeles",
    },
]


def make_config(
    db_url: str,
    smtp_port: int | None = None,
    *,
    digests: dict[str, Any] | None = None,
    alerts: dict[str, Any] | None = None,
    email: dict[str, Any] | None = None,
    jurisdictions: list[dict[str, Any]] | None = None,
    crawl: dict[str, Any] | None = None,
    schedule: dict[str, Any] | None = None,
) -> Config:
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "jurisdictions": jurisdictions if jurisdictions is not None else JURISDICTIONS,
        # The webhook receiver runs on loopback: allowed as an operator would allow an internal host.
        "digests": {"retry_base_seconds": 60, "webhook_private_hosts": ["127.0.0.1"], **(digests or {})},
    }
    if smtp_port is not None:
        data["email"] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "from_address": "tracker@example.org",
            "starttls": False,
            "timeout": 5,
            **(email or {}),
        }
    if alerts:
        data["alerts"] = alerts
    if crawl:
        data["crawl"] = crawl
    if schedule:
        data["schedule"] = schedule
    return parse_config(data, "test.toml")


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_toml(path: Path, config: Config) -> Path:
    """The configuration as a file, for the `tracker` command in a child process."""
    lines = ["[database]", f"url = {toml_value(config.database.url)}", ""]
    if config.email:
        lines.append("[email]")
        lines += [f"{k} = {toml_value(v)}" for k, v in config.email.model_dump(exclude_none=True).items()]
        lines.append("")
    for table in ("crawl", "schedule", "digests", "alerts"):
        lines.append(f"[{table}]")
        lines += [
            f"{k} = {toml_value(v)}" for k, v in getattr(config, table).model_dump(exclude_none=True).items()
        ]
        lines.append("")
    for j in config.jurisdictions:
        lines.append("[[jurisdictions]]")
        lines += [
            f"{k} = {toml_value(v)}"
            for k, v in j.model_dump(exclude_none=True, exclude_defaults=True).items()
            if k != "stages"
        ]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# -- factories ----------------------------------------------------------------------------------------


def jurisdiction(session, slug: str = "riverton", name: str | None = None) -> Jurisdiction:
    from sqlalchemy import select

    row = session.scalar(select(Jurisdiction).where(Jurisdiction.slug == slug))
    if row is None:
        names = {j["slug"]: j["name"] for j in JURISDICTIONS}
        row = Jurisdiction(
            slug=slug, name=name or names.get(slug, slug.title()), platform="legistar", created_at=T0
        )
        session.add(row)
        session.flush()
    return row


def bill(
    session,
    slug: str = "riverton",
    *,
    title: str = "Ordinance limiting cooperation with civil immigration detainers",
    identifier: str | None = None,
    first_seen: datetime = T0,
    stage: str = "introduced",
    status: str = "Introduced",
    url: str | None = "https://riverton.legistar.com/LegislationDetail.aspx?ID=1",
    introduced: Any = None,
) -> Bill:
    n = next(_ids)
    row = Bill(
        jurisdiction_id=jurisdiction(session, slug).id,
        source_id=str(1000 + n),
        identifier=identifier or f"O2026-{n:04d}",
        title=title,
        name=None,
        type_name="Ordinance",
        status=status,
        stage=stage,
        introduced=introduced,
        public_url=url,
        source_url=None,
        content_hash=f"h{n}",
        raw={},
        first_seen_at=first_seen,
        updated_at=first_seen,
    )
    session.add(row)
    session.flush()
    session.add(
        StatusChange(
            bill_id=row.id,
            seq=1,
            kind="first_seen",
            new_status=status,
            new_stage=stage,
            observed_at=first_seen,
        )
    )
    session.flush()
    return row


def match(
    session,
    bill_row: Bill,
    *,
    relevant: bool = True,
    categories: tuple[str, ...] = ("detainers_warrants",),
    direction: str | None = "expands",
    review_state: str | None = "pending",
    decided_at: datetime | None = None,
    editor_categories: list[str] | None = None,
    source: str = "matcher",
    evidence: list[dict[str, Any]] | None = None,
) -> BillMatch:
    if evidence is None:
        evidence = (
            [
                {
                    "kind": "term",
                    "rule": categories[0],
                    "phrase": "immigration detainers",
                    "field": "title",
                    "start": 0,
                    "end": 1,
                }
            ]
            if categories
            else []
        )
    row = BillMatch(
        bill_id=bill_row.id,
        relevant=relevant,
        score=0.9 if relevant else 0.1,
        categories=list(categories),
        direction=direction,
        category_scores={c: 0.9 for c in categories},
        evidence=evidence,
        rules_version=1,
        rules_hash="r",
        input_hash="i",
        content_keys={},
        matched_at=bill_row.first_seen_at,
        source=source,
        review_state=review_state,
        decided_at=decided_at,
        decided_by="editor" if decided_at else None,
        editor_categories=editor_categories
        if editor_categories is not None
        else (list(categories) if review_state == "confirmed" else None),
        editor_direction=direction if review_state == "confirmed" else None,
        needs_review=False,
        created_at=bill_row.first_seen_at,
        updated_at=bill_row.first_seen_at,
    )
    session.add(row)
    session.flush()
    return row


def change(
    session,
    bill_row: Bill,
    *,
    new_status: str,
    new_stage: str,
    observed_at: datetime,
) -> StatusChange:
    from sqlalchemy import func, select

    seq = (
        session.scalar(select(func.max(StatusChange.seq)).where(StatusChange.bill_id == bill_row.id)) or 0
    ) + 1
    row = StatusChange(
        bill_id=bill_row.id,
        seq=seq,
        kind="changed",
        old_status=bill_row.status,
        new_status=new_status,
        old_stage=bill_row.stage,
        new_stage=new_stage,
        observed_at=observed_at,
    )
    bill_row.status, bill_row.stage = new_status, new_stage
    session.add(row)
    session.flush()
    return row


def crawl_run(session, slug: str, status: str, started: datetime, message: str | None = None) -> CrawlRun:
    row = CrawlRun(
        jurisdiction_id=jurisdiction(session, slug).id,
        mode="incremental",
        status=status,
        started_at=started,
        finished_at=started + timedelta(minutes=1),
        since=None,
        seen=10 if status == "succeeded" else 0,
        new=0,
        changed=0,
        status_changes=0,
        vanished=0,
        errors=0 if status == "succeeded" else 1,
        requests=5,
        message=message,
    )
    session.add(row)
    session.flush()
    return row


def subscribe(
    session, config: Config, email: str = "staff@example.org", *, starts_at: datetime = T0, **spec: Any
):
    from tracker.digests.subscriptions import SubscriptionSpec, add

    spec.setdefault("frequency", "immediate")
    # Most digest tests are about matches not yet reviewed: they opt in (the default is confirmed only).
    spec.setdefault("confirmed_only", False)
    sub = add(session, SubscriptionSpec(email=email, **spec), config, starts_at)
    return sub


def wait_for(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll an external process's progress (a file appearing, a line printed), bounded in time."""
    clock.wait_for(predicate, timeout, what=what)


def now() -> datetime:
    return utcnow()
