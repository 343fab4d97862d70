"""The command line (the real ``tracker`` command in a child process, SQLite and PostgreSQL): ``export`` and
``changes`` filter on relevant / confirmed measures; ``export -o FILE`` says what it wrote; a bare
identifier names a bill when it is unique across cities, and an ambiguous one is one ``Error:`` line
listing the candidates (exit 2); ``--weekday`` accepts full and short names in any case; usage errors
exit 2, run-time failures 1."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill, StatusChange
from db.models_review import BillMatch
from tests.conftest import run_tracker, write_config
from tests.factories import FLOCK, GANG, RINK, T0, add_bills
from tracker.review import confirm


@pytest.fixture
def cli(tmp_path, db_url, engine):
    """Bills of two cities: riverton's GANG (relevant, confirmed), FLOCK (relevant, pending), RINK (not
    relevant); O2026-DUP in riverton and lakeside; each bill with one status change. Returns a runner."""
    add_bills(engine, {"O2026-0100": GANG, "O2026-0101": FLOCK, "O2026-0102": RINK, "O2026-DUP": RINK})
    add_bills(engine, {"O2026-DUP": GANG, "L2026-7": RINK}, slug="lakeside")
    with session_scope(engine) as s:
        confirm(s, "riverton:O2026-0100", by="alice", now=T0)
        for n, bill in enumerate(s.scalars(select(Bill).order_by(Bill.id))):
            s.add(
                StatusChange(
                    bill_id=bill.id,
                    seq=1,
                    kind="changed",
                    old_status="Introduced",
                    new_status="Referred",
                    old_stage="introduced",
                    new_stage="in_committee",
                    observed_at=T0 + timedelta(hours=n + 1),
                )
            )
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)

    def run(*args: str):
        return run_tracker("--config", str(cfg), *args, env={"TRACKER_EDITOR": "alice"})

    return run


def _ids(output: str) -> list[str]:
    return [f"{r['jurisdiction']}:{r['identifier']}" for r in map(json.loads, output.splitlines())]


def test_export_filters_and_says_what_it_wrote(cli, tmp_path):
    every = cli("export", "--format", "jsonl")
    assert every.returncode == 0, every.stderr
    assert sorted(_ids(every.stdout)) == sorted(
        ["riverton:O2026-0100", "riverton:O2026-0101", "riverton:O2026-0102", "riverton:O2026-DUP",
         "lakeside:O2026-DUP", "lakeside:L2026-7"]
    )  # fmt: skip
    relevant = cli("export", "--format", "jsonl", "--relevant")
    assert sorted(_ids(relevant.stdout)) == [
        "lakeside:O2026-DUP",
        "riverton:O2026-0100",
        "riverton:O2026-0101",
    ]
    assert all(json.loads(line)["relevant"] is True for line in relevant.stdout.splitlines())
    confirmed = cli("export", "--format", "jsonl", "--confirmed")
    assert _ids(confirmed.stdout) == ["riverton:O2026-0100"]
    (record,) = map(json.loads, confirmed.stdout.splitlines())
    assert record["review_state"] == "confirmed" and record["direction_reason"]
    both = cli("export", "--format", "jsonl", "--relevant", "--confirmed", "--jurisdiction", "lakeside")
    assert both.returncode == 0 and both.stdout == ""

    out = tmp_path / "relevant.csv"
    written = cli("export", "--relevant", "--format", "csv", "-o", str(out))
    assert written.returncode == 0, written.stderr
    assert written.stdout == f"wrote 3 bills to {out}\n"
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("jurisdiction,source_id,") and "direction_reason" in lines[0]
    assert len(lines) == 1 + 3
    one = cli("export", "--confirmed", "--format", "jsonl", "--output", str(tmp_path / "one.jsonl"))
    assert one.stdout == f"wrote 1 bill to {tmp_path / 'one.jsonl'}\n"
    assert cli("export", "--confirmed", "--format", "jsonl").stdout.count("\n") == 1  # stdout: no line


def test_changes_filters(cli):
    def changed(*args: str) -> list[str]:
        done = cli("changes", "--format", "jsonl", *args)
        assert done.returncode == 0, done.stderr
        return sorted(
            f"{r['jurisdiction']}:{r['identifier']}" for r in map(json.loads, done.stdout.splitlines())
        )

    assert len(changed()) == 6
    assert changed("--relevant") == ["lakeside:O2026-DUP", "riverton:O2026-0100", "riverton:O2026-0101"]
    assert changed("--confirmed") == ["riverton:O2026-0100"]
    assert changed("--relevant", "--jurisdiction", "riverton") == [
        "riverton:O2026-0100",
        "riverton:O2026-0101",
    ]
    unknown = cli("changes", "--jurisdiction", "nowhere")
    assert unknown.returncode == 2
    assert unknown.stderr == "Error: no jurisdiction 'nowhere' in the database (known: lakeside, riverton)\n"


def test_changes_since_a_time_out_of_range_in_utc_is_a_usage_error(cli):
    """Valid ISO times that leave the years 1 to 9999 once moved to UTC: one ``Error:`` line, exit 2 (the
    conversion overflowed inside the database driver, a traceback)."""
    for since in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
        done = cli("changes", "--since", since)
        assert done.returncode == 2, (since, done.stderr)
        assert done.stderr == f"Error: out of range once in UTC (years 1 to 9999): {since}\n"
    edge = cli("changes", "--since", "9999-12-31T23:59:59+14:00", "--format", "jsonl")  # still in range
    assert edge.returncode == 0 and edge.stdout == "", edge.stderr


def _dup_states(engine) -> list[str | None]:
    with session_scope(engine) as s:
        return list(
            s.scalars(
                select(BillMatch.review_state)
                .join(Bill, BillMatch.bill_id == Bill.id)
                .where(Bill.identifier == "O2026-DUP")
                .order_by(Bill.id)
            )
        )


def test_a_bare_identifier_names_a_bill_unique_across_cities(cli, engine):
    shown = cli("review", "show", "O2026-0101")
    assert shown.returncode == 0, shown.stderr
    assert "riverton:O2026-0101" in shown.stdout and "Flock Safety" in shown.stdout
    as_json = json.loads(cli("review", "show", "L2026-7", "--json").stdout)
    assert (as_json["jurisdiction"], as_json["identifier"]) == ("lakeside", "L2026-7")

    noted = cli("review", "note", "O2026-0101", "check the contract length")
    assert noted.returncode == 0, noted.stderr
    rejected = cli("review", "reject", "L2026-7")
    assert rejected.returncode == 0, rejected.stderr
    with session_scope(engine) as s:
        states = dict(
            s.execute(
                select(Bill.identifier, BillMatch.review_state).join(BillMatch, BillMatch.bill_id == Bill.id)
            ).all()
        )
    assert states["L2026-7"] == "rejected"

    assert _dup_states(engine) == [None, "pending"]
    ambiguous = cli("review", "show", "O2026-DUP")
    assert ambiguous.returncode == 2
    (line,) = ambiguous.stderr.splitlines()
    assert line == "Error: O2026-DUP names 2 bills: riverton:O2026-DUP, lakeside:O2026-DUP; give one of them"
    assert ambiguous.stdout == ""
    confirm_ambiguous = cli("review", "confirm", "O2026-DUP")
    assert confirm_ambiguous.returncode == 2 and confirm_ambiguous.stderr == ambiguous.stderr
    assert _dup_states(engine) == [None, "pending"]  # nothing decided (RINK unmatched, GANG pending)

    missing = cli("review", "show", "X9999")
    assert missing.returncode == 1  # a run-time failure: no such bill
    assert missing.stderr == (
        "Error: no bill 'X9999' in any city (a bill is an id, SLUG:IDENTIFIER or IDENTIFIER)\n"
    )
    by_slug = cli("review", "show", "lakeside:O2026-DUP")
    assert by_slug.returncode == 0 and "lakeside:O2026-DUP" in by_slug.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_weekdays_in_full_or_short_any_case(cli, engine):
    from db.models_digest import Subscription

    for n, spelled in enumerate(["monday", "Tue", "WEDNESDAY", "thu", "Friday", "sat", "sun"]):
        done = cli(
            "subscriptions",
            "add",
            f"s{n}@example.org",
            "--frequency",
            "weekly",
            "--weekday",
            spelled,
        )
        assert done.returncode == 0, done.stderr
    with session_scope(engine) as s:
        assert s.scalars(select(Subscription.weekday).order_by(Subscription.id)).all() == [
            0,
            1,
            2,
            3,
            4,
            5,
            6,
        ]  # monday is 0, as stored
    bad = cli("subscriptions", "add", "x@example.org", "--frequency", "weekly", "--weekday", "funday")
    assert bad.returncode == 2
    assert "'funday' is not a day of the week: one of monday, tuesday" in bad.stderr
    assert "(or mon, tue, wed, thu, fri, sat, sun)" in bad.stderr and "Traceback" not in bad.stderr
    with session_scope(engine) as s:
        assert len(s.scalars(select(Subscription)).all()) == 7


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("export", "--format", "xml"), 2),  # click's own usage error
        (("export", "--jurisdiction", "nowhere"), 2),
        (("review", "list", "--category", "not_a_category"), 2),
        (("review", "confirm", "riverton:O2026-0100", "--direction", "sideways"), 2),
        (("review", "show", "riverton:"), 2),
        (("review", "show", "nowhere:O1"), 2),
        (("review", "show", "riverton:O404"), 1),  # well-formed, no such bill: a run-time failure
    ],
)
def test_usage_errors_exit_2_and_failures_1(cli, args, code):
    done = cli(*args)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("Error: ")
