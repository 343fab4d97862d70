"""Uncertain matches in digests: left out of the new measures unless the subscription asks for them
(--include-uncertain, the web form's checkbox), and then marked "uncertain match, not yet reviewed"; an
editor's confirmation makes one an ordinary measure for everyone. Both engines."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db.engine import session_scope
from db.models_digest import Subscription
from tests import factories as f
from tests.conftest import run_tracker, write_config
from tests.digests import helpers as h
from tracker.digests.content import build_content

T0 = f.T0


def _titles(content) -> dict[str, str]:
    return {m["title"]: m["review_label"] for c in content.cities for m in c["measures"]}


def test_uncertain_matches_only_for_subscribers_who_ask(engine, db_url):
    config = h.make_config(db_url)
    with session_scope(engine) as s:
        plain = h.subscribe(s, config, "a@example.org", starts_at=T0)
        wants = h.subscribe(s, config, "b@example.org", starts_at=T0, include_uncertain=True)
        assert (plain.include_uncertain, wants.include_uncertain) == (False, True)
        sure = f.bill(s, title="Certain detainer ordinance", first_seen=T0 + timedelta(hours=1))
        f.match(s, sure)
        unsure = f.bill(s, title="Unsure detainer ordinance", first_seen=T0 + timedelta(hours=1))
        m = f.match(s, unsure)
        m.uncertain = True
        s.flush()
        now = T0 + timedelta(hours=2)
        assert _titles(build_content(s, plain, now)) == {
            "Certain detainer ordinance": "not yet reviewed by an editor"
        }
        assert _titles(build_content(s, wants, now)) == {
            "Certain detainer ordinance": "not yet reviewed by an editor",
            "Unsure detainer ordinance": "uncertain match, not yet reviewed",
        }
        m.review_state, m.decided_at = "confirmed", T0 + timedelta(hours=3)
        s.flush()
        confirmed = _titles(build_content(s, plain, T0 + timedelta(hours=4)))
        assert confirmed["Unsure detainer ordinance"] == "confirmed by an editor"


def test_cli_include_uncertain(tmp_path, db_url, engine):
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)
    done = run_tracker("--config", str(cfg), "subscriptions", "add", "c@example.org", "--include-uncertain")
    assert done.returncode == 0, done.stderr
    listed = run_tracker("--config", str(cfg), "subscriptions", "list")
    assert "incl. uncertain" in listed.stdout, listed.stdout + listed.stderr
    # uncertain matches are unconfirmed ones: asking for them implies --include-pending (the default
    # --confirmed-only made the flag do nothing until 2026-12-07), and asking for both is a usage error
    with session_scope(engine) as s:
        sub = s.scalars(select(Subscription).where(Subscription.email == "c@example.org")).one()
        assert (sub.confirmed_only, sub.include_uncertain) == (False, True)
    flags = ("--confirmed-only", "--include-uncertain")
    both = run_tracker("--config", str(cfg), "subscriptions", "add", "d@example.org", *flags)
    assert both.returncode == 2 and "cannot go with --confirmed-only" in both.stderr, both.stderr


def test_cli_edit_keeps_uncertain_and_confirmed_only_apart(tmp_path, db_url, engine):
    """`subscriptions edit --include-uncertain` on a confirmed-only subscription stored one that got no
    uncertain match (until 2026-12-07): it now includes those not yet reviewed too; `--confirmed-only`
    drops the uncertain ones; both at once are a usage error."""
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)
    assert run_tracker("--config", str(cfg), "subscriptions", "add", "e@example.org").returncode == 0

    def state():
        with session_scope(engine) as s:
            sub = s.scalars(select(Subscription).where(Subscription.email == "e@example.org")).one()
            return sub.id, (sub.confirmed_only, sub.include_uncertain)

    sub_id, got = state()
    assert got == (True, False)
    edit = ("--config", str(cfg), "subscriptions", "edit", str(sub_id))
    done = run_tracker(*edit, "--include-uncertain")
    assert done.returncode == 0 and "incl. uncertain" in done.stdout, done.stderr
    assert state()[1] == (False, True)
    done = run_tracker(*edit, "--confirmed-only")
    assert done.returncode == 0 and "uncertain" not in done.stdout, done.stdout + done.stderr
    assert state()[1] == (True, False)
    both = run_tracker(*edit, "--confirmed-only", "--include-uncertain")
    assert both.returncode == 2 and "cannot go with --confirmed-only" in both.stderr, both.stderr
    assert state()[1] == (True, False)
