"""Channels that send a recorded digest: SMTP e-mail and HTTP webhooks.

Each send tells its caller, through ``before_transmit()``, the last moment at which nothing has left the
machine that a server could act on. Everything that fails before that call is a *definite* failure (safe to
retry); a failure after it, before the server's answer, is *in doubt*: the message may have been accepted.

- SMTP: the envelope (MAIL, RCPT) and the DATA command are answered before anything is accepted; the
  message is accepted only once the server has the terminating ``.``. ``before_transmit()`` is called after
  the server's ``354`` and before the message is sent; a lost connection while sending the message is
  definite (the final dot never got through), while a lost answer to the final dot is in doubt.
- Webhook: ``before_transmit()`` is called once the TCP (and TLS) connection is up; a lost answer after the
  request went out is in doubt. Redirects are not followed. The URL is checked by the outbound policy
  (:mod:`tracker.outbound`) before anything is sent: a URL it refuses fails for good, never in doubt.

Failures carry a one-line message that names the server and what to check, never a secret.
"""

from __future__ import annotations

import http.client
import json
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from tracker import outbound
from tracker.config import Email
from tracker.errors import TrackerError

logger = logging.getLogger(__name__)

USER_AGENT = "SanctuaryTracker/0.1 (digests)"


class DeliveryError(TrackerError):
    """A send that did not succeed.

    ``in_doubt``: the server may have accepted it (never resend without the operator); ``permanent``: the
    server refused it for good (a retry would fail the same way); ``config``: the failure points at the
    configuration (unreachable server, no STARTTLS, bad credentials) rather than at this message.
    """

    def __init__(
        self, message: str, *, in_doubt: bool = False, permanent: bool = False, config: bool = False
    ):
        super().__init__(message)
        self.in_doubt = in_doubt
        self.permanent = permanent
        self.config = config


# -- e-mail -------------------------------------------------------------------------------------------


