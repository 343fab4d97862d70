"""Fixtures for the document tests: a document server on loopback, a configuration that allows it
explicitly, real PDF and DOCX files, and bills with attachments written straight into the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Attachment
from tests.documents.server import DocServer
from tests.factories import bill
from tracker.config import parse_config
from tracker.demo.documents import make_docx, make_pdf
from tracker.matcher.apply import match_bills

ICE_CONTRACT = [
    "INTERGOVERNMENTAL SERVICE AGREEMENT",
    "This Intergovernmental Service Agreement is entered into between the County of Riverton and U.S. "
    "Immigration and Customs Enforcement (ICE) for the housing of ICE detainees in the Riverton County "
    "jail at a rate of 98 dollars per bed day.",
    "Section 2. Term. This agreement runs for five years from the date of signature.",
]
DETAINER_ORDINANCE = [
    "Section 1. Chapter 12.08 of the Riverton Municipal Code is amended to read as follows:",
    "No City department, agent or employee shall use City funds or resources to honor civil immigration "
    "detainer requests or to assist federal immigration enforcement.",
]
DOGS_ORDINANCE = [
    "Section 1. Chapter 12.08 of the Riverton Municipal Code is amended to allow dogs in parks."
]


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.delenv("TRACKER_RULES", raising=False)


@pytest.fixture
def server():
    with DocServer() as s:
        yield s


@pytest.fixture(scope="session")
def contract_pdf() -> bytes:
    return make_pdf(ICE_CONTRACT)


@pytest.fixture(scope="session")
def detainer_docx() -> bytes:
    return make_docx(DETAINER_ORDINANCE, title="Ordinance No. 2026-41")


def make_config(server: DocServer | None = None, *, hosts: list[str] | None = None, **documents):
    """A configuration with jurisdiction 'riverton' whose documents may come from the server only."""
    jurisdiction = {"slug": "riverton", "name": "Riverton", "platform": "legistar", "client": "riverton"}
    if hosts is not None or server is not None:
        jurisdiction["document_hosts"] = hosts if hosts is not None else [server.host]
    return parse_config({"documents": documents, "jurisdictions": [jurisdiction]}, "test.toml")


def bill_with_attachments(engine, title: str, attachments: list[tuple[str, str]]) -> int:
    """A bill (matched on its title, as an import does) with attachments (name, url)."""
    with session_scope(engine) as s:
        bill_id = bill(s, title=title).id
        for n, (name, url) in enumerate(attachments, start=1):
            s.add(Attachment(bill_id=bill_id, source_id=f"{bill_id}-{n}", sequence=n, name=name, url=url))
        s.flush()
        match_bills(s, [bill_id])
    return bill_id


def replace_attachments(engine, bill_id: int, attachments: list[tuple[str, str]]) -> None:
    """What an import does when a bill's attachment list changed: delete and insert them all."""
    with session_scope(engine) as s:
        for a in s.scalars(select(Attachment).where(Attachment.bill_id == bill_id)):
            s.delete(a)
        s.flush()
        for n, (name, url) in enumerate(attachments, start=1):
            s.add(Attachment(bill_id=bill_id, source_id=f"{bill_id}-r{n}", sequence=n, name=name, url=url))
