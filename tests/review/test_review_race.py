"""Two editors deciding the same bill at once: the second decision waits for the first and is taken on the
bill as the first left it, so the stored decision is wholly the later one (its state, editor, note and time)
and agrees with the last event of the history, on both engines. On SQLite, ``SELECT ... FOR UPDATE`` locks
nothing: before the decision took the write lock first, the second editor read the bill before the first
committed and then wrote only the columns it changed (a bill "rejected by ben" with ana's note)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from db.engine import session_factory, session_scope
from db.models_review import BillMatch, ReviewEvent
from tests.factories import DETAINERS, make_bill
from tracker import review


def test_a_decision_racing_another_is_taken_whole_after_it(engine):
    bill_id = make_bill(engine, DETAINERS, match=True)
    ref = str(bill_id)
    with session_scope(engine) as s:
        review.confirm(s, ref, by="first", note="first look")

    first = session_factory(engine)()
    first.begin()
    review.reject(first, ref, by="ana", note="A: not a detainer measure")  # not committed yet

    outcome: dict[str, object] = {}

    def second_editor() -> None:
        try:
            with session_scope(engine) as s:
                outcome["decision"] = review.confirm(s, ref, by="ben", note="B: it is").line()
        except Exception as exc:  # pragma: no cover - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=second_editor)
    thread.start()
    time.sleep(1.0)  # ben has asked for the bill (and, without the write lock, read it) while ana decides
    first.commit()
    first.close()
    thread.join(timeout=120)
    assert not thread.is_alive() and "error" not in outcome, outcome

    with session_scope(engine) as s:
        match = s.scalar(select(BillMatch).where(BillMatch.bill_id == bill_id))
        events = s.scalars(select(ReviewEvent).where(ReviewEvent.bill_id == bill_id).order_by(ReviewEvent.id))
        history = [(e.kind, e.actor, e.note) for e in events]
        stored = (match.review_state, match.decided_by, match.note)
        last_at = max(e.at for e in s.scalars(select(ReviewEvent).where(ReviewEvent.bill_id == bill_id)))
        decided_at = match.decided_at
    assert history == [
        ("confirmed", "first", "first look"),
        ("rejected", "ana", "A: not a detainer measure"),
        ("confirmed", "ben", "B: it is"),
    ]
    assert stored == ("confirmed", "ben", "B: it is")
    assert decided_at == last_at
