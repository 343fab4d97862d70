"""The one policy for every request the tracker makes to a URL it was given (docs/security.md): bill
documents (:mod:`tracker.documents.download`), webhook deliveries (:mod:`tracker.digests.channels`) and
the links pasted to track a bill (:mod:`tracker.track`).

1. :func:`split_url`: only ``http``/``https``, a host, no credentials, no whitespace or control characters
   anywhere (a CR/LF would otherwise end up in the request line);
2. :func:`literal_address`: a host written as an address, in any form the C library accepts (dotted,
   decimal ``2130706433``, octal ``0177.0.0.1``, hex ``0x7f000001``, short ``127.1``, IPv6, IPv4-mapped
   IPv6) is read as that address; ``localhost`` and ``*.localhost`` are loopback;
3. :func:`checked_addresses`: the host is resolved once and refused when any address is not public
   (loopback, private, link-local such as ``169.254.169.254``, ``0.0.0.0``, multicast, reserved), unless the
   operator allowed that host; the connection then goes to the address that was checked
   (:func:`pinned_connection`), so a second lookup cannot answer differently (DNS rebinding);
4. whoever follows redirects checks every hop with the same rules (documents do; webhooks never follow).
"""

from __future__ import annotations

import http.client as http_client
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# Whitespace, C0/C1 controls, DEL: never valid in a URL as typed, and dangerous in a request line.
_BAD_CHARS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


class Refused(Exception):
    """The URL may not be requested (scheme, host, port, address or characters); nothing was sent."""


class Unresolvable(Exception):
    """The host name has no address (now): worth trying again later."""


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses (each once, in the resolver's order); :class:`Unresolvable` when none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve {host}: {exc}") from None
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def is_public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address is judged as its IPv4 address)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None or ip.teredo is not None:
            return False  # tunnels that embed an IPv4 address: not worth the doubt
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> str | None:
    """The address a host written as an address stands for (every form ``inet_aton`` accepts), else None.
    ``localhost`` and its subdomains stand for 127.0.0.1."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(host.split("%")[0]))
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            raise Refused(f"{host!r} is neither a host name nor an address") from None
    return None


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, ready for the request line

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _short(url: str, limit: int = 120) -> str:
    text = _BAD_CHARS.sub(" ", url)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_url(url: str, *, what: str = "URL") -> Target:
    """The URL's parts if it is an http(s) URL with a host, without credentials or bad characters;
    :class:`Refused` (a one-line reason that never repeats a password) otherwise."""
    url = url.strip()
    if _BAD_CHARS.search(url):
        raise Refused(f"the {what} contains a space or a control character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(f"not a valid {what}: {_short(url.split('@')[-1])}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused(f"the {what} must be an http(s) URL, not {scheme or 'a relative'} URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused(f"no host in the {what}")
    if parts.username is not None or parts.password is not None:
        raise Refused(f"the {what} must not carry credentials")
    port = port if port is not None else DEFAULT_PORTS[scheme]
    if port == 0:
        raise Refused(f"port 0 in the {what}")
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_PATH_SAFE + "?")
    return Target(url, scheme, host, port, path)


class HostList:
    """Hosts (``host`` or ``host:port``, a port of None meaning any) allowed to be non-public."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.entries: list[tuple[str, int | None]] = []
        for entry in entries:
            parts = urlsplit(entry if "://" in entry else f"//{entry}")
            host = (parts.hostname or "").rstrip(".").lower()
            if host:
                self.entries.append((host, parts.port))

    def allows(self, host: str, port: int) -> bool:
        host = host.rstrip(".").lower()
        return any(h == host and (p is None or p == port) for h, p in self.entries)


def check_literal(target: Target, *, private_ok: bool = False, hint: str = "") -> None:
    """Refuse, without any lookup, a host written as a non-public address (``127.0.0.1``, ``2130706433``,
    ``[::ffff:10.0.0.1]``, ``localhost``, ``0.0.0.0``...)."""
    if private_ok:
        return
    address = literal_address(target.host)
    if address is not None and not is_public(address):
        raise Refused(f"{target.host} is a non-public address ({address}){hint}")


def checked_addresses(
    target: Target, resolver: Resolver = system_resolver, *, private_ok: bool = False, hint: str = ""
) -> list[str]:
    """The addresses to connect to, resolved once; :class:`Refused` when any is non-public and the host
    is not allowed to be, :class:`Unresolvable` when there is none."""
    check_literal(target, private_ok=private_ok, hint=hint)
    literal = literal_address(target.host)
    found = [literal] if literal else resolver(target.host, target.port)
    if not found:
        raise Unresolvable(f"cannot resolve {target.host}")
    if not private_ok:
        private = [a for a in found if not is_public(a)]
        if private:
            raise Refused(f"host {target.host} resolves to a non-public address ({private[0]}){hint}")
    return found


class _PinnedHTTP(http_client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(http_client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        context: ssl.SSLContext = self._context  # type: ignore[attr-defined]  # set by __init__, not in the stubs
        self.sock = context.wrap_socket(sock, server_hostname=self.host)


def pinned_connection(target: Target, address: str, timeout: float) -> http_client.HTTPConnection:
    """An HTTP(S) connection (not yet connected) to ``address``, speaking to ``target.host``."""
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    return cls(target.host, target.port, address, timeout)
