"""Pieces without a database: what "materially changed" means, the evidence marks of `review show`, the
table of `review list`, the editor's default name."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from tracker.cli.review import format_review_table, highlight
from tracker.matcher.apply import changed_fields, content_keys, current_rules, material_words
from tracker.review import default_editor


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Ordinance abolishing the gang database", "ordinance  abolishing the\tGang Database.", True),
        ("Resolution on “sanctuary” policy", 'Resolution on "sanctuary" policy', True),
        ("Amend Chapter 2-32 (ICE detainers)", "Amend Chapter 2\u201332: ICE detainers", True),
        (
            "\uff2frdinance \ufb01ling fees",
            "Ordinance filing fees",
            True,
        ),  # NFKC: full-width O, "fi" ligature
        (
            "Appropriate $890,000 to the Legal Defense Fund",
            "Appropriate $990,000 to the Legal Defense Fund",
            False,
        ),
        ("Prohibit sharing data with ICE", "Prohibit sharing data with ICE except by warrant", False),
        ("Approve the 287(g) agreement", "Approve the 287 agreement", False),
    ],
)
def test_material_words(a, b, same):
    assert (material_words(a) == material_words(b)) is same


def test_material_words_of_nothing():
    assert material_words(None) is None
    assert material_words("  -- ") is None


def test_changed_fields():
    before = content_keys("Title", None, None)
    assert changed_fields(before, content_keys("title.", None, None)) == []
    assert changed_fields(before, content_keys("Other title", None, None)) == ["title"]
    assert changed_fields(before, content_keys("Title", "A name", None)) == ["name"]  # a name appears
    assert changed_fields(before, content_keys("Title", None, "document text")) == []  # first text
    with_text = content_keys("Title", None, "document text")
    assert changed_fields(with_text, content_keys("Title", None, "other text")) == ["text"]
    assert changed_fields(with_text, content_keys("Title", None, None)) == ["text"]


def test_rules_are_loaded_once_and_identified_by_their_hash(tmp_path, loaded_rules):
    assert current_rules() is current_rules()  # compiled once
    assert current_rules().hash == loaded_rules.hash
    assert len(loaded_rules.hash) == 64 and loaded_rules.short == f"1/{loaded_rules.hash[:8]}"
    copy = tmp_path / "rules.toml"
    copy.write_bytes(Path(loaded_rules.path).read_bytes())
    assert current_rules(copy).hash == loaded_rules.hash


def test_highlight_marks_terms_cues_and_negatives():
    title = "Resolution to end the ICE detainer program at the ice rink"

    def ev(kind, phrase, field="title", at=None):
        start = title.index(phrase) if at is None else at
        return {"kind": kind, "phrase": phrase, "field": field, "start": start, "end": start + len(phrase)}

    evidence = [
        ev("term", "ICE detainer"),
        ev("term", "detainer program"),  # overlapping terms make one mark
        ev("cue", "end"),
        ev("negative", "ice rink"),
        ev("term", "stale", at=0),  # no longer in the text: not marked
        ev("term", "x", field="name", at=0),  # another field
    ]
    marked = highlight(title, evidence, "title")
    assert click.unstyle(marked) == "Resolution to {end} the «ICE detainer program» at the ⟦ice rink⟧"
    assert highlight(title, [], "title") == title


def test_review_table():
    row = {
        "bill": "riverton:O2026-0050",
        "review_state": "rejected",
        "needs_review": True,
        "score": 0.9,
        "direction": None,
        "categories": [],
        "title": "Ordinance repealing Section 7-73-050",
    }
    pending = {**row, "bill": "riverton:O1", "review_state": "pending", "needs_review": False}
    pending.update(direction="expands", categories=["gang_databases", "sanctuary_declaration"])
    lines = format_review_table([row, pending]).splitlines()
    assert lines[1].startswith("riverton:O2026-0050        rejected!   0.90  -           -    ")
    assert lines[2].startswith("riverton:O1                pending     0.90  expands     gang_databases +1 ")
    assert lines[3] == ("2 bills: 1 pending, 1 rejected, 1 flagged (!): `tracker review show BILL` says why.")
    assert format_review_table([]) == "No bills to show."


def test_default_editor(monkeypatch):
    assert default_editor() == "test-editor"
    monkeypatch.setenv("TRACKER_EDITOR", "  ")
    assert default_editor()  # the OS user


def test_review_note_cli_records_a_noted_event(tmp_path, db_url, engine):
    from sqlalchemy import select

    from db.engine import session_scope
    from db.models_review import BillMatch, ReviewEvent
    from tests.conftest import run_tracker, write_config
    from tests.factories import make_bill

    bill_id = make_bill(engine, "Ordinance ending the 287(g) agreement with ICE")
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)
    done = run_tracker("--config", str(cfg), "review", "note", str(bill_id), "ask the clerk", "--by", "alice")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("Noted on ") and done.stdout.strip().endswith(" by alice.")
    with session_scope(engine) as s:
        (event,) = s.scalars(select(ReviewEvent).where(ReviewEvent.bill_id == bill_id)).all()
        assert (event.kind, event.note, event.actor) == ("noted", "ask the clerk", "alice")
        assert s.get(BillMatch, bill_id).review_state == "pending"
    empty = run_tracker("--config", str(cfg), "review", "note", str(bill_id), "  ")
    assert empty.returncode == 2 and empty.stderr.strip() == "Error: the note is empty"
    # the web form's rules, here too: at most 2,000 characters, no control characters stored
    long = run_tracker("--config", str(cfg), "review", "note", str(bill_id), "x" * 2001, "--by", "alice")
    assert long.returncode == 2 and long.stderr.strip() == "Error: the note is longer than 2000 characters"
    bell = run_tracker("--config", str(cfg), "review", "note", str(bill_id), "ring\x07 the\x1b[2J bell")
    assert bell.returncode == 0, bell.stderr
    with session_scope(engine) as s:
        assert s.get(BillMatch, bill_id).note == "ring the[2J bell"
