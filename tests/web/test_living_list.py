"""The living list (/living-list, .csv, .md): the measures editors confirmed, by city and direction, with
stage, categories, last action and link; Markdown that a scraped title cannot turn into links or HTML; CSV
without formulas. Both engines."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from sqlalchemy import event

from tests.factories import DETAINERS, ESCAPED_XSS, FLOCK, GANG, PARKING, XSS, make_bill
from tracker.web.queries.renderings import md_escape, md_link

EVIL = (
    "[click](javascript:alert(1)) <img src=x onerror=alert(1)> a | b `code` ![i](http://x.example/i.png) "
    "**bold** _it_ www.evil.example http://evil.example/x <http://evil.example> &amp; # h \\ ~~s~~"
)


def decide(client, bill_id, action="confirm", **data):
    r = client.post(f"/review/{bill_id}/{action}", data={"csrf_token": client.csrf, **data})
    assert r.status_code == 303


@pytest.fixture
def listed(client, login, engine):
    """Confirmed: gang (Riverton, expands), flock (Riverton, restricts), detainers (Lakeside, expands);
    pending: a second gang bill; rejected: parking (added, then rejected)."""
    ids = {
        "gang": make_bill(
            engine,
            GANG,
            identifier="O2026-0053",
            stage="enacted",
            status="Adopted",
            actions=[(date(2026, 11, 2), "Introduced", None), (date(2026, 11, 20), "Adopted", None)],
        ),
        "flock": make_bill(engine, FLOCK, identifier="R2026-0007"),
        "detainers": make_bill(
            engine, DETAINERS, slug="lakeside", city="Lakeside County Board", identifier="26-0004"
        ),
        "pending": make_bill(engine, GANG + " (second reading)"),
        "parking": make_bill(engine, PARKING),
    }
    login(client, "editor")
    decide(client, ids["gang"])
    decide(client, ids["flock"])
    decide(client, ids["detainers"])
    decide(client, ids["parking"], "correct", categories="legal_defense")
    decide(client, ids["parking"], "reject")
    return ids


def test_the_living_list_has_confirmed_measures_by_city_and_direction(client, listed):
    r = client.get("/living-list")
    assert r.status_code == 200
    text = r.text
    assert "3 measures confirmed by editors" in text
    # cities by name, then directions in order: expands before restricts
    order = [text.index(s) for s in ("Lakeside County Board", "Riverton City Council")]
    assert order == sorted(order)
    riverton = text[text.index("<h2>Riverton City Council") :]
    assert (
        riverton.index("Expands sanctuary (1)")
        < riverton.index("O2026-0053")
        < riverton.index("Restricts sanctuary (1)")
        < riverton.index("R2026-0007")
    )
    assert "2026-11-20 Adopted" in text and "enacted" in text
    assert "second reading" not in text and PARKING not in text


def test_living_list_csv(client, listed):
    r = client.get("/living-list.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["city"], row["identifier"], row["direction"]) for row in rows] == [
        ("Lakeside County Board", "26-0004", "expands"),
        ("Riverton City Council", "O2026-0053", "expands"),
        ("Riverton City Council", "R2026-0007", "restricts"),
    ]
    gang = rows[1]
    assert (gang["stage"], gang["categories"], gang["last_action_date"], gang["last_action"]) == (
        "enacted",
        "gang_databases",
        "2026-11-20",
        "Adopted",
    )
    assert gang["url"].startswith("https://riverton.legistar.com/")
    lakeside = client.get("/living-list.csv?jurisdiction=lakeside").text
    assert len(list(csv.DictReader(io.StringIO(lakeside)))) == 1
    r = client.get("/living-list.csv?jurisdiction=atlantis")
    assert r.status_code == 400 and r.text.startswith("Error: no jurisdiction 'atlantis'")


def test_living_list_markdown(client, listed):
    r = client.get("/living-list.md")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    md = r.text
    assert md.startswith("# Sanctuary measures: the living list\n")
    assert "## Riverton City Council" in md and "### Restricts sanctuary (1)" in md
    line = next(x for x in md.splitlines() if "O2026" in x)
    assert line.startswith("| [O2026\\-0053](<https://riverton.legistar.com/LegislationDetail.aspx?ID=")
    assert "| enacted | Gang databases | 2026-11-20 Adopted | - |" in line  # no hearing ahead
    assert line.count("|") == 7  # one row, six cells


def test_living_list_markdown_is_dated_in_the_web_apps_zone(engine, web_config, login):
    """Like every page, not in UTC whatever [web] timezone says (until 2026-12-07)."""
    from fastapi.testclient import TestClient

    from tracker.web.app import create_app

    web = web_config.web.model_copy(update={"timezone": "Asia/Kolkata"})
    with TestClient(create_app(web_config.model_copy(update={"web": web}), engine=engine)) as client:
        login(client, "staff", username="kolkata")
        md = client.get("/living-list.md").text
    dated = next(x for x in md.splitlines() if " as of " in x)
    assert dated.endswith(" IST."), dated


def _unescaped(text: str, chars: str) -> list[str]:
    """Special characters of ``text`` not preceded by a backslash escape."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in chars:
            out.append(text[i])
        i += 1
    return out


