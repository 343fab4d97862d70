"""Operating a deployment: ``tracker init`` (the schema), ``tracker db copy`` and ``tracker doctor``."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from tracker.cli.context import Context, pass_ctx
from tracker.cli.output import echo


@click.command()
@pass_ctx
def init(obj: Context) -> None:
    """Create the database schema, or upgrade it to this version."""
    from db.engine import current_revision, make_engine, redact_url, unreachable, upgrade

    engine = make_engine(obj.config.database_url)
    before = None
    try:
        before = current_revision(engine)
    except OperationalError as exc:
        raise unreachable(obj.config.database_url, exc) from None
    upgrade(engine)
    after = current_revision(engine)
    where = redact_url(obj.config.database_url)
    if before == after:
        click.echo(f"Schema of {where} is up to date ({after}).")
    else:
        click.echo(f"Schema of {where} upgraded from {before or 'nothing'} to {after}.")


@click.group("db")
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


@click.command()
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


COMMANDS = (init, db_group, doctor)
