"""A hostile (or careless) portal cannot stop a city's crawl: real crawls (the `tracker` command in
a child process) on SQLite and PostgreSQL of a Legistar API replay whose records carry NUL bytes, a
250,000-character title, terminal and C1 control characters, invalid UTF-8, absurd dates, absurd numbers and
fields of the wrong type. The records that can be cleaned are stored cleaned (cuts recorded); the others are
rejected and named; the city's other bills are stored; the crawl is partial; the next crawl works. The same
boundary serves every platform: an eLMS crawl with the same kind of text is cleaned the same way."""

from __future__ import annotations

import copy
import json
import re

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Action, Bill, Sponsor
from db.models_review import BillMatch
from tests.clock import utc_now
from tests.conftest import run_tracker, write_config
from tests.platforms.elms_server import CRAWL, ElmsServer, elms_entry
from tests.portal import runs
from tests.replay import ReplayServer
from tracker.sanitize import CUT_KEY, TEXT_LIMIT

HUGE = 250_000
NEWS = "Ordinance declaring the City a sanctuary city and limiting ICE detainers"


def _matter(mid, title, **extra):
    return {
        "MatterId": mid,
        "MatterFile": f"O-{mid}",
        "MatterTitle": title,
        "MatterName": None,
        "MatterTypeName": "Ordinance",
        "MatterStatusName": "Introduced",
        "MatterStatusId": 1,
        "MatterBodyName": "City Council",
        "MatterIntroDate": "2024-03-01T00:00:00",
        "MatterLastModifiedUtc": "2024-03-02T10:00:00.12",
        "MatterRowVersion": f"rv{mid}",
        **extra,
    }


def _history(hid, **extra):
    return {
        "MatterHistoryId": hid,
        "MatterHistoryActionDate": "2024-03-01T00:00:00",
        "MatterHistoryActionName": "Introduced",
        "MatterHistoryActionBodyName": "City Council",
        **extra,
    }


def _dump(value) -> bytes:
    return json.dumps(value).encode()


# Cleaned and stored: (matter id, what the portal sends as the title, what is stored)
CLEANED = {
    101: ("A title with a NUL\u0000 inside", "A title with a NUL inside"),
    102: ("Escapes \u001b[2J\u001b]8;;http://x\u0007link\u001b]8;;\u0007 bell\u0007 del\u007f", None),
    103: (
        "C1 \u0092quoted\u0094 and CSI \u009b31m and NEL\u0085",
        "C1 \u2019quoted\u201d and CSI \u203a31m and NEL\u2026",
    ),
    104: ("Lone surrogate \ud800 and noncharacter \uffff", "Lone surrogate and noncharacter"),
}
BAD_UTF8 = 105  # its title holds bytes that are not UTF-8
LONG = 106  # a 250,000-character title (relevant words first)
GOOD = [201, 202, 203]


def _routes(*, fixed: bool = False) -> dict[str, bytes]:
    """The hostile replay; ``fixed``: the portal after its records were corrected."""
    matters = [_matter(mid, title) for mid, (title, _) in CLEANED.items()]
    matters.append(_matter(BAD_UTF8, "PLACEHOLDER"))
    matters.append(_matter(LONG, (NEWS + " ") + "x" * (HUGE - len(NEWS) - 1)))
    matters += [_matter(mid, f"An ordinance about parking, number {mid}") for mid in GOOD]
    rejected = {
        # absurd dates: year 0, a five-digit year, not a date, a number
        301: _matter(301, "Year zero", MatterIntroDate="0000-01-01T00:00:00"),
        302: _matter(302, "Year 99999", MatterPassedDate="99999-01-01T00:00:00"),
        303: _matter(303, "Not a date", MatterAgendaDate="soon\u0000"),
        304: _matter(304, "A number as a date", MatterEnactmentDate=20240301),
        # an absurd number: a history id of 70 digits cannot be a key
        305: _matter(305, "A huge history id"),
        # a field of the wrong type for the parser (attachment sort keys of mixed types)
        306: _matter(306, "Mixed sort keys"),
        # year 1 with a time, which moves before year 1 in UTC
        307: _matter(307, "Year one"),
    }
    if fixed:
        rejected = {mid: _matter(mid, f"Corrected {mid}") for mid in rejected}
    matters += rejected.values()
    # absurd dates that parse (placeholders) are dropped, not rejected; a MatterId beyond 64 bits is kept
    matters.append(_matter(401, "Placeholder dates", MatterPassedDate="9999-12-31T00:00:00"))
    matters.append(_matter(10**25, "A huge MatterId", MatterEXLink=1e400))

    routes = {"/v1/hostile/matters": _dump(matters)}
    for m in matters:
        mid = m["MatterId"]
        base = f"/v1/hostile/matters/{mid}"
        routes[base + "/histories"] = _dump([_history(mid * 10)])
        routes[base + "/sponsors"] = _dump(
            [{"MatterSponsorName": "Council\u0000member \u001b[31mRed\u001b[0m", "MatterSponsorSequence": 0}]
        )
        routes[base + "/attachments"] = b"[]"
    routes["/v1/hostile/matters"] = routes["/v1/hostile/matters"].replace(
        b'"PLACEHOLDER"', b'"Invalid \xff\xfe UTF-8 \xc3\x28 bytes"'
    )
    if not fixed:
        routes["/v1/hostile/matters/305/histories"] = _dump([_history(10**70)])
        routes["/v1/hostile/matters/306/attachments"] = _dump(
            [
                {"MatterAttachmentId": 1, "MatterAttachmentSort": "first", "MatterAttachmentName": "a"},
                {"MatterAttachmentId": 2, "MatterAttachmentSort": 2, "MatterAttachmentName": "b"},
            ]
        )
        routes["/v1/hostile/matters/307/histories"] = _dump(
            [_history(3070, MatterHistoryActionDate="0001-01-01T00:30:00")]
        )
    return routes


