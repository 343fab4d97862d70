"""Password hashing: the tracker hashes at argon2id's production parameters (RFC 9106's low-memory profile),
the test suite's cheap parameters are never picked by the tracker itself, and a hash stored at other
parameters still verifies and is rehashed at the production ones on the next login (real app, real
database on both engines)."""

from __future__ import annotations

import argon2
import pytest
from argon2 import profiles

from db.engine import session_scope
from tests.conftest import REPO
from tests.web.helpers import PASSWORD, log_in
from tracker.web import auth

REAL_PASSWORD_HASHING = True  # tests/web/conftest.py: this module hashes at the production parameters


def _parameters(user_hash: str) -> argon2.Parameters:
    return argon2.extract_parameters(user_hash)


def test_passwords_are_hashed_at_the_production_parameters():
    assert auth.PASSWORD_PARAMETERS == profiles.RFC_9106_LOW_MEMORY  # argon2id, t=3, m=64 MiB, p=4
    stored = auth.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert _parameters(stored) == auth.PASSWORD_PARAMETERS


def test_the_cheap_parameters_hold_only_inside_the_tests_block():
    with auth.cheap_password_hashing_for_tests():
        cheap = auth.hash_password(PASSWORD)
    assert _parameters(cheap) == auth.TEST_PASSWORD_PARAMETERS
    assert _parameters(auth.hash_password(PASSWORD)) == auth.PASSWORD_PARAMETERS
    with pytest.raises(RuntimeError), auth.cheap_password_hashing_for_tests():
        raise RuntimeError("a failing test")
    assert _parameters(auth.hash_password(PASSWORD)) == auth.PASSWORD_PARAMETERS  # restored all the same


def test_no_code_of_the_tracker_picks_the_cheap_parameters():
    """The cheap parameters have no setting and no environment variable: the only way to them is the
    tests' context manager, which no module of the tracker calls (``tracker`` child processes hashing at
    the production parameters is checked in test_web_cli.py)."""
    names = ("cheap_password_hashing_for_tests", "TEST_PASSWORD_PARAMETERS", "_test_hasher")
    users = {
        str(path.relative_to(REPO))
        for top in ("tracker", "db", "bench")
        for path in (REPO / top).rglob("*.py")
        if any(name in path.read_text(encoding="utf-8") for name in names)
    }
    assert users == {"tracker/web/auth.py"}
    source = (REPO / "tracker/web/auth.py").read_text(encoding="utf-8")
    # in auth.py: the definitions, the docstrings, and the one assignment inside the context manager
    assert source.count("_hasher = _test_hasher") == 1
    assert "os.environ" not in source and "getenv" not in source


def test_a_cheaply_hashed_password_verifies_and_the_login_rehashes_it(client, make_user, engine):
    with auth.cheap_password_hashing_for_tests():
        user = make_user("ana", "staff")
    assert _parameters(user.password_hash) == auth.TEST_PASSWORD_PARAMETERS
    assert auth.verify_password(user, PASSWORD) and not auth.verify_password(user, "not the password")
    log_in(client, "ana")
    with session_scope(engine) as s:
        rehashed = auth.get_user(s, "ana")
        assert _parameters(rehashed.password_hash) == auth.PASSWORD_PARAMETERS
        assert auth.verify_password(rehashed, PASSWORD)