def test_markdown_escapes_scraped_text():
    escaped = md_escape(EVIL + "\nsecond line\r\n| x |")
    assert "\n" not in escaped and "\r" not in escaped
    assert _unescaped(escaped, "[]()<>|`!*_&#\\~:") == []
    # the words survive
    assert re.sub(r"\\(.)", r"\1", escaped) == " ".join((EVIL + "\nsecond line\r\n| x |").split())
    assert md_link("O-1", "javascript:alert(1)") == "O\\-1"
    assert md_link("x]", "https://e.example/a>b\\c") == "[x\\]](<https://e.example/a%3Eb%5Cc>)"


def test_markdown_living_list_cannot_be_injected(client, login, engine):
    b = make_bill(engine, f"{GANG} {EVIL}", identifier="[x](javascript:alert(1))", public_url="javascript:x")
    login(client, "editor")
    decide(client, b)
    md = client.get("/living-list.md").text
    row = next(x for x in md.splitlines() if "gang" in x)
    cells = row.split(" | ")
    assert len(cells) == 6  # the title's pipe did not add a cell
    assert cells[0] == "| \\[x\\]\\(javascript\\:alert\\(1\\)\\)"  # no link: the URL is not http(s)
    assert _unescaped(cells[1], "[]()<>|`!*_&#~:") == []
    html = client.get("/living-list").text
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_living_list_escapes_html_and_csv_formulas(client, login, engine):
    b = make_bill(engine, f"=cmd|' /C calc'!A0 {GANG} {XSS}", identifier="@SUM(1)")
    login(client, "editor")
    decide(client, b)
    html = client.get("/living-list").text
    assert XSS not in html and ESCAPED_XSS in html
    row = next(csv.DictReader(io.StringIO(client.get("/living-list.csv").text)))
    assert row["title"].startswith("'=cmd") and row["identifier"] == "'@SUM(1)"


def test_the_living_list_costs_the_same_queries_for_2_or_12_measures(client, login, engine):
    """No query per measure (N+1) on the page or in its exports."""
    login(client, "editor")
    counts = []
    for batch in (2, 10):
        for i in range(batch):
            b = make_bill(engine, f"{GANG} {batch}-{i}", actions=[(None, "Introduced", None)])
            decide(client, b)
        n = {"queries": 0}

        def count(*_args, n=n, **_kwargs):
            n["queries"] += 1

        event.listen(engine, "before_cursor_execute", count)
        try:
            for path in ("/living-list", "/living-list.csv", "/living-list.md"):
                assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(n["queries"])
    assert counts[0] == counts[1]


def test_a_right_to_left_override_never_reverses_a_line(client, login, engine):
    """U+202E in a title ("\u202egnp.exe") showed the rest of the line reversed on the bill page, the
    living list and its Markdown and CSV (until 2026-12-07; the terminal already replaced it): now U+FFFD,
    as there. A title written to the database past the portal boundary (which removes them) with terminal
    escapes and a bell kept them in the CSV and Markdown files: they are removed there too."""
    title = DETAINERS + " \u202egnp.exe \u2066isolated\u2069 \x1b[31mRED\x1b[0m\x1b]0;pwned\x07"
    bill_id = make_bill(engine, title, identifier="O2026-0099")
    login(client, "editor")
    decide(client, bill_id)
    for path in (
        f"/bills/{bill_id}",
        "/living-list",
        "/living-list.md",
        "/living-list.csv",
        "/review?state=confirmed",
    ):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "\ufffdgnp" in r.text, path
        assert not re.search("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", r.text), path
        assert "RED" in r.text, path
