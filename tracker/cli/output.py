"""Writing to the terminal and reading the ids people type: :func:`echo` prints through
:func:`~tracker.safe_output.terminal_text` (every line that may carry scraped or typed text); the click
callbacks :func:`id_argument` and :func:`bill_argument` turn a malformed id into one ``Error:`` line
(exit 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from tracker.safe_output import MAX_ID, BadId, json_text, parse_id, terminal_text, terminal_view


def echo(message: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of terminal-safe text (for every line that may carry scraped or typed text)."""
    click.echo(terminal_text(str(message)), err=err, nl=nl)


def echo_rows(rows: list[dict[str, Any]], fmt: str, table: Callable[[list[dict[str, Any]]], str]) -> None:
    """A list command's rows: one JSON object a line (``jsonl``), else ``table`` of them; scraped text is made
    inert for the terminal in both."""
    if fmt == "jsonl":
        for row in rows:
            click.echo(json_text(json.dumps(row, ensure_ascii=False)))
        return
    click.echo(table(terminal_view(rows)))


def cut(text: str | None, width: int, *, one_line: bool = True) -> str:
    """``text`` at most ``width`` characters (``…`` ends a cut one); with ``one_line``, first on one line
    (runs of whitespace made one space)."""
    text = " ".join((text or "").split()) if one_line else text or ""
    return text if len(text) <= width else text[: width - 1] + "…"


def id_argument(what: str) -> Any:
    """A click callback: the argument as an id, or one ``Error:`` line (exit 2) saying what an id is."""

    def convert(_ctx: Any, _param: Any, value: Any) -> int | None:
        if value is None:
            return None
        found = parse_id(str(value))
        if found is None:
            raise BadId(f"{terminal_text(str(value))[:40]!r} is not {what} id (a number from 1 to {MAX_ID})")
        return found

    return convert


def bill_argument(_ctx: Any, _param: Any, value: Any) -> Any:
    """A click callback for BILL (an id, SLUG:IDENTIFIER or an IDENTIFIER unique across cities): a value
    of digits (or signs and digits) must be a valid id; an identifier is printable text."""
    if value is None:
        return None
    text = str(value).strip()
    number_like = text.lstrip("+-").isdigit() or any(c.isdigit() and not c.isascii() for c in text)
    printable = bool(text) and text.isprintable()
    if ":" not in text and parse_id(text) is None and (number_like or not printable):
        raise BadId(
            f"{terminal_text(text)[:40]!r} is not a bill: give its id (1 to {MAX_ID}), SLUG:IDENTIFIER "
            "(e.g. riverton:O2026-0053) or an identifier unique across cities"
        )
    return text
