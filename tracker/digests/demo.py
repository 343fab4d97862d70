"""The end of ``tracker demo``: the digest a demo subscriber would receive, written as HTML and text files.

The demo subscriber (``demo-subscriber@example.org``, every city and category, pending matches included,
daily at 08:00) is added to the demo database as if it had subscribed just before the second crawl, so its
digest holds what that crawl found: new matched measures and status changes of tracked bills. Nothing is
recorded in the outbox and nothing is sent; ``tracker digest preview 1`` shows the same digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from db.engine import make_engine, session_scope
from db.types import utcnow
from tracker.config import Config
from tracker.digests.outbox import preview, sub_info
from tracker.digests.render import render_digest
from tracker.digests.subscriptions import SubscriptionSpec, add

DEMO_SUBSCRIBER = "demo-subscriber@example.org"


@dataclass(frozen=True)
class DemoDigest:
    subject: str | None  # None: nothing new, no digest would be sent (and no file written)
    paths: list[Path]  # digest.html and digest.txt in the demo directory


def write_demo_digest(
    config: Config, directory: Path, since: datetime, now: datetime | None = None
) -> DemoDigest:
    """Subscribe the demo subscriber as of ``since`` and write the digest it would receive at ``now``."""
    now = now or utcnow()
    engine = make_engine(config.database_url)
    try:
        with session_scope(engine) as session:
            timezone = config.jurisdictions[0].timezone if config.jurisdictions else "UTC"
            spec = SubscriptionSpec(
                email=DEMO_SUBSCRIBER,
                frequency="daily",
                at_time="08:00",
                timezone=timezone,
                confirmed_only=False,  # the demo has no editor yet: it opts into matches not yet reviewed
            )
            sub = add(session, spec, config, now)
            sub.starts_at = since
            slot, content = preview(session, sub, config, now)
            info = sub_info(sub)
    finally:
        engine.dispose()
    if content.empty:
        return DemoDigest(None, [])
    rendered = render_digest(content.as_dict(), info, slot.period)
    html, text = directory / "digest.html", directory / "digest.txt"
    html.write_text(rendered.html, encoding="utf-8")
    text.write_text(f"Subject: {rendered.subject}\n\n{rendered.text}", encoding="utf-8")
    return DemoDigest(rendered.subject, [html, text])
