"""Helpers for the digest and scheduler tests: a real SMTP server and a webhook receiver on loopback,
configuration files that point at them, and subscriptions (bills, matches and status changes come from
tests/factories.py)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests import clock
from tests.factories import T0
from tracker.config import Config, parse_config


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
