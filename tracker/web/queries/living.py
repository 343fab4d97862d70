"""The living list: the measures editors confirmed, by city and direction, with their last action."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from db.models import Action, Bill, Jurisdiction
from db.models_review import BillMatch
from db.types import utcnow
from tracker.read_model import plain_rows, value_columns
from tracker.web.queries.rows import add_next_hearings, bill_row
from tracker.web.queries.sql import jurisdiction_id_of

DIRECTION_ORDER = ("expands", "restricts", "neutral")


def _last_actions(session: Session, bill_ids: Select[int]) -> dict[int, tuple[date | None, str | None]]:
    """The last action (date, name) of each bill of a subquery of ids: one query (a window function)."""
    ranked = (
        select(
            Action.bill_id,
            Action.action_date,
            Action.description,
            func.row_number()
            .over(partition_by=Action.bill_id, order_by=Action.sequence.desc())
            .label("rank"),
        )
        .where(Action.bill_id.in_(bill_ids))
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.bill_id, ranked.c.action_date, ranked.c.description).where(ranked.c.rank == 1)
    )
    return {bill_id: (day, name) for bill_id, day, name in rows}


@dataclass
class LivingGroup:
    jurisdiction: str
    city: str
    directions: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(rows) for _, rows in self.directions)


def living_list(
    session: Session, *, jurisdiction: str | None = None, now: datetime | None = None
) -> list[LivingGroup]:
    """The measures editors confirmed, by city (by name) and direction (expands, restricts, neutral), each
    with its stage, categories, last action and next hearing (the soonest meeting after ``now``, by default
    the present, whose agenda lists it)."""
    now = now or utcnow()
    jurisdiction_id = jurisdiction_id_of(session, jurisdiction)
    q = (
        select(*value_columns(learned=False))  # the list shows the learned layer's reason only
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .where(BillMatch.review_state == "confirmed")
    )
    if jurisdiction_id is not None:
        q = q.where(Bill.jurisdiction_id == jurisdiction_id)
    ids = q.with_only_columns(Bill.id)
    last = _last_actions(session, ids)
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    cities: dict[str, str] = {}
    q = q.order_by(
        Jurisdiction.name, Jurisdiction.slug, Bill.introduced.is_(None), Bill.introduced.desc(), Bill.id
    )
    for bill, j, match in plain_rows(session.execute(q)):
        row = bill_row(bill, j, match, evidence=False)
        row["last_action_date"], row["last_action"] = last.get(bill.id, (None, None))
        cities[j.slug] = j.name
        direction = row["direction"] if row["direction"] in DIRECTION_ORDER else "neutral"
        groups.setdefault(j.slug, {}).setdefault(direction, []).append(row)
    add_next_hearings(
        session, [row for by_dir in groups.values() for rows in by_dir.values() for row in rows], now
    )
    return [
        LivingGroup(slug, cities[slug], [(d, by_dir[d]) for d in DIRECTION_ORDER if d in by_dir])
        for slug, by_dir in groups.items()
    ]
