"""Which hosts a jurisdiction's documents may come from (:func:`policy_for`), and the checks of a URL
against them (:class:`HostPolicy`): scheme, host, port, and addresses that must be public unless listed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from tracker import outbound
from tracker.documents.errors import FetchFailed, short_url
from tracker.outbound import DEFAULT_PORTS, Refused, is_public

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
class Target(outbound.Target):
    """An allowed document URL: the parsed URL with the host rule that allowed it."""

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
            raise Refused(f"not a valid URL: {short_url(url)}") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise Refused(
                f"only http and https URLs are fetched, not {scheme or 'a relative'} URL {short_url(url)}"
            )
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise Refused(f"no host in {short_url(url)}")
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
