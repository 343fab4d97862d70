"""Bill documents: each attachment URL of a bill, downloaded within limits, with its extracted text.

One row per (bill, URL): attachments are replaced wholesale when a bill's list changes (tracker/store.py),
so documents are keyed on the URL, not on the attachment row, and survive that. The matcher reads the text
of the documents whose URL is still attached to the bill
(tracker/matcher/document_text.py ``bill_documents``).

``status`` is the outcome of the last attempt: ``ok``, ``refused`` (the URL is not allowed: scheme, host,
private address), ``too_large``, ``unsupported`` (not a document the tracker can read), ``failed``
(network, HTTP error, extraction error or timeout; ``error`` says which). The text of the last good
download is kept when a later attempt fails. ``content_hash`` (sha256 of the bytes) and the validators
(``etag``, ``last_modified``) make sure an unchanged document is neither downloaded nor parsed again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("bill_id", "url_hash"),
        Index("ix_documents_checked_at", "checked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    # The attachment's URL as the portal gave it, and its sha256 (the key: URLs can be long).
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    # Where the last download ended after redirects.
    final_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    media_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    text_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    pages: Mapped[int | None] = mapped_column(Integer)
    # Validators for conditional requests (If-None-Match / If-Modified-Since).
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    # When the bytes were last downloaded, when the text last changed, when the URL was last tried.
    fetched_at: Mapped[datetime | None]
    extracted_at: Mapped[datetime | None]
    checked_at: Mapped[datetime]
    # Failed attempts in a row (0 after a success).
    failures: Mapped[int] = mapped_column(Integer, default=0)
