"""The schedule's cron expressions read as APScheduler triggers (UTC): the scheduler runs its jobs on them,
and ``tracker status`` shows each jurisdiction's next crawl from the same trigger."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from tracker.config import Config
from tracker.config_fields import crontab_weekdays
from tracker.errors import ConfigError
from tracker.platforms.base import JurisdictionConfig


def cron_trigger(expression: str, where: str) -> CronTrigger:
    """Five-field crontab (minute hour day month weekday), or six with a leading seconds field; UTC. Weekday
    numbers mean what they mean in crontab (0 and 7 are Sunday), not APScheduler's (0 is Monday)."""
    try:
        fields = expression.split()
        if len(fields) not in (5, 6):
            raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5 or 6")
        second = fields.pop(0) if len(fields) == 6 else "0"
        minute, hour, day, month, weekday = fields
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=crontab_weekdays(weekday),
            timezone="UTC",
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid cron expression {expression!r}: {exc}") from None


def crawl_trigger(config: Config, j: JurisdictionConfig) -> CronTrigger:
    """When ``j`` is crawled: its own ``crawl_cron``, else ``[schedule] crawl_cron``."""
    expression = j.crawl_cron or config.schedule.crawl_cron
    return cron_trigger(expression, f"{config.source}: jurisdiction {j.slug!r}")
