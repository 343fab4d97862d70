"""Fixtures for the web app tests, on both engines (through the shared ``engine`` fixture).

- ``web_config``: a configuration with the jurisdictions of tests/digests/helpers.py (riverton, lakeside,
  portalder); ``app``: ``create_app`` over it and the test database; ``client``: a TestClient on it that
  does **not** follow redirects (assert the 303 yourself, or pass ``follow_redirects=True``);
- ``make_user(username, role, password=PASSWORD, email=None) -> User`` writes an account;
- ``login(client, role="editor", username=None, email=None) -> User`` creates a user with that role
  (username defaults to the role) and logs the client in through the real login form; afterwards
  ``client.csrf`` holds the session's CSRF token, for ``data={"csrf_token": client.csrf, ...}`` or
  ``headers={"X-CSRF-Token": client.csrf}``.
Plain functions for other cases are in tests/web/helpers.py.

Password hashing: argon2id at its production parameters costs about 0.2 s of CPU per hash and per check,
and the web tests make and log in hundreds of accounts. So the autouse fixture ``password_hashing`` has
them hash and check at ``auth.TEST_PASSWORD_PARAMETERS`` (through
``auth.cheap_password_hashing_for_tests()``, which the tracker itself never calls), except in the tests of
logging in and of hashing itself: a test decorated with ``helpers.real_password_hashing`` (test_web_auth.py)
or a module that sets ``REAL_PASSWORD_HASHING = True`` (test_password_hashing.py). Child processes
(``tracker users add``, ``tracker serve``: test_web_cli.py, browser/) always hash at the production
parameters.
"""

from __future__ import annotations

import warnings

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x would rather have its test client run on httpx2; httpx (installed) still works. The
    # warning is silenced here only, where the test client is first imported.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from tests.digests.helpers import make_config
from tests.web.helpers import PASSWORD, create_user, csrf_token, log_in
from tracker.config import Config
from tracker.web import auth
from tracker.web.app import create_app


@pytest.fixture(autouse=True)
def password_hashing(request):
    """Cheap argon2 parameters for this test, unless it is marked ``@real_password_hashing`` or its module
    sets ``REAL_PASSWORD_HASHING = True``."""
    real = getattr(request.function, "real_password_hashing", False)
    if real or getattr(request.module, "REAL_PASSWORD_HASHING", False):
        yield
        return
    with auth.cheap_password_hashing_for_tests():
        yield


@pytest.fixture
def web_config(db_url) -> Config:
    """The digest tests' configuration: riverton, lakeside, portalder (unreachable portals, never crawled)."""
    return make_config(db_url)


@pytest.fixture
def app(engine, web_config):
    return create_app(web_config, engine=engine)


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def make_user(engine):
    def make(username: str, role: str, password: str = PASSWORD, email: str | None = None):
        return create_user(engine, username, role, password=password, email=email)

    return make


@pytest.fixture
def login(engine, make_user):
    def do_login(
        client: TestClient, role: str = "editor", username: str | None = None, email: str | None = None
    ):
        user = make_user(username or role, role, email=email)
        log_in(client, user.username)
        client.csrf = csrf_token(client, engine)
        return user

    return do_login
