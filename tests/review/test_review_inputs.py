"""What an editor types that the database would take on SQLite but refuse on PostgreSQL, or that shows
nothing: an editor's name that is empty or longer than its column, a note made only of invisible characters,
an e-mail address longer than any mail server takes. Each is one line of error (exit 2), on both engines, and
nothing is stored: so a SQLite pilot never holds a value that stops its copy to PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models_digest import Subscription
from db.models_review import BillMatch, ReviewEvent
from tests.conftest import run_tracker, write_config
from tests.factories import DETAINERS, make_bill
from tracker.config import check_email
from tracker.review import MAX_EDITOR, ReviewUsageError, clean_note, editor_name


def test_editor_name():
    assert editor_name(None) == "test-editor"  # $TRACKER_EDITOR
    assert editor_name("  ana \x1b[31m") == "ana [31m"
    assert editor_name("b" * MAX_EDITOR) == "b" * MAX_EDITOR
    for bad, message in [("", "is empty"), ("  \t", "is empty"), ("b" * (MAX_EDITOR + 1), "longer than 200")]:
        with pytest.raises(ReviewUsageError, match=message):
            editor_name(bad)


@pytest.mark.parametrize("text", ["\u200b", "\u202e\u202c", " \u2060\ufeff ", "\u200e\u200f\n\t"])
def test_a_note_of_invisible_characters_is_no_note(text):
    assert clean_note(text) is None


def test_a_note_with_something_visible_is_kept():
    assert clean_note("\u200bask the clerk") == "\u200bask the clerk"
    assert clean_note("مرحبا") == "مرحبا"


def test_an_address_longer_than_mail_servers_take_is_refused():
    assert check_email(("e" * 64) + "@" + ("d" * 185) + ".org") == ("e" * 64) + "@" + ("d" * 185) + ".org"
    for bad in [("e" * 65) + "@example.org", "e@" + ("d" * 250) + ".org", ("e" * 330) + "@example.org"]:
        with pytest.raises(ValueError, match=r"too long \(254 characters at most, 64 before the @\)") as info:
            check_email(bad)
        assert len(str(info.value)) < 200  # the address is not echoed whole


def test_the_commands_refuse_them_in_one_line_and_store_nothing(tmp_path, db_url, engine):
    bill_id = make_bill(engine, DETAINERS)
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)
    ref = str(bill_id)
    cases = [
        (["review", "confirm", ref, "--by", ""], "Error: the editor's name (--by) is empty"),
        (
            ["review", "confirm", ref, "--by", "b" * 5000],
            "Error: the editor's name is longer than 200 characters",
        ),
        (["review", "reject", ref, "--by", "   "], "Error: the editor's name (--by) is empty"),
        (["review", "note", ref, "\u200b"], "Error: the note is empty"),
        (["review", "note", ref, "\u202e\u202c", "--by", "ana"], "Error: the note is empty"),
    ]
    for args, line in cases:
        done = run_tracker("--config", str(cfg), *args)
        assert (done.returncode, done.stderr.strip()) == (2, line), (args[:3], done.stderr)
    added = run_tracker("--config", str(cfg), "subscriptions", "add", ("e" * 330) + "@example.org")
    assert added.returncode == 2, added.stderr
    assert len(added.stderr.strip().splitlines()) == 1 and "too long" in added.stderr, added.stderr
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(ReviewEvent)) == 0
        assert s.get(BillMatch, bill_id).review_state == "pending"
        assert s.scalar(select(func.count()).select_from(Subscription)) == 0
    # an empty note with a decision is no note: the decision is recorded without one
    done = run_tracker("--config", str(cfg), "review", "confirm", ref, "--note", "\u200b", "--by", "ana")
    assert done.returncode == 0, done.stderr
    with session_scope(engine) as s:
        assert s.get(BillMatch, bill_id).note is None


@pytest.mark.parametrize("address", ["José@example.org", "idn@exämple.org", "ana@例え.jp"])
def test_an_address_outside_ascii_is_refused(address):
    """The SMTP client does not speak SMTPUTF8: such an address could be stored but never sent to."""
    with pytest.raises(ValueError, match=r"has characters outside ASCII \(write an internationalised domain"):
        check_email(address)
    assert check_email("idn@xn--exmple-cua.org") == "idn@xn--exmple-cua.org"
