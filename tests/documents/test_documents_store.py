"""Documents stored and matched, on SQLite and PostgreSQL: real PDF and DOCX files served on loopback,
fetched, extracted in the child process, stored with their hash, and fed to the matcher."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models_documents import Document
from tests.documents.conftest import (
    DOGS_ORDINANCE,
    bill_with_attachments,
    make_config,
    replace_attachments,
)
from tests.documents.server import Route
from tests.factories import match_row
from tracker.demo.documents import make_pdf
from tracker.documents.fetcher import Fetcher
from tracker.documents.runs import fetch_documents, fetch_jurisdiction
from tracker.matcher.apply import match_bills
from tracker.review import confirm


@pytest.fixture(autouse=True)
def _rules_alone(monkeypatch):
    """These tests measure what a bill's documents add to its match, title by title against the rules'
    exact results; the learned layer reads titles and would find "AGREEMENT - INMATE HOUSING" relevant from
    the title alone (the development set's ICE bed contract). So they match with the rules alone; how the
    learned layer keeps a match found in documents is tested in tests/matcher/test_learned.py."""
    monkeypatch.setenv("TRACKER_MATCHER", "rules")


def documents(engine, bill_id: int) -> list[Document]:
    with session_scope(engine) as s:
        rows = list(s.scalars(select(Document).where(Document.bill_id == bill_id).order_by(Document.id)))
        s.expunge_all()
        return rows


def run(engine, config, **kw):
    """One fetch run of riverton with its own fetcher; returns (summary, child processes started)."""
    fetcher = Fetcher(config, force=kw.pop("force", False))
    try:
        summary = fetch_jurisdiction(engine, fetcher, config.jurisdictions[0], limit=kw.pop("limit", None))
        return summary, fetcher.extractor.started
    finally:
        fetcher.close()


def test_an_opaque_title_is_matched_on_its_pdf(engine, server, contract_pdf):
    server.routes["/att/1.pdf"] = Route(
        contract_pdf, etag='"v1"', headers={"Last-Modified": "Mon, 02 Nov 2026"}
    )
    bill_id = bill_with_attachments(
        engine, "AGREEMENT - INMATE HOUSING", [("Agreement", server.url("/att/1.pdf"))]
    )
    assert not match_row(engine, bill_id).relevant  # the title alone says nothing

    (summary,) = fetch_documents(make_config(server), engine, ["riverton"])
    assert (summary.checked, summary.extracted, summary.rematched, summary.newly_relevant) == (1, 1, 1, 1)
    assert summary.line().startswith("riverton: documents - 1 checked, 1 new text, 0 unchanged, 0 failed")

    (doc,) = documents(engine, bill_id)
    assert (doc.status, doc.media_type, doc.size, doc.pages, doc.error) == (
        "ok",
        "application/pdf",
        len(contract_pdf),
        1,
        None,
    )
    assert doc.content_hash == hashlib.sha256(contract_pdf).hexdigest()
    assert (doc.etag, doc.last_modified, doc.name) == ('"v1"', "Mon, 02 Nov 2026", "Agreement")
    assert doc.fetched_at == doc.extracted_at == doc.checked_at

    match = match_row(engine, bill_id)
    assert match.relevant and match.categories[0] == "detention_contracts"
    assert match.review_state == "pending"
    found = [e for e in match.evidence if e["field"] == "document:Agreement"]
    assert {e["phrase"] for e in found} >= {"housing of ICE detainees", "Immigration and Customs Enforcement"}
    for e in found:  # the span is the phrase, in the stored text of the document it names
        assert doc.text[e["start"] : e["end"]] == e["phrase"]


def test_an_opaque_amending_title_is_matched_on_its_docx(engine, server, detainer_docx):
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    server.routes["/att/ord.docx"] = Route(detainer_docx, content_type=docx_type)
    server.routes["/att/dogs.pdf"] = Route(make_pdf(DOGS_ORDINANCE))
    bill_id = bill_with_attachments(
        engine,
        "AMENDING CHAPTER 12.08",
        [("Ordinance Text", server.url("/att/ord.docx")), ("Staff Report", server.url("/att/dogs.pdf"))],
    )
    (summary,) = fetch_documents(make_config(server), engine, [])
    assert (summary.checked, summary.extracted, summary.newly_relevant) == (2, 2, 1)
    match = match_row(engine, bill_id)
    assert (match.relevant, match.categories[0], match.direction) == (True, "detainers_warrants", "expands")
    assert {e["field"] for e in match.evidence} == {"document:Ordinance Text"}


def test_an_unchanged_document_is_neither_downloaded_nor_parsed_again(engine, server, contract_pdf):
    server.routes["/etag.pdf"] = Route(contract_pdf, etag='"v1"')
    server.routes["/plain.pdf"] = Route(contract_pdf)  # no validators: same bytes, same hash
    first = bill_with_attachments(
        engine, "AGREEMENT - INMATE HOUSING", [("Agreement", server.url("/etag.pdf"))]
    )
    second = bill_with_attachments(engine, "INMATE HOUSING", [("Contract", server.url("/plain.pdf"))])
    config = make_config(server, recheck_hours=0)

    summary, children = run(engine, config)
    assert (summary.extracted, children) == (2, 1)  # the second file's bytes were known: no parsing
    matched_at = match_row(engine, first).matched_at
    assert match_row(engine, second).relevant

    server.requests.clear()
    summary, children = run(engine, config)
    assert (summary.checked, summary.unchanged, summary.extracted, summary.rematched, children) == (
        2,
        2,
        0,
        0,
        0,
    )
    by_path = {r.path: r.headers for r in server.requests}
    assert by_path["/etag.pdf"]["if-none-match"] == '"v1"'  # answered 304
    assert "if-none-match" not in by_path["/plain.pdf"]
    assert match_row(engine, first).matched_at == matched_at
    assert documents(engine, first)[0].fetched_at < documents(engine, first)[0].checked_at

    # not due yet: nothing is asked at all
    server.requests.clear()
    summary, _ = run(engine, make_config(server))
    assert summary.checked == 0 and server.requests == []


def test_a_changed_document_is_extracted_again_and_its_bill_rematched_and_flagged(
    engine, server, contract_pdf
):
    server.routes["/att.pdf"] = Route(contract_pdf, etag='"v1"')
    bill_id = bill_with_attachments(
        engine, "AGREEMENT - INMATE HOUSING", [("Agreement", server.url("/att.pdf"))]
    )
    config = make_config(server, recheck_hours=0)
    run(engine, config)
    with session_scope(engine) as s:
        confirm(s, str(bill_id), by="ana")
    first = documents(engine, bill_id)[0]

    server.routes["/att.pdf"] = Route(make_pdf(DOGS_ORDINANCE), etag='"v2"')
    summary, children = run(engine, config)
    assert (summary.extracted, summary.rematched, children) == (1, 1, 1)
    (doc,) = documents(engine, bill_id)
    assert "dogs in parks" in doc.text and doc.content_hash != first.content_hash and doc.etag == '"v2"'
    match = match_row(engine, bill_id)
    assert not match.relevant  # the machine's view follows the text...
    assert match.review_state == "confirmed" and match.needs_review  # ...the decision stays, flagged
    assert match.needs_review_reason.startswith("text changed since it was confirmed by ana")


def test_problems_are_recorded_one_line_each_and_the_last_good_text_is_kept(engine, server, contract_pdf):
    server.routes["/good.pdf"] = Route(contract_pdf)
    server.routes["/error.pdf"] = Route(
        b"<html><body><h1>Server Error in '/' Application.</h1></body></html>", content_type="text/html"
    )
    server.routes["/blob"] = Route(b"\x00\x01\x02garbage" * 50, content_type="application/octet-stream")
    server.routes["/big.pdf"] = Route(contract_pdf + b"%" + b"0" * 5000)
    server.routes["/fake.pdf"] = Route(b"%PDF-1.7\n1 0 obj << garbage")
    server.routes["/lying"] = Route(b"<html><body>Error</body></html>", content_type="application/pdf")
    server.routes["/elsewhere"] = Route(
        status=302, location="http://169.254.169.254/latest/", content_type=None
    )
    urls = {
        "good": server.url("/good.pdf"),
        "error page": server.url("/error.pdf"),
        "blob": server.url("/blob"),
        "big": server.url("/big.pdf"),
        "fake": server.url("/fake.pdf"),
        "lying": server.url("/lying"),
        "redirected": server.url("/elsewhere"),
        "other host": "http://evil.example/x.pdf",
        "file": "file:///etc/passwd",
        "gone": server.url("/missing.pdf"),
    }
    bill_id = bill_with_attachments(engine, "AGREEMENT - INMATE HOUSING", list(urls.items()))
    config = make_config(server, max_bytes=4096)
    (summary,) = fetch_documents(config, engine, ["riverton"])
    assert (
        summary.checked,
        summary.extracted,
        summary.failed,
        summary.refused,
        summary.too_large,
        summary.unsupported,
    ) == (10, 1, 4, 3, 1, 1)
    got = {d.name: (d.status, d.error) for d in documents(engine, bill_id)}
    assert got["good"] == ("ok", None)
    assert got["error page"] == ("failed", "the link names a PDF but the server sent HTML")
    assert got["blob"] == ("unsupported", "not a document the tracker can read (application/octet-stream)")
    assert got["big"][0] == "too_large" and "max_bytes (4,096" in got["big"][1]
    assert got["fake"][0] == "failed" and got["fake"][1].startswith(
        "cannot extract the text: not a readable PDF"
    )
    assert got["lying"] == ("failed", "declared application/pdf but the bytes are HTML")
    assert got["redirected"] == ("refused", "host 169.254.169.254 is not one of riverton's document hosts")
    assert got["other host"] == ("refused", "host evil.example is not one of riverton's document hosts")
    assert got["file"] == ("refused", "only http and https URLs are fetched, not file URL file:///etc/passwd")
    assert got["gone"] == ("failed", "HTTP 404 (gone from the portal)")
    assert all("\n" not in (error or "") for _, error in got.values())
    assert match_row(engine, bill_id).relevant  # the good document counts

    # the good one breaks later: its text stays, the failure is counted; failures wait retry_hours
    server.routes["/good.pdf"] = Route(status=500, content_type="text/html")
    summary, _ = run(engine, make_config(server, recheck_hours=0, retry_hours=0))
    good = next(d for d in documents(engine, bill_id) if d.name == "good")
    assert (good.status, good.error, good.failures) == ("failed", "HTTP 500", 1)
    assert "ICE detainees" in good.text
    assert match_row(engine, bill_id).relevant
    server.requests.clear()
    summary, _ = run(engine, make_config(server, recheck_hours=0))  # retry_hours 6: nothing failed is due
    assert sorted(server.paths()) == ["/big.pdf", "/blob", "/elsewhere"]
    assert (summary.checked, summary.refused) == (5, 3)  # refusals cost no request
    big = next(d for d in documents(engine, bill_id) if d.name == "big")
    assert (big.status, big.size) == ("ok", len(contract_pdf) + 5001)  # within the default max_bytes


def test_the_matcher_reads_only_documents_still_attached(engine, server, contract_pdf):
    server.routes["/att.pdf"] = Route(contract_pdf)
    bill_id = bill_with_attachments(
        engine, "AGREEMENT - INMATE HOUSING", [("Agreement", server.url("/att.pdf"))]
    )
    fetch_documents(make_config(server), engine, ["riverton"])
    assert match_row(engine, bill_id).relevant
    replace_attachments(engine, bill_id, [("Agreement (revised)", server.url("/other.pdf"))])
    with session_scope(engine) as s:
        match_bills(s, [bill_id])
    assert not match_row(engine, bill_id).relevant
    replace_attachments(engine, bill_id, [("Renamed", server.url("/att.pdf"))])  # the same URL again
    with session_scope(engine) as s:
        match_bills(s, [bill_id])
    match = match_row(engine, bill_id)
    assert match.relevant and {e["field"] for e in match.evidence} == {"title", "document:Renamed"}


@pytest.mark.parametrize("limit", [2])
def test_newest_bills_first_within_the_limit(engine, server, contract_pdf, limit):
    ids = []
    for n in range(4):
        server.routes[f"/{n}.pdf"] = Route(contract_pdf)
        ids.append(bill_with_attachments(engine, f"Agreement {n}", [("Agreement", server.url(f"/{n}.pdf"))]))
    (summary,) = fetch_documents(make_config(server), engine, ["riverton"], limit=limit)
    assert summary.checked == 2 and server.paths() == ["/3.pdf", "/2.pdf"]
    server.requests.clear()
    (summary,) = fetch_documents(make_config(server), engine, ["riverton"], limit=limit)
    assert server.paths() == ["/1.pdf", "/0.pdf"]  # never-fetched ones before any recheck


def test_the_matcher_reads_the_start_of_each_document(engine, server):
    """A measure buried past the first 50,000 characters is not read (docs/documents.md); the stored text
    keeps it."""
    filler = "Section. The parks maintenance schedule is amended as shown in the table below. " * 700
    measure = "No City resources shall be used to honor civil immigration detainer requests. "
    server.routes["/late.txt"] = Route((filler + measure).encode(), content_type="text/plain; charset=utf-8")
    server.routes["/early.txt"] = Route((measure + filler).encode(), content_type="text/plain; charset=utf-8")
    late = bill_with_attachments(engine, "AMENDING CHAPTER 12.08", [("Text", server.url("/late.txt"))])
    early = bill_with_attachments(engine, "AMENDING CHAPTER 12.10", [("Text", server.url("/early.txt"))])
    fetch_documents(make_config(server), engine, ["riverton"])
    assert len(filler) > 50_000 and "detainer" in documents(engine, late)[0].text
    assert not match_row(engine, late).relevant
    assert match_row(engine, early).relevant
