"""Which URLs are fetched, and how downloads are bounded: a real HTTP server on loopback, configured
explicitly; hostile URLs are refused before any lookup or connection (the resolver records every call,
and nothing is ever sent to an address other than the loopback server)."""

from __future__ import annotations

import time

import pytest

from tests.documents.conftest import make_config
from tests.documents.server import Route
from tracker.config import parse_config
from tracker.documents.download import download
from tracker.documents.errors import FetchFailed, TooLarge
from tracker.documents.hosts import policy_for, system_resolver
from tracker.outbound import Refused


class Resolver:
    """The system resolver (only loopback names are ever asked), recording what it was asked."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.asked: list[str] = []
        self.answers = answers or {}

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host in self.answers:
            return self.answers[host]
        assert host in ("127.0.0.1", "localhost"), f"a test tried to resolve {host}"
        return system_resolver(host, port)


def get(url: str, config, resolver=None, **kw):
    j = config.jurisdictions[0]
    return download(
        url, policy_for(j), config.documents, user_agent="test", resolver=resolver or Resolver(), **kw
    )


def test_a_document_on_an_explicit_loopback_host_is_downloaded(server, contract_pdf):
    server.routes["/a/1.pdf"] = Route(
        contract_pdf, etag='"v1"', headers={"Last-Modified": "Tue, 03 Nov 2026"}
    )
    got = get(server.url("/a/1.pdf"), make_config(server))
    assert got.body == contract_pdf and got.content_type == "application/pdf"
    assert (got.etag, got.last_modified, got.final_url) == (
        '"v1"',
        "Tue, 03 Nov 2026",
        server.url("/a/1.pdf"),
    )
    assert server.requests[0].headers["user-agent"] == "test"
    assert server.requests[0].headers.get("accept-encoding", "identity") == "identity"


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://evil.example/x.pdf", "host evil.example is not one of riverton's document hosts"),
        ("file:///etc/passwd", "only http and https URLs are fetched, not file URL"),
        ("ftp://127.0.0.1/x.pdf", "only http and https URLs are fetched, not ftp URL"),
        ("gopher://127.0.0.1:70/_x", "not gopher URL"),
        ("//127.0.0.1/x.pdf", "not a relative URL"),
        ("http://10.0.0.1/x.pdf", "host 10.0.0.1 is not one of"),
        ("http://169.254.169.254/latest/meta-data/", "host 169.254.169.254 is not one of"),
        ("http://[::1]/x.pdf", "host ::1 is not one of"),
        ("http://localhost/x.pdf", "host localhost is not one of"),
        ("http://127.0.0.1/x.pdf", "host 127.0.0.1 is not one of"),  # the right host, not its port
        ("http://user:secret@127.0.0.1:{port}/x.pdf", "URL with credentials refused"),
        ("http://127.0.0.1:99999/x.pdf", "not a valid URL"),
    ],
)
def test_hostile_urls_are_refused_without_a_lookup_or_a_connection(server, url, why):
    resolver = Resolver()
    with pytest.raises(Refused, match=why) as refused:
        get(url.format(port=server.port), make_config(server), resolver)
    assert "secret" not in str(refused.value)
    assert resolver.asked == [] and server.requests == []


def test_another_port_of_the_configured_host_is_refused(server):
    with pytest.raises(Refused, match=r"host 127.0.0.1:\d+ is not one of riverton's document hosts"):
        get(f"http://127.0.0.1:{server.port + 1 if server.port < 65535 else 1}/x.pdf", make_config(server))


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.20", "::1", "fd00::1", "::ffff:10.0.0.1"],
)
def test_a_default_host_resolving_to_a_private_address_is_refused(address):
    """riverton.legistar1.com is one of Legistar's default document hosts, not configured explicitly: if it
    resolves to a private address, nothing is sent."""
    config = make_config()  # no document_hosts: the Legistar defaults
    resolver = Resolver({"riverton.legistar1.com": ["93.184.215.14", address]})
    with pytest.raises(
        Refused, match=rf"riverton.legistar1.com resolves to a non-public address \({address}\)"
    ):
        get("https://riverton.legistar1.com/riverton/attachments/x.pdf", config, resolver)
    assert resolver.asked == ["riverton.legistar1.com"]


def test_the_default_hosts_of_a_legistar_jurisdiction_are_explicit():
    hosts = {r.label(): r for r in policy_for(make_config().jurisdictions[0]).rules}
    assert {"riverton.legistar.com", "riverton.legistar1.com", "legistar2.granicus.com"} <= set(hosts)
    assert not hosts["riverton.legistar1.com"].explicit
    # document_hosts replaces the defaults; each entry is explicit
    only = policy_for(make_config(hosts=["docs.riverton.gov", "127.0.0.1:8080"]).jurisdictions[0]).rules
    assert [(r.label(), r.explicit) for r in only] == [("docs.riverton.gov", True), ("127.0.0.1:8080", True)]


def test_only_document_hosts_may_be_private(server, contract_pdf):
    """A local api_base is an allowed host, but documents from a private address need document_hosts."""
    server.routes["/x.pdf"] = Route(contract_pdf)
    jurisdiction = {
        "slug": "riverton",
        "name": "Riverton",
        "platform": "legistar",
        "client": "riverton",
        "api_base": f"http://127.0.0.1:{server.port}/v1",
    }
    config = parse_config({"jurisdictions": [jurisdiction]}, "test.toml")
    with pytest.raises(Refused, match=r"host 127\.0\.0\.1 resolves to a non-public address \(127\.0\.0\.1\)"):
        get(server.url("/x.pdf"), config)
    assert server.requests == []
    config = parse_config({"jurisdictions": [{**jurisdiction, "document_hosts": [server.host]}]}, "test.toml")
    assert get(server.url("/x.pdf"), config).body == contract_pdf


def test_redirects_are_checked_hop_by_hop(server, contract_pdf):
    server.routes["/pdf"] = Route(contract_pdf)
    server.routes["/moved"] = Route(status=302, location="/pdf", content_type=None)
    server.routes["/away"] = Route(status=301, location="http://evil.example/x.pdf", content_type=None)
    server.routes["/other-port"] = Route(status=307, location="http://127.0.0.1:1/x.pdf", content_type=None)
    server.routes["/file"] = Route(status=302, location="file:///etc/passwd", content_type=None)
    server.routes["/metadata"] = Route(status=302, location="http://169.254.169.254/", content_type=None)
    server.routes["/loop"] = Route(status=302, location="/loop", content_type=None)
    config = make_config(server, max_redirects=3)

    got = get(server.url("/moved"), config)
    assert (got.body, got.final_url) == (contract_pdf, server.url("/pdf"))
    for path, why in [
        ("/away", "host evil.example is not one of"),
        ("/other-port", r"host 127.0.0.1:1 is not one of"),
        ("/file", "not file URL"),
        ("/metadata", "host 169.254.169.254 is not one of"),
    ]:
        server.requests.clear()
        resolver = Resolver()
        with pytest.raises(Refused, match=why):
            get(server.url(path), config, resolver)
        assert server.paths() == [path]  # the redirect was not followed
        assert resolver.asked == ["127.0.0.1"]
    server.requests.clear()
    with pytest.raises(FetchFailed, match="more than 3 redirects"):
        get(server.url("/loop"), config)
    assert len(server.requests) == 4


def test_oversized_documents_are_refused_announced_or_streamed(server, contract_pdf):
    config = make_config(server, max_bytes=4096)
    big = contract_pdf + b"%" + b"0" * 10_000
    server.routes["/announced"] = Route(big)
    server.routes["/streamed"] = Route(big, length=False)
    server.routes["/endless"] = Route(endless=True)
    with pytest.raises(TooLarge, match=r"1\d,\d+ bytes announced, more than max_bytes \(4,096\)"):
        get(server.url("/announced"), config)
    with pytest.raises(TooLarge, match=r"more than max_bytes \(4,096 bytes\) sent"):
        get(server.url("/streamed"), config)
    started = time.monotonic()
    with pytest.raises(TooLarge):
        get(server.url("/endless"), config)
    assert time.monotonic() - started < 5


def test_the_whole_download_shares_one_deadline(server):
    server.routes["/slow"] = Route(b"%PDF-1.4 " + b"x" * 100, trickle=0.05)  # each byte well in time
    started = time.monotonic()
    with pytest.raises(FetchFailed, match=r"timed out after 0\.5 s"):
        get(server.url("/slow"), make_config(server, timeout_seconds=0.5))
    assert time.monotonic() - started < 3


def test_http_errors_and_conditional_requests(server, contract_pdf):
    config = make_config(server)
    with pytest.raises(FetchFailed, match=r"HTTP 404 \(gone from the portal\)"):
        get(server.url("/missing.pdf"), config)
    server.routes["/gz.pdf"] = Route(contract_pdf, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchFailed, match="unexpected Content-Encoding 'gzip'"):
        get(server.url("/gz.pdf"), config)
    server.routes["/v.pdf"] = Route(contract_pdf, etag='"abc"')
    got = get(server.url("/v.pdf"), config, etag='"abc"', last_modified="Tue, 03 Nov 2026 10:00:00 GMT")
    assert got.not_modified and got.body == b""
    assert server.requests[-1].headers["if-none-match"] == '"abc"'
    assert server.requests[-1].headers["if-modified-since"] == "Tue, 03 Nov 2026 10:00:00 GMT"


def test_nothing_listening_is_a_clear_failure():
    config = make_config(hosts=["127.0.0.1:1"])
    with pytest.raises(FetchFailed, match=r"cannot connect to 127\.0\.0\.1"):
        get("http://127.0.0.1:1/x.pdf", config)
