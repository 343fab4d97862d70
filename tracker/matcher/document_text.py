"""The text the matcher reads of a bill's documents (docs/documents.md): the start of each extracted
document still attached to the bill, joined so that no match spans two documents, and evidence found in it
named after its document."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from db.models import Attachment
from db.models_documents import Document

#: The matcher reads the first MATCH_CHARS_PER_DOCUMENT characters of each document of a bill, and at most
#: MATCH_CHARS_PER_BILL characters in all (docs/documents.md): the operative sections of an ordinance are
#: at its start, and a 300-page contract's exhibits would only add noise and time.
MATCH_CHARS_PER_DOCUMENT = 50_000
MATCH_CHARS_PER_BILL = 200_000
#: Between two documents in the matcher's text field: wider than any cue's reach (rules.toml
#: ``proximity``) and made of a symbol no phrase contains, so no match spans two documents.
SEPARATOR = "\n" + "\u241e" * 198 + "\n"


@dataclass(frozen=True)
class Part:
    label: str  # the document's name, unique within the bill
    start: int  # where it starts in the combined text
    end: int


class DocumentText(str):
    """The text the matcher reads for a bill: the start of each of its documents, joined by
    :data:`SEPARATOR`; ``parts`` says where each document lies, so evidence can name its document."""

    parts: tuple[Part, ...] = ()

    @classmethod
    def build(cls, documents: list[tuple[str, str]]) -> DocumentText | None:
        pieces: list[str] = []
        parts: list[Part] = []
        pos, budget = 0, MATCH_CHARS_PER_BILL
        used: dict[str, int] = {}
        for name, text in documents:
            text = text[: min(MATCH_CHARS_PER_DOCUMENT, budget)]
            if not text.strip():
                continue
            used[name] = used.get(name, 0) + 1
            label = name if used[name] == 1 else f"{name} ({used[name]})"
            if pieces:
                pieces.append(SEPARATOR)
                pos += len(SEPARATOR)
            pieces.append(text)
            parts.append(Part(label, pos, pos + len(text)))
            pos += len(text)
            budget -= len(text)
            if budget <= 0:
                break
        if not pieces:
            return None
        out = cls("".join(pieces))
        out.parts = tuple(parts)
        return out

    def locate(self, start: int, end: int) -> tuple[str, int] | None:
        for p in self.parts:
            if p.start <= start and end <= p.end:
                return f"document:{p.label}", p.start
        return None


def bill_documents(session: Session, bill_ids: list[int]) -> dict[int, str]:
    """The matcher's text of each bill that has extracted documents still attached to it."""
    if not bill_ids:
        return {}
    rows = session.execute(
        select(
            Attachment.bill_id,
            Attachment.name,
            Attachment.sequence,
            Document.content_hash,
            # only what the matcher reads leaves the database
            func.substr(Document.text, 1, MATCH_CHARS_PER_DOCUMENT).label("text"),
        )
        .join(Document, and_(Document.bill_id == Attachment.bill_id, Document.url == Attachment.url))
        .where(Attachment.bill_id.in_(bill_ids), Document.text.is_not(None), Document.text != "")
        .order_by(Attachment.bill_id, Attachment.sequence, Attachment.id)
    ).all()
    grouped: dict[int, list[tuple[str, str]]] = {}
    seen: set[tuple[int, str | None]] = set()
    for row in rows:
        if (row.bill_id, row.content_hash) in seen:  # the same file under two names: read once
            continue
        seen.add((row.bill_id, row.content_hash))
        name = " ".join((row.name or "").split()) or f"attachment {row.sequence}"
        grouped.setdefault(row.bill_id, []).append((name, row.text))
    out: dict[int, str] = {}
    for bill_id, docs in grouped.items():
        text = DocumentText.build(docs)
        if text is not None:
            out[bill_id] = text
    return out


def name_documents(result: Any, text: str | None) -> Any:
    """A match result whose ``text`` evidence names the document it was found in (``document:<name>``,
    offsets within that document's text). Other results are returned as they are."""
    if not isinstance(text, DocumentText) or not any(e.field == "text" for e in result.evidence):
        return result
    evidence = []
    for e in result.evidence:
        where = text.locate(e.start, e.end) if e.field == "text" else None
        if where is not None:
            label, offset = where
            e = replace(e, field=label, start=e.start - offset, end=e.end - offset)
        evidence.append(e)
    return replace(result, evidence=evidence)
