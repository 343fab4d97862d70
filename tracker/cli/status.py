"""``tracker status``: each jurisdiction's last crawl, the next scheduled runs, held digests and alerts."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from tracker.cli.output import echo
from tracker.cli.params import NOW_OPTION, parse_now
from tracker.safe_output import json_text

if TYPE_CHECKING:
    from tracker.health import HealthReport


@click.command("status")
@click.option("--check", is_flag=True, help="Exit 1 when any alert is open (for external monitoring).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@NOW_OPTION
@click.pass_obj
def status(obj: Any, check: bool, fmt: str, now_text: str | None) -> None:
    """Each jurisdiction's last crawl (when, result, errors), the next scheduled runs, held digests and
    alerts."""
    from scheduler import scheduler_state
    from tracker.health import evaluate

    engine = obj.engine()
    report = evaluate(
        engine, obj.config, parse_now(now_text), scheduler_state=scheduler_state(obj.config.database_url)
    )
    if fmt == "json":
        echo(json_text(json.dumps(report.to_dict(), ensure_ascii=False)))
    else:
        echo(format_status(report))
    if check and report.alerts:
        sys.exit(1)


def format_status(report: HealthReport) -> str:
    """The report as ``tracker status`` prints it: jurisdictions, digests, held deliveries, alerts."""
    from tracker.health import utc_minute

    lines = [f"Status at {utc_minute(report.now)} UTC"]
    if report.scheduler:
        lines.append(f"Scheduler: {report.scheduler}")
    lines.append("")
    lines.append("Jurisdictions (times in UTC):")
    if not report.jurisdictions:
        lines.append("  none configured")
    for j in report.jurisdictions:
        run = j.last_run
        if run is None:
            last = "no crawl finished yet" if j.running else "never crawled"
        else:
            last = (
                f"last crawl {utc_minute(run['started_at'])} {run['status']} ({run['mode']}): "
                f"{run['seen']} seen, {run['new']} new, {run['status_changes']} status changes, "
                f"{run['errors']} errors"
            )
            if run["message"]:
                last += f" - {run['message']}"
        lines.append(f"  {j.slug}: {last}")
        if j.running:
            crawl = j.running
            now_running = f"crawl running since {utc_minute(crawl['started_at'])} ({crawl['mode']})"
            if crawl.get("owner_gone"):
                now_running = (
                    f"crawl started {utc_minute(crawl['started_at'])} ({crawl['mode']}) and left running: "
                    f"its process ({crawl['owner'] or 'its owner'}) is gone; the next scheduler start or "
                    "crawl records it as interrupted"
                )
            elif crawl["owner"]:
                now_running += f", {crawl['owner']}, last heartbeat {utc_minute(crawl['heartbeat_at'])}"
            lines.append(f"    {now_running}")
        extra = f"last success {utc_minute(j.last_success_at)}"
        if j.failures_in_a_row:
            extra += f"; {j.failures_in_a_row} failed, suspect or interrupted in a row"
        extra += f"; next crawl {utc_minute(j.next_crawl_at)}"
        if report.scheduler == "not running":  # the schedule's next slot: nothing runs it now
            extra += " (once `tracker schedule` runs)"
        lines.append(f"    {extra}")
    lines.append("")
    lines.append("Digests:")
    if not report.digests:
        lines.append("  no subscriptions")
    for d in report.digests:
        nxt = f"next {utc_minute(d['next_run'])}" if d["next_run"] else d["state"]
        lines.append(
            f"  subscription {d['subscription']} {d['email']} ({d['schedule']}): {nxt}; "
            f"last digest {utc_minute(d['last_digest'])}"
        )
    if report.deliveries:
        lines.append("")
        lines.append("Held or failed deliveries (`tracker digest release ID [--mark-sent]`):")
        for p in report.deliveries:
            lines.append(
                f"  {p.id}: {p.status.upper()} {p.channel} to {p.target}, digest {p.period} of subscription "
                f"{p.subscription_id}, since {utc_minute(p.since)} - {p.error}"
            )
    lines.append("")
    if report.alerts:
        lines.append(f"ALERTS ({len(report.alerts)}):")
        lines += [f"  {a.message}" for a in report.alerts]
    else:
        lines.append("No alerts.")
    return "\n".join(lines)


COMMANDS = (status,)
