"""Plain rows (tracker.read_model.value_columns / plain_rows), which the living list, the CSV exports and
/api/bills read instead of ORM objects: the same records, list rows and effective match as the ORM objects
give, for a bill pending, confirmed with corrections, rejected, flagged and never matched. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Bill, Jurisdiction
from db.models_review import BillMatch
from tests.factories import DETAINERS, FLOCK, GANG, PARKING, make_bill
from tracker.read_model import bill_record, match_record, plain_rows, value_columns
from tracker.signals import match_direction_reason
from tracker.web.queries.rows import bill_row

DECIDED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _bills(engine) -> dict[str, int]:
    ids = {
        "pending": make_bill(engine, GANG),
        "corrected": make_bill(engine, FLOCK, identifier="R2026-0007", name="Surveillance ordinance"),
        "rejected": make_bill(engine, DETAINERS, slug="lakeside", city="Lakeside County Board"),
        "learned": make_bill(engine, GANG + " (second reading)"),
        "unmatched": make_bill(engine, PARKING, match=False, public_url="javascript:alert(1)"),
    }
    table = BillMatch.__table__
    with session_scope(engine) as s:
        s.execute(
            update(table)
            .where(table.c.bill_id == ids["corrected"])
            .values(
                review_state="confirmed", decided_by="ana", decided_at=DECIDED, note="checked",
                editor_categories=["data_privacy_status"], editor_direction="neutral",
                needs_review=True, needs_review_reason="title changed since the decision",
            )
        )  # fmt: skip
        s.execute(
            update(table)
            .where(table.c.bill_id == ids["rejected"])
            .values(review_state="rejected", decided_by="bo", decided_at=DECIDED)
        )
        learned = {"model": "m", "probability": 0.9, "similar": [{"title": "x"}], "direction_reason": "a cue"}
        s.execute(update(table).where(table.c.bill_id == ids["learned"]).values(learned=learned))
    return ids


def _orm(session: Session) -> dict[int, tuple[Bill, Jurisdiction, BillMatch | None]]:
    q = (
        select(Bill, Jurisdiction, BillMatch)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
    )
    return {b.id: (b, j, m) for b, j, m in session.execute(q)}


def _plain(session: Session, **options: bool):
    q = (
        select(*value_columns(**options))
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
    )
    return {b.id: (b, j, m) for b, j, m in plain_rows(session.execute(q))}


def test_plain_rows_give_the_records_and_list_rows_of_the_orm_objects(engine):
    ids = _bills(engine)
    with Session(engine) as s:
        orm, plain = _orm(s), _plain(s)
    assert set(orm) == set(plain) == set(ids.values())
    assert plain[ids["unmatched"]][2] is None
    for bill_id, (bill, city, match) in orm.items():
        b, j, m = plain[bill_id]
        assert bill_record(b, j) == bill_record(bill, city)
        assert match_record(m) == match_record(match)
        assert bill_row(b, j, m) == bill_row(bill, city, match)
        assert bill_row(b, j, m, evidence=False) == bill_row(bill, city, match, evidence=False)
        if match is not None:
            assert m is not None
            assert (m.effective_relevant, m.effective_categories, m.effective_direction) == (
                match.effective_relevant,
                match.effective_categories,
                match.effective_direction,
            )
    corrected = plain[ids["corrected"]][2]
    assert corrected is not None
    assert corrected.effective_categories == ["data_privacy_status"]
    assert corrected.effective_direction == "neutral"
    assert match_record(corrected)["direction_reason"] == "set by the editor ana"
    assert plain[ids["rejected"]][2] is not None and plain[ids["rejected"]][2].effective_relevant is False


def test_an_export_row_leaves_out_only_why_and_a_list_reads_the_learned_reason_alone(engine):
    ids = _bills(engine)
    with Session(engine) as s:
        full, no_why, reason_only = _plain(s), _plain(s, why=False), _plain(s, learned=False)
    for bill_id, (_b, _j, match) in full.items():
        record = match_record(match)
        narrow = match_record(no_why[bill_id][2], why=False)
        if match is None:
            assert narrow == record  # a bill never matched: the same empty fields
            continue
        assert "direction_reason" not in narrow
        assert narrow == {k: v for k, v in record.items() if k != "direction_reason"}
        assert match_direction_reason(reason_only[bill_id][2]) == match_direction_reason(match)
    learned = reason_only[ids["learned"]][2]
    assert learned is not None and learned.learned == {"direction_reason": "a cue"}
    assert reason_only[ids["unmatched"]][2] is None
