"""The listening socket of ``tracker serve`` and the demo's web app, bound before uvicorn starts.

Binding first (and handing the socket to uvicorn) means a port in use or a host this machine does not have
is one line, ``Error: cannot listen on HOST:PORT: <reason>``, before anything says the app is serving, and
nothing can take the port between a check and the bind.
"""

from __future__ import annotations

import errno
import socket

from tracker.errors import TrackerError

REASONS = {
    errno.EADDRINUSE: "address already in use",
    errno.EADDRNOTAVAIL: "not an address of this machine",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
}


class ListenError(TrackerError):
    """The web app cannot listen where it was asked to."""

    def __init__(self, host: str, port: int, reason: str, code: int | None = None) -> None:
        shown = f"[{host}]" if ":" in host else host
        super().__init__(f"cannot listen on {shown}:{port}: {reason}")
        self.errno = code


def listen(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (an address or a name; port 0: any free one) and
    listening, inheritable by uvicorn's worker processes; :class:`ListenError` when it cannot be."""
    try:
        addresses = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        detail = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        raise ListenError(
            host, port, f"not an address of this machine, nor a name it can resolve ({detail})"
        ) from None
    first: OSError | None = None
    for family, kind, proto, _name, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # no wait for TIME_WAIT on restart
            sock.bind(address)
            sock.listen(backlog)
        except OSError as exc:
            sock.close()
            first = first or exc
            continue
        sock.set_inheritable(True)
        return sock
    code = first.errno if first is not None else None
    reason = REASONS.get(code or 0) or (first.strerror if first and first.strerror else str(first)).lower()
    raise ListenError(host, port, reason, code)
