"""A portal that fails: retried with backoff when transient, and when it keeps failing the crawl fails,
the store is unchanged and the incremental watermark stays where it was. Also: malformed records,
interrupted crawls, two crawls of one jurisdiction at once, and tokens that never leak."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from db.engine import session_scope
from db.models import Bill, StatusChange
from tests.clock import wait_for
from tests.conftest import REPO, run_tracker
from tests.portal import portal_config as _portal_config
from tests.portal import portal_statuses, runs, store_fingerprint, stored_statuses
from tracker.demo import LegistarPortalServer

# These crawls test the matters' crawl and count its requests: they read no meetings (the demo portal's
# meetings and the Legistar events are tested in tests/platforms/test_legistar_meetings_crawl.py).
NO_MEETINGS = {"meetings_ahead_days": 0, "meetings_back_days": 0}


def portal_config(*args, crawl: dict | None = None, **kw):
    return _portal_config(*args, crawl={**NO_MEETINGS, **(crawl or {})}, **kw)


FAULTS = [
    ("500", r"/riverton/matters/\d+/histories", {}),
    ("503", r"/riverton/matters/\d+/sponsors", {"retry_after": 0.1}),
    ("429", r"/riverton/matters$", {"retry_after": 0.1}),
    ("html200", r"/riverton/matters/\d+/histories", {}),
    ("truncated", r"/riverton/matters$", {}),
    ("disconnect", r"/riverton/matters/\d+/attachments", {}),
    ("hang", r"/riverton/matters/\d+/histories", {"delay": 3.0}),
]
EXPECTED_REASON = {
    "500": "HTTP 500",
    "503": "HTTP 503",
    "429": "HTTP 429",
    "html200": "expected JSON, got an HTML page",
    "truncated": "invalid or truncated JSON",
    "disconnect": "Response",  # ResponseFailed or ResponseDataLossError, by when the cut is noticed
    "hang": "TimeoutError",
}


def crawl(cfg, *args, env=None):
    return run_tracker("--config", str(cfg), *args, "crawl", env=env)


def _config(tmp_path, server, portal, db_url, **crawl_settings):
    settings = {"download_timeout": 1.0, "retries": 2, "backoff_base": 0.05, "backoff_max": 1.0}
    settings.update(crawl_settings)
    return portal_config(
        tmp_path / "t.toml", server, portal, db_url, clients=["riverton", "portalder"], crawl=settings
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("kind", "path", "options"), FAULTS, ids=[f[0] for f in FAULTS])
def test_persistent_fault_leaves_store_and_watermark_unchanged(
    tmp_path, db_url, engine, portal, server, kind, path, options
):
    cfg = _config(tmp_path, server, portal, db_url)
    assert crawl(cfg).returncode == 0
    watermark = runs(engine, "riverton")[-1].started_at
    portal.advance(days=14)
    fingerprint = store_fingerprint(engine)
    server.add_fault(path, kind, times=None, **options)

    result = crawl(cfg)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("riverton"))
    assert line.startswith("riverton: failed (incremental) - 0 bills seen")
    assert EXPECTED_REASON[kind] in line
    assert re.search(r"from http://127\.0\.0\.1:\d+/v1/riverton/matters", line)
    assert result.stderr.strip().splitlines()[-1] == "Error: crawl did not succeed for riverton"
    assert "Traceback" not in result.stderr
    # The other jurisdiction of the same run is imported.
    assert re.search(r"^portalder: succeeded \(incremental\) - \d+ bills seen", result.stdout, re.M)
    # Riverton's store is as it was; the failed crawl is recorded; the watermark did not move.
    after = store_fingerprint(engine)
    riverton_bills = {row[0] for row in fingerprint[0] if row[1] in stored_statuses(engine, "riverton")}
    assert [r for r in after[0] if r[0] in riverton_bills] == [
        r for r in fingerprint[0] if r[0] in riverton_bills
    ]
    last = runs(engine, "riverton")[-1]
    assert last.status == "failed" and last.requests > 0
    assert max(r.started_at for r in runs(engine, "riverton") if r.status == "succeeded") == watermark

    server.clear_faults()
    recovered = crawl(cfg)
    assert recovered.returncode == 0, recovered.stdout
    assert (
        stored_statuses(engine, "riverton") == portal_statuses(portal, "riverton")
        or "(incremental)" in recovered.stdout
    )
    assert runs(engine, "riverton")[-1].since == runs(engine, "riverton")[-2].since  # same window, retried


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_transient_faults_are_retried_with_backoff_honouring_retry_after(
    tmp_path, db_url, engine, portal, server
):
    cfg = _config(tmp_path, server, portal, db_url, retries=3)
    for kind, path, options in FAULTS:
        server.add_fault(path, kind, times=1, **{**options, "retry_after": 1} if kind == "429" else options)
    result = crawl(cfg, "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    for c in ("riverton", "portalder"):
        assert stored_statuses(engine, c) == portal_statuses(portal, c)
    retries = re.findall(r"retry \d/3 in ([\d.]+)s: (.+?) from http", result.stderr)
    reasons = " | ".join(reason for _, reason in retries)
    assert len(retries) == len(FAULTS), result.stderr
    for kind, expected in EXPECTED_REASON.items():
        assert expected in reasons, kind
    delay_429 = next(float(d) for d, r in retries if r == "HTTP 429")
    assert delay_429 >= 1.0  # the Retry-After header wins over the shorter backoff


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_malformed_record_is_skipped_named_and_holds_the_watermark(tmp_path, db_url, engine, portal, server):
    cfg = _config(tmp_path, server, portal, db_url)
    assert crawl(cfg).returncode == 0
    client = portal.client("riverton")
    bad = client.matter_rows()[0]["MatterId"]
    good = client.matter_rows()[1]["MatterId"]
    client.edit_matter(bad, MatterIntroDate="2024-13-45T00:00:00", MatterTitle="Changed title")
    client.edit_matter(good, MatterTitle="A corrected title")
    result = crawl(cfg)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("riverton"))
    assert line.startswith("riverton: partial (incremental)")
    problem = f"riverton matter {bad}: MatterIntroDate: malformed date '2024-13-45T00:00:00'"
    assert f"1 records rejected, first: {problem}" in line
    with session_scope(engine) as s:
        titles = dict(
            s.execute(
                select(Bill.source_id, Bill.title).where(Bill.source_id.in_([str(bad), str(good)]))
            ).all()
        )
    assert titles[str(good)] == "A corrected title"  # the rest is imported
    assert titles[str(bad)] != "Changed title"  # the bad record is not, and its stored version is kept
    # The partial crawl did not move the watermark: the next crawl asks for the same window again.
    assert crawl(cfg).returncode == 1
    history = runs(engine, "riverton")
    assert [r.status for r in history] == ["succeeded", "partial", "partial"]
    assert history[2].since == history[1].since == history[0].started_at - timedelta(hours=24)


# Every fault on SQLite; on PostgreSQL the one whose bill is kept from a multi-row store (histories).
@pytest.mark.parametrize(
    ("db_url", "kind", "sub"),
    [
        ("sqlite", "500", "histories"),
        ("sqlite", "truncated", "sponsors"),
        ("sqlite", "hostile404", "attachments"),
        ("postgresql", "500", "histories"),
    ],
    indirect=["db_url"],
)
def test_one_matter_that_fails_for_good_fails_only_itself(
    tmp_path, db_url, engine, portal, server, kind, sub
):
    """One matter's histories, sponsors or attachment list answering an error for good failed the whole
    city's crawl, every time, so no other change arrived (until 2026-12-07). Now that bill is kept as stored
    and named, the others are imported, and the watermark stays until it can be read."""
    cfg = _config(tmp_path, server, portal, db_url)
    assert crawl(cfg).returncode == 0
    client = portal.client("riverton")
    bad = client.matter_rows()[0]["MatterId"]
    good = client.matter_rows()[1]["MatterId"]
    client.edit_matter(bad, MatterTitle="A change that cannot be read yet")
    client.edit_matter(good, MatterTitle="A corrected title")
    # the portal's error text carries a NUL and escape sequences: never stored, logged or printed raw
    server.add_fault(rf"/riverton/matters/{bad}/{sub}$", kind, times=None)

    result = crawl(cfg)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("riverton"))
    assert line.startswith("riverton: partial (incremental)"), line
    assert f"first: riverton: matter {bad} not read: " in line, line
    for raw in ("\x00", "\x1b", "\x9b", "\x07"):
        assert raw not in result.stdout + result.stderr, raw
    assert re.search(r"^portalder: succeeded", result.stdout, re.M)
    with session_scope(engine) as s:
        titles = dict(
            s.execute(
                select(Bill.source_id, Bill.title).where(Bill.source_id.in_([str(bad), str(good)]))
            ).all()
        )
    assert titles[str(good)] == "A corrected title"  # the others are imported
    assert titles[str(bad)] != "A change that cannot be read yet"  # kept as stored
    last = runs(engine, "riverton")[-1]
    assert (
        last.status == "partial" and "\x00" not in (last.message or "") and "\x1b" not in (last.message or "")
    )

    server.clear_faults()
    assert crawl(cfg).returncode == 0
    with session_scope(engine) as s:
        assert (
            s.scalar(select(Bill.title).where(Bill.source_id == str(bad)))
            == "A change that cannot be read yet"
        )
    history = runs(engine, "riverton")
    assert history[-1].since == history[-2].since  # the same window, asked again


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_portal_that_ignores_skip_fails_its_listing_at_once(tmp_path, db_url, engine, portal, server):
    """A Legistar listing that answers its first page whatever $skip says made the crawl page on forever
    (9,852 requests in 90 s, until its time limit killed it and every other city of the run) until
    2026-12-07. Now the first page that gives no new matter fails that city's listing, with one line; the
    meetings listing and the members stop the same way, as warnings."""
    cfg = portal_config(
        tmp_path / "t.toml", server, portal, db_url, clients=["riverton", "portalder"],
        crawl={"page_size": 20, "meetings_ahead_days": 60, "meetings_back_days": 14, "processes": 2},
    )  # fmt: skip
    server.add_fault(r"/riverton/matters$", "ignore-skip", times=None)
    server.add_fault(r"/portalder/(events|officerecords)$", "ignore-skip", times=None)
    result = run_tracker("--config", str(cfg), "crawl", "--full")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("riverton"))
    assert line.startswith("riverton: failed (full) - 0 bills seen"), line
    assert "the matters listing repeats itself at $skip=20" in line, line
    assert result.stderr.count("the matters listing repeats itself") == 1, result.stderr  # not once a process
    listing = [r for r in server.iter_requests(r"/riverton/matters$")]
    assert len(listing) == 4, len(listing)  # each process: the first page, and the one that repeated it
    portalder = next(x for x in result.stdout.splitlines() if x.startswith("portalder"))
    assert portalder.startswith("portalder: partial (full)"), portalder  # its bills imported, with warnings
    assert (
        "the events listing repeats itself" in portalder or "the office records listing repeats" in portalder
    )
    assert len(list(server.iter_requests(r"/portalder/events$"))) <= 2
    assert len(list(server.iter_requests(r"/portalder/officerecords$"))) <= 2
    assert stored_statuses(engine, "portalder") == portal_statuses(portal, "portalder")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_interrupted_crawl_imports_nothing(tmp_path, db_url, engine, portal, server):
    cfg = _config(tmp_path, server, portal, db_url)
    run_tracker("--config", str(cfg), "init")
    server.latency = 0.2
    child = subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(cfg), "crawl"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(
        lambda: server.request_count >= 20 or child.poll() is not None, 60, what="20 requests of the crawl"
    )
    assert child.poll() is None, child.communicate()  # still crawling when interrupted
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 1, err
    assert "riverton: interrupted (full)" in out and "crawl stopped by SIGINT" in out
    made = re.search(r"^riverton: interrupted .* (\d+) requests", out, re.M)
    assert made and int(made.group(1)) > 0, out  # the requests it made (it said 0 until 2026-12-07)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == 0
    assert [r.status for r in runs(engine, "riverton")] == ["interrupted"]


@pytest.mark.parametrize("first", [True, False], ids=["first-crawl", "after-change"])
def test_two_crawls_of_one_jurisdiction_at_once(tmp_path, db_url, engine, portal, server, first):
    cfg = _config(tmp_path, server, portal, db_url)
    if not first:
        assert crawl(cfg).returncode == 0
        portal.advance(days=14)
    server.latency = 0.01
    cmd = [sys.executable, "-m", "tracker", "--config", str(cfg), "crawl"]
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    children = [
        subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outputs = [c.communicate(timeout=120) for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    for c in ("riverton", "portalder"):
        assert stored_statuses(engine, c) == portal_statuses(portal, c)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == sum(
            len(portal_statuses(portal, c)) for c in ("riverton", "portalder")
        )
        duplicates = s.execute(
            select(StatusChange.bill_id, StatusChange.new_status, func.count())
            .group_by(StatusChange.bill_id, StatusChange.new_status, StatusChange.old_status)
            .having(func.count() > 1)
        ).all()
        assert duplicates == []
        first_seen = s.scalar(select(func.count()).where(StatusChange.kind == "first_seen"))
        assert first_seen == s.scalar(select(func.count()).select_from(Bill))


TOKEN = "tok-9f8e7d6c5b4a-SECRET"


def _token_config(tmp_path, server, portal, db_url, **kwargs):
    """Riverton alone, its token read from RIVERTON_TOKEN."""
    extra = {"riverton": {"token_env": "RIVERTON_TOKEN"}}
    cfg = tmp_path / "t.toml"
    return portal_config(cfg, server, portal, db_url, clients=["riverton"], extra=extra, **kwargs)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_url_on_the_wire_is_the_one_scrapy_escaped(tmp_path, db_url, portal):
    """The portal gets Scrapy's escaping byte for byte, the incremental filter's quotes and the token too.
    A client that requotes URLs would not (aiohttp's yarl turns %27 back into ' and a token's %2F into /:
    Scrapy's aiohttp download handler, tried for crawl cost, failed this test until each request asked for
    ``verbatim_url``; docs/architecture.md)."""
    token = "a/b+c=d'"
    with LegistarPortalServer(portal, tokens={"riverton": token}) as server:
        cfg = _token_config(tmp_path, server, portal, db_url)
        env = {"RIVERTON_TOKEN": token}
        assert crawl(cfg, env=env).returncode == 0
        server.reset_requests()
        portal.advance(days=1)
        again = crawl(cfg, env=env)
        assert again.returncode == 0, again.stdout + again.stderr[-2000:]
        assert "(incremental)" in again.stdout
        targets = [t for t in server.targets if "/riverton/" in t]
        listing = [t for t in targets if "$filter=" in t and "/matters?" in t]
        assert listing, targets
        assert all("datetime%27" in t and "'" not in t for t in listing), listing
        assert all(t.endswith("token=a%2Fb%2Bc%3Dd%27") for t in targets), targets
        assert all(r.query.get("token") == token for r in server.requests if "/riverton/" in r.path)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_token_is_sent_but_never_logged_printed_or_stored(tmp_path, db_url, engine, portal):
    with LegistarPortalServer(portal, tokens={"riverton": TOKEN}) as server:
        cfg = _token_config(tmp_path, server, portal, db_url, crawl={"retries": 1, "backoff_base": 0.01})
        missing = crawl(cfg)
        assert missing.returncode == 1
        assert "riverton: failed (full)" in missing.stdout
        assert "environment variable RIVERTON_TOKEN (token_env) is not set" in missing.stdout

        ok = crawl(cfg, "-vv", env={"RIVERTON_TOKEN": TOKEN})
        assert ok.returncode == 0, ok.stderr[-2000:]
        assert "Crawled (200)" in ok.stderr  # debug logging of every request was on
        assert all(q.get("token") == TOKEN for p, q in server.requests if "/riverton/" in p)

        server.add_fault(r"/riverton/matters$", "500", times=None)
        failing = run_tracker("--config", str(cfg), "-vv", "crawl", "--full", env={"RIVERTON_TOKEN": TOKEN})
        assert failing.returncode == 1
        assert "HTTP 500 from http://127.0.0.1" in failing.stdout
    for output in (missing, ok, failing):
        assert TOKEN not in output.stdout and TOKEN not in output.stderr
    with engine.connect() as conn:
        for table, column in [
            ("bills", "source_url"),
            ("bills", "raw"),
            ("crawl_runs", "message"),
            ("actions", "raw"),
        ]:
            hits = conn.execute(
                text(f"select count(*) from {table} where cast({column} as text) like :t"),
                {"t": f"%{TOKEN}%"},
            )
            assert hits.scalar() == 0
