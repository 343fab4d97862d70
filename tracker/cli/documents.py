"""``tracker documents``: fetch bill documents, show them and the hosts they may come from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tracker.cli.output import bill_argument, echo
from tracker.cli.params import LIMIT
from tracker.safe_output import json_text, terminal_text

if TYPE_CHECKING:
    from db.models_documents import Document


@click.group()
def documents() -> None:
    """Bill documents: download attachments, extract their text, feed it to the matcher."""


@documents.command("fetch")
@click.argument("slugs", nargs=-1)
@click.option("--limit", type=LIMIT, help="At most this many documents per jurisdiction.")
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
    from tracker.documents.show import bill_document_rows, show_json

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


def format_documents(ref: str, docs: list[Document], evidence: list[dict[str, Any]], *, text: bool) -> str:
    """``tracker documents show``: each document's status, size and problem, the evidence found in them
    with some context, and with ``text`` their extracted text."""
    from tracker.extract import SHORT_NAMES

    if not docs:
        return f"{ref}: no documents fetched yet (`tracker documents fetch --bill {ref}`)"
    lines = [f"{ref}: {len(docs)} document{'s' if len(docs) != 1 else ''}"]
    for d in docs:
        what = SHORT_NAMES.get(d.media_type or "", d.media_type or "-")
        size = f"{d.size:,} bytes" if d.size is not None else "-"
        pages = f", {d.pages} pages" if d.pages else ""
        chars = f", {len(d.text):,} characters" if d.text is not None else ""
        lines.append(f"- {d.name or '(no name)'}: {d.status} ({what}, {size}{pages}{chars})")
        lines.append(f"  {d.url}")
        if d.error:
            lines.append(f"  problem: {d.error}")
        lines.append(
            f"  checked {d.checked_at:%Y-%m-%d %H:%M} UTC"
            + (f", text from {d.extracted_at:%Y-%m-%d %H:%M} UTC" if d.extracted_at else "")
        )
    if evidence:
        lines.append("Evidence in the documents:")
        texts = {" ".join((d.name or "").split()): d.text or "" for d in docs}
        for e in evidence:
            label = str(e["field"]).removeprefix("document:")
            body = texts.get(label) or texts.get(label.rsplit(" (", 1)[0]) or ""
            start, end = int(e["start"]), int(e["end"])
            left = " ".join(body[max(0, start - 60) : start].split())
            right = " ".join(body[end : end + 60].split())
            kind = e.get("rule") if e.get("kind") == "term" else f"{e.get('kind')} {e.get('rule')}"
            lines.append(f"  [{label}] …{left} «{e['phrase']}» {right}… ({kind})")
    if text:
        for d in docs:
            if d.text:
                lines += ["", f"== {d.name or d.url} ==", d.text]
    return "\n".join(lines)


COMMANDS = (documents,)
