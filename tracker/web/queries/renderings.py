"""Safe renderings every list shares: evidence marked in escaped HTML, CSV cells that cannot be formulas,
Markdown that cannot be markup."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from db.types import utcnow
from tracker.labels import category_label, direction_label, stage_label
from tracker.read_model import safe_url
from tracker.safe_output import _FORMULA_START, _UNSHOWN, csv_cell, shown_text
from tracker.signals import evidence_spans
from tracker.web.queries.living import LivingGroup


def highlight_html(text: str | None, evidence: list[dict[str, Any]], field: str) -> Markup:
    """``text`` escaped, with every evidence span of ``field`` in a ``<mark>`` (class ``term``, ``cue`` or
    ``negative``): the web twin of :func:`tracker.cli.review.highlight`, both marking the spans of
    :func:`tracker.signals.evidence_spans`."""
    text = text or ""
    out, pos = Markup(""), 0
    for start, end, kind in evidence_spans(text, evidence, field):
        out += escape(text[pos:start])
        out += Markup('<mark class="ev-{}">{}</mark>').format(kind, text[start:end])
        pos = end
    return out + escape(text[pos:])


def to_csv(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> str:
    """``rows`` as CSV, each cell made safe by :func:`csv_cell` (text that cannot start a formula and
    integers, most of a long export, are already safe and skip it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    unshown = _UNSHOWN.search
    writer.writerows(
        [
            v
            if (type(v) is str and not v.startswith(_FORMULA_START) and not unshown(v)) or type(v) is int
            else csv_cell(v)
            for v in map(row.get, columns)
        ]
        for row in rows
    )
    return out.getvalue()


BILL_CSV_COLUMNS = [
    "id", "jurisdiction", "city", "identifier", "title", "status", "stage", "introduced", "first_seen_at",
    "relevant", "score", "categories", "direction", "review_state", "needs_review", "url",
    "next_hearing_at", "next_hearing_body",
]  # fmt: skip
REVIEW_CSV_COLUMNS = [
    *BILL_CSV_COLUMNS, "decided_by", "decided_at", "note", "needs_review_reason", "uncertain", "near_miss",
    "suggested_categories", "suggested_direction",
]  # fmt: skip
CHANGE_CSV_COLUMNS = [
    "observed_at", "id", "jurisdiction", "city", "identifier", "title", "old_status", "new_status",
    "old_stage", "new_stage", "action_date", "action", "categories", "direction", "review_state", "url",
]  # fmt: skip
LIVING_CSV_COLUMNS = [
    "city", "jurisdiction", "identifier", "title", "stage", "status", "categories", "direction",
    "last_action_date", "last_action", "url", "next_hearing_at", "next_hearing_body",
]  # fmt: skip

# Every ASCII character that means something to CommonMark or GitHub's Markdown (links, images, HTML,
# entities, emphasis, code, tables, headings, lists) and ":" "@" (autolinks of URLs and e-mail addresses).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:@$])")


def md_escape(text: Any) -> str:
    """Scraped text made inert in Markdown: one line, every special character backslash-escaped, so a title
    cannot open a link, an image, HTML, code or a table cell."""
    text = shown_text(" ".join(str(text if text is not None else "").split()))
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_link(label: str, url: str | None) -> str:
    """``[label](<url>)`` for a safe http(s) URL (its own ``<``, ``>`` and backslashes percent-encoded),
    else the escaped label alone."""
    url = safe_url(url)
    if not url:
        return md_escape(label)
    url = url.replace("\\", "%5C").replace("<", "%3C").replace(">", "%3E")
    return f"[{md_escape(label)}](<{url}>)"


def _md_hearing(row: dict[str, Any]) -> str:
    """The next hearing of a living-list row: its local date and time and body (``-`` when none)."""
    view = row.get("next_hearing")
    if not view or view.get("starts_at") is None:
        return "-"
    try:
        local = view["starts_at"].astimezone(ZoneInfo(view["time_zone"]))
    except (ZoneInfoNotFoundError, ValueError):
        local = view["starts_at"]
    when = f"{local:%Y-%m-%d %H:%M}" if (local.hour, local.minute) != (0, 0) else f"{local:%Y-%m-%d}"
    return " ".join(x for x in (md_escape(when), md_escape(view.get("body") or "")) if x)


def living_list_markdown(groups: list[LivingGroup], *, generated: datetime | None = None) -> str:
    """The living list as Markdown: a heading per city, a table per direction."""
    from tracker.web.queries.template_helpers import when

    generated = generated or utcnow()
    total = sum(g.count for g in groups)
    lines = [
        "# Sanctuary measures: the living list",
        "",
        f"{total} measure{'s' if total != 1 else ''} confirmed by editors, "
        f"as of {when(generated)}.",  # in the zone every page shows times in ([web] timezone)
    ]
    for g in groups:
        lines += ["", f"## {md_escape(g.city)}", ""]
        for direction, rows in g.directions:
            lines += [f"### {md_escape(direction_label(direction).capitalize())} ({len(rows)})", ""]
            lines.append("| File | Title | Stage | Categories | Last action | Next hearing |")
            lines.append("|---|---|---|---|---|---|")
            for r in rows:
                last = " ".join(
                    x for x in (r["last_action_date"].isoformat() if r["last_action_date"] else "",
                                md_escape(r["last_action"] or "")) if x
                )  # fmt: skip
                cats = ", ".join(md_escape(category_label(c)) for c in r["categories"])
                lines.append(
                    f"| {md_link(r['identifier'] or str(r['id']), r['url'])} | {md_escape(r['title'] or '')} "
                    f"| {md_escape(stage_label(r['stage']))} | {cats} | {last or '-'} | {_md_hearing(r)} |"
                )
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