def _config(tmp_path, server, db_url):
    return write_config(
        tmp_path / "t.toml",
        [
            {
                "slug": "hostile",
                "name": "Hostile City",
                "platform": "legistar",
                "client": "hostile",
                "api_base": server.base_url,
                "timezone": "Asia/Tokyo",
            }
        ],
        database_url=db_url,
        # the matters' crawl only: this portal answers no events (no meetings read)
        crawl={
            "retries": 1,
            "backoff_base": 0.05,
            "backoff_max": 0.5,
            "download_timeout": 5.0,
            "meetings_ahead_days": 0,
            "meetings_back_days": 0,
        },
    )


def _line(result) -> str:
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("hostile:")]
    return line


def test_hostile_records_fail_only_themselves(tmp_path, db_url, engine):
    stored_ids = [*CLEANED, BAD_UTF8, LONG, *GOOD, 401, 10**25]
    with ReplayServer(_routes()) as server:
        cfg = _config(tmp_path, server, db_url)
        first = run_tracker("--config", str(cfg), "crawl")
        assert "Traceback" not in first.stderr, first.stderr
        assert first.returncode == 1  # partial
        line = _line(first)
        assert line.startswith(
            f"hostile: partial (full) - {len(stored_ids)} bills seen, {len(stored_ids)} new"
        )
        assert ", 7 errors," in line
        # the first rejected record is named in the summary, every one of them in the crawl's log
        # (which is first depends on the order the answers arrive in)
        assert re.search(r"7 records rejected, first: hostile (matter|bill) 30[1-7]\b", line)
        for mid in range(301, 308):
            assert re.search(rf"rejected: hostile (matter|bill) {mid}\b", first.stderr), mid
        # the cuts are named too (the long title and its raw copy; the placeholder date)
        assert "records stored with a field cut, first: hostile bill" in line
        assert f"title: {HUGE} characters cut to {TEXT_LIMIT}" in first.stderr
        assert "passed_date: date 9999-12-31 outside 1800-2200 dropped" in first.stderr

        (run,) = runs(engine, "hostile")
        assert (run.status, run.seen, run.new, run.errors) == ("partial", len(stored_ids), len(stored_ids), 7)
        assert re.match(r"7 records rejected, first: hostile (matter|bill) 30[1-7]\b", run.message)

        with session_scope(engine) as s:
            bills = {b.source_id: b for b in s.scalars(select(Bill))}
            assert set(bills) == {str(m) for m in stored_ids}
            for mid, (_, expected) in CLEANED.items():
                if expected is not None:
                    assert bills[str(mid)].title == expected
            assert bills["102"].title == "Escapes [2J]8;;http://xlink]8;; bell del"
            assert bills[str(BAD_UTF8)].title == "Invalid \ufffd\ufffd UTF-8 \ufffd( bytes"
            long = bills[str(LONG)]
            assert len(long.title) == TEXT_LIMIT and long.title.startswith(NEWS)
            assert long.raw[CUT_KEY] == {"title": HUGE}
            assert len(long.raw["MatterTitle"]) == TEXT_LIMIT
            assert bills["401"].passed_date is None and bills["401"].introduced is not None
            assert bills[str(10**25)].raw["MatterEXLink"] == "inf"
            names = set(s.scalars(select(Sponsor.name)))
            assert names == {"Councilmember [31mRed[0m"}
            everything = [
                v
                for b in bills.values()
                for v in (b.title, b.identifier, b.status, json.dumps(b.raw, ensure_ascii=False))
                if v
            ]
            assert not any(
                re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]", v)
                for v in everything
            )
            assert s.scalar(select(func.count()).select_from(Action)) == len(stored_ids)
            # the matcher read the capped title: the long bill is relevant, with evidence inside the cap
            match = s.scalar(select(BillMatch).where(BillMatch.bill_id == long.id))
            assert match.relevant and "sanctuary_declaration" in match.categories

        # A second crawl of the same portal works the same way (nothing stored twice).
        second = run_tracker("--config", str(cfg), "crawl")
        assert "Traceback" not in second.stderr and second.returncode == 1
        assert _line(second).startswith(
            f"hostile: partial (full) - {len(stored_ids)} bills seen, 0 new, 0 changed"
        )

        # Once the portal corrects its records, the crawl succeeds and stores them.
        server.routes = {p.lower(): (200, "application/json", b) for p, b in _routes(fixed=True).items()}
        third = run_tracker("--config", str(cfg), "crawl")
        assert third.returncode == 0, third.stdout + third.stderr
        assert _line(third).startswith(f"hostile: succeeded (full) - {len(stored_ids) + 7} bills seen, 7 new")
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == len(stored_ids) + 7
    assert [r.status for r in runs(engine, "hostile")] == ["partial", "partial", "succeeded"]


