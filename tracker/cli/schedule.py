"""``tracker schedule``: the tracker unattended (the jobs live in ``scheduler.py``)."""

from __future__ import annotations

from typing import Any

import click

from db.types import utcnow
from tracker.cli.output import echo
from tracker.errors import TrackerError


@click.command("schedule")
@click.option("--list", "list_only", is_flag=True, help="Print the jobs and their next run; do not start.")
@click.pass_obj
def schedule(obj: Any, list_only: bool) -> None:
    """Run the tracker unattended: crawls, digests, retries and health checks on their schedules.

    One scheduler per database: a second one waits until the first stops. Stop with Ctrl-C or SIGTERM.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    import scheduler as sched

    config = obj.config
    if list_only:
        engine = obj.engine()
        s = sched.build_scheduler(
            config, obj.config_path, BlockingScheduler(timezone="UTC"), engine=engine, catch_up=False
        )
        for line in sched.describe_jobs(s, utcnow()):
            echo(line)
        engine.dispose()
        return
    obj.engine().dispose()  # the schema is checked before waiting for the lock
    code = sched.run(config, obj.config_path, on_event=lambda m: echo(m[0].upper() + m[1:] + ".", err=True))
    if code:
        raise TrackerError("the scheduler stopped: its lock was lost")


COMMANDS = (schedule,)
