from __future__ import annotations

import pytest

from tests.digests.helpers import SmtpServer, WebhookServer


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def webhook():
    with WebhookServer() as server:
        yield server


@pytest.fixture
def sqlite_db(tmp_path):
    """A migrated SQLite database, for tests of the command line (whose logic also runs on PostgreSQL in the
    other tests): (url, engine)."""
    from db.engine import make_engine, upgrade

    url = f"sqlite:///{tmp_path}/tracker.db"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()
