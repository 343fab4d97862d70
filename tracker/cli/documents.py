"""``tracker documents``: fetch bill documents, show them and the hosts they may come from."""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.output import bill_argument, echo
from tracker.safe_output import json_text, terminal_text


@click.group()
def documents() -> None:
    """Bill documents: download attachments, extract their text, feed it to the matcher."""


@documents.command("fetch")
@click.argument("slugs", nargs=-1)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many documents per jurisdiction.")
@click.option("--bill", metavar="BILL", help="Only this bill's documents (id or SLUG:IDENTIFIER).")
@click.option("--force", is_flag=True, help="Download and extract again even if nothing changed.")
@click.pass_obj
def fetch(obj: Any, slugs: tuple[str, ...], limit: int | None, bill: str | None, force: bool) -> None:
    """Fetch the documents that are due (never fetched first, then newest bills first) of the named
    jurisdictions (all when none), and re-match the bills whose text changed."""
    from tracker.documents.runs import fetch_documents

    if bill and slugs:
        raise click.UsageError("give jurisdictions or --bill, not both")
    for summary in fetch_documents(obj.config, obj.engine(), slugs, limit=limit, bill=bill, force=force):
        echo(summary.line())


@documents.command("show")
@click.argument("bill", callback=bill_argument)
@click.option("--text", "with_text", is_flag=True, help="Also print the extracted text.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def show(obj: Any, bill: str, with_text: bool, as_json: bool) -> None:
    """A bill's documents: status, type, size, problems, and the matcher's evidence found in them."""
    from db.engine import session_scope
    from tracker.documents.show import bill_document_rows, format_documents, show_json

    with session_scope(obj.engine()) as session:
        ref, docs, evidence = bill_document_rows(session, bill)
        if as_json:
            out = json_text(show_json(ref, docs, evidence))
        else:
            out = format_documents(ref, docs, evidence, text=with_text)
    click.echo(out if as_json else terminal_text(out))


@documents.command("hosts")
@click.argument("slugs", nargs=-1)
@click.pass_obj
def hosts(obj: Any, slugs: tuple[str, ...]) -> None:
    """The hosts each jurisdiction's documents may be downloaded from, and why."""
    from tracker.documents.hosts import policy_for

    for j in obj.config.select(list(slugs)):
        policy = policy_for(j)
        echo(f"{j.slug}:")
        for rule in policy.rules:
            private = "; private address allowed" if rule.explicit else ""
            echo(f"  {rule.label()}  ({rule.source}{private})")


COMMANDS = (documents,)
