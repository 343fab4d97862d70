"""A download that ends before its announced Content-Length is a failure (tried again later), never a
stored document with the server's ETag (which would keep the truncated text through every conditional
recheck). Real loopback server, both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models_documents import Document
from tests.documents.conftest import bill_with_attachments, make_config
from tests.documents.server import Route
from tracker.documents.download import download
from tracker.documents.errors import FetchFailed
from tracker.documents.fetcher import Fetcher
from tracker.documents.hosts import policy_for, system_resolver
from tracker.documents.runs import fetch_jurisdiction


def _short_route(body: bytes) -> Route:
    # the header announces far more than is sent; the server then closes the connection
    return Route(body, etag='"v1"', length=False, headers={"Content-Length": str(len(body) + 50_000)})


def test_a_short_download_raises(server):
    server.routes["/t.pdf"] = _short_route(b"%PDF-1.4\n" + b"x" * 1991)
    config = make_config(server)
    with pytest.raises(FetchFailed, match=r"incomplete download: 2,000 of 52,000 bytes announced"):
        download(
            server.url("/t.pdf"),
            policy_for(config.jurisdictions[0]),
            config.documents,
            user_agent="test",
            resolver=system_resolver,
        )


def test_a_short_download_is_not_stored_with_its_etag_and_is_fetched_later(engine, server, contract_pdf):
    server.routes["/t.pdf"] = _short_route(contract_pdf[:700])
    bill_id = bill_with_attachments(engine, "AGREEMENT", [("Agreement", server.url("/t.pdf"))])
    config = make_config(server, retry_hours=0)
    fetcher = Fetcher(config)
    try:
        summary = fetch_jurisdiction(engine, fetcher, config.jurisdictions[0], limit=None)
    finally:
        fetcher.close()
    assert summary.failed == 1
    with session_scope(engine) as s:
        (doc,) = s.scalars(select(Document).where(Document.bill_id == bill_id))
        assert doc.status != "ok" and doc.etag is None and not doc.text
        assert "incomplete download" in (doc.error or "")
    # the portal serves the whole file again: the next run downloads it unconditionally and stores it
    server.routes["/t.pdf"] = Route(contract_pdf, etag='"v1"')
    fetcher = Fetcher(config)
    try:
        fetch_jurisdiction(engine, fetcher, config.jurisdictions[0], limit=None)
    finally:
        fetcher.close()
    assert "if-none-match" not in server.requests[-1].headers
    with session_scope(engine) as s:
        (doc,) = s.scalars(select(Document).where(Document.bill_id == bill_id))
        assert doc.status == "ok" and doc.size == len(contract_pdf) and doc.etag == '"v1"'
