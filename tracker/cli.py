"""The ``tracker`` command. Every user error is printed as one line, ``Error: ...``, with a non-zero exit."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import selectinload

from tracker.config import Config, load_config
from tracker.digest_cli import COMMANDS as DIGEST_COMMANDS
from tracker.documents_cli import COMMANDS as DOCUMENT_COMMANDS
from tracker.errors import CrawlFailed, TrackerError
from tracker.matcher.commands import COMMANDS as MATCHER_COMMANDS
from tracker.review_cli import COMMANDS as REVIEW_COMMANDS
from tracker.safe_output import csv_cell, echo, json_text, terminal_text, terminal_view
from tracker.web_cli import COMMANDS as WEB_COMMANDS


class Context:
    def __init__(self, config_path: str | None, verbose: int, json_logs: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self.json_logs = json_logs
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            from tracker.logs import setup_logging

            secrets = [j.token_env for j in self._config.jurisdictions if j.token_env]
            if self._config.email and self._config.email.password_env:  # the SMTP password, masked too
                secrets.append(self._config.email.password_env)
            secrets.append(self._config.digests.secret_env)  # the unsubscribe links' signing secret
            setup_logging(self.verbose, secret_env=secrets, json_lines=self.json_logs)
        return self._config

    def engine(self) -> Any:
        from db.engine import make_engine, require_schema

        engine = make_engine(self.config.database_url)
        require_schema(engine)
        return engine


pass_ctx = click.make_pass_decorator(Context)


def config_first(args: list[str]) -> list[str]:
    """``--config PATH`` (or ``--config=PATH``) given after the subcommand, moved before it, so that
    ``tracker review list --config x.toml`` works like ``tracker --config x.toml review list``. Nothing after
    a ``--`` is touched."""
    out, moved = list(args), []
    i = 0
    while i < len(out):
        arg = out[i]
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(out):
            moved += out[i : i + 2]
            del out[i : i + 2]
            continue
        if arg.startswith("--config="):
            moved.append(out.pop(i))
            continue
        i += 1
    return moved + out


class TrackerGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, config_first(args))


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Configuration file (default: $TRACKER_CONFIG, else ./tracker.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("--json-logs", is_flag=True, help="Log one JSON object per line.")
@click.version_option(package_name="sanctuary-tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, json_logs: bool) -> None:
    """Sanctuary Tracker: city legislation that expands or rolls back sanctuary."""
    ctx.obj = Context(config_path, verbose, json_logs)


@cli.command()
@pass_ctx
def init(obj: Context) -> None:
    """Create the database schema, or upgrade it to this version."""
    from db.engine import current_revision, make_engine, redact_url, upgrade

    engine = make_engine(obj.config.database_url)
    before = None
    try:
        before = current_revision(engine)
    except OperationalError as exc:
        raise TrackerError(
            f"cannot reach the database {redact_url(obj.config.database_url)}: {exc.orig}"
        ) from None
    upgrade(engine)
    after = current_revision(engine)
    where = redact_url(obj.config.database_url)
    if before == after:
        click.echo(f"Schema of {where} is up to date ({after}).")
    else:
        click.echo(f"Schema of {where} upgraded from {before or 'nothing'} to {after}.")


@cli.command()
@click.argument("slugs", nargs=-1)
@click.option("--full", is_flag=True, help="Backfill everything instead of asking only for what changed.")
@click.option(
    "--sweep", is_flag=True, help="Run the reconciliation sweep now (every matter's status compared)."
)
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="SOURCE_ID",
    help="Fetch only this bill (its id on the portal; repeatable; one jurisdiction); see `tracker track`.",
)
@pass_ctx
def crawl(obj: Context, slugs: tuple[str, ...], full: bool, sweep: bool, only: tuple[str, ...]) -> None:
    """Crawl the named jurisdictions (all when none are named).

    Prints one line per jurisdiction and exits non-zero if any crawl failed, was partial or suspect.
    """
    from tracker.crawl import run_crawl

    if full and sweep:
        raise click.UsageError("--full and --sweep exclude each other")
    if only and (full or sweep or len(slugs) != 1):
        raise click.UsageError("--only needs exactly one jurisdiction and neither --full nor --sweep")
    summaries = run_crawl(
        obj.config,
        list(slugs),
        full=full,
        sweep=sweep,
        progress=sys.stderr.isatty(),
        only=set(only) or None,
    )
    for s in summaries:
        echo(s.line())
    if obj.config.documents.after_crawl:  # never fails the crawl: problems are part of the lines
        from tracker.documents import after_crawl

        crawled = [s.slug for s in summaries if s.status in ("succeeded", "partial")]
        for line in after_crawl(obj.config, obj.engine(), crawled):
            echo(line)
    bad = [s.slug for s in summaries if not s.ok]
    if bad:
        raise CrawlFailed(f"crawl did not succeed for {', '.join(bad)}")


@cli.command()
@click.argument("url")
@click.option("--by", "by", metavar="NAME", help="Who asked (recorded as tracked_by; default: cli).")
@pass_ctx
def track(obj: Context, url: str, by: str | None) -> None:
    """Track a bill by its public URL: fetch it now, follow it from then on, put it in the review queue.

    The URL must be a bill page of a configured jurisdiction's portal (any supported platform), or a URL
    the tracker recorded for a bill before a portal move.
    """
    from tracker.track import track_url

    echo(track_url(obj.config, obj.engine(), url, by=by).line())


def _bill_records(
    obj: Context, jurisdiction: str | None, *, relevant: bool = False, confirmed: bool = False
) -> Iterator[dict[str, Any]]:
    from db.engine import session_scope
    from db.models import Bill, Jurisdiction
    from db.models_review import BillMatch
    from tracker.queries import check_jurisdiction
    from tracker.review import export_fields

    engine = obj.engine()
    with session_scope(engine) as session:
        if jurisdiction:
            check_jurisdiction(session, jurisdiction)
        q = (
            select(Bill, Jurisdiction.slug, BillMatch)
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
        for bill, slug, match in session.execute(q):
            if relevant and not (match is not None and match.effective_relevant):
                continue
            yield {
                "jurisdiction": slug,
                "source_id": bill.source_id,
                "identifier": bill.identifier,
                "title": bill.title,
                "name": bill.name,
                "type": bill.type_name,
                "status": bill.status,
                "stage": bill.stage,
                "introduced": bill.introduced.isoformat() if bill.introduced else None,
                "url": bill.public_url or bill.source_url,
                "sponsors": [s.name for s in bill.sponsors],
                "first_seen_at": bill.first_seen_at.isoformat(),
                "vanished_at": bill.vanished_at.isoformat() if bill.vanished_at else None,
                "status_history": [
                    {"status": c.new_status, "stage": c.new_stage, "observed_at": c.observed_at.isoformat()}
                    for c in bill.status_changes
                ],
                **export_fields(match),
            }


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
    "first_seen_at",
    "vanished_at",
    "status_history",
    "relevant",
    "score",
    "categories",
    "direction",
    "direction_reason",
    "review_state",
]


@cli.command()
@click.option("--jurisdiction", "jurisdiction", metavar="SLUG", help="Only this jurisdiction's bills.")
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
    """Write one record per bill, with its status history and its match (the editors' decision wins).

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
            rec["status_history"] = json.dumps(rec["status_history"], ensure_ascii=False)
            csv_match_fields(rec)
            writer.writerow({k: csv_cell(v) for k, v in rec.items()})  # formula-safe cells
            written += 1
    name = getattr(output, "name", "-")
    if name not in ("-", "<stdout>"):
        output.flush()
        echo(f"wrote {written:,} bill{'s' if written != 1 else ''} to {name}")


@cli.command()
@click.option(
    "--since", metavar="ISO", help="Only changes observed at or after this time (UTC if no offset)."
)
@click.option("--jurisdiction", "jurisdiction", metavar="SLUG", help="Only this jurisdiction.")
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
    from tracker.queries import status_changes

    when = parse_iso(since) if since else None
    rows = status_changes(
        obj.engine(),
        since=when,
        jurisdiction=jurisdiction,
        include_first_seen=include_first_seen,
        relevant=relevant,
        confirmed=confirmed,
    )
    if fmt == "jsonl":
        for row in rows:
            click.echo(json_text(json.dumps(row, ensure_ascii=False)))
        return
    from tracker.queries import format_changes_table

    click.echo(format_changes_table(terminal_view(rows)))


@cli.command()
@click.option(
    "--dir", "directory", default="tracker-demo", show_default=True, help="Where the demo keeps its files."
)
@click.option("--days", default=14, show_default=True, help="How far the demo clock advances between crawls.")
@click.option("--no-serve", is_flag=True, help="Stop after the crawls instead of serving the web app.")
@click.option("--port", type=click.IntRange(1, 65535), help="Web app port (default 8000, else any free one).")
def demo(directory: str, days: int, no_serve: bool, port: int | None) -> None:
    """Run the whole main job offline against a built-in demo portal, then serve the web app over it."""
    from tracker.demo.run import run_demo

    run_demo(directory, days=days)
    if not no_serve:
        from tracker.web.demo import serve_demo

        serve_demo(directory, port=port)


@cli.group("db")
def db_group() -> None:
    """Database operations: copy."""


@db_group.command("copy")
@click.option("--to", "to_url", required=True, metavar="URL", help="The target database (empty, migrated).")
@click.option(
    "--from", "from_url", metavar="URL", help="The source database (default: the configured database)."
)
@click.option(
    "--batch", default=2000, show_default=True, type=click.IntRange(1, 100_000), help="Rows per batch."
)
@pass_ctx
def db_copy(obj: Context, to_url: str, from_url: str | None, batch: int) -> None:
    """Copy every table of a migrated database into an empty, migrated one (SQLite <-> PostgreSQL).

    The target is written in one transaction and verified (row counts and a checksum per table) before it
    commits: interrupted or failing, it is left empty. Run `tracker init` on the target first.
    """
    from db.engine import redact_url
    from tracker.dbcopy import copy_database

    config = obj.config  # reading it also sets up the -v logs (a line per batch)
    source = from_url or config.database_url
    echo(f"Copying {redact_url(source)} to {redact_url(to_url)}...", err=True)
    copy_database(source, to_url, batch=batch, report=echo)


@cli.command()
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 120), help="Seconds.")
@click.pass_context
def doctor(ctx: click.Context, timeout: float) -> None:
    """Check a deployment: config, database, portals, SMTP, scheduler, base URL, disk space.

    One line per check (OK, WARN or FAIL); exits 1 when any check FAILs.
    """
    from tracker.doctor import run_checks

    obj: Context = ctx.obj
    failed = False
    for check in run_checks(obj.config_path, timeout=timeout):
        echo(check.line())
        failed = failed or check.status == "FAIL"
    if failed:
        ctx.exit(1)


for _command in (*MATCHER_COMMANDS, *REVIEW_COMMANDS, *DIGEST_COMMANDS, *WEB_COMMANDS, *DOCUMENT_COMMANDS):
    cli.add_command(_command)


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return terminal_text(lines[0]) if lines else type(exc).__name__


def main(argv: list[str] | None = None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="tracker", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TrackerError as exc:
        echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OperationalError as exc:
        echo(f"Error: database: {_first_line(exc.orig)}", err=True)
        sys.exit(1)
    except DatabaseError as exc:  # e.g. a database URL naming a file that is not a database
        echo(f"Error: database: {_first_line(exc.orig)} (check the database URL)", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    if isinstance(rv, int) and rv:
        sys.exit(rv)
