"""``tracker crawl`` and ``tracker track``: fetch bills from the portals."""

from __future__ import annotations

import sys

import click

from tracker.cli.context import Context, pass_ctx
from tracker.cli.output import echo
from tracker.errors import CrawlFailed


@click.command()
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
        from tracker.documents.runs import after_crawl

        crawled = [s.slug for s in summaries if s.status in ("succeeded", "partial")]
        for line in after_crawl(obj.config, obj.engine(), crawled):
            echo(line)
    bad = [s.slug for s in summaries if not s.ok]
    if bad:
        raise CrawlFailed(f"crawl did not succeed for {', '.join(bad)}")


@click.command()
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


COMMANDS = (crawl, track)
