"""The scheduler's ``matcher:retrain`` job (scheduler.Jobs.retrain) on a real database (the training on
PostgreSQL, the rest on both engines): it trains a new active model and matches the bills again when
``[matcher] min_new_decisions`` decisions are newer than the active model, and skips otherwise, with one
log line either way; ``tracker schedule --list`` shows it on ``[matcher] retrain_cron``; a cron that never
fires is one ``Error:`` line."""

from __future__ import annotations

import logging
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models_matcher import MatcherModel
from db.models_review import BillMatch
from scheduler import Jobs
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tests.factories import bill
from tracker.config import parse_config
from tracker.matcher.apply import match_stored
from tracker.review import confirm, reject

# Titles an editor would decide on: a camera-maintenance contract they reject, detainer limits they confirm.
REJECTED = [
    f"To authorize the Director of Public Safety to enter into contract with K.N.S. Services for maintenance "
    f"of the security camera system at the {place} recreation center"
    for place in ("Linden", "Hilltop", "Driving Park")
]  # fmt: skip
CONFIRMED = "An ordinance prohibiting the use of City resources to honor civil immigration detainer requests"


def _config(db_url: str, min_new: int):
    return parse_config({"database": {"url": db_url}, "matcher": {"min_new_decisions": min_new}}, "test.toml")


def _decide(engine, count_rejected: int) -> None:
    with session_scope(engine) as s:
        for i, title in enumerate(REJECTED):
            bill(s, title=title, identifier=f"R{i}")
        bill(s, title=CONFIRMED, identifier="C1")
    match_stored(engine, rescore=True)
    with session_scope(engine) as s:
        for i in range(count_rejected):
            reject(s, f"riverton:R{i}", by="ana")
        confirm(s, "riverton:C1", categories=["detainers_warrants"], direction="expands", by="ana")


def _models(engine) -> list[tuple[str, bool, str | None]]:
    with session_scope(engine) as s:
        columns = (MatcherModel.version, MatcherModel.active, MatcherModel.trained_by)
        rows = s.execute(select(*columns).order_by(MatcherModel.id)).all()
    return [tuple(r) for r in rows]


def _retrain_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "matcher_retrain"]


# The production engine only: training takes seconds, and tests/matcher/test_retrain.py trains on both.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_job_retrains_when_enough_new_decisions_exist(engine, db_url, caplog):
    _decide(engine, count_rejected=3)  # 4 decisions
    jobs = Jobs(_config(db_url, min_new=4), None, engine)
    with caplog.at_level(logging.INFO, logger="tracker.scheduler"):
        assert jobs.retrain() == "trained"
    assert _models(engine) == [("db-1", True, "scheduler")]
    (line,) = _retrain_lines(caplog)
    assert line.startswith("matcher retrained: model db-1 on ") and "(4 editors' decisions, 4 new)" in line
    with session_scope(engine) as s:  # the bills were matched again with the new model; decisions stand
        models = set(s.scalars(select(BillMatch.learned["model"].as_string())))
        states = sorted(s.scalars(select(BillMatch.review_state)))
    assert models == {"db-1"}
    assert states == ["confirmed", "rejected", "rejected", "rejected"]

    caplog.clear()  # no decision is newer than the model now: the next run skips
    with caplog.at_level(logging.INFO, logger="tracker.scheduler"):
        assert jobs.retrain() == "skipped"
    assert _retrain_lines(caplog) == ["matcher retraining skipped: 0 new decision(s), 4 needed"]
    assert _models(engine) == [("db-1", True, "scheduler")]


def test_the_job_skips_with_too_few_new_decisions(engine, db_url, caplog):
    _decide(engine, count_rejected=2)  # 3 decisions
    jobs = Jobs(_config(db_url, min_new=4), None, engine)
    with caplog.at_level(logging.INFO, logger="tracker.scheduler"):
        assert jobs.retrain() == "skipped"
    assert _retrain_lines(caplog) == ["matcher retraining skipped: 3 new decision(s), 4 needed"]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(MatcherModel)) == 0


def test_a_lost_lock_starts_no_retraining(engine, db_url):
    _decide(engine, count_rejected=3)
    jobs = Jobs(_config(db_url, min_new=1), None, engine)
    lost: list[str] = []
    jobs.lock_alive, jobs.on_lost = (lambda: False), lost.append
    assert jobs.retrain() is None
    assert lost and _models(engine) == []


def test_schedule_list_shows_the_retrain_job_on_its_cron(sqlite_db, tmp_path):
    db_url, _ = sqlite_db
    cfg = h.write_toml(tmp_path / "t.toml", h.make_config(db_url))
    with cfg.open("a", encoding="utf-8") as f:
        f.write('\n[matcher]\nretrain_cron = "30 4 * * wed"\nmin_new_decisions = 50\n')
    listed = run_tracker("--config", str(cfg), "schedule", "--list")
    assert listed.returncode == 0, listed.stderr
    (line,) = [x for x in listed.stdout.splitlines() if x.startswith("matcher:retrain: ")]
    when = re.fullmatch(r"matcher:retrain: next (\d{4}-\d\d-\d\d) 04:30 UTC \(retrain the matcher .*\)", line)
    assert when, line
    assert datetime.strptime(when.group(1), "%Y-%m-%d").strftime("%a") == "Wed"


def test_a_retrain_cron_that_never_fires_is_one_error_line(sqlite_db, tmp_path):
    db_url, _ = sqlite_db
    cfg = h.write_toml(tmp_path / "t.toml", h.make_config(db_url))
    with cfg.open("a", encoding="utf-8") as f:
        f.write('\n[matcher]\nretrain_cron = "0 0 31 2 *"\n')
    listed = run_tracker("--config", str(cfg), "schedule", "--list")
    assert listed.returncode == 2
    assert listed.stderr.strip() == (
        f"Error: {cfg}: matcher.retrain_cron: retrain_cron '0 0 31 2 *' never fires "
        "(no such date in the next 8 years)"
    )
