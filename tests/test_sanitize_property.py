"""Property tests (Hypothesis) of the normalizer boundary (tracker/sanitize.py): arbitrary text, with NUL,
lone surrogates, control characters and huge lengths, goes through sanitize → NormalizedBill → the importer
(SQLite and PostgreSQL) → the matcher without an exception, and is stored exactly as sanitised."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crawler.jobs import CrawlJob
from db.engine import session_scope
from db.models import Bill, Sponsor
from db.models_review import BillMatch
from tests.clock import utc_now
from tests.conftest import write_config
from tests.factories import normalized_bill
from tracker.config import load_config
from tracker.contract import NormalizedBill, NormalizedSponsor, content_hash
from tracker.errors import DataError
from tracker.matcher import Matcher, load_rules
from tracker.matcher.engine import FIELD_LIMITS
from tracker.sanitize import BILL_LIMITS, TEXT_LIMIT, clean_text, sanitize_record, scrub
from tracker.store import import_job

# What XML 1.0 allows (and PostgreSQL text holds: no NUL), minus C1 controls, which scrub maps or removes.
XML_CHAR = re.compile("[\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
HOSTILE = [
    "\x00",
    "\x01",
    "\x07",
    "\x1b",
    "\x1b[2J",
    "\x7f",
    "\x85",
    "\x9b",
    "\x9d",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
    "\u202e",
    "\t",
    "\n",
    "\r\n",
    " ",
    "\xa0",
    "é",
    "ß",
    "🏛",
    "ICE",
    "sanctuary",
]

# arbitrary characters, surrogates included (Hypothesis leaves them out unless asked)
any_char = st.characters(exclude_categories=())
pieces = st.one_of(st.text(any_char, max_size=30), st.sampled_from(HOSTILE))
text = st.lists(pieces, max_size=20).map("".join)
huge = st.tuples(
    text, st.integers(TEXT_LIMIT - 5, 300_000), st.sampled_from(["x", "\x00", "a ", "é"]), text
).map(lambda t: t[0] + t[2] * (t[1] // len(t[2])) + t[3])
field_text = st.one_of(st.none(), text, huge)


@given(st.one_of(text, huge))
@settings(max_examples=200, deadline=None)
def test_scrub_leaves_only_storable_characters(value):
    clean = scrub(value)
    assert XML_CHAR.fullmatch(clean)
    clean.encode("utf-8")  # no lone surrogate left
    assert scrub(clean) == clean
    line = clean_text(value)
    assert line is None or (line == line.strip() and "  " not in line and XML_CHAR.fullmatch(line))


_ids = itertools.count(1)


def _bill(title, name, status, sponsor, raw_value) -> NormalizedBill:
    sid = str(next(_ids))
    return normalized_bill(
        sid,
        title=title,
        name=name,
        status=status,
        raw={"title": raw_value, raw_value or "k": [raw_value, {"n": raw_value}]},
        sponsors=[NormalizedSponsor(sequence=0, name=sponsor, is_primary=True)],
    )


@pytest.fixture(scope="module")
def matcher():
    return Matcher(load_rules())


@given(title=field_text, name=field_text, status=field_text, sponsor=text, raw_value=st.one_of(text, huge))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_arbitrary_text_is_stored_as_sanitised_and_matched(
    tmp_path, db_url, engine, matcher, title, name, status, sponsor, raw_value
):
    bill = _bill(title, name, status, sponsor, raw_value)
    try:
        outcome = sanitize_record(bill, f"test bill {bill.source_id}")
    except DataError as exc:  # only a field that cannot be cut may reject the record: here, no such field
        pytest.fail(f"rejected: {exc}")
    for field, (_, limit) in BILL_LIMITS.items():
        value = getattr(bill, field)
        assert value is None or (len(value) <= limit and XML_CHAR.fullmatch(value)), field
    assert bill.status is None or len(bill.status) <= 200
    if title and len(scrub(title)) > TEXT_LIMIT:
        assert any(c.startswith("title:") for c in outcome.cuts)
    bill.content_hash = content_hash(bill)
    sponsor_name = bill.sponsors[0].name if bill.sponsors else None
    expected = (bill.title, bill.name, bill.status, sponsor_name, json.loads(json.dumps(bill.raw)))

    cfg = write_config(
        tmp_path / "t.toml",
        [
            {
                "slug": "prop",
                "name": "Prop",
                "platform": "legistar",
                "client": "prop",
                "api_base": "http://x/v1",
            }
        ],
        database_url=db_url,
    )
    (jurisdiction,) = load_config(cfg).jurisdictions
    stage = tmp_path / f"{bill.source_id}.jsonl"
    stage.write_text(bill.to_json() + "\n", encoding="utf-8")
    job = CrawlJob(
        jurisdiction=jurisdiction, mode="track", started_at=utc_now(seconds=False), stage_path=stage
    )
    summary = import_job(engine, job, requests=0)
    assert (summary.status, summary.new) == ("succeeded", 1), summary.line()

    with session_scope(engine) as s:
        row = s.scalars(select(Bill).where(Bill.source_id == bill.source_id)).one()
        sponsor_name = s.scalars(select(Sponsor.name).where(Sponsor.bill_id == row.id)).one_or_none()
        assert (row.title, row.name, row.status, sponsor_name, row.raw) == expected
        assert s.scalars(select(BillMatch).where(BillMatch.bill_id == row.id)).one() is not None
    result = matcher.classify(row.title or "", name=row.name)
    assert all(e.end <= FIELD_LIMITS[e.field] for e in result.evidence)
