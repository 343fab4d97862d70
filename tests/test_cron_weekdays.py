"""Cron weekdays mean what they mean in crontab (0 and 7 are Sunday), although APScheduler 3, which runs the
schedule, reads a number 0 as Monday: `0 3 * * 1-5` crawled Tuesday to Saturday until 2026-12-07, and `7`
was refused. The scheduler's triggers, `tracker schedule --list` and the config's check all read the same."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import run_tracker, write_config
from tracker.config_fields import check_cron, crontab_weekdays
from tracker.cron import cron_trigger

SATURDAY = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "next_day"),
    [
        ("0 3 * * 0", "2026-12-13"),  # Sunday
        ("0 3 * * 7", "2026-12-13"),  # Sunday too
        ("0 3 * * sun", "2026-12-13"),
        ("0 3 * * 1-5", "2026-12-14"),  # Monday, not Saturday the 12th... nor Tuesday
        ("0 3 * * 6", "2026-12-19"),  # Saturday (this one's 03:00 has passed)
        ("0 0 3 * * 3", "2026-12-16"),  # six fields: Wednesday
        ("0 3 * * */2", "2026-12-13"),  # crontab's 0,2,4,6: Sunday first
    ],
)
def test_crontab_weekday_numbers(expression, next_day):
    check_cron(expression)
    fire = cron_trigger(expression, "test").get_next_fire_time(None, SATURDAY)
    assert fire is not None and fire.date().isoformat() == next_day, fire


def test_weekday_numbers_and_ranges_become_names():
    assert crontab_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_weekdays("mon-fri") == "mon-fri"
    assert crontab_weekdays("*") == "*"
    with pytest.raises(ValueError, match="not within 0-7"):
        crontab_weekdays("8")
    # a range across the week's end: a way to write it (it said "not within 0-7" until 2026-12-07)
    with pytest.raises(ValueError, match=r"weekday range '6-0' runs backwards: write it as '6-7'"):
        crontab_weekdays("6-0")
    with pytest.raises(ValueError, match=r"weekday range '5-1' runs backwards: write it as '5-7,1'"):
        crontab_weekdays("5-1")
    with pytest.raises(ValueError, match=r"weekday range '5-2' runs backwards: write it as '5-7,1-2'"):
        crontab_weekdays("5-2")
    assert crontab_weekdays("6-7") == "sun,sat" and crontab_weekdays("5-7,1") == "sun,fri,sat,mon"


def test_schedule_list_shows_the_crontab_day(tmp_path, db_url, engine):
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)
    cfg.write_text(cfg.read_text() + '\n[matcher]\nretrain_cron = "0 3 * * 0"\n')
    done = run_tracker("--config", str(cfg), "schedule", "--list")
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("matcher:retrain: next "))
    when = datetime.strptime(line.split("next ", 1)[1][:16], "%Y-%m-%d %H:%M")
    assert when.weekday() == 6 and when.hour == 3, line  # a Sunday, whatever today is


@pytest.mark.parametrize(
    ("expression", "fires"),
    [
        # both restricted: either (crontab); a CronTrigger alone waited for a Monday the 1st or 15th
        ("0 3 1,15 * mon", ["2026-12-14", "2026-12-15", "2026-12-21", "2026-12-28", "2027-01-01"]),
        ("0 3 13 * 1", ["2026-12-13", "2026-12-14", "2026-12-21"]),  # the 13th is a Sunday
        # one of them starts with '*': both must hold, as in crontab
        ("0 3 */2 * mon", ["2026-12-21", "2027-01-11", "2027-01-25"]),
        ("0 3 1 * *", ["2027-01-01", "2027-02-01", "2027-03-01"]),
    ],
)
def test_day_of_month_and_weekday_as_crontab_reads_them(expression, fires):
    check_cron(expression)
    trigger = cron_trigger(expression, "test")
    seen, previous, now = [], None, SATURDAY
    for _ in fires:
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        seen.append(fire.date().isoformat())
        previous, now = fire, fire
    assert seen == fires


def test_schedule_list_shows_the_either_day(tmp_path, db_url, engine):
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)
    cfg.write_text(cfg.read_text() + '\n[matcher]\nretrain_cron = "0 3 1 * sun"\n')
    done = run_tracker("--config", str(cfg), "schedule", "--list")
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("matcher:retrain: next "))
    when = datetime.strptime(line.split("next ", 1)[1][:16], "%Y-%m-%d %H:%M")
    assert when.weekday() == 6 or when.day == 1, line
    assert (when - datetime.now(UTC).replace(tzinfo=None)).days < 7, line  # a Sunday comes within a week
