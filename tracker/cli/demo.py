"""``tracker demo``: the whole main job, offline, told step by step on the terminal.

1. start the built-in demo portal (four fictional councils speaking the Legistar Web API) on loopback,
   its clock set ``days`` before now, so that after it moves on (step 4) it stands at now: every time the
   tracker records ("observed", "first seen") comes after the council actions it explains;
2. write a configuration for it and create a fresh SQLite database in the demo directory;
3. crawl every council (a full backfill), in a child process as the scheduler does;
4. advance the portal's clock (two weeks of council meetings: statuses change, new bills appear);
5. crawl again (incremental: only what changed is asked for), and show the status changes it found. The
   configuration's ``overlap_hours`` covers the days the portal's clock stood behind the machine's, so
   this crawl asks for what changed since the first crawl by the portal's clock (less a day), as against
   a real portal;
6. withdraw one routine matter on the portal the way Legistar sometimes does (no date moves), run a
   reconciliation sweep (which also reads the sponsors and attachment lists the backfill left for later)
   and show what only it could see: that withdrawal.

Every crawl also fetches its bills' documents (``[documents] after_crawl``): the portal serves each
attachment's PDF itself, on its loopback address (listed in ``document_hosts``), so evidence found in a
document (``document:Agreement``) shows up, as it does for the opaque "AGREEMENT - INMATE HOUSING" bill.

Digests and the printed times are in one declared time zone (``[digests] timezone``, the first
council's). The next steps it prints run as printed: the program is named by the path it was started with
(``.venv/bin/tracker`` under ``./dev``), unless it is on ``PATH``. It ends with the digest a demo subscriber
would receive (:mod:`tracker.digests.demo`) and, unless ``--no-serve``, the web app over the demo database
(:mod:`tracker.web.demo`).

The demo portal and its data live in :mod:`tracker.demo`; this module runs them and prints.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker.cli.output import cut
from tracker.config import Config, load_config
from tracker.errors import TrackerError
from tracker.safe_output import terminal_text

if TYPE_CHECKING:  # the portal, the crawler and the database are imported by the command, not by `tracker`
    from tracker.demo import LegistarPortalServer, Portal


def demo_timezone(portal: Portal) -> str:
    """The demo's one declared time zone (digests, printed times): the first council's."""
    return next((client.timezone for client in portal), "UTC")


def _config_text(server: LegistarPortalServer, portal: Portal, database: Path, days: int) -> str:
    lines = [
        "# Written by `tracker demo`: the demo councils on the built-in local portal.",
        "[database]",
        f'url = "sqlite:///{database.resolve()}"',
        "",
        "[crawl]",
        "per_host_concurrency = 16",
        # the watermark a real deployment would have: the first crawl ran at the portal's clock, `days`
        # behind this machine's, so the incremental crawl after it asks for changes since then less a day
        f"overlap_hours = {24 * (days + 1)}  # the portal clock was {days} days behind at the first crawl",
        "",
        "[documents]",
        "after_crawl = true  # each crawl fetches its bills' documents (served by the demo portal)",
        "",
        "[digests]",
        f'timezone = "{demo_timezone(portal)}"',
        "",
    ]
    lines += portal.config_lines(
        server.base_url,
        f'document_hosts = ["{server.host}:{server.port}"]  # the demo portal serves the attachments',
    )
    return "\n".join(lines)


def _crawl(config_path: Path, label: str, *, sweep: bool = False) -> None:
    click.secho(f"\n{label}", bold=True)
    from tracker.crawl import crawl_in_child

    result = crawl_in_child(str(config_path), [], sweep=sweep, capture=False, timeout=600)
    if result.returncode != 0:
        raise TrackerError(f"the demo crawl failed (exit {result.returncode}); see the lines above")


def _quiet_status_change(portal: Portal) -> str | None:
    """Withdraw one routine matter of the first council, dated in none of the fields an incremental crawl
    reads, without moving its ``MatterLastModifiedUtc`` (the Legistar quirk): only a sweep can see it. Says
    what it did, or ``None`` when the council has no such matter."""
    client = next(iter(portal))
    labels = client.labels()
    for row in sorted(client.matter_rows(), key=lambda r: r["MatterId"]):
        if (
            labels.get(row["MatterId"]) is None
            and not row.get("MatterRestrictViewViaWeb")
            and row["MatterStatusName"] not in ("Withdrawn", "Adopted", "Passed", "Failed", "Filed")
        ):
            client.set_status(row["MatterId"], "Withdrawn", bump_last_modified=False)
            return (
                f"{client.name}'s {row['MatterFile']} is marked Withdrawn without its MatterLastModifiedUtc "
                "moving (a Legistar quirk; none of the dates an incremental crawl filters on moves either)."
            )
    return None


def program() -> str:
    """How to run this same program again from any directory: its name when that is on PATH, else the
    absolute path it was started with (``.venv/bin/tracker`` under ``./dev``), else ``python -m tracker``."""
    argv0 = sys.argv[0]
    name = Path(argv0).name
    if os.sep not in argv0 and shutil.which(name):
        return name
    path = Path(argv0)
    if path.is_file() and os.access(path, os.X_OK) and path.suffix != ".py":
        return shlex.quote(str(path.absolute()))
    return f"{shlex.quote(sys.executable)} -m tracker"


def run_demo(directory: str | Path, *, days: int = 14) -> None:
    from db.engine import make_engine, upgrade
    from tracker.cli.bills import format_changes_table
    from tracker.demo import LegistarPortalServer, demo_portal
    from tracker.read_model import status_changes

    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    database = base / "tracker.db"
    for stale in base.glob("tracker.db*"):
        stale.unlink()
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=days)  # the portal's clock: at now once it has moved `days` on
    portal = demo_portal(now=start)
    with LegistarPortalServer(portal, local_documents=True) as server:
        config_path = base / "tracker.toml"
        config_path.write_text(_config_text(server, portal, database, days), encoding="utf-8")
        config = load_config(config_path)
        engine = make_engine(config.database_url)
        upgrade(engine)
        councils = len(config.jurisdictions)
        zone = demo_timezone(portal)
        click.echo(
            f"Demo portal: {server.base_url} ({councils} councils, clock {start:%Y-%m-%d %H:%M} UTC, "
            f"moving to {now:%Y-%m-%d %H:%M} UTC)"
        )
        click.echo(f"Time zone:   {zone} (digests, their dates and the times printed below)")
        click.echo(f"Database:    {database}")

        _crawl(config_path, "First crawl (full backfill):")
        second_crawl_from = datetime.now(UTC)
        portal.advance(days=days)
        _crawl(config_path, f"The portal's clock moves {days} days on; second crawl (only what changed):")

        rows = status_changes(engine, since=second_crawl_from - timedelta(seconds=1))
        click.secho(f"\nStatus changes found by the second crawl ({len(rows)}):", bold=True)
        click.echo(format_changes_table(rows, zone))

        # Legistar does not always bump MatterLastModifiedUtc when a status changes; the daily sweep (here
        # run at once) compares every matter's status and finds what the date filter could not see.
        quiet = _quiet_status_change(portal)
        if quiet:
            click.echo(f"\nMeanwhile, on the portal: {quiet}")
        sweep_from = datetime.now(UTC)
        _crawl(
            config_path,
            "Reconciliation sweep (every matter's status compared; it also reads the sponsors and attachment "
            "lists the backfill left for later):",
            sweep=True,
        )
        hidden = status_changes(engine, since=sweep_from - timedelta(seconds=1))
        click.secho(f"\nStatus changes only the sweep could see ({len(hidden)}):", bold=True)
        click.echo(format_changes_table(hidden, zone))

        from tracker.review import matched_measures

        groups = matched_measures(engine)
        found = sum(len(g["bills"]) for g in groups)
        click.secho(f"\nSanctuary-related measures found by the matcher ({found}), with evidence:", bold=True)
        click.echo(format_matched_measures(groups))

        meetings, hearings = meetings_summary(
            engine, since=second_crawl_from - timedelta(seconds=1), zone=zone
        )
        click.secho("\nMeetings read from the council calendars:", bold=True)
        click.echo(terminal_text(meetings))
        click.secho(
            f"\nHearings of matched measures scheduled, moved or cancelled, found by the second crawl "
            f"({len(hearings)}; times in {zone}, as in the digest):",
            bold=True,
        )
        click.echo(terminal_text(format_hearing_changes(hearings)))
        engine.dispose()
    prefix = f"{program()} --config {shlex.quote(str(config_path.resolve()))}"
    click.echo(
        "\nExplore the demo database:\n"
        f"  {prefix} changes --format jsonl\n"
        f"  {prefix} review list --state pending\n"
        f"  {prefix} export --format csv -o {base / 'bills.csv'}"
        "\n  (each exported bill carries its next hearing and its roll-call votes; the web app shows the"
        " meetings, members and calendar feeds)"
    )
    _show_demo_digest(config, base, since=second_crawl_from - timedelta(seconds=1))


def _show_demo_digest(config: Config, directory: Path, since: datetime) -> None:
    """What a subscriber would receive: the digest's subject and the files it was written to."""
    from tracker.digests.demo import DEMO_SUBSCRIBER, write_demo_digest

    click.secho(f"\nThe digest a demo subscriber ({DEMO_SUBSCRIBER}) would receive:", bold=True)
    digest = write_demo_digest(config, directory, since=since)
    if digest.subject is None:
        click.echo("  nothing new: no digest would be sent.")
        return
    html, text = digest.paths
    click.echo(f"  {digest.subject}")
    click.echo(f"  HTML: {html.resolve()}")
    click.echo(f"  text: {text.resolve()}")


