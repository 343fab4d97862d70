"""The schedule's cron expressions read as APScheduler triggers (UTC): the scheduler runs its jobs on them,
and ``tracker status`` shows each jurisdiction's next crawl from the same trigger."""

from __future__ import annotations

from apscheduler.triggers.base import BaseTrigger

from tracker.config import Config
from tracker.config_fields import crontab_trigger
from tracker.errors import ConfigError
from tracker.platforms.base import JurisdictionConfig


def cron_trigger(expression: str, where: str) -> BaseTrigger:
    """Five-field crontab (minute hour day month weekday), or six with a leading seconds field; UTC. Weekday
    numbers mean what they mean in crontab (0 and 7 are Sunday), not APScheduler's (0 is Monday), and a
    restricted day of the month and weekday fire on either, as in crontab."""
    try:
        return crontab_trigger(expression)
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid cron expression {expression!r}: {exc}") from None


def crawl_trigger(config: Config, j: JurisdictionConfig) -> BaseTrigger:
    """When ``j`` is crawled: its own ``crawl_cron``, else ``[schedule] crawl_cron``."""
    expression = j.crawl_cron or config.schedule.crawl_cron
    return cron_trigger(expression, f"{config.source}: jurisdiction {j.slug!r}")
