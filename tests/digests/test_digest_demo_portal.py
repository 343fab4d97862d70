"""End to end on real components: crawls of the demo Legistar portal (the `tracker` command in a child
process, the matcher at ingest), then digests to a real SMTP server; and the files `tracker demo` writes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db.engine import make_engine, session_scope, upgrade
from db.models import Bill, StatusChange
from db.models_digest import Digest, DigestItem
from db.models_review import BillMatch
from tests.clock import utc_now
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tests.portal import portal_config
from tracker.config import load_config
from tracker.demo import LegistarPortalServer, demo_portal
from tracker.digests.demo import write_demo_digest
from tracker.digests.outbox import send_due


def test_digests_from_real_crawls_of_the_demo_portal(tmp_path, smtp):
    url = f"sqlite:///{tmp_path}/tracker.db"
    engine = make_engine(url)
    upgrade(engine)
    portal = demo_portal(now=utc_now(seconds=False))
    with LegistarPortalServer(portal) as server:
        cfg = portal_config(tmp_path / "t.toml", server, portal, url, clients=["riverton", "northhalden"])
        with cfg.open("a") as f:
            f.write(
                f'\n[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\n'
                'from_address = "tracker@example.org"\nstarttls = false\n'
            )
        config = load_config(cfg)
        first = run_tracker("--config", str(cfg), "crawl")
        assert first.returncode == 0, first.stderr
        subscribed = utc_now(seconds=False)
        with session_scope(engine) as s:
            h.subscribe(s, config, "all@example.org", starts_at=subscribed)
            h.subscribe(
                s,
                config,
                "riverton@example.org",
                starts_at=subscribed,
                jurisdictions=["riverton"],
                status_changes=False,
            )
        portal.advance(days=14)
        second = run_tracker("--config", str(cfg), "crawl")
        assert second.returncode == 0, second.stderr

        now = utc_now(seconds=False)
        report = send_due(engine, config, now)
        assert len(report.sent) == 2, report.lines()
        assert send_due(engine, config, now + timedelta(minutes=5)).lines() == []  # nothing twice
        with session_scope(engine) as s:
            # what the second crawl found, straight from the store
            new_relevant = set(
                s.scalars(
                    select(Bill.id)
                    .join(BillMatch, BillMatch.bill_id == Bill.id)
                    .where(Bill.first_seen_at >= subscribed, BillMatch.relevant.is_(True))
                )
            )
            tracked_changes = set(
                s.scalars(
                    select(StatusChange.id)
                    .join(BillMatch, BillMatch.bill_id == StatusChange.bill_id)
                    .where(StatusChange.kind == "changed", BillMatch.relevant.is_(True))
                )
            )
            assert new_relevant and tracked_changes  # the demo moves sanctuary measures in two weeks
            all_digest = s.scalars(select(Digest).where(Digest.subscription_id == 1)).one()
            items = s.execute(
                select(DigestItem.kind, DigestItem.ref_id).where(DigestItem.digest_id == all_digest.id)
            ).all()
            assert {r for k, r in items if k == "measure"} == new_relevant
            assert {r for k, r in items if k == "status_change"} == tracked_changes
            riverton = s.scalars(select(Digest).where(Digest.subscription_id == 2)).one()
            assert [c["jurisdiction"] for c in riverton.content["cities"]] == ["riverton"]
            assert riverton.changes == 0
        by_to = {m["To"]: m for m in smtp.messages}
        text = by_to["all@example.org"].get_body(preferencelist=("plain",)).get_content()
        assert "Riverton City Council" in text and "New measures" in text and "Status changes" in text

    # what `tracker demo` writes at its end: the digest of a subscriber who subscribed before the 2nd crawl
    digest = write_demo_digest(config, tmp_path, since=subscribed)
    html, text_file = (p.read_text(encoding="utf-8") for p in digest.paths)
    assert digest.subject and text_file.startswith(f"Subject: {digest.subject}\n")
    assert html.startswith("<!DOCTYPE html>") and "New measures" in html
    assert text_file.startswith("Subject: Sanctuary Tracker: ")
    engine.dispose()
