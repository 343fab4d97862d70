"""``tracker review list|show|confirm|reject|note|add``. User errors are :class:`~tracker.errors.TrackerError`
subclasses (one ``Error:`` line).

The commands receive the CLI's context object (:class:`tracker.cli.context.Context`: ``.engine()`` opens the
configured database and checks its schema) through ``click.pass_obj``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from tracker.cli.output import bill_argument, cut, echo, echo_rows
from tracker.cli.params import NON_EMPTY
from tracker.matcher import DIRECTIONS
from tracker.safe_output import json_text, terminal_view
from tracker.signals import evidence_spans, evidence_what, match_direction_reason

if TYPE_CHECKING:
    from db.models import Bill, Jurisdiction
    from db.models_review import BillMatch, ReviewEvent

BY_OPTION = click.option(
    "--by", "by", metavar="NAME", help="Who decides (default: $TRACKER_EDITOR, else the OS user)."
)
NOTE_OPTION = click.option("--note", metavar="TEXT", help="A note kept with the decision.")
CATEGORY_OPTION = click.option(
    "--category",
    "categories",
    metavar="CODE",
    multiple=True,
    help="A category code of the rules (repeat for several; the first is the main one).",
)
DIRECTION_OPTION = click.option(
    "--direction", metavar="D", help=f"The measure's direction: {', '.join(DIRECTIONS)}."
)


@click.group("review")
def review() -> None:
    """Editors' review of the matcher's matches: list, show, confirm, reject, add.

    BILL is a bill's internal id or SLUG:IDENTIFIER (e.g. riverton:O2026-0053).
    """


@review.command("list")
@click.option(
    "--state",
    "states",
    type=click.Choice(["pending", "confirmed", "rejected", "flagged"]),
    multiple=True,
    help="Only bills in this state (repeatable; flagged = changed after a decision). Default: every state.",
)
@click.option(
    "--jurisdiction", "jurisdiction", metavar="SLUG", type=NON_EMPTY, help="Only this jurisdiction."
)
@click.option("--category", metavar="CODE", help="Only bills with this category.")
@click.option("--direction", metavar="D", help=f"Only bills with this direction ({', '.join(DIRECTIONS)}).")
@click.option(
    "--uncertain-first",
    is_flag=True,
    help="Uncertain pending bills first (the model is least sure of them: deciding them teaches it most).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.pass_obj
def list_command(
    obj: Any,
    states: tuple[str, ...],
    jurisdiction: str | None,
    category: str | None,
    direction: str | None,
    uncertain_first: bool,
    fmt: str,
) -> None:
    """List bills in review: flagged first, then pending (best score first), confirmed, rejected.

    Categories and direction are the editor's when confirmed, else the matcher's. The "uncertain" column
    marks matches whose model probability is near its decision boundary.
    """
    from db.engine import session_scope
    from tracker.review import list_reviews

    with session_scope(obj.engine()) as session:
        rows = list_reviews(
            session,
            states=states,
            jurisdiction=jurisdiction,
            category=category,
            direction=direction,
            uncertain_first=uncertain_first,
        )
    echo_rows(rows, fmt, format_review_table)


@review.command("show")
@click.argument("bill", callback=bill_argument)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def show(obj: Any, bill: str, as_json: bool) -> None:
    """Show a bill's match: status, categories, direction, score, the evidence marked in the text, and its
    decision history."""
    from db.engine import session_scope
    from tracker.review import bill_detail, show_json

    with session_scope(obj.engine()) as session:
        detail = bill_detail(session, bill)
        # scraped text made inert for the terminal before the styling (which is ours) is added
        text = json_text(show_json(detail)) if as_json else format_bill_detail(terminal_view(detail))
    click.echo(text)


@review.command("confirm")
@click.argument("bill", callback=bill_argument)
@CATEGORY_OPTION
@DIRECTION_OPTION
@NOTE_OPTION
@BY_OPTION
@click.pass_obj
def confirm_command(
    obj: Any, bill: str, categories: tuple[str, ...], direction: str | None, note: str | None, by: str | None
) -> None:
    """Confirm a match; --category/--direction correct the matcher (kept apart from its own result)."""
    from tracker.review import confirm

    _decide(obj, confirm, bill, categories=categories, direction=direction, note=note, by=by)


@review.command("reject")
@click.argument("bill", callback=bill_argument)
@NOTE_OPTION
@BY_OPTION
@click.pass_obj
def reject_command(obj: Any, bill: str, note: str | None, by: str | None) -> None:
    """Reject a match: the bill is not sanctuary-related."""
    from tracker.review import reject

    _decide(obj, reject, bill, note=note, by=by)


@review.command("note")
@click.argument("bill", callback=bill_argument)
@click.argument("text")
@BY_OPTION
@click.pass_obj
def note_command(obj: Any, bill: str, text: str, by: str | None) -> None:
    """Add a note to a bill in review, without deciding (the audit trail records it)."""
    from tracker.review import note

    _decide(obj, note, bill, text, by=by)


@review.command("add")
@click.argument("bill", callback=bill_argument)
@CATEGORY_OPTION
@DIRECTION_OPTION
@NOTE_OPTION
@BY_OPTION
@click.pass_obj
def add_command(
    obj: Any, bill: str, categories: tuple[str, ...], direction: str | None, note: str | None, by: str | None
) -> None:
    """Add a bill the matcher missed (at least one --category; the direction defaults to the category's)."""
    from tracker.review import add

    _decide(obj, add, bill, categories=categories, direction=direction, note=note, by=by)


def _decide(obj: Any, decide: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """One editor's decision (confirm, reject, note, add) in its own transaction, then its one line."""
    from db.engine import session_scope

    with session_scope(obj.engine()) as session:
        decision = decide(session, *args, **kwargs)
    echo(decision.line())


COMMANDS = (review,)


# -- `review list` ---------------------------------------------------------------------------------------

STATE_ORDER = {"pending": 0, "confirmed": 1, "rejected": 2, None: 3}


def _short_categories(codes: list[str]) -> str:
    """The main category, and how many more: ``gang_databases +1``."""
    if not codes:
        return "-"
    return cut(codes[0], 30) + (f" +{len(codes) - 1}" if len(codes) > 1 else "")


def format_review_table(rows: list[dict[str, Any]]) -> str:
    """``tracker review list``: one line per bill, then the counts by state."""
    from tracker.review import NEAR_MISS_HELP, UNCERTAIN_HELP, near_miss_suggestion

    if not rows:
        return "No bills to show."
    head = f"{'bill':<26} {'state':<10} {'score':>5}  {'direction':<10}  {'categories':<34} {'uncertain':<9}"
    lines = [f"{head} title"]
    for r in rows:
        state = (r["review_state"] or "-") + ("!" if r["needs_review"] else "")
        uncertain = "uncertain" if r.get("uncertain") else ""
        categories, direction = _short_categories(r["categories"]), r["direction"] or "-"
        if r.get("near_miss"):  # not on the list: what confirming it would add, marked with "?"
            suggested = near_miss_suggestion(r.get("learned"))
            categories = cut("? " + _short_categories(suggested.get("categories") or []), 34)
            direction = (suggested.get("direction") or "-") + "?"
        lines.append(
            f"{cut(r['bill'], 26):<26} {state:<10} {r['score']:>5.2f}  {direction:<10}  "
            f"{categories:<34} {uncertain:<9} {cut(r['title'], 80)}"
        )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["review_state"] or "none"] = counts.get(r["review_state"] or "none", 0) + 1
    flagged = sum(1 for r in rows if r["needs_review"])
    parts = [f"{n} {state}" for state, n in sorted(counts.items(), key=lambda kv: STATE_ORDER.get(kv[0], 3))]
    if flagged:
        parts.append(f"{flagged} flagged (!): `tracker review show BILL` says why")
    uncertain_n = sum(1 for r in rows if r.get("uncertain"))
    if uncertain_n:
        parts.append(f"{uncertain_n} {UNCERTAIN_HELP}")
    near = sum(1 for r in rows if r.get("near_miss"))
    if near:
        legend = NEAR_MISS_HELP if near == 1 else NEAR_MISS_HELP.replace("near miss:", "near misses:", 1)
        parts.append(f"{near} {legend} (categories and direction marked ?)")
    lines.append(f"{len(rows)} bill{'s' if len(rows) != 1 else ''}: {', '.join(parts)}.")
    return "\n".join(lines)


# -- `review show` ---------------------------------------------------------------------------------------

_MARKS = {"term": ("«", "»"), "cue": ("{", "}"), "negative": ("⟦", "⟧")}
_STYLES: dict[str, dict[str, Any]] = {
    "term": {"fg": "yellow", "bold": True},
    "cue": {"fg": "cyan", "underline": True},
    "negative": {"fg": "red"},
}


def highlight(text: str, evidence: list[dict[str, Any]], field: str) -> str:
    """``text`` with every evidence span of ``field`` marked: «phrase» (category term), {cue} (direction
    cue), ⟦negative⟧ (hard negative); styled too when printed on a terminal. Overlapping spans make one
    mark; spans that no longer match the text are left unmarked."""
    out, pos = [], 0
    for start, end, kind in evidence_spans(text, evidence, field):
        left, right = _MARKS[kind]
        out.append(text[pos:start])
        out.append(click.style(f"{left}{text[start:end]}{right}", **_STYLES[kind]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _when(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d %H:%M} UTC" if dt else "-"


def _category_names(codes: list[str]) -> str:
    return ", ".join(codes) or "-"


def learned_lines(learned: Any, uncertain: bool, near_miss: bool = False) -> list[str]:
    """The learned layer's evidence in words a person can check (empty without a model's finding):
    its probability, the labelled titles most like this one, and why this direction; for a near miss
    (in the queue, not on the list), what confirming it would add."""
    if not isinstance(learned, dict):
        return []
    out = []
    p = learned.get("probability")
    if isinstance(p, int | float):
        model = f" (model {learned['model']})" if learned.get("model") else ""
        out.append(f"Model:      probability {p:.2f}{' (uncertain)' if uncertain else ''}{model}")
    for s in learned.get("similar") or []:
        if isinstance(s, dict):
            out.append(f"Like:       {s.get('title', '')} — {s.get('label', '')} ({s.get('source', '')})")
    if learned.get("direction_reason"):
        out.append(f"Why this direction: {learned['direction_reason']}")
    if learned.get("overruled"):
        out.append(f"Overruled:  {learned['overruled']}")
    from tracker.review import near_miss_suggestion

    suggested = near_miss_suggestion(learned) if near_miss else {}
    if suggested:
        why = f" ({suggested['reason']})" if suggested.get("reason") else ""
        direction = suggested.get("direction") or "the usual direction of its first category"
        out.append(
            f"Near miss:  not on the list; confirming adds it as {_category_names(suggested['categories'])}; "
            f"{direction}{why}"
        )
    return out


def format_bill_detail(detail: dict[str, Any]) -> str:
    """``tracker review show``: the bill, its match with the evidence marked, and its decision history."""
    from tracker.review import is_near_miss

    bill: Bill = detail["bill"]
    jurisdiction: Jurisdiction = detail["jurisdiction"]
    match: BillMatch | None = detail["match"]
    evidence = list(match.evidence) if match else []
    lines = [click.style(f"{detail['ref']}  (bill {bill.id}, {jurisdiction.name})", bold=True)]
    lines.append(f"Title:      {highlight(bill.title or '', evidence, 'title')}")
    if bill.name and bill.name != bill.title:
        lines.append(f"Name:       {highlight(bill.name, evidence, 'name')}")
    status = f"{bill.status or '-'} (stage: {bill.stage})"
    if bill.introduced:
        status += f", introduced {bill.introduced.isoformat()}"
    lines.append(f"Type:       {bill.type_name or '-'}")
    lines.append(f"Status:     {status}")
    if bill.public_url or bill.source_url:
        lines.append(f"URL:        {bill.public_url or bill.source_url}")
    if match is None:
        lines.append("Match:      not matched yet (run `tracker match`)")
        return "\n".join(lines)
    state = match.review_state or "not in review (the matcher found it not relevant; `tracker review add`)"
    if match.decided_by:
        state += f" by {match.decided_by} on {_when(match.decided_at)}"
    if match.note:
        state += f': "{match.note}"'
    if match.source == "editor":
        state += " [added by an editor]"
    lines.append(f"Review:     {state}")
    if match.needs_review:
        lines.append(click.style(f"Flagged:    {match.needs_review_reason}", fg="red", bold=True))
    verdict = "relevant" if match.relevant else "not relevant"
    scores = ", ".join(f"{c} {s:.2f}" for c, s in (match.category_scores or {}).items())
    lines.append(
        f"Matcher:    {verdict}, score {match.score:.2f}, direction {match.direction or '-'}, "
        f"categories {_category_names(list(match.categories))}"
    )
    lines.append(
        f"            rules {match.rules_version}/{match.rules_hash[:8]}, matched {_when(match.matched_at)}"
        + (f"; category scores {scores}" if scores else "")
    )
    if match.review_state == "confirmed":
        corrected = (
            " (adds a bill the matcher left off the list)"
            if not match.relevant
            else " (corrects the matcher)"
            if match.corrected
            else ""
        )
        lines.append(
            f"Editor:     {_category_names(list(match.editor_categories or []))}; "
            f"direction {match.editor_direction or '-'}{corrected}"
        )
    # the learned layer's lines, with the one reason for the direction shown (the editor's, the model's
    # or the deciding cue's)
    lines.extend(
        ln
        for ln in learned_lines(
            match.learned,
            bool(match.uncertain),
            is_near_miss(match.review_state, match.relevant, match.uncertain),
        )
        if not ln.startswith("Why ")
    )
    reason = match_direction_reason(match)
    if reason:
        lines.append(f"Why this direction: {reason}")
    if evidence:
        lines.append("Evidence:   «term» category phrase, {cue} direction cue, ⟦negative⟧ hard negative")
        order = {"title": 0, "name": 1, "text": 2}
        for e in sorted(evidence, key=lambda e: (order.get(e["field"], 3), e["start"], e["end"])):
            left, right = _MARKS.get(e["kind"], ("", ""))
            phrase = click.style(f"{left}{e['phrase']}{right}", **_STYLES.get(e["kind"], {}))
            what = evidence_what(e)  # in words: never the rule's code
            if e["kind"] == "term" and e.get("weight") is not None:
                what += f", weight {e['weight']:.2f}"
            lines.append(f"  {e['field']:<5} {e['start']:>4}-{e['end']:<4} {phrase}  {what}")
    else:
        lines.append("Evidence:   none (no phrase of the rules matched)")
    events: list[ReviewEvent] = detail["events"]
    lines.append("History:" if events else "History:    no decisions yet")
    for ev in events:
        what = ev.kind
        if ev.categories:
            what += f" {', '.join(ev.categories)}"
        if ev.direction:
            what += f"; {ev.direction}"
        if ev.note:
            what += f': "{ev.note}"' if ev.kind != "flagged" else f" - {ev.note}"
        title = (ev.snapshot or {}).get("title")
        lines.append(f"  {_when(ev.at)}  {ev.actor:<12} {what}")
        if ev.kind != "flagged" and title and title != bill.title:
            lines.append(f"      (decided on the title: {cut(title, 150)})")
    return "\n".join(lines)
