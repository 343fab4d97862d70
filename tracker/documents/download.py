"""Downloading one URL within the limits: pinned connections to checked addresses, redirects followed
by hand and checked, a streamed body abandoned past ``max_bytes``, one deadline."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin

from tracker.config import Documents
from tracker.documents.errors import FetchFailed, TooLarge, one_line
from tracker.documents.hosts import HostPolicy, Resolver, Target, system_resolver
from tracker.extract import (
    DOCX,
    PDF,
)
from tracker.outbound import pinned_connection
from tracker.safe_output import ascii_digits

REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024


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
    headers = _request_headers(user_agent, etag, last_modified)
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
            return Download(
                current,
                body=_read_body(resp, sock, settings, deadline),
                content_type=_header(resp.getheader("Content-Type"), 200),
                etag=_header(resp.getheader("ETag")),
                last_modified=_header(resp.getheader("Last-Modified")),
            )
        except (http.client.HTTPException, OSError) as exc:
            if isinstance(exc, TimeoutError) or time.monotonic() >= deadline:
                raise FetchFailed(f"timed out after {timeout:g} s") from None
            raise FetchFailed(f"{type(exc).__name__}: {one_line(str(exc)) or 'connection failed'}") from None
        finally:
            watchdog.cancel()
            if resp is not None:
                resp.close()  # closes the socket too (the response may own it)
            conn.close()
    raise FetchFailed(f"more than {settings.max_redirects} redirects")


def _request_headers(user_agent: str, etag: str | None, last_modified: str | None) -> dict[str, str]:
    """The request's headers: what kinds of document are wanted, and a conditional request when the
    document was seen before."""
    headers = {
        "User-Agent": user_agent,
        "Accept": f"{PDF}, {DOCX}, text/html;q=0.8, text/plain;q=0.5, */*;q=0.1",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _read_body(
    resp: http.client.HTTPResponse, sock: socket.socket, settings: Documents, deadline: float
) -> bytes:
    """A 200 response's body, streamed: refused past ``max_bytes`` (announced or sent), compressed, or cut
    short of its announced length; each read within what is left of the deadline."""
    timeout = settings.timeout_seconds
    encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise FetchFailed(f"unexpected Content-Encoding {_header(encoding, 40)!r}")
    declared = resp.getheader("Content-Length")
    if declared and ascii_digits(declared.strip()) and int(declared) > settings.max_bytes:
        raise TooLarge(f"{int(declared):,} bytes announced, more than max_bytes ({settings.max_bytes:,})")
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
    if declared and ascii_digits(declared.strip()) and size < int(declared):
        # The connection ended early: a truncated document is not stored (nor its ETag).
        raise FetchFailed(f"incomplete download: {size:,} of {int(declared):,} bytes announced")
    return b"".join(chunks)


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
    raise FetchFailed(f"cannot connect to {target.host}: {one_line(str(last))}")