def test_the_boundary_is_shared_by_other_platforms(tmp_path, db_url, engine):
    """eLMS normalizes in its own parser (tracker/platforms/elms.py); the stage pipeline cleans its records
    the same way: NUL and escapes removed, the long title cut and recorded, absurd dates dropped."""
    with ElmsServer() as server:
        ids = list(server.matters)
        server.update(ids[0], title="Sanctuary\u0000 city \u001b[2Jordinance\u0085")
        server.update(ids[1], title="Budget " + "y" * HUGE, filingSponsor="Hart\u0007, Eleanor")
        server.update(ids[2], controllingBody="Committee \u009d on \ud800 Finance")
        cfg = write_config(tmp_path / "t.toml", [elms_entry(server)], database_url=db_url, crawl=CRAWL)
        result = run_tracker("--config", str(cfg), "crawl")
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("chicago:")]
    assert line.startswith(f"chicago: succeeded (full) - {len(ids)} bills seen, {len(ids)} new")
    assert "1 records stored with a field cut, first: chicago bill" in line
    with session_scope(engine) as s:
        bills = {b.source_id: b for b in s.scalars(select(Bill))}
        assert len(bills) == len(ids)
        assert bills[ids[0]].title == "Sanctuary city [2Jordinance\u2026"
        assert len(bills[ids[1]].title) == TEXT_LIMIT and bills[ids[1]].raw[CUT_KEY] == {"title": HUGE + 7}
        assert bills[ids[2]].body_name == "Committee on Finance"
        assert "\x07" not in "".join(s.scalars(select(Sponsor.name)))


def _offline_city(tmp_path, db_url):
    """The configured city "hostile" on a portal address nothing answers (for imports of staged records)."""
    from tracker.config import load_config

    city = {
        "slug": "hostile",
        "name": "Hostile City",
        "platform": "legistar",
        "client": "hostile",
        "api_base": "http://127.0.0.1:9/v1",
    }
    (jurisdiction,) = load_config(
        write_config(tmp_path / "t.toml", [city], database_url=db_url)
    ).jurisdictions
    return jurisdiction


def test_a_record_the_database_refuses_fails_only_itself(tmp_path, db_url, engine):
    """The importer stores each batch in a savepoint; a batch the database refuses is stored again record
    by record, so a record that got past the boundary but breaks a constraint is named and skipped, and the
    city's other bills (and their events and matches) are stored, on both engines."""

    from crawler.jobs import CrawlJob
    from db.models import StatusChange
    from tests.factories import normalized_bill
    from tracker.contract import NormalizedBill
    from tracker.store import import_job

    def bill(sid: str, stage: str | None = "introduced") -> NormalizedBill:
        # hostile: a stage of None where the contract has a str
        b = normalized_bill(sid, title=f"{NEWS} {sid}", stage=stage)
        b.content_hash = f"hash-{sid}"
        return b

    jurisdiction = _offline_city(tmp_path, db_url)
    stage = tmp_path / "hostile.jsonl"
    # a bill without a stage breaks the NOT NULL constraint of bills.stage, in the middle of a batch
    stage.write_text("".join(b.to_json() + "\n" for b in [bill("1"), bill("2", None), bill("3")]))
    job = CrawlJob(
        jurisdiction=jurisdiction, mode="track", started_at=utc_now(seconds=False), stage_path=stage
    )

    summary = import_job(engine, job, requests=4)
    assert (summary.status, summary.seen, summary.new, summary.errors) == ("partial", 2, 2, 1)
    assert summary.message.startswith("1 records rejected, first: hostile bill '2': the database refused it")
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(Bill.source_id))) == ["1", "3"]
        assert s.scalar(select(func.count()).select_from(StatusChange)) == 2
        assert s.scalar(select(func.count()).select_from(BillMatch)) == 2
    assert [r.status for r in runs(engine, "hostile")] == ["partial"]