def serve_demo(directory: str | Path, *, port: int | None = None) -> None:
    """Serve the web app over the demo in ``directory`` (port 8000, or any free one when 8000 is taken and
    no port was asked for), with a demo editor account whose new password is printed once."""
    from tracker.cli.web import serve_app
    from tracker.web.demo import DEMO_HOST, DEMO_USER, demo_account, demo_listener

    config = load_config(Path(directory) / "tracker.toml", required=True)
    sock = demo_listener(port)
    port = int(sock.getsockname()[1])
    password = demo_account(config.database_url)
    url = f"http://{DEMO_HOST}:{port}/"
    click.secho("\nThe web app over the demo data:", bold=True)
    click.echo(f"  {url}")
    click.echo(f"  Log in as {DEMO_USER} / {password}  (a demo-only account; a new password every run)")
    click.echo("  Ctrl-C stops it.")
    serve_app(config, DEMO_HOST, port, banner="", sock=sock)


@click.command()
@click.option(
    "--dir", "directory", default="tracker-demo", show_default=True, help="Where the demo keeps its files."
)
@click.option(
    "--days",
    type=click.IntRange(1, 29),
    default=14,
    show_default=True,
    help="How far the demo clock advances between crawls.",
)
@click.option("--no-serve", is_flag=True, help="Stop after the crawls instead of serving the web app.")
@click.option("--port", type=click.IntRange(1, 65535), help="Web app port (default 8000, else any free one).")
def demo(directory: str, days: int, no_serve: bool, port: int | None) -> None:
    """Run the whole main job offline against a built-in demo portal, then serve the web app over it."""
    run_demo(directory, days=days)
    if not no_serve:
        serve_demo(directory, port=port)


