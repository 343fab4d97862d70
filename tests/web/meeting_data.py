"""Meetings, votes and members for the web, API and export tests: three bills of Riverton, a held meeting
with a roll call, an upcoming hearing that moved, one that was cancelled, and members with terms. Times are
relative to the machine's clock (the pages read it: a next hearing is after now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from db.engine import session_scope
from db.models import Bill, Jurisdiction
from db.models_meetings import Member
from tests.clock import utc_now
from tests.factories import DETAINERS, GANG, RINK, make_bill, normalized_meeting, store_meetings
from tracker import review
from tracker.contract import NormalizedMember, NormalizedTerm
from tracker.meetings import MeetingImporter

HOSTILE = '<img src=x onerror="alert(1)">'
ESCAPED_HOSTILE = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
COMMENT = "Comments: e-mail clerk@riverton.gov before 5 pm <b>sharp</b>"
ROLL = [("Ana Ortiz", "yes"), ("Bo Chen", "no"), ("Cy Diaz", "absent"), (HOSTILE, "abstain")]


@dataclass
class World:
    gang: int  # relevant, expands; sponsored by Ana Ortiz; voted on; next hearing: the moved one
    detainers: int  # relevant, confirmed as restricting; voted on; its only upcoming hearing was cancelled
    rink: int  # not relevant; no meetings
    ana: int
    bo: int
    hostile: int
    now: object


def build(engine) -> World:
    now = utc_now()
    gang = make_bill(engine, GANG, identifier="O2026-0053", sponsors=["Ana Ortiz", "Bo  Chen."])
    detainers = make_bill(engine, DETAINERS, identifier="O2026-0054", sponsors=["ana ortiz"])
    rink = make_bill(engine, RINK, identifier="C2026-0100", sponsors=["Ana Ortiz"])
    with session_scope(engine) as s:
        review.confirm(s, str(gang), by="ana")
        review.confirm(s, str(detainers), categories=["detainers_warrants"], direction="restricts", by="ana")
        bills = {b.id: b for b in s.query(Bill).filter(Bill.id.in_([gang, detainers, rink]))}
        g, d = bills[gang], bills[detainers]
        riverton = s.query(Jurisdiction).filter_by(slug="riverton").one()
        importer = MeetingImporter(s, riverton, None, now - timedelta(hours=3))
        importer.store_members(
            [
                NormalizedMember(
                    "Ana Ortiz",
                    "P1",
                    [
                        NormalizedTerm("City Council", "Council Member", date(2023, 1, 1), None),
                        NormalizedTerm(
                            "Public Safety Committee", "Chair", date(2023, 1, 1), date(2024, 12, 31)
                        ),
                    ],
                ),
                NormalizedMember("Bo Chen", "P2", [NormalizedTerm("City Council", "Council Member")]),
            ]
        )
        # a meeting held five days ago: both bills voted on, with a roll call
        held = normalized_meeting(
            "E-HELD",
            now - timedelta(days=5),
            [g, d],
            body="City Council",
            votes={g.source_id: ROLL, d.source_id: [("Ana Ortiz", "no"), ("Bo Chen", "yes")]},
            result="Passed",
        )
        store_meetings(s, [held], observed_at=now - timedelta(hours=3))
        # an upcoming hearing of the gang bill, then moved two days later
        first = now + timedelta(days=10)
        moved_to = now + timedelta(days=12)
        store_meetings(
            s,
            [normalized_meeting("E-NEXT", first, [g], comment_instructions=COMMENT, location=HOSTILE)],
            observed_at=now - timedelta(hours=3),
        )
        store_meetings(
            s,
            [normalized_meeting("E-NEXT", moved_to, [g], comment_instructions=COMMENT, location=HOSTILE)],
            observed_at=now - timedelta(hours=2),
        )
        # a sooner hearing of both bills, cancelled: never the next hearing
        soon = now + timedelta(days=3)
        store_meetings(
            s, [normalized_meeting("E-CANCEL", soon, [g, d])], observed_at=now - timedelta(hours=3)
        )
        store_meetings(
            s,
            [normalized_meeting("E-CANCEL", soon, [g, d], cancelled=True)],
            observed_at=now - timedelta(hours=2),
        )
        members = {m.name: m.id for m in s.query(Member)}
    return World(gang, detainers, rink, members["Ana Ortiz"], members["Bo Chen"], members[HOSTILE], now)
