"""The command line (the real ``tracker`` command in a child process) given bytes that are not UTF-8 and
numbers no database holds: one ``Error:`` line and a non-zero exit (2 for usage errors), never a traceback.

- An argument with bytes that are not UTF-8 (Python hands them over as lone surrogates, which the database,
  URLs and the learned layer refuse) is refused by ``tracker`` itself before any command runs; UTF-8
  arguments, accented ones too, are untouched.
- ``classify`` reading standard input, and ``evaluate`` reading its CSV, say the input is not UTF-8 text,
  as ``classify --file`` does.
- ``--limit`` options are bounded (1 to 1,000,000).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_tracker, write_config

NOT_UTF8 = os.fsdecode(b"\xff")  # what Python makes of the byte 0xff in an argument: '\udcff'


@pytest.fixture
def cli(tmp_path, db_url, engine):
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)

    def run(*args: str):
        return run_tracker("--config", str(cfg), *args, env={"TRACKER_EDITOR": "alice"})

    return run


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("review", "show", f"riverton:{NOT_UTF8}"), "riverton:\\xff"),
        (("review", "note", "riverton:O2026-0053", NOT_UTF8), "\\xff"),
        (("subscriptions", "add", "x@example.org", "--search", f"ICE {NOT_UTF8}"), "ICE \\xff"),
        (("track", f"http://{NOT_UTF8}/"), "http://\\xff/"),
        (("classify", f"ICE {NOT_UTF8} detainer"), "ICE \\xff detainer"),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # refused before any query
def test_an_argument_that_is_not_utf8_is_a_usage_error(cli, args, shown):
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"Error: an argument is not UTF-8 text: '{shown}'\n"
    assert done.stdout == ""


def test_utf8_arguments_with_accents_still_work(cli):
    done = cli("classify", "--rules-only", "Café détention ICE")
    assert done.returncode == 0, done.stderr
    assert "Café détention ICE" in done.stdout


def _classify_stdin(data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tracker", "classify"],
        input=data,
        capture_output=True,
        timeout=120,
        cwd=str(REPO),
        check=False,
    )


def test_classify_standard_input_that_is_not_utf8_is_one_error_line():
    for data in (b"\xff\xfe\x00", b"ICE detainer\nCaf\xe9\n"):
        done = _classify_stdin(data)
        assert done.returncode == 1, done.stderr
        assert done.stderr == b"Error: standard input: not UTF-8 text\n"
    ok = _classify_stdin("Café détention\nICE detainer\n".encode())
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.decode().splitlines()) == 2 and "Café détention" in ok.stdout.decode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # refused before any query
def test_evaluate_a_csv_that_is_not_utf8_is_one_error_line(cli, tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(
        b"title,relevant,category,direction\nCaf\xe9 ICE detainer,1,detainers_warrants,expands\n"
    )
    done = cli("evaluate", "--rules-only", str(path))
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"Error: {path}: not UTF-8 text\n"


@pytest.mark.parametrize(
    "args",
    [
        ("documents", "fetch", "--limit", "99999999999999999999999"),
        ("documents", "fetch", "--limit", "1000001"),
        ("documents", "fetch", "--limit", "0"),
        ("digest", "list", "--limit", "99999999999999999999999"),
        ("digest", "list", "--limit", "0"),
        ("digest", "list", "--limit", "-5"),
    ],
)
def test_limits_out_of_range_are_usage_errors(cli, args):
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    command = " ".join(a for a in args if not a.startswith("-") and not a.lstrip("-").isdigit())
    assert done.stderr == (
        f"Error: Invalid value for '--limit': {args[-1]} is not in the range 1<=x<=1000000"
        f" (see 'tracker {command} --help')\n"
    )


def test_digest_list_within_its_limit(cli):
    done = cli("digest", "list", "--limit", "1000000")
    assert done.returncode == 0 and done.stdout == "No deliveries.\n", done.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("review", "list", "--state", "bogus"),
            "Error: Invalid value for '--state': 'bogus' is not one of 'pending', 'confirmed', 'rejected', "
            "'flagged' (see 'tracker review list --help')",
        ),
        (("nosuch",), "Error: No such command 'nosuch' (see 'tracker --help')"),
        (("crawl", "--bogus"), "Error: No such option '--bogus' (see 'tracker crawl --help')"),
        (("review", "show"), "Error: Missing argument 'BILL' (see 'tracker review show --help')"),
    ],
)
def test_click_usage_errors_are_one_line_too(args, line):
    """README: every user error is one line, exit 2 for usage. Click's own (an unknown option, command or
    choice, a missing argument) printed the usage and a hint first, three lines in all."""
    done = run_tracker(*args)
    assert done.returncode == 2 and done.stderr == line + "\n", done.stderr
    assert done.stdout == ""


def test_a_group_named_alone_shows_its_help():
    done = run_tracker("review")
    assert done.returncode == 2 and "Usage: tracker review" in done.stdout + done.stderr
    assert "confirm" in done.stdout + done.stderr


def test_a_read_command_where_there_is_no_database_creates_none(tmp_path):
    """`tracker status` in a folder with no config and no database: the default SQLite file is not created
    (with its -wal and -shm files) by looking into it."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    for command in (["status"], ["review", "list"], ["changes"]):
        done = subprocess.run([sys.executable, "-m", "tracker", *command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 1, done.stderr
        where = tmp_path / "tracker.db"
        assert done.stderr == f"Error: there is no database at {where}: run `tracker init`\n"
        assert list(tmp_path.iterdir()) == [], command


def test_classify_shows_typed_text_inert_for_the_terminal(tmp_path):
    """The text classify prints back (typed, piped or read from a file) cannot ring the bell, move the cursor
    or reverse the line, as scraped text cannot."""
    title = "ICE detainer \x07\x1b[2J \u202e policy"
    listing = tmp_path / "titles.csv"
    listing.write_text(f'title,relevant,category,direction\n"{title}",1,detainers_warrants,expands\n')
    for args in (("classify", title), ("evaluate", str(listing))):
        done = run_tracker(*args)
        assert done.returncode == 0, done.stderr
        assert not {"\x07", "\x1b", "\u202e"} & set(done.stdout), (args, done.stdout)


@pytest.mark.parametrize(
    "args",
    [
        ("changes", "--jurisdiction", ""),
        ("changes", "--since", " "),
        ("export", "--jurisdiction", ""),
        ("review", "list", "--jurisdiction", ""),
        ("match", "--jurisdiction", " "),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # refused before any query
def test_an_empty_filter_is_a_usage_error_not_no_filter(cli, args):
    done = cli(*args)
    option = next(a for a in args if a.startswith("--"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"Error: Invalid value for '{option}': must not be empty"), done.stderr
