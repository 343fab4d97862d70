"""The platforms' tests run on SQLite; each platform's crawl-to-store path also runs on PostgreSQL, in the
tests that name both engines (``BOTH_ENGINES``): the full and incremental crawls that store and change
bills, meetings, votes and members. The rest (parsing, a portal's faults, what a failed crawl keeps) goes
through the same store code (tracker/store.py), which tests/test_crawl_*.py, tests/meetings and the web's
tests run on both engines; running every platform case twice cost about 160 s of the suite's 11 minutes here
(2026-12-07)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import database_for

#: ``@BOTH_ENGINES`` on a test: SQLite and PostgreSQL.
BOTH_ENGINES = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path) -> Iterator[str]:
    yield from database_for(request, tmp_path)
