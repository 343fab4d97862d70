"""Search reads the text of a bill's documents too: an opaque title found by what its PDF says (SQLite and
PostgreSQL); a document that failed is not searched."""

from __future__ import annotations

from datetime import UTC, datetime

from db.engine import session_scope
from db.models_documents import Document
from tests.factories import make_bill


def _document(engine, bill_id: int, text: str, status: str = "ok") -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add(
            Document(
                bill_id=bill_id,
                url=f"https://example.legistar.com/View.ashx?ID={bill_id}",
                url_hash=f"{bill_id:064d}",
                name="Agreement",
                status=status,
                text=text,
                checked_at=now,
            )
        )


def test_search_finds_a_bill_by_its_document_text(client, engine, login):
    opaque = make_bill(engine, "AGREEMENT - INMATE HOUSING", match=False)
    failed = make_bill(engine, "AMENDING CHAPTER 12.08", match=False)
    _document(engine, opaque, "The county shall hold persons on ICE detainer requests for 48 hours.")
    _document(engine, failed, "ICE detainer requests", status="failed")
    login(client, "staff", username="sam")
    page = client.get("/search", params={"q": "detainer requests"})
    assert page.status_code == 200
    assert f'href="/bills/{opaque}"' in page.text
    assert f'href="/bills/{failed}"' not in page.text
    api = client.get("/api/bills", params={"q": "detainer"}).json()
    assert [b["id"] for b in api["items"]] == [opaque]