def meetings_summary(engine: Any, since: datetime, zone: str) -> tuple[str, list[dict[str, Any]]]:
    """What the crawls stored of the meetings (one line per council), and the hearing changes of matched
    measures recorded since ``since``, oldest first, their times in ``zone`` (the demo's declared zone, the
    digest's: a council in another zone shows its meetings' times converted, as the digest does)."""
    from sqlalchemy import func, select

    from db.engine import session_scope
    from db.models import Bill, Jurisdiction
    from db.models_meetings import HearingChange, Meeting, MeetingItem, Member, Vote
    from db.models_review import BillMatch

    lines = []
    with session_scope(engine) as s:
        for slug, jid in s.execute(select(Jurisdiction.slug, Jurisdiction.id).order_by(Jurisdiction.slug)):
            states = dict(
                s.execute(
                    select(Meeting.state, func.count())
                    .where(Meeting.jurisdiction_id == jid)
                    .group_by(Meeting.state)
                ).all()
            )
            votes = s.scalar(
                select(func.count()).select_from(Vote).join(MeetingItem).join(Meeting)
                .where(Meeting.jurisdiction_id == jid)
            )  # fmt: skip
            members = s.scalar(select(func.count()).select_from(Member).where(Member.jurisdiction_id == jid))
            shown = ", ".join(
                f"{states[k]} {k}" for k in ("scheduled", "moved", "cancelled", "held") if states.get(k)
            )
            lines.append(
                f"  {cut(slug, 16):<16} {sum(states.values())} meetings ({shown or 'none'}), "
                f"{votes} roll-call votes, {members} members"
            )
        rows = s.execute(
            select(HearingChange, Meeting, Bill, Jurisdiction.slug)
            .join(Meeting, HearingChange.meeting_id == Meeting.id)
            .join(Bill, HearingChange.bill_id == Bill.id)
            .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
            .where(HearingChange.observed_at >= since)
            .where(HearingChange.bill_id.in_(select(BillMatch.bill_id).where(BillMatch.effective_relevant)))
            .order_by(HearingChange.id)
        ).all()
        hearings = [
            {
                "kind": change.kind,
                "slug": slug,
                "identifier": bill.identifier,
                "body": meeting.body_name,
                "at": _local(change.starts_at, zone),
                "was": _local(change.old_starts_at, zone),
                "title": bill.title,
            }
            for change, meeting, bill, slug in rows
        ]
    return "\n".join(lines) or "  No meetings.", hearings


