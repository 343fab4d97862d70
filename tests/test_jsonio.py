"""tracker.jsonio: orjson's output where it agrees with the standard library's, else the standard library's.

The content hashes stored with every bill and meeting are taken of :func:`tracker.jsonio.canonical`'s text,
so it must be byte for byte what ``json.dumps`` wrote before (else every stored bill would look changed at the
next crawl); the stage lines and JSON columns (:func:`tracker.jsonio.dumps`) must parse to the same values.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill
from tests import factories
from tests.conftest import SAMPLES
from tracker.contract import NormalizedBill, NormalizedVote, content_hash
from tracker.jsonio import canonical, dumps, iso_default
from tracker.platforms.legistar import normalize_matter


def reference(value: Any) -> str:
    """What the content hashes were taken of before orjson."""
    return json.dumps(value, default=iso_default, sort_keys=True, separators=(",", ":"))


ZONES = [
    None,
    UTC,
    ZoneInfo("America/Chicago"),
    ZoneInfo("Asia/Kolkata"),  # before 1854: a local mean time offset of +05:53:28
    timezone(timedelta(hours=-9, minutes=-30)),
    timezone(timedelta(seconds=30)),
]


def random_text(rnd: random.Random) -> str:
    ranges = [(0x20, 0x7F), (0, 0x20), (0x7F, 0x80), (0x80, 0x800), (0x800, 0xD800), (0xE000, 0x110000)]
    out = []
    for _ in range(rnd.randrange(0, 8)):
        low, high = rnd.choice(ranges)
        out.append(chr(rnd.randrange(low, high)))
    if rnd.random() < 0.02:
        out.append("\ud800")  # a lone surrogate (orjson refuses it)
    return "".join(out)


def random_value(rnd: random.Random) -> dict[str, Any]:
    text = random_text(rnd)
    return {
        "title": text,
        text[:2] or "k": [1, None, True, -5, 2**63 - 1, -(2**63), rnd.choice([0, 2**64, -(2**70)])],
        "dates": [date(rnd.randrange(1, 9999), 1, 2), time(1, 2, 3, rnd.choice([0, 5]))],
        "acted_at": datetime(
            rnd.randrange(1, 9999), 3, 4, 5, 6, 7, rnd.choice([0, 1, 123456]), rnd.choice(ZONES)
        ),
        "numbers": [rnd.choice([1.5, 0.1, 1e300, -0.0, 5e-324, 1e16, 123456789.123])],
    }


def test_canonical_is_the_standard_librarys_text_byte_for_byte():
    rnd = random.Random(7)
    for _ in range(5000):
        value = random_value(rnd)
        assert canonical(value) == reference(value)


def test_dumps_parses_to_the_standard_librarys_values():
    rnd = random.Random(8)
    for _ in range(5000):
        value = random_value(rnd)
        for sort_keys in (False, True):
            assert json.loads(dumps(value, sort_keys=sort_keys)) == json.loads(reference(value))


def test_what_orjson_refuses_is_written_or_refused_by_the_standard_library():
    assert json.loads(dumps({"big": 2**80})) == {"big": 2**80}
    assert json.loads(dumps({1: "int key"})) == {"1": "int key"}
    assert dumps("\ud800") == '"\ud800"'  # as json.dumps(ensure_ascii=False) writes it
    assert canonical("\ud800") == '"\\ud800"'
    with pytest.raises(TypeError):
        dumps({"not json": object()})
    with pytest.raises(TypeError):  # json.dumps refuses a dataclass; so do both
        dumps(NormalizedVote(member="A", vote="yes"))
    with pytest.raises(TypeError):
        canonical(NormalizedVote(member="A", vote="yes"))
    assert dumps(float("nan")) == "null"  # json.dumps would write NaN, which is not JSON


def _recorded_bills() -> list[NormalizedBill]:
    api = SAMPLES / "legistar-api"

    def load(path: str) -> Any:
        return json.loads((api / path).read_text(encoding="utf-8"))

    bills = []
    for matter in load("metro/matters-filtered.json"):
        bills.append(
            normalize_matter(
                slug="la-metro",
                matter=matter,
                histories=load("chicago/matter-histories.json"),
                sponsors=[{"MatterSponsorName": "José Ñúñez", "MatterSponsorSequence": 0}],
                attachments=load("metro/matter-attachments.json"),
                api_base="https://webapi.legistar.com/v1",
                client="metro",
                web_base="https://metro.legistar.com",
                zone=ZoneInfo("America/Los_Angeles"),
            )
        )
    return bills


def test_content_hashes_of_recorded_bills_are_those_of_before():
    for bill in _recorded_bills():
        content = bill.as_dict()
        for key in ("content_hash", "raw", "attachments"):
            content.pop(key)
        for action in content["actions"]:
            action.pop("raw")
        assert content_hash(bill) == hashlib.sha256(reference(content).encode()).hexdigest()
        assert NormalizedBill.from_json(bill.to_json()) == bill


def test_json_columns_read_back_as_written(engine):
    """The engine writes JSON columns with tracker.jsonio.dumps; they read back as written (both engines)."""
    raw = {"MatterTitle": "Ordinance \u2013 \u201cquoted\u201d \U0001f600", "big": 2**80, "n": [1, 2.5, None]}
    with session_scope(engine) as session:
        row = factories.bill(session)
        row.raw = raw
    with session_scope(engine) as session:
        assert session.scalar(select(Bill.raw).where(Bill.id == row.id)) == raw
