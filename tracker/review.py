"""The editors' review of matches: decisions (confirm, reject, add), the queue, one bill's details, and the
match fields of the export. See docs/review.md.

Every function that writes takes a session in a transaction (``db.engine.session_scope``) and locks the
bill's match row first, so two editors (or an editor and a crawl) deciding at once are serialised.
"""

from __future__ import annotations

import difflib
import getpass
import os
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Bill, Jurisdiction
from db.models_review import BillMatch, ReviewEvent
from db.types import utcnow
from tracker.errors import TrackerError, UsageError
from tracker.matcher import DIRECTIONS
from tracker.matcher import apply as matching
from tracker.matcher.apply import LoadedRules, current_rules, input_hash, machine_snapshot, match_bills
from tracker.read_model import (
    bill_record,
    check_jurisdiction,
    match_record,
    queue_category,
    queue_direction,
    review_queue_query,
)
from tracker.safe_output import ascii_digits, parse_id, without_controls

EDITOR_ENV = "TRACKER_EDITOR"
LIST_STATES = ("pending", "confirmed", "rejected", "flagged")

#: What "uncertain" means, in plain words (the CLI's legend, the web badge's tooltip).
UNCERTAIN_HELP = (
    "uncertain: the model's probability is near its decision boundary; "
    "an editor's decision here teaches it the most"
)
#: What a "near miss" is (the CLI's legend, the web badge's tooltip).
NEAR_MISS_HELP = (
    "near miss: not on the list, the model's probability is just below its boundary; "
    "confirming adds it to the list, rejecting teaches the model"
)


class ReviewError(TrackerError):
    """A review command cannot do what it was asked (unknown bill, category or direction...)."""


class NoCategoriesError(ReviewError):
    """Confirming a bill that has no categories (a bill tracked by hand, not matched) without naming any:
    the command line's words are the message; ``web`` says the same in the web form's words."""

    def __init__(self, shown: str) -> None:
        super().__init__(f"{shown} has no matched categories: give --category CODE")
        self.web = (
            f"{shown} has no categories yet: choose them under “Correct category and direction”, then "
            "“Confirm with these”."
        )


class ReviewUsageError(ReviewError, UsageError):
    """A review command was given a value it cannot use (an unknown category code or direction, a
    malformed or ambiguous bill reference): exit status 2."""


# -- inputs ----------------------------------------------------------------------------------------------