def _local(value: datetime | None, zone: str) -> str:
    """A stored (UTC) time in ``zone``, written as the digest writes it: ``Wed 9 Dec 11:30``."""
    from zoneinfo import ZoneInfo

    from tracker.digests.content import when_label

    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return when_label(aware, ZoneInfo(zone))


def format_hearing_changes(rows: list[dict[str, Any]]) -> str:
    """One line per hearing change: what, where, which measure, when (in the zone the rows were made for by
    :func:`meetings_summary`, which the caller's header names)."""
    if not rows:
        return "No hearing changes."
    lines = []
    for r in rows:
        when = r["at"] + (f" (was {r['was']})" if r["was"] else "")
        lines.append(
            f"  {r['kind']:<10} {cut(r['slug'], 14):<14} {cut(r['identifier'], 12):<12} "
            f"{cut(r['body'], 40):<40} {when}"
        )
    return "\n".join(lines)


def format_matched_measures(groups: list[dict[str, Any]]) -> str:
    """The demo's list: by jurisdiction, then direction; each measure with its categories and the matched
    phrases (and direction cues) that made it relevant."""
    total = sum(len(g["bills"]) for g in groups)
    if not total:
        return "No sanctuary-related measures found."
    lines = []
    for g in groups:
        n = len(g["bills"])
        lines.append(click.style(f"{g['name']} ({g['slug']}): {n} measure{'s' if n != 1 else ''}", bold=True))
        by_direction: dict[str, list[dict[str, Any]]] = {}
        for b in g["bills"]:
            by_direction.setdefault(b["direction"] or "neutral", []).append(b)
        for direction in ("expands", "restricts", "neutral"):
            bills = by_direction.get(direction, [])
            if not bills:
                continue
            lines.append(f"  {direction} ({len(bills)})")
            for b in bills:
                state = f" [{b['review_state']}]" if b["review_state"] in ("confirmed", "rejected") else ""
                file = cut(b["identifier"] or b["ref"], 13)
                lines.append(f"    {file:<13} {cut(b['title'], 100)}{state}")
                why = [", ".join(b["categories"])]
                if b["phrases"]:
                    why.append("matched " + ", ".join(f'"{cut(p, 40)}"' for p in b["phrases"][:3]))
                if b["cues"]:
                    why.append("cue " + ", ".join(f'"{cut(c, 30)}"' for c in b["cues"][:2]))
                lines.append(f"    {'':<13} {' | '.join(why)}")
    return "\n".join(lines)


COMMANDS = (demo,)
