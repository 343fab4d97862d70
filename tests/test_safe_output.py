"""Output safety (tracker/safe_output.py): arbitrary text through every renderer comes out inert and
well-formed (a Hypothesis property test: HTML templates, e-mail, Atom/XML, CSV, Markdown, terminal), and
the real commands print scraped text without its escape sequences, write formula-safe CSV, and answer a
bad id or a non-database file with one Error: line."""

from __future__ import annotations

import csv
import io
import re
from email import message_from_bytes
from email.policy import default as DEFAULT_POLICY
from xml.etree import ElementTree as ET

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from db.engine import session_scope
from tests import factories as f
from tests.conftest import run_tracker
from tracker.config import Email
from tracker.digests.channels import build_email
from tracker.safe_output import (
    MAX_INT_DIGITS,
    ascii_digits,
    csv_cell,
    json_text,
    parse_id,
    shown_text,
    terminal_text,
    xml_text,
)
from tracker.web.deps import templates
from tracker.web.queries.renderings import md_escape, to_csv

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Every code point but surrogates (they cannot be encoded), with the dangerous ones made likely.
NASTY = st.sampled_from(
    [
        "\x1b[2J",
        "\x1b]8;;http://e.example\x1b\\",
        "\x9b31m",
        "\x00",
        "\r",
        "\u202e",
        "=",
        "+",
        "-",
        "@",
        "<script>",
        "&",
        "]]>",
        "|",
        "[x](y)",
    ]
)
TEXT = st.lists(st.one_of(st.text(st.characters(exclude_categories=("Cs",))), NASTY), max_size=8).map("".join)
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # tab and line feed may stay
TERMINAL_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


@PROPERTY
@given(TEXT)
def test_terminal_text_is_inert_and_keeps_offsets(value):
    out = terminal_text(value)
    assert not TERMINAL_BAD.search(out) and len(out) == len(value)
    # JSON lines keep the data and are inert too
    import json

    line = json_text(json.dumps({"t": value}, ensure_ascii=False))
    assert json.loads(line) == {"t": value} and not TERMINAL_BAD.search(line)


@PROPERTY
@given(TEXT)
def test_xml_text_makes_a_well_formed_atom_document(value):
    feed = ET.Element("{http://www.w3.org/2005/Atom}feed")
    ET.SubElement(feed, "{http://www.w3.org/2005/Atom}title", {"label": xml_text(value)}).text = xml_text(
        value
    )
    data = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    parsed = ET.fromstring(data)
    expected = xml_text(value).replace("\r\n", "\n").replace("\r", "\n")  # XML's line-end rule
    assert (parsed[0].text or "") == expected


@PROPERTY
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_csv_cells_are_never_formulas(values):
    rows = [{f"c{i}": v for i, v in enumerate(values)}]
    out = to_csv(rows, [f"c{i}" for i in range(len(values))])
    (_header, row) = list(csv.reader(io.StringIO(out, newline="")))
    for cell, value in zip(row, values, strict=True):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert cell == shown_text(value) or cell == "'" + shown_text(value)
        assert not BIDI.search(cell)  # a right-to-left override never reverses the rest of a row
        assert not CONTROLS.search(cell)  # nor does a terminal escape act where the file is shown
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"


@PROPERTY
@given(TEXT)
def test_markdown_is_one_inert_line(value):
    out = md_escape(value)
    assert "\n" not in out and "\r" not in out
    assert not re.search(r"(?<!\\)[\[\]<>`|]", out)  # no link, HTML, code or table cell can open


@PROPERTY
@given(TEXT)
def test_html_pages_escape_everything(value):
    html = templates.get_template("error.html").render(
        request=None, user=None, csrf_token="", csrf_field=lambda: "", flashes=[], message=value
    )
    shown = str(escape(shown_text(value)))
    assert shown in html and not BIDI.search(html) and not CONTROLS.search(html)
    assert "<script>" not in html.replace(shown, "") or "<script>" not in value


