"""``tracker review list|show|confirm|reject|note|add``. User errors are :class:`~tracker.errors.TrackerError`
subclasses (one ``Error:`` line).

The commands receive the CLI's context object (:class:`tracker.cli.context.Context`: ``.engine()`` opens the
configured database and checks its schema) through ``click.pass_obj``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from tracker.cli.output import bill_argument, echo
from tracker.matcher import DIRECTIONS
from tracker.safe_output import json_text, terminal_view

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
@click.option("--jurisdiction", "jurisdiction", metavar="SLUG", help="Only this jurisdiction.")
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
    from tracker.review import format_review_table, list_reviews

    with session_scope(obj.engine()) as session:
        rows = list_reviews(
            session,
            states=states,
            jurisdiction=jurisdiction,
            category=category,
            direction=direction,
            uncertain_first=uncertain_first,
        )
    if fmt == "jsonl":
        for row in rows:
            click.echo(json_text(json.dumps(row, ensure_ascii=False)))
        return
    click.echo(format_review_table(terminal_view(rows)))


@review.command("show")
@click.argument("bill", callback=bill_argument)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def show(obj: Any, bill: str, as_json: bool) -> None:
    """Show a bill's match: status, categories, direction, score, the evidence marked in the text, and its
    decision history."""
    from db.engine import session_scope
    from tracker.review import bill_detail, format_bill_detail, show_json

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
    from db.engine import session_scope
    from tracker.review import confirm

    with session_scope(obj.engine()) as session:
        decision = confirm(session, bill, categories=categories, direction=direction, note=note, by=by)
    echo(decision.line())


@review.command("reject")
@click.argument("bill", callback=bill_argument)
@NOTE_OPTION
@BY_OPTION
@click.pass_obj
def reject_command(obj: Any, bill: str, note: str | None, by: str | None) -> None:
    """Reject a match: the bill is not sanctuary-related."""
    from db.engine import session_scope
    from tracker.review import reject

    with session_scope(obj.engine()) as session:
        decision = reject(session, bill, note=note, by=by)
    echo(decision.line())


@review.command("note")
@click.argument("bill", callback=bill_argument)
@click.argument("text")
@BY_OPTION
@click.pass_obj
def note_command(obj: Any, bill: str, text: str, by: str | None) -> None:
    """Add a note to a bill in review, without deciding (the audit trail records it)."""
    from db.engine import session_scope
    from tracker.review import note

    with session_scope(obj.engine()) as session:
        decision = note(session, bill, text, by=by)
    echo(decision.line())


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
    from db.engine import session_scope
    from tracker.review import add

    with session_scope(obj.engine()) as session:
        decision = add(session, bill, categories=categories, direction=direction, note=note, by=by)
    echo(decision.line())


COMMANDS = (review,)
