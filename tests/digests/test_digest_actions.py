"""Digests that lead to action: restrictive measures that moved come first, every item links to the
tracker's bill page and the council's page, and every e-mail carries a one-click unsubscribe link (and the
RFC 8058 headers) that works without a session; a forged or used token is refused. Subscriptions are
editable on the web (values kept after an error) and in the CLI; new ones are confirmed-only by default."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

from db.engine import session_scope
from db.models_digest import Subscription
from tests import factories as f
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tracker.digests.links import make_token
from tracker.digests.outbox import send_due
from tracker.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

T0 = f.T0
SECRET = "test-unsubscribe-secret-0123456789"
BASE = "https://tracker.example.org"


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("TRACKER_SECRET_KEY", SECRET)


def _digest_world(session, config, **sub):
    sub_id = h.subscribe(session, config, starts_at=T0, **sub).id
    before = T0 - timedelta(days=9)
    calm = f.bill(session, identifier="O-1", title="Ordinance expanding language access", first_seen=before)
    f.match(session, calm, categories=("welcoming_language_access",), direction="expands")
    f.change(session, calm, new_status="Passed", new_stage="passed", observed_at=T0 + timedelta(minutes=10))
    bad = f.bill(
        session, identifier="R-9", title="Resolution renewing the 287(g) agreement", first_seen=before,
        url="https://riverton.legistar.com/LegislationDetail.aspx?ID=9",
    )  # fmt: skip
    f.match(session, bad, categories=("federal_enforcement_partnerships",), direction="restricts")
    f.change(session, bad, new_status="Adopted", new_stage="enacted", observed_at=T0 + timedelta(minutes=20))
    return sub_id, bad.id


def test_unsubscribe_link_from_a_real_mail_works_without_a_session(engine, db_url, smtp, secret_env):
    config = h.make_config(db_url, smtp.port, digests={"public_url": BASE + "/"})
    with session_scope(engine) as s:
        sub_id, bad_id = _digest_world(s, config)
    report = send_due(engine, config, T0 + timedelta(hours=1))
    assert len(report.sent) == 1, report.lines()
    (message,) = smtp.mailbox.messages
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = re.fullmatch(r"<(https://tracker\.example\.org/unsubscribe/[^>]+)>", message["List-Unsubscribe"])
    assert header, message["List-Unsubscribe"]
    link = header.group(1)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"Unsubscribe (one click, no login): {link}" in text and link in html
    assert f"{BASE}/subscriptions" in text and SECRET not in text + html + str(message)
    # the digest leads with the restrictive measure that moved, then the rest; each item links both pages
    assert text.index("NEEDS ATTENTION") < text.index("R-9") < text.index("O-1")
    assert f"Bill page: {BASE}/bills/{bad_id}" in text
    assert "Council's page: https://riverton.legistar.com/LegislationDetail.aspx?ID=9" in text
    assert "Federal enforcement partnerships (287(g), task forces); restricts sanctuary" in text
    assert "[NOT YET REVIEWED] R-9" in text  # the subscriber opted into unreviewed matches: each says so
    assert f'href="{BASE}/bills/{bad_id}"' in html and "Not yet reviewed:" in html

    path = link.removeprefix(BASE)
    app = create_app(config, engine=engine)
    with TestClient(app, follow_redirects=False) as client:  # no login, no CSRF token
        page = client.get(path)
        assert page.status_code == 200 and "staff@example.org" in page.text and "<form" in page.text
        with session_scope(engine) as s:
            assert s.get(Subscription, sub_id).state == "active"  # GET alone changes nothing
        done = client.post(path, data={"List-Unsubscribe": "One-Click"})  # RFC 8058 one-click POST
        assert done.status_code == 200 and "no longer receives" in done.text
        with session_scope(engine) as s:
            assert s.get(Subscription, sub_id).state == "removed"
        again = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert again.status_code == 410 and "already used" in again.text
        assert client.get(path).status_code == 410
        # a token signed with another secret, or tampered with, is refused
        with session_scope(engine) as s:
            other = h.subscribe(s, config, "other@example.org", starts_at=T0).id
        forged = client.post(f"/unsubscribe/{make_token('not-the-secret', other)}")
        tampered = client.post(path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb"))
        assert forged.status_code == 400 and tampered.status_code == 400 and "not valid" in forged.text
        with session_scope(engine) as s:
            assert s.get(Subscription, other).state == "active"
    # a web server started without the secret cannot check a genuine link: it says so, and blames no one
    # (it said the link was "damaged, or not made by this tracker"); nothing is changed
    genuine = f"/unsubscribe/{make_token(SECRET, other)}"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("TRACKER_SECRET_KEY")
        with TestClient(create_app(config, engine=engine), follow_redirects=False) as client:
            for answer in (client.get(genuine), client.post(genuine)):
                assert answer.status_code == 503 and "Your link is not the problem" in answer.text
                assert "not valid" not in answer.text
    with session_scope(engine) as s:
        assert s.get(Subscription, other).state == "active"


def test_preview_shows_the_links_the_sent_digest_carries(engine, db_url, smtp, secret_env, tmp_path):
    """`digest preview` is what the subscriber receives: its unsubscribe and manage links too (it showed the
    footer of a digest without links until 2026-12-07)."""
    config = h.make_config(db_url, smtp.port, digests={"public_url": BASE})
    cfg = h.write_toml(tmp_path / "t.toml", config)
    with session_scope(engine) as s:
        sub_id, _ = _digest_world(s, config)
    at = (T0 + timedelta(hours=1)).isoformat()
    shown = run_tracker("--config", str(cfg), "digest", "preview", str(sub_id), "--now", at,
                        env={"TRACKER_SECRET_KEY": SECRET})  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    send_due(engine, config, T0 + timedelta(hours=1))
    (message,) = smtp.mailbox.messages
    sent = message.get_body(preferencelist=("plain",)).get_content()
    assert f"{BASE}/unsubscribe/" in sent and f"{BASE}/unsubscribe/" in shown.stdout
    lines = [x.rstrip() for x in shown.stdout.split("\n", 2)[2].strip().splitlines()]
    assert lines == [x.rstrip() for x in sent.strip().splitlines()]  # the same text, line for line


def test_without_a_secret_there_is_no_unsubscribe_link_but_bill_links_stay(engine, db_url, smtp, monkeypatch):
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    config = h.make_config(db_url, smtp.port, digests={"public_url": BASE})
    with session_scope(engine) as s:
        _digest_world(s, config)
    send_due(engine, config, T0 + timedelta(hours=1))
    (message,) = smtp.mailbox.messages
    assert message["List-Unsubscribe"] is None
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "/unsubscribe/" not in text and f"{BASE}/bills/" in text
    # the recipient is staff: the footer says whom to ask, not only a command they cannot run (until
    # 2026-12-07 it said "To stop it: tracker subscriptions pause N.")
    assert "To stop it, ask the person who runs this Sanctuary Tracker to pause or remove subscription" in (
        " ".join(text.split())
    )


def test_new_subscriptions_are_confirmed_only_by_default(engine, db_url, tmp_path):
    cfg = h.write_toml(tmp_path / "t.toml", h.make_config(db_url))
    r = run_tracker("subscriptions", "add", "ana@example.org", "--config", str(cfg))  # --config after too
    assert r.returncode == 0, r.stderr
    assert "confirmed by an editor only" in r.stdout
    with session_scope(engine) as s:
        sub = s.scalars(select(Subscription)).one()
        assert sub.confirmed_only is True


def test_cli_edit_changes_only_what_is_named(engine, db_url, tmp_path):
    cfg = h.write_toml(tmp_path / "t.toml", h.make_config(db_url))
    assert run_tracker("--config", str(cfg), "subscriptions", "add", "ana@example.org", "--category",
                       "legal_defense", "--at", "07:15").returncode == 0  # fmt: skip
    r = run_tracker("--config", str(cfg), "subscriptions", "edit", "1", "--jurisdiction", "riverton",
                    "--include-pending", "--frequency", "weekly", "--weekday", "fri")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Subscription 1 (ana@example.org) updated: weekly fri 07:15 ")
    assert "Riverton City Council; Legal defense; incl. matches not yet reviewed" in r.stdout
    bad = run_tracker("--config", str(cfg), "subscriptions", "edit", "1", "--timezone", "Mars/Base")
    assert bad.returncode != 0 and bad.stderr.strip().startswith("Error: ") and "Traceback" not in bad.stderr
    with session_scope(engine) as s:
        sub = s.get(Subscription, 1)
        assert (sub.jurisdictions, sub.categories, sub.confirmed_only, sub.frequency, sub.weekday) == (
            ["riverton"],
            ["legal_defense"],
            False,
            "weekly",
            4,
        )
        assert sub.timezone == "UTC" and sub.at_time == "07:15"
