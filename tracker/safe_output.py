"""Scraped text made inert for each place it is written (docs/security.md): XML (Atom feeds), a terminal
or a pipe (every ``tracker`` command), and CSV cells a spreadsheet would otherwise run as formulas.

- :func:`xml_text`: drops what XML 1.0 cannot hold (C0 controls but tab and line breaks, lone surrogates,
  U+FFFE/U+FFFF), so a feed stays well-formed whatever a portal sent;
- :func:`terminal_text`: replaces every control character a terminal acts on (ESC, so every CSI/OSC
  sequence incl. OSC 8 hyperlinks and clear-screen; the other C0 controls but tab and newline; DEL; the C1
  controls, incl. the one-byte CSI U+009B; bidirectional overrides; line/paragraph separators; lone
  surrogates) by U+FFFD, one for one, so offsets into the text (the matcher's evidence) stay right;
  :func:`terminal_view` does it to every string of a record or object (``tracker.cli.output.echo`` prints
  through it);
- :func:`json_text`: a JSON document whose strings keep their data but spell those same characters as
  ``\\uXXXX`` escapes (valid JSON, the same value once parsed, inert on a terminal);
- :func:`csv_cell`: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
  leading apostrophe (the OWASP rule), for every CSV the tracker writes;
- :func:`without_bidi`: the bidirectional overrides replaced by U+FFFD, for HTML pages and mails (the
  templates' ``finalize``), CSV cells, Markdown and calendars;
- :func:`without_controls`: the control characters but tab and line feed removed (editors' notes,
  calendars).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from tracker.errors import TrackerError

REPLACEMENT = "\ufffd"

_XML_BAD = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# C0 but tab and newline, DEL, C1, bidi embeddings/overrides/isolates, LS/PS, lone surrogates.
_TERMINAL_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
# What json.dumps(ensure_ascii=False) leaves raw that a terminal acts on (it escapes C0 itself).
_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot contain (escaping ``<&>`` is the serialiser's job)."""
    return _XML_BAD.sub("", value)


def terminal_text(value: str) -> str:
    """``value`` with every character a terminal would act on replaced by U+FFFD (same length)."""
    return _TERMINAL_BAD.sub(REPLACEMENT, value)


_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# C0 controls but tab and line feed (a carriage return goes too), DEL, C1.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def without_controls(value: str) -> str:
    """``value`` without the control characters (tab and line feed stay): text people wrote (an editor's
    note) or that a calendar carries."""
    return _CONTROLS.sub("", value)


# What no output of scraped text shows as it is: controls (removed) and bidi overrides (U+FFFD).
_UNSHOWN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown_text(value: str) -> str:
    """Text as a page, a mail, a CSV or Markdown file shows it: without control characters (a terminal
    escape or a bell in a title would act in a terminal that displays the file or the mail; tab and line
    feed stay) and with bidirectional overrides replaced (:func:`without_bidi`)."""
    return without_bidi(without_controls(value)) if _UNSHOWN.search(value) else value


def without_bidi(value: str) -> str:
    """``value`` with the bidirectional embeddings, overrides and isolates replaced by U+FFFD (same length):
    in a page, a mail, a CSV or Markdown file a U+202E in a title ("\u202egnp.exe") shows the rest of the
    line reversed. Marks (U+200E, U+200F) stay: they cannot reorder text they do not sit in."""
    return _BIDI.sub(REPLACEMENT, value) if _BIDI.search(value) else value


def json_text(document: str) -> str:
    """A JSON document (from ``json.dumps(..., ensure_ascii=False)``) with the characters a terminal acts
    on written as ``\\uXXXX``: they can only be inside strings, so the parsed value is unchanged."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


class _TerminalView:
    """Read-only view of an object whose string attributes (and those of everything reached through it)
    come out terminal-safe."""

    __slots__ = ("_target",)

    def __init__(self, target: Any) -> None:
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        return terminal_view(getattr(self._target, name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a terminal view is read-only")


_PLAIN = (int, float, bool, datetime, date, type(None))


def terminal_view(value: Any) -> Any:
    """``value`` with every string in it terminal-safe: strings, lists, tuples and dicts are copied, other
    objects (ORM rows) wrapped in a read-only view that does the same to their attributes."""
    if isinstance(value, str):
        return terminal_text(value)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Mapping):
        return {terminal_view(k): terminal_view(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(terminal_view(v) for v in value)
    if isinstance(value, list | set | frozenset):
        return type(value)(terminal_view(v) for v in value)
    if isinstance(value, _TerminalView):
        return value
    return _TerminalView(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet cannot run: text starting with = + - @ (or a tab or carriage return) gets a
    leading apostrophe; lists are joined with "; "; dates are ISO; booleans true/false; None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str):
        value = shown_text(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


# -- ids typed by people ---------------------------------------------------------------------------------

#: The largest row id (the id columns are INTEGER: 32 bits on PostgreSQL); a larger number names nothing.
MAX_ID = 2**31 - 1


#: The most digits ``int()`` converts (Python's default limit; a longer string makes it raise).
MAX_INT_DIGITS = 4300


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is ASCII digits that ``int()`` reads: one to :data:`MAX_INT_DIGITS` of them.
    ``str.isdigit()`` alone also admits "²" (``int()`` refuses it), other scripts' digits (``int()`` reads
    them) and strings too long to convert: a scraped or typed value checked with it could make ``int()``
    raise."""
    return len(text) <= MAX_INT_DIGITS and text.isascii() and text.isdigit()


def parse_id(text: str) -> int | None:
    """The row id ``text`` spells in ASCII digits (``"42"``), or None: not digits (``"²"``, ``"4 2"``,
    ``"-1"``, ``"1e3"``) or beyond :data:`MAX_ID` (no row has it; the database would refuse it)."""
    text = text.strip()
    if not ascii_digits(text) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


class BadId(TrackerError):
    """An id argument that names no row (not ASCII digits, or beyond MAX_ID): a usage error."""

    exit_code = 2


def template_finalize(value: Any) -> Any:
    """Every value a Jinja template prints, without control characters or bidirectional overrides
    (:func:`shown_text`); HTML marked safe stays marked safe."""
    if isinstance(value, str) and _UNSHOWN.search(value):
        from markupsafe import Markup

        cleaned = shown_text(str(value))
        return Markup(cleaned) if isinstance(value, Markup) else cleaned  # noqa: S704 - already safe HTML; only characters are replaced
    return value