def test_an_id_with_control_characters_is_rejected_not_merged_into_another_bill(tmp_path, db_url, engine):
    """eLMS ids that differ from a real one only by a NUL or an ESC were cleaned into that id, and the twin
    overwrote the real bill, flipping it back and forth on every crawl (until 2026-12-07). An id is compared,
    not read: one holding control characters rejects its record, named."""
    with ElmsServer() as server:
        ids = list(server.matters)
        real = ids[0]
        for twin in (real + "\u0000", real + "\u001b"):
            server.matters[twin] = {**copy.deepcopy(server.matters[real]), "matterId": twin, "title": "TWIN"}
        cfg = write_config(tmp_path / "t.toml", [elms_entry(server)], database_url=db_url, crawl=CRAWL)
        result = run_tracker("--config", str(cfg), "crawl")
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("chicago:")]
    assert line.startswith("chicago: partial (full)") and "2 records rejected" in line, line
    assert "holds control characters" in line and "\x00" not in line and "\x1b" not in line, line
    with session_scope(engine) as s:
        bills = {b.source_id: b for b in s.scalars(select(Bill))}
    assert set(bills) == set(ids) and bills[real].title != "TWIN"


def test_a_record_without_title_file_number_or_status_does_not_erase_them(tmp_path, db_url, engine, caplog):
    """A portal that sends a stored bill again with its title, file number or status empty (a glitch of the
    portal, seen as ``"MatterTitle": null``) keeps the stored values: the bill stays on the list under its
    title, no status change "to nothing" is recorded, the crawl succeeds and the kept fields are logged. The
    other fields of the record are stored, and a later record with a real title replaces it as usual."""

    from crawler.jobs import CrawlJob
    from db.models import StatusChange
    from tests.factories import normalized_bill
    from tracker.store import import_job

    jurisdiction = _offline_city(tmp_path, db_url)

    def crawl(n: int, **fields):
        bill = normalized_bill("7", **fields)
        bill.content_hash = f"hash-{n}"
        stage = tmp_path / f"crawl{n}.jsonl"
        stage.write_text(bill.to_json() + "\n")
        job = CrawlJob(
            jurisdiction=jurisdiction, mode="track", started_at=utc_now(seconds=False), stage_path=stage
        )
        return import_job(engine, job, requests=1)

    def stored():
        with session_scope(engine) as s:
            b = s.scalars(select(Bill)).one()
            changes = [(c.old_status, c.new_status) for c in s.scalars(select(StatusChange).order_by("id"))]
            matched = s.scalar(select(func.count()).select_from(BillMatch).where(BillMatch.relevant))
            return b.title, b.identifier, b.status, b.stage, b.type_name, changes, matched

    first = crawl(1, title=NEWS, status="Adopted", stage="passed", type_name="Ordinance")
    assert first.status == "succeeded"
    assert stored() == (NEWS, "F-7", "Adopted", "passed", "Ordinance", [(None, "Adopted")], 1)

    with caplog.at_level("WARNING", logger="tracker.store"):
        glitch = crawl(2, title=None, identifier=None, status=None, stage="other", type_name="Resolution")
    assert (glitch.status, glitch.changed) == ("succeeded", 1)
    # the other fields are stored; the three named ones are kept
    assert stored() == (NEWS, "F-7", "Adopted", "passed", "Resolution", [(None, "Adopted")], 1)
    (line,) = [r.getMessage() for r in caplog.records if "stored values are kept" in r.getMessage()]
    assert line.startswith("hostile: the portal sent 1 stored bill(s) without a title, file number or status")
    assert "'7' (title, identifier, status)" in line

    again = crawl(2, title=None, identifier=None, status=None, stage="other", type_name="Resolution")
    assert (again.status, again.changed) == ("succeeded", 0)  # the same record again is no change

    fixed = crawl(3, title="Ordinance about parking meters", status="Filed", stage="failed")
    assert fixed.status == "succeeded"
    title, identifier, status, stage, _, changes, matched = stored()
    assert (title, identifier, status, stage) == ("Ordinance about parking meters", "F-7", "Filed", "failed")
    assert changes == [(None, "Adopted"), ("Adopted", "Filed")]
    assert matched == 0