def default_editor() -> str:
    """``$TRACKER_EDITOR``, else the operating-system user."""
    name = os.environ.get(EDITOR_ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


#: The longest editor's name a decision records (``review_events.actor``, ``bill_matches.decided_by``).
MAX_EDITOR = 200


def editor_name(by: str | None) -> str:
    """Who decides: ``by`` (``--by``, the web user), else :func:`default_editor`. A name given but empty,
    or longer than :data:`MAX_EDITOR` characters, is a usage error (it would have been recorded as the OS
    user, or not fit the column on PostgreSQL)."""
    if by is None:
        name = default_editor()
    else:
        name = without_controls(by).strip()
        if not name:
            raise ReviewUsageError("the editor's name (--by) is empty")
    if len(name) > MAX_EDITOR:
        raise ReviewUsageError(f"the editor's name is longer than {MAX_EDITOR} characters")
    return name


def check_categories(codes: list[str] | tuple[str, ...], rules: LoadedRules | None = None) -> list[str]:
    """The codes, each checked against the rules' categories (duplicates dropped, order kept)."""
    known = [c.code for c in (rules or current_rules()).rules.categories]
    out: list[str] = []
    for code in codes:
        if code not in known:
            close = difflib.get_close_matches(code, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
            raise ReviewUsageError(f"unknown category code '{code}' ({hint})")
        if code not in out:
            out.append(code)
    return out


def check_direction(direction: str | None) -> str | None:
    if direction is not None and direction not in DIRECTIONS:
        raise ReviewUsageError(f"direction must be one of {', '.join(DIRECTIONS)}, not '{direction}'")
    return direction


def bill_ref(slug: str, bill: Bill) -> str:
    return f"{slug}:{bill.identifier}" if bill.identifier else str(bill.id)


def resolve_bill(session: Session, ref: str) -> tuple[Bill, Jurisdiction]:
    """A bill from its internal id (``1234``), ``slug:identifier`` (``riverton:O2026-0053``), or an
    identifier alone when exactly one bill of every city has it (``O2026-0053``; several: a usage error
    naming the candidates)."""
    ref = ref.strip()
    if ascii_digits(ref):
        bill_id = parse_id(ref)  # (None past the id columns' range: no bill has it)
        row = (
            session.execute(
                select(Bill, Jurisdiction).join(Jurisdiction).where(Bill.id == bill_id)
            ).one_or_none()
            if bill_id is not None
            else None
        )
        if row is None:
            raise ReviewError(f"no bill with id {ref}")
        return row[0], row[1]
    slug, sep, identifier = ref.partition(":")
    if not sep and ref:
        rows = session.execute(
            select(Bill, Jurisdiction).join(Jurisdiction).where(Bill.identifier == ref).order_by(Bill.id)
        ).all()
        if len(rows) == 1:
            return rows[0][0], rows[0][1]
        if not rows:
            raise ReviewError(f"no bill {ref!r} in any city (a bill is an id, SLUG:IDENTIFIER or IDENTIFIER)")
        names = ", ".join(bill_ref(j.slug, b) if list(r[1].slug for r in rows).count(j.slug) == 1
                          else f"{b.id}" for b, j in rows)  # fmt: skip
        raise ReviewUsageError(f"{ref} names {len(rows)} bills: {names}; give one of them")
    if not sep or not slug or not identifier:
        raise ReviewUsageError(
            f"a bill is an id, SLUG:IDENTIFIER or IDENTIFIER (e.g. riverton:O2026-0053), not '{ref}'"
        )
    check_jurisdiction(session, slug)
    rows = session.execute(
        select(Bill, Jurisdiction)
        .join(Jurisdiction)
        .where(Jurisdiction.slug == slug, Bill.identifier == identifier)
        .order_by(Bill.id)
    ).all()
    if not rows:
        raise ReviewError(f"no bill {identifier!r} in {slug}")
    if len(rows) > 1:
        ids = ", ".join(str(r[0].id) for r in rows)
        raise ReviewUsageError(f"{ref} names {len(rows)} bills (ids {ids}): give the id")
    return rows[0][0], rows[0][1]


# -- decisions -------------------------------------------------------------------------------------------


def _locked_match(session: Session, bill: Bill, rules: LoadedRules) -> BillMatch:
    """The bill's match row, locked, brought up to date with the bill first (created when missing).

    The lock is taken by a write before anything is read: ``FOR UPDATE`` alone is a row lock on PostgreSQL
    but nothing on SQLite, where two editors deciding the same bill at once both read it first, then wrote in
    turn only the columns each changed (a bill rejected by one with the other's note and time). The write
    takes SQLite's write lock (the second editor waits for the first to commit) and the row's lock on
    PostgreSQL; the row is then read afresh (``populate_existing``), never from what the session held."""
    session.execute(
        update(BillMatch).where(BillMatch.bill_id == bill.id).values(updated_at=BillMatch.updated_at),
        execution_options={"synchronize_session": False},
    )
    locked = select(BillMatch).where(BillMatch.bill_id == bill.id).with_for_update()
    match = session.scalar(locked.execution_options(populate_existing=True))
    text = matching.bill_texts(session, [bill.id]).get(bill.id)
    if match is None or match.input_hash != input_hash(bill.title, bill.name, text):
        match_bills(session, [bill.id], rules=rules)
        session.expire_all()
        match = session.scalar(locked.execution_options(populate_existing=True))
    if match is None:  # pragma: no cover - match_bills always writes a row
        raise ReviewError(f"bill {bill.id} could not be matched")
    return match


def is_near_miss(review_state: str | None, relevant: bool | None, uncertain: bool | None) -> bool:
    """A near miss: in the queue, undecided, not relevant and uncertain (SQL:
    :func:`tracker.read_model.near_miss_condition`). A bill tracked by hand is pending and not relevant
    but not uncertain: not a near miss."""
    return review_state == "pending" and relevant is False and bool(uncertain)


def near_miss_suggestion(learned: Any) -> dict[str, Any]:
    """What the learned layer would have listed a near miss as (a bill in the queue that is not relevant:
    its probability was just below the boundary), from a match's stored ``learned`` JSON: ``categories``
    (codes), ``direction`` and ``reason``, or an empty dict. Read defensively: it comes from the database."""
    s = learned.get("suggested") if isinstance(learned, dict) else None
    if not isinstance(s, dict) or not isinstance(s.get("categories"), list):
        return {}
    direction, reason = s.get("direction"), s.get("reason")
    return {
        "categories": [c for c in s["categories"] if isinstance(c, str)],
        "direction": direction if direction in DIRECTIONS else None,
        "reason": reason if isinstance(reason, str) else None,
    }


@dataclass
class Decision:
    ref: str
    kind: str  # confirmed | rejected | added | noted
    state: str
    categories: list[str]
    direction: str | None
    by: str
    at: datetime

    def line(self) -> str:
        if self.kind == "noted":
            return f"Noted on {self.ref} by {self.by}."
        verb = {"confirmed": "Confirmed", "rejected": "Rejected", "added": "Added"}[self.kind]
        what = ""
        if self.state == "confirmed":
            what = f" ({', '.join(self.categories)}; {self.direction})"
        return f"{verb} {self.ref}{what} by {self.by}."


def decision_seen(review_state: str | None, decided_at: datetime | None) -> str:
    """What a page showed of a bill's decision, sent back with a decision taken there (the web forms' hidden
    ``seen``): the time of the decision it showed, or ``undecided``. A matching run moving a bill into the
    queue does not change it; another editor's decision does."""
    if review_state in ("confirmed", "rejected") and decided_at is not None:
        return decided_at.isoformat()
    return "undecided"


def _decide(
    session: Session,
    ref: str,
    *,
    kind: str,
    categories: list[str] | tuple[str, ...] = (),
    direction: str | None = None,
    note: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
    seen: str | None = None,
) -> Decision:
    loaded = current_rules()
    cats = check_categories(list(categories), loaded)
    check_direction(direction)
    note = clean_note(note)
    if kind == "added" and not cats:
        raise ReviewUsageError("review add needs at least one --category CODE (the bill's categories)")
    by = editor_name(by)
    now = now or utcnow()
    bill, jurisdiction = resolve_bill(session, ref)
    shown = bill_ref(jurisdiction.slug, bill)
    match = _locked_match(session, bill, loaded)
    if seen is not None and seen != decision_seen(match.review_state, match.decided_at):
        # another editor decided since the page was loaded: a decision is never replaced unseen
        when = f"{match.decided_at:%Y-%m-%d %H:%M} UTC" if match.decided_at else "meanwhile"
        raise ReviewError(
            f"{shown} was {match.review_state} by {match.decided_by} on {when}, after this page was loaded: "
            "nothing was changed; look at it again before deciding"
        )

    if kind == "added" and match.review_state is not None:
        raise ReviewError(
            f"{shown} is already in review ({match.review_state}): use `tracker review confirm`"
        )
    if kind != "rejected" and match.review_state is None:  # the matcher missed it: an editor adds it
        match.source = "editor"
    state = "rejected" if kind == "rejected" else "confirmed"
    if state == "confirmed":
        near = is_near_miss(match.review_state, match.relevant, match.uncertain)
        suggested = near_miss_suggestion(match.learned) if near else {}
        if not cats:
            if match.review_state == "confirmed" and match.editor_categories:
                cats = list(match.editor_categories)
            else:
                known = {c.code for c in loaded.rules.categories}  # a suggestion made under older rules
                cats = list(match.categories) or [c for c in suggested.get("categories", []) if c in known]
        if not cats:
            raise NoCategoriesError(shown)
        if direction is None:
            if match.review_state == "confirmed" and match.editor_direction and not categories:
                direction = match.editor_direction
            elif match.direction and cats[0] in match.categories:
                direction = match.direction
            elif suggested.get("direction") and cats[0] in suggested["categories"]:
                direction = suggested["direction"]
            else:
                direction = loaded.rules.category(cats[0]).default_direction
        match.editor_categories, match.editor_direction = cats, direction
    else:
        cats, direction = [], None
        match.editor_categories, match.editor_direction = None, None

    match.review_state = state
    match.decided_by, match.decided_at, match.note = by, now, note
    match.decided_content = {"title": bill.title, "name": bill.name, "keys": dict(match.content_keys)}
    match.needs_review, match.needs_review_reason, match.flagged_at = False, None, None
    match.updated_at = now
    session.add(
        ReviewEvent(
            bill_id=bill.id,
            kind=kind,
            at=now,
            actor=by,
            note=note,
            categories=cats or None,
            direction=direction,
            snapshot={
                "title": bill.title,
                "name": bill.name,
                "machine": machine_snapshot(
                    match.relevant, match.score, match.categories, match.direction, match.rules_hash
                ),
            },
        )
    )
    session.flush()
    return Decision(shown, kind, state, cats, direction, by, now)


def confirm(session: Session, ref: str, **kwargs: Any) -> Decision:
    """Confirm a match, optionally correcting its categories and direction."""
    return _decide(session, ref, kind="confirmed", **kwargs)


def reject(session: Session, ref: str, **kwargs: Any) -> Decision:
    return _decide(session, ref, kind="rejected", **kwargs)


def add(session: Session, ref: str, **kwargs: Any) -> Decision:
    """Add a bill the matcher missed (confirmed, source "editor")."""
    return _decide(session, ref, kind="added", **kwargs)


#: Unicode categories that show nothing: format characters (zero-width space, bidi marks, BOM), separators,
#: controls.
_INVISIBLE = frozenset({"Cf", "Zs", "Zl", "Zp", "Cc"})

#: The longest note an editor may write (web form, command line, with a decision or alone).
MAX_NOTE = 2000


def clean_note(text: str | None) -> str | None:
    """An editor's note as stored: trimmed, without control characters (a newline or tab stays), at most
    :data:`MAX_NOTE` characters (longer is a usage error); ``None`` when nothing is left."""
    cleaned = without_controls((text or "").strip()).strip()
    if len(cleaned) > MAX_NOTE:
        raise ReviewUsageError(f"the note is longer than {MAX_NOTE} characters")
    if not any(unicodedata.category(c) not in _INVISIBLE for c in cleaned):
        return None  # nothing a reader would see: zero-width spaces, bidi marks, blanks
    return cleaned


def note(
    session: Session, ref: str, text: str, *, by: str | None = None, now: datetime | None = None
) -> Decision:
    """An editor's note on a bill in review, without a decision: the audit trail records it; a decision
    already taken stands (and its note, ``bill_matches.note``, becomes this latest one)."""
    cleaned = clean_note(text)
    if cleaned is None:
        raise ReviewUsageError("the note is empty")
    text = cleaned
    by = editor_name(by)
    now = now or utcnow()
    bill, jurisdiction = resolve_bill(session, ref)
    shown = bill_ref(jurisdiction.slug, bill)
    match = _locked_match(session, bill, current_rules())
    if match.review_state is None:
        raise ReviewError(f"{shown} is not in review: add it (`tracker review add`) or decide on it first")
    match.note, match.updated_at = text, now
    session.add(
        ReviewEvent(
            bill_id=bill.id,
            kind="noted",
            at=now,
            actor=by,
            note=text,
            categories=None,
            direction=None,
            snapshot={"title": bill.title, "name": bill.name},
        )
    )
    session.flush()
    return Decision(shown, "noted", match.review_state, [], None, by, now)


# -- reading ---------------------------------------------------------------------------------------------


_BILL_FIELDS = ("id", "jurisdiction", "identifier", "title", "status", "stage", "url")
_MATCH_FIELDS = (
    "review_state", "needs_review", "needs_review_reason", "source", "relevant", "score", "categories",
    "direction",
)  # fmt: skip


def _record(match: BillMatch, bill: Bill, jurisdiction: Jurisdiction) -> dict[str, Any]:
    """A bill in review as `tracker review list --json` and `review show --json` give it: the read model's
    records of the bill and its match (:func:`tracker.read_model.bill_record`, :func:`match_record`), the
    machine's own result and the evidence."""
    b, m = bill_record(bill, jurisdiction), match_record(match)
    return {
        "bill": bill_ref(jurisdiction.slug, bill),
        **{key: b[key] for key in _BILL_FIELDS},
        **{key: m[key] for key in _MATCH_FIELDS},
        "machine": {
            "relevant": match.relevant,
            "categories": list(match.categories),
            "direction": match.direction,
            "rules_hash": match.rules_hash,
            "matched_at": match.matched_at.isoformat(),
        },
        "decided_by": m["decided_by"],
        "decided_at": m["decided_at"],
        "note": m["note"],
        "evidence": list(match.evidence),
        "uncertain": bool(match.uncertain),
        "near_miss": is_near_miss(match.review_state, match.relevant, match.uncertain),
        "learned": match.learned,
        "direction_reason": m["direction_reason"],
    }


def list_reviews(
    session: Session,
    *,
    states: tuple[str, ...] | list[str] = (),
    jurisdiction: str | None = None,
    category: str | None = None,
    direction: str | None = None,
    uncertain_first: bool = False,
) -> list[dict[str, Any]]:
    """Bills in the review workflow (every state when ``states`` is empty), from the review queue's one
    query and order (:func:`tracker.read_model.review_queue_query`, the web queue's too): flagged first,
    then pending, confirmed, rejected, best score first, then by id; with ``uncertain_first``, uncertain
    pending bills before all."""
    if category is not None:
        check_categories([category])
    check_direction(direction)
    conditions = []
    if jurisdiction:
        check_jurisdiction(session, jurisdiction)
        conditions.append(Jurisdiction.slug == jurisdiction)
    dialect = session.get_bind().dialect.name
    if category is not None:  # a near miss counts under the category it would be added with
        conditions.append(queue_category(category, dialect))
    if direction is not None:
        conditions.append(queue_direction(direction, dialect))
    q = review_queue_query(
        BillMatch,
        Bill,
        Jurisdiction,
        states=states,
        conditions=conditions,
        uncertain_first=uncertain_first,
    )
    return [_record(m, b, j) for m, b, j in session.execute(q)]


def bill_detail(session: Session, ref: str) -> dict[str, Any]:
    """Everything `tracker review show` prints about one bill."""
    bill, jurisdiction = resolve_bill(session, ref)
    match = session.get(BillMatch, bill.id)
    events = session.scalars(
        select(ReviewEvent).where(ReviewEvent.bill_id == bill.id).order_by(ReviewEvent.id)
    ).all()
    return {
        "bill": bill,
        "jurisdiction": jurisdiction,
        "ref": bill_ref(jurisdiction.slug, bill),
        "match": match,
        "events": list(events),
    }


# -- export ----------------------------------------------------------------------------------------------


def csv_match_fields(record: dict[str, Any]) -> None:
    """Flatten the match fields of an export record for CSV (in place)."""
    record["categories"] = "; ".join(record["categories"])
    if record["relevant"] is not None:
        record["relevant"] = "true" if record["relevant"] else "false"


# -- the demo's summary ----------------------------------------------------------------------------------


def matched_measures(engine: Engine) -> list[dict[str, Any]]:
    """Relevant bills (by the editors' word, else the matcher's) with their evidence, by jurisdiction."""
    with session_scope(engine) as session:
        q = (
            select(BillMatch, Bill, Jurisdiction)
            .join(Bill, BillMatch.bill_id == Bill.id)
            .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
            .where(BillMatch.effective_relevant)
            .order_by(Jurisdiction.slug, Bill.identifier, Bill.id)
        )
        out: dict[str, dict[str, Any]] = {}
        for match, bill, jurisdiction in session.execute(q):
            group = out.setdefault(
                jurisdiction.slug, {"slug": jurisdiction.slug, "name": jurisdiction.name, "bills": []}
            )
            phrases: list[str] = []
            cues: list[str] = []
            for e in match.evidence:
                bucket = phrases if e["kind"] == "term" else cues if e["kind"] == "cue" else None
                if bucket is not None and e["phrase"].casefold() not in {p.casefold() for p in bucket}:
                    bucket.append(e["phrase"])
            group["bills"].append(
                {
                    "ref": bill_ref(jurisdiction.slug, bill),
                    "identifier": bill.identifier,
                    "title": bill.title,
                    "status": bill.status,
                    "direction": match.effective_direction,
                    "categories": match.effective_categories,
                    "score": match.score,
                    "review_state": match.review_state,
                    "phrases": phrases,
                    "cues": cues,
                }
            )
        return list(out.values())


def show_json(detail: dict[str, Any]) -> str:
    """`tracker review show --json`: the bill, its match and its history as one JSON object."""
    import json

    bill: Bill = detail["bill"]
    slug = detail["jurisdiction"].slug
    match: BillMatch | None = detail["match"]
    if match is not None:
        record = _record(match, bill, detail["jurisdiction"])
    else:
        record = {"bill": detail["ref"], "id": bill.id, "jurisdiction": slug, "title": bill.title}
    record["history"] = [
        {
            "kind": ev.kind,
            "at": ev.at.isoformat(),
            "actor": ev.actor,
            "note": ev.note,
            "categories": ev.categories,
            "direction": ev.direction,
            "snapshot": ev.snapshot,
        }
        for ev in detail["events"]
    ]
    return json.dumps(record, ensure_ascii=False)
