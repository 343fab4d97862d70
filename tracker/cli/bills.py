"""``tracker export`` and ``tracker changes``: the stored bills and their status changes, written out."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tracker.cli.context import Context, pass_ctx
from tracker.cli.output import cut, echo, echo_rows
from tracker.cli.params import NON_EMPTY
from tracker.safe_output import csv_cell


def _bill_records(
    obj: Context, jurisdiction: str | None, *, relevant: bool = False, confirmed: bool = False
) -> Iterator[dict[str, Any]]:
    from db.engine import session_scope
    from db.models import Bill, Jurisdiction
    from db.models_review import BillMatch
    from db.types import utcnow
    from tracker.read_model import bill_record, check_jurisdiction, match_record

    engine = obj.engine()
    with session_scope(engine) as session:
        if jurisdiction:
            check_jurisdiction(session, jurisdiction)
        q = (
            select(Bill, Jurisdiction, BillMatch)
            .join(Jurisdiction)
            .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
            .options(selectinload(Bill.status_changes), selectinload(Bill.sponsors))
            .order_by(Jurisdiction.slug, Bill.id)
            .execution_options(yield_per=500)
        )
        if jurisdiction:
            q = q.where(Jurisdiction.slug == jurisdiction)
        if confirmed:
            q = q.where(BillMatch.review_state == "confirmed")
        if relevant:
            q = q.where(BillMatch.effective_relevant)
        now = utcnow()
        batch: list[dict[str, Any]] = []
        for bill, council, match in session.execute(q):
            batch.append(
                {
                    **bill_record(bill, council),
                    "sponsors": [s.name for s in bill.sponsors],
                    # not read yet: a backfill left them to the next sweep ([crawl] sponsors_by_title)
                    "sponsors_pending": bill.sponsors_fetched_at is None,
                    "status_history": [
                        {
                            "status": c.new_status,
                            "stage": c.new_stage,
                            "observed_at": c.observed_at.isoformat(),
                        }
                        for c in bill.status_changes
                    ],
                    **match_record(match),
                }
            )
            if len(batch) >= EXPORT_BATCH:
                yield from _with_meetings(session, batch, now)
                batch = []
        yield from _with_meetings(session, batch, now)


EXPORT_BATCH = 500


def _with_meetings(session: Session, batch: list[dict[str, Any]], now: datetime) -> Iterator[dict[str, Any]]:
    """The records of a batch of bills with their next hearing and votes (a few queries a batch)."""
    from tracker.read_model import hearings_and_votes

    found = hearings_and_votes(session, [r["id"] for r in batch], now)
    for record in batch:
        record.update(found[record["id"]])
        yield {key: record[key] for key in EXPORT_FIELDS}


RELEVANT_OPTION = click.option(
    "--relevant", is_flag=True, help="Only relevant measures (the editors' word, else the matcher's)."
)
CONFIRMED_OPTION = click.option("--confirmed", is_flag=True, help="Only measures an editor confirmed.")

EXPORT_FIELDS = [
    "jurisdiction",
    "source_id",
    "identifier",
    "title",
    "name",
    "type",
    "status",
    "stage",
    "introduced",
    "url",
    "sponsors",
    "sponsors_pending",
    "first_seen_at",
    "vanished_at",
    "status_history",
    "relevant",
    "score",
    "categories",
    "direction",
    "direction_reason",
    "review_state",
    "next_hearing",
    "votes",
]


@click.command()
@click.option(
    "--jurisdiction", "jurisdiction", metavar="SLUG", type=NON_EMPTY, help="Only this jurisdiction's bills."
)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option(
    "-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="File (default stdout)."
)
@RELEVANT_OPTION
@CONFIRMED_OPTION
@pass_ctx
def export(
    obj: Context, jurisdiction: str | None, fmt: str, output: Any, relevant: bool, confirmed: bool
) -> None:
    """Write one record per bill, with its status history, its match (the editors' decision wins), its next
    hearing and its votes.

    With -o FILE, says how many bills it wrote where."""
    from tracker.review import csv_match_fields

    records = _bill_records(obj, jurisdiction, relevant=relevant, confirmed=confirmed)
    written = 0
    if fmt == "jsonl":
        for rec in records:
            output.write(json.dumps(rec, ensure_ascii=False) + "\n")
            written += 1
    else:
        writer = csv.DictWriter(output, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for rec in records:
            rec["sponsors"] = "; ".join(rec["sponsors"])
            rec["sponsors_pending"] = "true" if rec["sponsors_pending"] else "false"
            rec["status_history"] = json.dumps(rec["status_history"], ensure_ascii=False)
            rec["next_hearing"] = (
                json.dumps(rec["next_hearing"], ensure_ascii=False) if rec["next_hearing"] else ""
            )
            rec["votes"] = json.dumps(rec["votes"], ensure_ascii=False)
            csv_match_fields(rec)
            writer.writerow({k: csv_cell(v) for k, v in rec.items()})  # formula-safe cells
            written += 1
    name = getattr(output, "name", "-")
    if name not in ("-", "<stdout>"):
        output.flush()
        echo(f"wrote {written:,} bill{'s' if written != 1 else ''} to {name}")


@click.command()
@click.option(
    "--since",
    metavar="ISO",
    type=NON_EMPTY,
    help="Only changes observed at or after this time (UTC if no offset).",
)
@click.option(
    "--jurisdiction", "jurisdiction", metavar="SLUG", type=NON_EMPTY, help="Only this jurisdiction."
)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table"]), default="table", show_default=True)
@click.option("--include-first-seen", is_flag=True, help="Also list the first observation of each bill.")
@RELEVANT_OPTION
@CONFIRMED_OPTION
@pass_ctx
def changes(
    obj: Context,
    since: str | None,
    jurisdiction: str | None,
    fmt: str,
    include_first_seen: bool,
    relevant: bool,
    confirmed: bool,
) -> None:
    """List status-change events, oldest first."""
    from tracker.crawl import parse_iso
    from tracker.read_model import status_changes

    when = parse_iso(since) if since else None
    rows = status_changes(
        obj.engine(),
        since=when,
        jurisdiction=jurisdiction,
        include_first_seen=include_first_seen,
        relevant=relevant,
        confirmed=confirmed,
    )
    echo_rows(rows, fmt, format_changes_table)


def format_changes_table(rows: list[dict[str, Any]], zone: str | None = None) -> str:
    """``tracker changes``: one line per status change, then how many. Times in UTC, or in ``zone`` (the
    demo's, whose header names the zone every time it prints is in)."""
    if not rows:
        return "No status changes."
    tz = ZoneInfo(zone) if zone else None
    label = f"observed ({datetime.now(tz).strftime('%Z')})" if tz else "observed (UTC)"
    lines = [f"{label:<17} {'jurisdiction':<12} {'file':<12} {'change':<42} {'action':<28} title"]
    for r in rows:
        when = r["observed_at"][:16].replace("T", " ")
        if tz is not None:
            seen = datetime.fromisoformat(r["observed_at"])
            seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
            when = seen.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        change = f"{r['old_status'] or '-'} → {r['new_status'] or '-'}"
        action = ""
        if r["action"]:
            action = f"{r['action']['date'] or ''} {r['action']['description'] or ''}".strip()
        place, file = cut(r["jurisdiction"], 12, one_line=False), cut(r["identifier"], 12, one_line=False)
        change, action = cut(change, 42, one_line=False), cut(action, 28, one_line=False)
        title = cut(r["title"], 70, one_line=False)
        lines.append(f"{when:<17} {place:<12} {file:<12} {change:<42} {action:<28} {title}")
    lines.append(f"{len(rows)} status change{'s' if len(rows) != 1 else ''}.")
    return "\n".join(lines)


COMMANDS = (export, changes)
