"""A bill's documents as data: their rows, status and sizes, and the matcher's evidence found in them (the
CLI prints them, `tracker documents show`)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Attachment
from db.models_documents import Document
from db.models_review import BillMatch
from tracker.review import bill_ref, resolve_bill


def bill_document_rows(session: Session, ref: str) -> tuple[str, list[Document], list[dict[str, Any]]]:
    """(bill reference, its documents in attachment order, the document evidence of its match)."""
    bill, jur = resolve_bill(session, ref)
    attached = session.execute(
        select(Attachment.url, Attachment.sequence)
        .where(Attachment.bill_id == bill.id)
        .order_by(Attachment.sequence)
    ).all()
    order = {url: seq for url, seq in reversed(attached)}
    docs = list(session.scalars(select(Document).where(Document.bill_id == bill.id)))
    docs.sort(key=lambda d: (d.url not in order, order.get(d.url, 0), d.id))
    match = session.scalar(select(BillMatch).where(BillMatch.bill_id == bill.id))
    evidence = [
        e for e in (match.evidence if match else []) if str(e.get("field", "")).startswith("document:")
    ]
    return bill_ref(jur.slug, bill), docs, evidence


def document_record(doc: Document, attached: bool = True) -> dict[str, Any]:
    return {
        "name": doc.name,
        "url": doc.url,
        "final_url": doc.final_url,
        "status": doc.status,
        "error": doc.error,
        "media_type": doc.media_type,
        "size": doc.size,
        "pages": doc.pages,
        "chars": len(doc.text) if doc.text is not None else None,
        "text_truncated": doc.text_truncated,
        "content_hash": doc.content_hash,
        "fetched_at": doc.fetched_at.isoformat() if doc.fetched_at else None,
        "extracted_at": doc.extracted_at.isoformat() if doc.extracted_at else None,
        "checked_at": doc.checked_at.isoformat(),
        "attached": attached,
    }


def show_json(ref: str, docs: list[Document], evidence: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"bill": ref, "documents": [document_record(d) for d in docs], "evidence": evidence},
        ensure_ascii=False,
    )
