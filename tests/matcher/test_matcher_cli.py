"""The classify and evaluate commands (click), run in-process; user errors come out as one ``Error:`` line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tracker.cli import main
from tracker.cli.matcher import classify, evaluate

TITLES = [
    "Lease of Automated License Plate Readers (ALPR) from Flock Group, Inc.",
    "Ice Arena Commission Update",
    "55G - RESO - SANCTUARY CITY",
]


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_text_plain():
    result = CliRunner().invoke(classify, [TITLES[0], "--rules-only"])  # the rules' own score
    assert result.exit_code == 0, result.output
    assert result.output.startswith("RELEVANT      1.00  restricts  surveillance_technology  Lease of")


def test_classify_stdin_json_in_order():
    result = CliRunner().invoke(classify, ["--json"], input="\n".join(TITLES) + "\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["relevant"] for r in rows] == [True, False, True]
    for r in rows:
        assert {"relevant", "score", "categories", "direction", "evidence"} <= set(r)
        assert 0.0 <= r["score"] <= 1.0
    assert rows[2]["categories"][0] == "sanctuary_declaration"
    assert rows[1]["direction"] is None


def test_classify_file(tmp_path):
    path = tmp_path / "titles.txt"
    path.write_text("\n".join(TITLES) + "\n\n", encoding="utf-8")
    result = CliRunner().invoke(classify, ["--file", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 4  # one per line of the file, its last (blank) one included
    assert lines[1].startswith("not relevant") and lines[3] == "not relevant  0.00  "


def test_classify_keeps_every_line_in_its_place():
    """One result per input line, in order, blank lines included (they were dropped, so the output no longer
    lined up with the input); the learned layer reads the titles in batches."""
    text = "Parks\n\n" + TITLES[0] + "\n   \nLibrary hours\n"
    result = CliRunner().invoke(classify, ["--json"], input=text)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["relevant"] for r in rows] == [False, False, True, False, False]
    assert rows[1]["score"] == rows[3]["score"] == 0.0 and rows[1]["evidence"] == []


def test_classify_reads_at_most_the_titles_limit_of_a_line():
    """A line is read as a title is at ingest: its first 10,000 characters (a 20 MB line took 30 s and
    1.8 GB); the rest is not read."""
    far = "x " * 30_000 + "Ordinance limiting civil immigration detainers"
    near = "Ordinance limiting civil immigration detainers " + "x " * 30_000
    result = CliRunner().invoke(classify, ["--json"], input=f"{far}\n{near}\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["relevant"] for r in rows] == [False, True]
    assert max(e["end"] for e in rows[1]["evidence"]) < 10_000


def test_evaluate_reads_a_file_with_a_byte_order_mark(tmp_path):
    """Excel's "CSV UTF-8" starts with a BOM, which made the first column "\ufefftitle" (missing column)."""
    path = tmp_path / "excel.csv"
    rows = "title,relevant,category,direction\r\n" + f"{TITLES[2]},1,sanctuary_declaration,expands\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + rows.encode())
    result = CliRunner().invoke(evaluate, [str(path), "--json", "--rules-only"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["total"], report["tp"]) == (1, 1), report


def test_text_and_file_together_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(classify, ["x", "--file", str(tmp_path / "t.txt")])
    assert result.exit_code == 2
    assert "give TEXT or --file, not both" in result.output


def test_missing_input_file_is_one_error_line(capsys, tmp_path):
    code, _out, err = run_main(capsys, "classify", "--file", str(tmp_path / "nope.txt"))
    assert code == 1
    assert err == f"Error: {tmp_path / 'nope.txt'}: cannot read: No such file or directory\n"


def test_invalid_rules_file_is_one_error_line(capsys, tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text("version = 1\n[categories.ice]\n", encoding="utf-8")
    code, _out, err = run_main(capsys, "classify", "x", "--rules", str(bad))
    assert code == 2
    assert err == "Error: rules.toml: unknown category code 'ice' (the 16 codes of TAXONOMY.md only)\n"


def test_evaluate_text_and_json(tmp_path):
    path = tmp_path / "set.csv"
    path.write_text(
        "title,relevant,category,direction,jurisdiction,source\n"
        f'"{TITLES[0]}",1,surveillance_technology,restricts,Lake Elsinore CA,https://example.org/1\n'
        f"{TITLES[1]},0,,,Elk River MN,https://example.org/2\n"
        f'"{TITLES[2]}",1,sanctuary_declaration,neutral,Cathedral City CA,https://example.org/3\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(evaluate, [str(path)])
    assert result.exit_code == 0, result.output
    assert "precision 1.000  recall 1.000  F1 1.000" in result.output
    assert "direction  0.500 of true positives" in result.output
    assert "[wrong direction] line 4: 55G - RESO - SANCTUARY CITY" in result.output
    data = json.loads(CliRunner().invoke(evaluate, [str(path), "--json"]).output)
    assert (data["tp"], data["fp"], data["fn"], data["tn"]) == (2, 0, 0, 1)
    assert data["misses"][0]["kind"] == "wrong direction"


def test_evaluate_malformed_csv_is_one_error_line(capsys, tmp_path):
    path = tmp_path / "set.csv"
    path.write_text(
        "title,relevant,category,direction,jurisdiction,source\nSome title,1,ice,expands,x,y\n",
        encoding="utf-8",
    )
    code, _out, err = run_main(capsys, "evaluate", str(path))
    assert code == 1
    assert err == "Error: set.csv: line 2: unknown category 'ice'\n"
    path.write_text("title,relevant\nx,1\n", encoding="utf-8")
    code, _out, err = run_main(capsys, "evaluate", str(path))
    assert err == "Error: set.csv: missing column(s): category, direction\n"


def test_module_runs_as_a_script():
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "classify", "--json", TITLES[2]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["relevant"] is True


@pytest.mark.parametrize("command", [classify, evaluate])
def test_help(command):
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    assert "--json" in result.output