@PROPERTY
@given(TEXT)
def test_email_bodies_carry_any_text(value):
    settings_ = Email(smtp_host="127.0.0.1", from_address="tracker@example.org", starttls=False)
    msg = build_email(settings_, "a@example.org", "Digest", value, f"<p>{escape(value)}</p>", "id1", f.T0)
    parsed = message_from_bytes(msg.as_bytes(), policy=DEFAULT_POLICY)
    assert parsed["Subject"] == "Digest" and parsed["To"] == "a@example.org"
    assert "<script>" not in parsed.get_body(("html",)).get_content()


def test_ascii_digits():
    assert ascii_digits("0") and ascii_digits("42") and ascii_digits("9" * MAX_INT_DIGITS)
    for bad in (
        "",
        "²",
        "\u0661\u0662",
        "\uff15",
        "4 2",
        "-1",
        "+1",
        "1e3",
        "1_000",
        " 7",
        "9" * (MAX_INT_DIGITS + 1),
    ):
        assert not ascii_digits(bad), bad


@PROPERTY
@given(
    st.text(alphabet=st.sampled_from("0123456789²³¹\u0661\u0662\uff15_ -+") | st.characters(), max_size=30)
)
def test_what_ascii_digits_admits_int_reads(text):
    if ascii_digits(text):
        assert int(text) >= 0


def test_parse_id():
    assert parse_id("42") == 42 and parse_id(" 7 ") == 7
    for bad in ("²", "١٢", "-1", "1e3", "4 2", "", "99999999999999999999", "2147483648"):
        assert parse_id(bad) is None, bad


# -- the real commands ---------------------------------------------------------------------------------

HOSTILE_TITLE = (
    '=HYPERLINK("http://e.example") ordinance on immigration detainers \x1b[2J'
    "\x1b]8;;http://e.example\x1b\\click\x1b]8;;\x1b\\ \x9b31m"
)


def test_commands_print_scraped_text_without_escape_sequences(sqlite_db):
    url, engine = sqlite_db
    with session_scope(engine) as s:
        b = f.bill(s, title=HOSTILE_TITLE, identifier="O2026-1")
        f.match(s, b)
        bill_id = b.id
    env = {"TRACKER_DATABASE_URL": url}
    outputs = []
    for args in (
        ("review", "show", str(bill_id)),
        ("review", "list"),
        ("review", "list", "--format", "jsonl"),
        ("review", "show", "--json", str(bill_id)),
        ("changes", "--include-first-seen"),
        ("changes", "--include-first-seen", "--format", "jsonl"),
    ):
        r = run_tracker(*args, env=env)
        assert r.returncode == 0, (args, r.stderr)
        assert not TERMINAL_BAD.search(r.stdout), args
        outputs.append(r.stdout)
    assert "ordinance on immigration detainers" in outputs[0]
    r = run_tracker("export", "--format", "csv", env=env)
    assert r.returncode == 0, r.stderr
    (row,) = list(csv.DictReader(io.StringIO(r.stdout)))
    assert row["title"].startswith("'=HYPERLINK(")


def test_bad_ids_and_a_non_database_file_are_one_error_line(sqlite_db, tmp_path):
    url, _engine = sqlite_db
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, just text " * 100)
    for args, env in (
        (("review", "show", "99999999999999999999999"), {"TRACKER_DATABASE_URL": url}),
        (("review", "show", "²"), {"TRACKER_DATABASE_URL": url}),
        (("digest", "release", "99999999999999999999"), {"TRACKER_DATABASE_URL": url}),
        (("documents", "show", "²"), {"TRACKER_DATABASE_URL": url}),
        (("review", "list"), {"TRACKER_DATABASE_URL": f"sqlite:///{junk}"}),
    ):
        r = run_tracker(*args, env=env)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_a_cron_that_never_fires_is_refused_at_load(tmp_path):
    from tests.conftest import write_config

    cfg = write_config(
        tmp_path / "t.toml",
        [{"slug": "nyc", "name": "NYC", "platform": "legistar", "client": "nyc", "crawl_cron": "0 0 31 2 *"}],
    )
    r = run_tracker("--config", str(cfg), "status")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "slug 'nyc'" in r.stderr and "never fires" in r.stderr
