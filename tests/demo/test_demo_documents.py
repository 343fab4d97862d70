"""`tracker demo` fetches its bills' documents: the demo portal serves each attachment's PDF on its own
loopback address (allowed in the demo configuration's ``document_hosts``), every crawl fetches the due ones
(``[documents] after_crawl``), and the opaque "AGREEMENT - INMATE HOUSING" bill is matched from its
attached agreement, with ``document:Agreement`` evidence. SQLite only, like the demo."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from tracker.demo import LegistarPortalServer, demo_portal


def get_json(url: str):
    with urlopen(url) as answer:
        return json.load(answer)


def test_demo_portal_serves_its_attachments_on_its_own_host():
    portal = demo_portal(now=datetime(2026, 6, 1, tzinfo=UTC))
    county = next(c for c in portal if c.name == "lakesidecounty")
    with LegistarPortalServer(portal, local_documents=True) as server:
        matters = get_json(server.url("lakesidecounty", "matters", **{"$top": 1000}))
        opaque = next(m for m in matters if m["MatterTitle"].startswith("AGREEMENT - INMATE HOUSING"))
        rows = get_json(server.url("lakesidecounty", "matters", opaque["MatterId"], "attachments"))
        agreement = next(r for r in rows if r["MatterAttachmentName"] == "Agreement")
        link = agreement["MatterAttachmentHyperlink"]
        assert link.startswith(f"http://127.0.0.1:{server.port}/files/lakesidecounty/attachments/")
        with urlopen(link) as answer:
            assert answer.headers["Content-Type"] == "application/pdf"
            pdf = answer.read()
        words = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
        assert "Immigration and Customs Enforcement" in words
        with pytest.raises(HTTPError) as missing:
            urlopen(link.rsplit("/", 1)[0] + "/no-such-file.pdf")
        assert missing.value.code == 404
        missing.value.close()
    assert county.attachment_pdf("no-such-file.pdf") is None


def test_demo_fetches_documents_and_matches_an_opaque_title_from_one(tmp_path, demo_run):
    demo, result = demo_run.dir, demo_run.result
    assert "lakesidecounty: documents - " in result.stdout
    config = (demo / "tracker.toml").read_text()
    assert "after_crawl = true" in config and 'document_hosts = ["127.0.0.1:' in config

    engine = create_engine(f"sqlite:///{demo / 'tracker.db'}")
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM documents GROUP BY status")).all())
        evidence, relevant = conn.execute(
            text(
                "SELECT m.evidence, m.relevant FROM bill_matches m JOIN bills b ON b.id = m.bill_id "
                "WHERE b.title LIKE 'AGREEMENT - INMATE HOUSING%'"
            )
        ).one()
    engine.dispose()
    assert statuses.get("ok", 0) > 100 and set(statuses) == {"ok"}, statuses
    if isinstance(evidence, str):
        evidence = json.loads(evidence)
    assert relevant
    from_agreement = [e for e in evidence if e["field"] == "document:Agreement"]
    assert {e["phrase"] for e in from_agreement} >= {"Immigration and Customs Enforcement"}, evidence