def build_email(
    settings: Email,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    when: Any,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.from_address
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    domain = settings.from_address.rsplit("@", 1)[-1]
    msg["Message-ID"] = f"<{message_id}@{domain}>" if message_id else make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _dot_stuffed(data: bytes) -> bytes:
    """The message as the DATA phase sends it: CRLF line ends, leading dots doubled, final ``.``."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
    return out + b"\r\n.\r\n"


def _reply(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else resp
    text = text.replace("\n", " ").strip()
    return f"{code} {text}".strip()


class SmtpChannel:
    def __init__(self, settings: Email) -> None:
        self.settings = settings

    @property
    def where(self) -> str:
        return f"SMTP server {self.settings.smtp_host}:{self.settings.smtp_port}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.implicit_tls:
                return smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.timeout, context=ssl.create_default_context()
                )
            return smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout)
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"{self.where}: TLS handshake failed ({exc.reason or exc}); check implicit_tls and the port",
                config=True,
            ) from None
        except TimeoutError:
            raise DeliveryError(
                f"{self.where}: timed out connecting; check smtp_host and smtp_port", config=True
            ) from None
        except smtplib.SMTPConnectError as exc:
            raise DeliveryError(
                f"{self.where}: refused the connection: {_reply(exc.smtp_code, exc.smtp_error)}", config=True
            ) from None
        except smtplib.SMTPServerDisconnected:
            raise DeliveryError(
                f"{self.where}: closed the connection at once; is it an SMTP server? "
                "(check smtp_port and implicit_tls)",
                config=True,
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise DeliveryError(
                f"{self.where}: cannot connect ({reason}); check smtp_host and smtp_port", config=True
            ) from None

    def _session_setup(self, smtp: smtplib.SMTP) -> None:
        s = self.settings
        code, resp = smtp.ehlo()
        if code != 250:
            code, resp = smtp.helo()
            if code != 250:
                raise DeliveryError(f"{self.where}: refused EHLO/HELO: {_reply(code, resp)}", config=True)
        if s.starttls:
            if not smtp.has_extn("starttls"):
                raise DeliveryError(
                    f"{self.where} does not offer STARTTLS; set starttls = false only for a server on a "
                    "trusted network, or implicit_tls = true for port 465",
                    config=True,
                )
            try:
                smtp.starttls(context=ssl.create_default_context())
            except ssl.SSLError as exc:
                raise DeliveryError(
                    f"{self.where}: STARTTLS failed ({exc.reason or exc})", config=True
                ) from None
            smtp.ehlo()
        if s.username:
            password = s.password()
            if password is None:
                raise DeliveryError(
                    f"environment variable {s.password_env} (email.password_env) is not set", config=True
                )
            if not smtp.has_extn("auth"):
                raise DeliveryError(
                    f"{self.where} does not offer authentication (AUTH) on this connection; "
                    "check starttls/implicit_tls or remove username",
                    config=True,
                )
            try:
                smtp.login(s.username, password)
            except smtplib.SMTPAuthenticationError as exc:
                raise DeliveryError(
                    f"{self.where}: login as {s.username!r} refused: {_reply(exc.smtp_code, exc.smtp_error)}",
                    config=True,
                ) from None

    def send(self, message: EmailMessage, before_transmit: Callable[[], None]) -> str:
        """Send one message to its one recipient; returns the server's acceptance reply."""
        sender = self.settings.from_address
        rcpt = str(message["To"])
        if not rcpt.isascii():  # stored before addresses were checked for it: no SMTPUTF8 here, ever
            raise DeliveryError(
                f"{self.where}: cannot send to {rcpt!r}: the address has characters outside ASCII",
                permanent=True,
            )
        data = _dot_stuffed(message.as_bytes(policy=SMTP_POLICY))
        smtp = self._connect()
        try:
            try:
                self._session_setup(smtp)
                code, resp = smtp.mail(sender)
                if code != 250:
                    raise DeliveryError(
                        f"{self.where}: refused sender {sender}: {_reply(code, resp)}",
                        permanent=code >= 500,
                        config=code >= 500,
                    )
                code, resp = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    raise DeliveryError(
                        f"{self.where}: refused recipient {rcpt}: {_reply(code, resp)}", permanent=code >= 500
                    )
                code, resp = smtp.docmd("DATA")
                if code != 354:
                    raise DeliveryError(
                        f"{self.where}: refused DATA: {_reply(code, resp)}", permanent=code >= 500
                    )
            except (smtplib.SMTPException, OSError) as exc:
                raise DeliveryError(f"{self.where}: {_describe(exc)} before the message was sent") from None
            before_transmit()
            try:
                smtp.send(data)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                # sendall did not finish: the terminating dot never reached the server.
                raise DeliveryError(f"{self.where}: {_describe(exc)} while sending the message") from None
            try:
                code, resp = smtp.getreply()
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                raise DeliveryError(
                    f"{self.where}: {_describe(exc)} after the message was sent, before the server answered",
                    in_doubt=True,
                ) from None
            if code == -1:  # an answer that is not an SMTP reply: accepted or not, unknown
                raise DeliveryError(
                    f"{self.where}: unclear answer after the message: {_reply(code, resp)}", in_doubt=True
                )
            if code != 250:
                raise DeliveryError(
                    f"{self.where}: rejected the message: {_reply(code, resp)}", permanent=code >= 500
                )
            return _reply(code, resp)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def check(self) -> str:
        """Connect, greet, STARTTLS and log in without sending anything (``tracker digest check-email``)."""
        smtp = self._connect()
        try:
            try:
                self._session_setup(smtp)
            except (smtplib.SMTPException, OSError) as exc:
                raise DeliveryError(f"{self.where}: {_describe(exc)}", config=True) from None
            tls = (
                "STARTTLS"
                if self.settings.starttls
                else "implicit TLS"
                if self.settings.implicit_tls
                else "no TLS"
            )
            auth = f"logged in as {self.settings.username}" if self.settings.username else "no login"
            return f"{self.where}: ok ({tls}, {auth})"
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "connection closed"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"error {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError):
        return f"connection error ({exc.strerror or exc})"
    return str(exc)


# -- webhooks -----------------------------------------------------------------------------------------


def redact_webhook(url: str) -> str:
    """A webhook URL fit for logs and status lines: scheme, host and port only (Slack-style webhook URLs
    carry their secret in the path)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
    except ValueError:
        return "(an invalid URL)"
    netloc = "".join(ch if ch.isprintable() and not ch.isspace() else "?" for ch in netloc)[:100]
    return f"{parts.scheme}://{netloc}/…"


_PRIVATE_HINT = "; an operator may allow such a host in [digests] webhook_private_hosts"


#: The longest webhook URL a subscription takes (Slack's and most services' are under 200 characters).
MAX_WEBHOOK_URL = 2000


def check_webhook_url(url: str, private_hosts: Iterable[str] = ()) -> str:
    """The webhook URL if it may be stored: http(s), a host, no credentials, no space or control
    character, and not written as a non-public address (``127.0.0.1``, ``2130706433``, ``localhost``,
    ``[::1]``, ``169.254.169.254``...) unless its host is allowed in ``[digests] webhook_private_hosts``.
    Host names are resolved only when a digest is sent (:class:`WebhookChannel`), where every address is
    checked again. At most :data:`MAX_WEBHOOK_URL` characters. ValueError with a one-line reason otherwise."""
    if len(url) > MAX_WEBHOOK_URL:
        raise ValueError(f"the webhook URL is longer than {MAX_WEBHOOK_URL:,} characters ({len(url):,})")
    try:
        target = outbound.split_url(url, what="webhook")
        allowed = outbound.HostList(private_hosts).allows(target.host, target.port)
        outbound.check_literal(target, private_ok=allowed, hint=_PRIVATE_HINT)
    except outbound.Refused as exc:
        raise ValueError(str(exc)) from None
    return url.strip()


class WebhookChannel:
    """POSTs a digest by the outbound policy (:mod:`tracker.outbound`): the URL is checked again at every
    send, its host resolved once and every address checked (public only, unless the host is allowed in
    ``private_hosts``), and the connection made to the address that was checked."""

    def __init__(
        self,
        timeout: float = 30.0,
        private_hosts: Iterable[str] = (),
        resolver: outbound.Resolver = outbound.system_resolver,
    ) -> None:
        self.timeout = timeout
        self.private_hosts = outbound.HostList(private_hosts)
        self.resolver = resolver

    def send(self, url: str, body: dict[str, Any], event_id: str, before_transmit: Callable[[], None]) -> str:
        where = f"webhook {redact_webhook(url)}"
        try:
            target = outbound.split_url(url, what="webhook")
            allowed = self.private_hosts.allows(target.host, target.port)
            addresses = outbound.checked_addresses(
                target, self.resolver, private_ok=allowed, hint=_PRIVATE_HINT
            )
        except outbound.Refused as exc:  # nothing was sent, and never will be to this URL
            raise DeliveryError(f"{where}: refused: {exc}", permanent=True) from None
        except outbound.Unresolvable as exc:
            raise DeliveryError(f"{where}: {exc}", config=True) from None
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        conn: http.client.HTTPConnection | None = None
        try:
            last: OSError | None = None
            for address in addresses:
                conn = outbound.pinned_connection(target, address, self.timeout)
                try:
                    conn.connect()
                    break
                except OSError as exc:
                    conn.close()
                    conn, last = None, exc
            if conn is None:
                assert last is not None
                raise DeliveryError(f"{where}: cannot connect ({_describe(last)})", config=True)
            before_transmit()
            try:
                conn.request(
                    "POST",
                    target.path,
                    body=payload,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "User-Agent": USER_AGENT,
                        "X-Tracker-Event-Id": event_id,
                        "Idempotency-Key": event_id,
                    },
                )
                response = conn.getresponse()
                status = response.status
                response.read(65536)
            except (OSError, http.client.HTTPException) as exc:
                raise DeliveryError(
                    f"{where}: {_describe(exc)} after the request was sent, before the answer", in_doubt=True
                ) from None
        finally:
            if conn is not None:
                conn.close()
        if 200 <= status < 300:
            return f"HTTP {status}"
        if 300 <= status < 400:  # not followed, and asking again gets the same answer
            raise DeliveryError(
                f"{where}: answered HTTP {status}, a redirect, which is not followed: give its final URL",
                permanent=True,
            )
        permanent = 400 <= status < 500 and status not in (408, 425, 429)
        raise DeliveryError(f"{where}: answered HTTP {status}", permanent=permanent)
