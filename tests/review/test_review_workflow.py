"""The match store and the review workflow, in-process, on SQLite and PostgreSQL: the queue, decisions and
their history, corrections kept apart from the machine's fields, persistence across rescoring, the
"changed after the decision" flag, adding a missed bill, and the one-line errors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models_review import BillMatch, ReviewEvent
from tests.factories import (
    DETAINERS,
    FLOCK,
    GANG,
    PARKING,
    RINK,
    add_bills,
    bill,
    events,
    match_row,
    retitle,
)
from tracker.errors import TrackerError
from tracker.matcher import CATEGORY_CODES
from tracker.matcher import apply as matching
from tracker.matcher.apply import current_rules, match_bills, match_stored
from tracker.read_model import match_record
from tracker.review import (
    ReviewError,
    add,
    confirm,
    list_reviews,
    reject,
)


def decide(engine, fn, ref, **kwargs):
    with session_scope(engine) as s:
        return fn(s, ref, **kwargs)


# -- matching and the queue ----------------------------------------------------------------------------


def test_every_bill_gets_a_match_and_only_relevant_ones_are_pending(engine):
    ids = add_bills(engine, {"O1": GANG, "O2": RINK, "O3": PARKING})
    gang, rink = match_row(engine, ids["O1"]), match_row(engine, ids["O2"])
    assert (gang.relevant, gang.review_state, gang.categories, gang.direction) == (
        True,
        "pending",
        ["gang_databases"],
        "expands",
    )
    assert gang.source == "matcher" and not gang.needs_review
    assert {
        "kind": "term",
        "rule": "gang_databases",
        "phrase": "gang database",
        "field": "title",
    }.items() <= (gang.evidence[0].items())
    assert GANG[gang.evidence[0]["start"] : gang.evidence[0]["end"]] == "gang database"
    assert gang.rules_hash == current_rules().hash and gang.rules_version == 1
    assert (rink.relevant, rink.review_state, rink.categories, rink.direction) == (False, None, [], None)
    with session_scope(engine) as s:
        assert [r["bill"] for r in list_reviews(s)] == ["riverton:O1"]
        assert s.scalar(select(func.count()).select_from(BillMatch)) == 3


def test_unchanged_inputs_are_not_classified_again(engine):
    ids = add_bills(engine, {"O1": GANG, "O2": PARKING})
    before = match_row(engine, ids["O1"])
    with session_scope(engine) as s:
        summary = match_bills(s, ids.values())
    assert (summary.considered, summary.classified, summary.created, summary.updated) == (2, 0, 0, 0)
    with session_scope(engine) as s:  # forced: classified again, same result, only the run is recorded
        forced = match_bills(s, ids.values(), rescore=True)
    assert (forced.classified, forced.updated, forced.newly_relevant, forced.no_longer_relevant) == (
        2,
        0,
        0,
        0,
    )
    after = match_row(engine, ids["O1"])
    assert after.matched_at > before.matched_at and after.evidence == before.evidence


def test_pending_bill_leaves_the_queue_when_it_stops_being_relevant_and_comes_back(engine):
    ids = add_bills(engine, {"O1": GANG})
    summary = retitle(engine, ids["O1"], PARKING)
    assert (summary.no_longer_relevant, summary.flagged) == (1, 0)
    row = match_row(engine, ids["O1"])
    assert (row.relevant, row.review_state) == (False, None)
    summary = retitle(engine, ids["O1"], GANG)
    assert summary.newly_relevant == 1
    assert match_row(engine, ids["O1"]).review_state == "pending"


# -- decisions -----------------------------------------------------------------------------------------


def test_confirm_with_corrections_keeps_them_apart_from_the_machine(engine):
    ids = add_bills(engine, {"O2026-0053": GANG})
    d = decide(
        engine,
        confirm,
        "riverton:O2026-0053",
        categories=["gang_databases", "police_accountability"],
        direction="expands",
        note="abolition",
        by="alice",
    )
    assert (
        d.line() == "Confirmed riverton:O2026-0053 (gang_databases, police_accountability; expands) by alice."
    )
    row = match_row(engine, ids["O2026-0053"])
    assert (row.review_state, row.decided_by, row.note) == ("confirmed", "alice", "abolition")
    assert row.categories == ["gang_databases"]  # the machine's, untouched
    assert row.editor_categories == ["gang_databases", "police_accountability"]
    assert row.corrected and row.effective_categories == ["gang_databases", "police_accountability"]
    assert row.decided_content["title"] == GANG
    assert events(engine, ids["O2026-0053"]) == [("confirmed", "alice")]


def test_confirm_without_corrections_records_the_machine_values(engine):
    ids = add_bills(engine, {"O1": FLOCK})
    d = decide(engine, confirm, str(ids["O1"]))  # by internal id; --by from $TRACKER_EDITOR
    assert (d.categories, d.direction, d.by) == (["surveillance_technology"], "restricts", "test-editor")
    row = match_row(engine, ids["O1"])
    assert not row.corrected and row.editor_categories == ["surveillance_technology"]


def test_reject_then_confirm_again_keeps_the_whole_history(engine):
    ids = add_bills(engine, {"O1": DETAINERS})
    decide(engine, reject, "riverton:O1", note="not ours", by="bob")
    row = match_row(engine, ids["O1"])
    assert (row.review_state, row.effective_relevant, row.effective_categories) == ("rejected", False, [])
    assert row.relevant  # the machine still says relevant
    decide(engine, confirm, "riverton:O1", by="carol")
    assert match_row(engine, ids["O1"]).review_state == "confirmed"
    assert events(engine, ids["O1"]) == [("rejected", "bob"), ("confirmed", "carol")]
    with session_scope(engine) as s:
        first = s.scalars(select(ReviewEvent).order_by(ReviewEvent.id)).first()
        assert first.note == "not ours"
        assert first.snapshot["title"] == DETAINERS and first.snapshot["machine"]["relevant"] is True


def test_add_a_bill_the_matcher_missed(engine):
    ids = add_bills(engine, {"O7": "Ordinance establishing a right to counsel for tenants facing eviction"})
    assert match_row(engine, ids["O7"]).review_state is None
    d = decide(engine, add, "riverton:O7", categories=["legal_defense"], note="covers removal", by="dana")
    assert d.line() == "Added riverton:O7 (legal_defense; expands) by dana."  # the category's default
    row = match_row(engine, ids["O7"])
    assert (row.review_state, row.source, row.relevant, row.effective_relevant) == (
        "confirmed",
        "editor",
        False,
        True,
    )
    assert events(engine, ids["O7"]) == [("added", "dana")]
    with session_scope(engine) as s:
        (listed,) = list_reviews(s, states=["confirmed"])
        assert (listed["bill"], listed["categories"], listed["direction"]) == (
            "riverton:O7",
            ["legal_defense"],
            "expands",
        )


def test_add_creates_the_match_of_a_bill_never_matched(engine):
    with session_scope(engine) as s:
        bill_id = bill(s, title=PARKING, identifier="O9").id
    decide(engine, add, "riverton:O9", categories=["police_accountability"], direction="neutral")
    row = match_row(engine, bill_id)
    assert (row.review_state, row.editor_direction, row.relevant) == ("confirmed", "neutral", False)


def test_confirming_a_bill_not_in_review_adds_it(engine):
    ids = add_bills(engine, {"O8": PARKING})
    decide(engine, confirm, "riverton:O8", categories=["surveillance_technology"], by="eve")
    row = match_row(engine, ids["O8"])
    assert (row.review_state, row.source, row.editor_direction) == ("confirmed", "editor", "restricts")
    assert events(engine, ids["O8"]) == [("confirmed", "eve")]


# -- persistence across rescoring ----------------------------------------------------------------------


def test_rescore_after_a_rules_change_updates_the_machine_and_never_a_decision(engine, strict_rules):
    ids = add_bills(engine, {"O1": GANG, "O2": DETAINERS, "O3": FLOCK, "O4": PARKING})
    decide(engine, confirm, "riverton:O1", direction="neutral", by="alice")
    decide(engine, reject, "riverton:O2", by="alice")
    strict = current_rules(strict_rules)
    summary = match_stored(engine, rescore=True, rules=strict)
    assert (summary.classified, summary.newly_relevant, summary.no_longer_relevant, summary.flagged) == (
        4,
        0,
        3,
        0,
    )
    gang, det, flock = (match_row(engine, ids[k]) for k in ("O1", "O2", "O3"))
    assert gang.rules_hash == strict.hash and not gang.relevant and gang.categories == []
    assert (gang.review_state, gang.editor_categories, gang.editor_direction) == (
        "confirmed",
        ["gang_databases"],
        "neutral",
    )
    record = match_record(gang)
    assert {
        k: record[k]
        for k in ("relevant", "score", "categories", "direction", "direction_reason", "review_state")
    } == {
        "relevant": True,
        "score": gang.score,
        "categories": ["gang_databases"],
        "direction": "neutral",
        "direction_reason": "set by the editor alice",
        "review_state": "confirmed",
    }
    assert (det.review_state, det.relevant) == ("rejected", False)
    assert (flock.review_state, flock.relevant) == (None, False)  # undecided: leaves the queue
    assert events(engine, ids["O1"]) == [("confirmed", "alice")]

    back = match_stored(engine, rescore=True)  # the shipped rules again
    assert (back.newly_relevant, back.no_longer_relevant) == (3, 0)
    assert match_row(engine, ids["O3"]).review_state == "pending"
    assert match_row(engine, ids["O2"]).review_state == "rejected"


def test_match_without_rescore_only_fills_in_what_is_missing(engine):
    with session_scope(engine) as s:
        ids = [bill(s, title=GANG).id, bill(s, title=PARKING).id]
    first = match_stored(engine, rescore=False)
    assert (first.considered, first.classified, first.created) == (2, 2, 2)
    again = match_stored(engine, rescore=False, jurisdiction="riverton")
    assert (again.considered, again.classified) == (2, 0)
    assert match_row(engine, ids[0]).review_state == "pending"


# -- "changed materially after the decision" ---------------------------------------------------------------


def test_material_change_after_a_decision_flags_it_and_keeps_the_decision(engine):
    ids = add_bills(engine, {"O1": GANG})
    decide(engine, confirm, "riverton:O1", by="alice", note="ok")
    changed = GANG + " and creating a gang database oversight board"
    summary = retitle(engine, ids["O1"], changed)
    assert summary.flagged == 1
    row = match_row(engine, ids["O1"])
    assert (row.review_state, row.decided_by, row.note, row.needs_review) == (
        "confirmed",
        "alice",
        "ok",
        True,
    )
    day = row.decided_at.strftime("%Y-%m-%d")
    assert (
        row.needs_review_reason
        == f'title changed since it was confirmed by alice on {day} (title then: "{GANG}")'
    )
    assert row.decided_content["title"] == GANG  # what the decision was made on stays visible
    assert events(engine, ids["O1"]) == [("confirmed", "alice"), ("flagged", "tracker")]
    with session_scope(engine) as s:
        (flagged,) = list_reviews(s, states=["flagged"])
        assert flagged["needs_review"] and flagged["review_state"] == "confirmed"

    # Matching again (a re-crawl, a rescore) does not flag the same change twice.
    with session_scope(engine) as s:
        assert match_bills(s, [ids["O1"]], rescore=True).flagged == 0
    assert len(events(engine, ids["O1"])) == 2

    # A new decision clears the flag.
    decide(engine, confirm, "riverton:O1", by="bob")
    row = match_row(engine, ids["O1"])
    assert (row.needs_review, row.needs_review_reason, row.decided_content["title"]) == (False, None, changed)


@pytest.mark.parametrize(
    "variant",
    [
        "  Ordinance abolishing the Riverton  Police Department\ngang database ",  # whitespace
        "ORDINANCE ABOLISHING THE RIVERTON POLICE DEPARTMENT GANG DATABASE",  # case
        "Ordinance abolishing the Riverton Police Department gang database.",  # punctuation
        "Ordinance abolishing the Riverton Police Department gang\u2010database",  # typographic hyphen
    ],
)
def test_whitespace_case_or_punctuation_changes_do_not_flag(engine, variant):
    ids = add_bills(engine, {"O1": GANG})
    decide(engine, reject, "riverton:O1", by="alice")
    summary = retitle(engine, ids["O1"], variant)
    assert summary.classified == 1 and summary.flagged == 0  # re-matched (the input changed), not flagged
    row = match_row(engine, ids["O1"])
    assert (row.review_state, row.needs_review) == ("rejected", False)


def test_name_and_text_changes(engine, monkeypatch):
    texts: dict[int, str] = {}
    monkeypatch.setattr(matching, "bill_texts", lambda s, ids: {i: texts[i] for i in ids if i in texts})
    ids = add_bills(engine, {"O1": GANG})
    bill_id = ids["O1"]
    decide(engine, confirm, "riverton:O1")
    # The documents' text appearing for the first time is not a change of the bill...
    texts[bill_id] = "Section 1. The gang database is abolished."
    with session_scope(engine) as s:
        first = match_bills(s, [bill_id])
    assert (first.classified, first.flagged) == (1, 0)
    assert match_row(engine, bill_id).evidence[-1]["field"] == "text"
    # ...a change of the text the decision was made on is.
    decide(engine, confirm, "riverton:O1")
    texts[bill_id] = "Section 1. The database is renamed."
    with session_scope(engine) as s:
        assert match_bills(s, [bill_id]).flagged == 1
    assert match_row(engine, bill_id).needs_review_reason.startswith("text changed since it was confirmed")
    decide(engine, confirm, "riverton:O1")
    assert retitle(engine, bill_id, GANG, name="Gang database abolition").flagged == 1
    assert match_row(engine, bill_id).needs_review_reason.startswith("name changed since it was confirmed")


# -- listing -------------------------------------------------------------------------------------------


def test_list_filters_and_order(engine):
    add_bills(engine, {"O1": GANG, "O2": FLOCK, "O3": DETAINERS, "O4": PARKING})
    add_bills(engine, {"L1": FLOCK}, slug="lakeside")
    decide(engine, reject, "riverton:O2")
    decide(engine, confirm, "riverton:O3", direction="restricts")
    with session_scope(engine) as s:
        everything = [r["bill"] for r in list_reviews(s)]
        assert everything == ["lakeside:L1", "riverton:O1", "riverton:O3", "riverton:O2"]
        assert [r["bill"] for r in list_reviews(s, states=["pending"], jurisdiction="riverton")] == [
            "riverton:O1"
        ]
        assert [r["bill"] for r in list_reviews(s, category="surveillance_technology")] == ["lakeside:L1"]
        assert [r["bill"] for r in list_reviews(s, direction="restricts")] == ["lakeside:L1", "riverton:O3"]
        assert [r["bill"] for r in list_reviews(s, states=["confirmed", "rejected"])] == [
            "riverton:O3",
            "riverton:O2",
        ]


# -- errors: one line each -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: confirm(s, "riverton:O1", categories=["gang_database"]),
            "unknown category code 'gang_database' (did you mean 'gang_databases'?)",
        ),
        (
            lambda s: add(s, "riverton:O1", categories=["zzz"]),
            f"unknown category code 'zzz' (known: {', '.join(CATEGORY_CODES)})",
        ),
        (
            lambda s: confirm(s, "riverton:O1", direction="sideways"),
            "direction must be one of expands, restricts, neutral, not 'sideways'",
        ),
        (lambda s: reject(s, "riverton:O404"), "no bill 'O404' in riverton"),
        (lambda s: reject(s, "999999"), "no bill with id 999999"),
        (lambda s: reject(s, "99999999999999999999"), "no bill with id 99999999999999999999"),
        (
            lambda s: reject(s, "²"),  # a digit to str.isdigit(), refused by int(): an identifier
            "no bill '²' in any city (a bill is an id, SLUG:IDENTIFIER or IDENTIFIER)",
        ),
        (
            lambda s: reject(s, "riverton:"),
            "a bill is an id, SLUG:IDENTIFIER or IDENTIFIER (e.g. riverton:O2026-0053), not 'riverton:'",
        ),
        (
            lambda s: reject(s, "oakland:O1"),
            "no jurisdiction 'oakland' in the database (known: riverton)",
        ),
        (
            lambda s: add(s, "riverton:O1"),
            "review add needs at least one --category CODE (the bill's categories)",
        ),
        (
            lambda s: add(s, "riverton:O1", categories=["gang_databases"]),
            "riverton:O1 is already in review (pending): use `tracker review confirm`",
        ),
        (lambda s: confirm(s, "riverton:O2"), "riverton:O2 has no matched categories: give --category CODE"),
        (
            lambda s: list_reviews(s, category="police_acountability"),
            "unknown category code 'police_acountability' (did you mean 'police_accountability'?)",
        ),
        (
            lambda s: list_reviews(s, direction="up"),
            "direction must be one of expands, restricts, neutral, not 'up'",
        ),
    ],
)
def test_errors_are_one_exact_line(engine, call, message):
    add_bills(engine, {"O1": GANG, "O2": PARKING})
    with session_scope(engine) as s, pytest.raises(TrackerError) as info:
        call(s)
    assert str(info.value) == message
    assert "\n" not in str(info.value)
    with session_scope(engine) as s:  # nothing was written
        assert s.scalar(select(func.count()).select_from(ReviewEvent)) == 0


def test_ambiguous_identifier_asks_for_the_id(engine):
    with session_scope(engine) as s:
        a = bill(s, title=GANG, identifier="DUP-1").id
        b = bill(s, title=FLOCK, identifier="DUP-1").id
    with session_scope(engine) as s, pytest.raises(ReviewError) as info:
        confirm(s, "riverton:DUP-1")
    assert str(info.value) == f"riverton:DUP-1 names 2 bills (ids {a}, {b}): give the id"
