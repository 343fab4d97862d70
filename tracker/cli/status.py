"""``tracker status``: each jurisdiction's last crawl, the next scheduled runs, held digests and alerts."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tracker.cli.output import echo
from tracker.cli.params import NOW_OPTION, parse_now
from tracker.safe_output import json_text


@click.command("status")
@click.option("--check", is_flag=True, help="Exit 1 when any alert is open (for external monitoring).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@NOW_OPTION
@click.pass_obj
def status(obj: Any, check: bool, fmt: str, now_text: str | None) -> None:
    """Each jurisdiction's last crawl (when, result, errors), the next scheduled runs, held digests and
    alerts."""
    from scheduler import scheduler_state
    from tracker.health import evaluate, format_status

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


COMMANDS = (status,)
