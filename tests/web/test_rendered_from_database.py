"""Property test (Hypothesis) through the database-backed path, on SQLite and PostgreSQL: arbitrary text is
made safe at the normalizer boundary (tracker.sanitize.clean_text), stored as a bill's title (a matched bill
in the review queue, sent in an immediate digest), and then read back by the real outputs: the bill page
(FastAPI TestClient), `tracker export --format csv` (the CLI function, in process), the subscriber's Atom
feed route and the terminal `tracker review show`. Every one is well-formed and inert: no unescaped
``<script`` in the page, a feed that parses as XML, formula-safe CSV cells, no ESC or other control
character on the terminal. The renderers alone have their own properties in tests/test_safe_output.py."""

from __future__ import annotations

import csv
import gc
import io
import itertools
import re
import warnings
from datetime import timedelta
from xml.etree import ElementTree as ET

from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from db.engine import session_scope
from tests import factories as f
from tests.digests import helpers as h
from tracker.cli import cli
from tracker.digests.outbox import send_due
from tracker.safe_output import csv_cell
from tracker.sanitize import clean_text

ATOM = "{http://www.w3.org/2005/Atom}"
FORMULA = ("=", "+", "-", "@", "\t", "\r")
# what a terminal would act on: C0 controls but tab and newline, DEL, C1 controls (ESC among them)
TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT src=//evil.example/x.js>",
    "</title><script>",
    '"><img src=x onerror=alert(1)>',
    "]]><x>",
    "&amp;&#0;&lt;",
    '=HYPERLINK("http://evil.example")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "\t=1",
    "\x00",
    "\x1b[2J",
    "\x1b]8;;http://evil.example\x07link\x1b]8;;\x07",
    "\x07",
    "\x9b31m",
    "\x85",
    "\ud800",
    "\ufffe",
    "\u202e",
    "\r\n",
    "Ordinance on immigration detainers",
]
any_char = st.characters(exclude_categories=())
pieces = st.one_of(st.text(any_char, max_size=20), st.sampled_from(HOSTILE))
titles = st.lists(pieces, min_size=1, max_size=8).map("".join)

_days = itertools.count(1)


def _tracker(*args: str):
    """The `tracker` command's function in this process (a child process per example would be slow). Each
    command makes its own engine and leaves it to the process's exit: collected here, quietly. What was
    alive before the command is frozen out of that collection (``gc.freeze``): a full collection of this
    process's heap took 0.4 s of CPU, most of this test's time; the command's own garbage is what is new."""
    gc.freeze()
    try:
        done = CliRunner().invoke(cli, list(args))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    finally:
        gc.unfreeze()
    assert done.exit_code == 0, done.output
    return done.stdout


def _page_scripts(client: TestClient, bill_id: int) -> int:
    r = client.get(f"/bills/{bill_id}")
    assert r.status_code == 200, r.text[:300]
    return r.text.lower().count("<script")


@given(raw=titles)
@example(raw='=HYPERLINK("http://evil.example")<script>alert(1)</script>\x1b[2J\x00\x9b31m]]>&#0;')
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_stored_title_renders_inert_everywhere(client, login, engine, web_config, tmp_path, raw):
    title = clean_text(raw)  # what the normalizer boundary stores
    assume(title)
    if not getattr(client, "csrf", None):  # the fixtures are shared by the examples: set up once
        login(client, "staff", username="ana", email="ana@example.org")
        with session_scope(engine) as s:
            h.subscribe(s, web_config, "ana@example.org", starts_at=f.T0, email_enabled=False)
            plain = f.bill(s, title="A plain title")
            s.flush()
            client.plain_id = plain.id
        page = client.post("/subscriptions/feed-token", data={"csrf_token": client.csrf})
        (client.feed,) = re.findall(r'id="feed-url">http://testserver(/feeds/[^<]+\.atom)<', page.text)
        client.toml = h.write_toml(tmp_path / "tracker.toml", web_config)
    day = f.T0 + timedelta(days=next(_days))
    with session_scope(engine) as s:
        bill = f.bill(s, title=title, first_seen=day + timedelta(minutes=5))
        f.match(s, bill)
        s.flush()
        bill_id, identifier = bill.id, bill.identifier
    send_due(engine, web_config, day + timedelta(hours=1))

    # the bill page: escaped by the templates (as many <script tags as a page with a plain title)
    assert _page_scripts(client, bill_id) == _page_scripts(client, client.plain_id)

    # the Atom feed: well-formed XML holding this digest's bill
    feed = TestClient(client.app).get(client.feed)
    assert feed.status_code == 200
    root = ET.fromstring(feed.content)
    entries = "".join(e.findtext(f"{ATOM}content") or "" for e in root.iter(f"{ATOM}entry"))
    assert identifier in entries
    assert not TERMINAL_CONTROL.search(feed.content.decode())

    # tracker export --format csv: every cell formula-safe, the title as csv_cell writes it
    rows = list(
        csv.DictReader(io.StringIO(_tracker("--config", str(client.toml), "export", "--format", "csv")))
    )
    for row in rows:
        for cell in row.values():
            assert not (cell or "").startswith(FORMULA), cell
    (mine,) = [r for r in rows if r["identifier"] == identifier]
    assert mine["title"] == csv_cell(title)

    # tracker review show: nothing a terminal acts on
    shown = _tracker("--config", str(client.toml), "review", "show", str(bill_id))
    assert identifier in shown
    assert not TERMINAL_CONTROL.search(shown)
