"""Accounts, passwords, login sessions, feed tokens and the login rate limit (no HTTP here: the web app and
``tracker users`` both use it).

Secrets are random (``secrets.token_urlsafe``) and only their SHA-256 is stored: the session cookie's token
and the feed token. Passwords are hashed with argon2id at :data:`PASSWORD_PARAMETERS` (RFC 9106's
low-memory profile, argon2-cffi's defaults: t=3, m=64 MiB, p=4), about 0.2 s of CPU per hash or check.

The test suite alone hashes new passwords with :data:`TEST_PASSWORD_PARAMETERS` (t=1, m=8 KiB, p=1), as
Django's test settings use a fast hasher: only through :func:`cheap_password_hashing_for_tests`, which no
code of the tracker calls (tests/web/test_password_hashing.py checks that, and that ``tracker`` processes
hash at :data:`PASSWORD_PARAMETERS`); there is no setting or environment variable for it. A stored hash
records its own parameters, so one made cheaply still verifies, and the next login rehashes it at
:data:`PASSWORD_PARAMETERS`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from db.models_web import ROLES, LoginAttempt, LoginSession, User
from tracker.config import check_email
from tracker.errors import TrackerError

SESSION_LIFETIME = timedelta(hours=12)  # sliding: renewed when less than half of it is left
PRE_SESSION_LIFETIME = timedelta(hours=2)  # the anonymous session that carries the login form's CSRF token
# Login throttling (docs/security.md), from the failed attempts of the last LOGIN_WINDOW, kept in the
# login_attempts table (shared by every web worker): past its free attempts, a client waits
# LOGIN_BACKOFF doubling with each further failure (at most LOGIN_WINDOW) before it may try again,
# - per client address: LOGIN_MAX_PER_CLIENT free failures, whatever the usernames;
# - per (username, client address): LOGIN_MAX_PER_USERNAME free failures;
# - per username from everywhere (soft): past LOGIN_MAX_PER_ACCOUNT failures, a client that has failed
#   on that username even once waits its backoff, but a client that has not may still try: an attacker
#   can slow down guessing from many addresses, never lock the rightful user out.
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_PER_USERNAME = 5
LOGIN_MAX_PER_CLIENT = 20
LOGIN_MAX_PER_ACCOUNT = 50
LOGIN_BACKOFF = timedelta(seconds=30)
MIN_PASSWORD_LENGTH = 8
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# The parameters of every password hash the tracker makes (see the module's docstring).
PASSWORD_PARAMETERS: Parameters = profiles.RFC_9106_LOW_MEMORY
# The test suite's, through cheap_password_hashing_for_tests() only: the lowest cost argon2id allows,
# with the production salt and hash lengths.
TEST_PASSWORD_PARAMETERS: Parameters = dataclasses.replace(
    PASSWORD_PARAMETERS, time_cost=1, memory_cost=8, parallelism=1
)

_hasher = PasswordHasher.from_parameters(PASSWORD_PARAMETERS)
_test_hasher = PasswordHasher.from_parameters(TEST_PASSWORD_PARAMETERS)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the username is unknown, so both cases cost the same time (made on first
    use: a ``tracker`` command that never checks a password never pays for it)."""
    return hasher.hash("not a password of anyone")


@contextmanager
def cheap_password_hashing_for_tests() -> Iterator[None]:
    """For the test suite only: passwords hashed (and the unknown-user dummy checked) at
    :data:`TEST_PASSWORD_PARAMETERS` inside the block; never called by the tracker itself."""
    global _hasher
    production = _hasher
    _hasher = _test_hasher
    try:
        yield
    finally:
        _hasher = production


class AccountError(TrackerError):
    """A bad username, role, password or e-mail address (one line for the user)."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- accounts -----------------------------------------------------------------------------------------


def check_username(username: str) -> str:
    if not USERNAME_RE.match(username):
        raise AccountError(
            f"invalid username {username!r}: 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def _check_address(email: str) -> str:
    try:
        return check_email(email)
    except ValueError as exc:
        raise AccountError(str(exc)) from None


def user_with_email(session: Session, email: str) -> User | None:
    """The account with this address, compared case-insensitively (as subscriptions are matched)."""
    return session.scalar(
        select(User).where(func.lower(User.email) == func.lower(email)).order_by(User.id).limit(1)
    )


def no_address_message(user: User) -> str:
    """What a user without an e-mail address is told when they try to subscribe (form or "Notify me")."""
    return (
        "Your account has no e-mail address: ask an admin to set one "
        f"(tracker users set {user.username} --email ADDRESS)."
    )


def _check_address_free(session: Session, email: str, user: User | None = None) -> None:
    """No other account has the address (in any case): it ties an account to its subscriptions."""
    owner = user_with_email(session, email)
    if owner is not None and owner is not user:
        raise AccountError(f"user {owner.username!r} has the address {owner.email!r} already")


def add_user(
    session: Session, username: str, role: str, password: str, now: datetime, email: str | None = None
) -> User:
    check_username(username)
    check_role(role)
    if email is not None:
        email = _check_address(email)
    if find_user(session, username) is not None:
        raise AccountError(f"user {username!r} exists already")
    if email is not None:
        _check_address_free(session, email)
    user = User(
        username=username,
        role=role,
        email=email,
        password_hash=hash_password(password),
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session, user: User, now: datetime, *, email: str | None = None, role: str | None = None
) -> None:
    """A new address and/or role. Sessions go on: each request reads the user afresh, so a new role holds
    from the user's next request."""
    if role is not None:
        check_role(role)
    if email is not None:
        email = _check_address(email)
        _check_address_free(session, email, user)
        user.email = email
    if role is not None:
        user.role = role
    user.updated_at = now


def set_password(session: Session, user: User, password: str, now: datetime) -> None:
    """A new password; every session of the user ends."""
    user.password_hash = hash_password(password)
    user.updated_at = now
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def remove_user(session: Session, user: User) -> None:
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.delete(user)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def verify_password(user: User | None, password: str) -> bool:
    """Constant-ish time whether or not the user exists."""
    try:
        stored = user.password_hash if user else _dummy_hash(_hasher)
        return _hasher.verify(stored, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


# -- feed tokens --------------------------------------------------------------------------------------


def new_feed_token(user: User, now: datetime) -> str:
    """A new secret feed token for the user (the old one stops working); returned once, stored hashed."""
    token = new_token()
    user.feed_token_hash = hash_token(token)
    user.updated_at = now
    return token


def user_for_feed_token(session: Session, token: str) -> User | None:
    if not token:
        return None
    user = session.scalar(select(User).where(User.feed_token_hash == hash_token(token)))
    return None if user is None or user.disabled else user


# -- sessions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Auth:
    """What a request's cookie stands for: a session (maybe pre-login) and its user, detached."""

    session_id: int
    csrf_token: str
    user: User | None


def start_session(session: Session, user: User | None, now: datetime) -> tuple[str, LoginSession]:
    """A new session (pre-login when ``user`` is None); returns the cookie's token, which is not stored."""
    token = new_token()
    row = LoginSession(
        token_hash=hash_token(token),
        user_id=user.id if user else None,
        csrf_token=new_token(),
        created_at=now,
        expires_at=now + (SESSION_LIFETIME if user else PRE_SESSION_LIFETIME),
    )
    session.add(row)
    session.flush()
    return token, row


def load_session(session: Session, token: str | None, now: datetime) -> Auth | None:
    """The live session the cookie names (renewing a user session past half its life), or None."""
    if not token:
        return None
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == hash_token(token)))
    if row is None or row.expires_at <= now:
        return None
    user = None
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is None or user.disabled:
            return None
        if row.expires_at - now < SESSION_LIFETIME / 2:
            row.expires_at = now + SESSION_LIFETIME
    return Auth(session_id=row.id, csrf_token=row.csrf_token, user=user)


def end_session(session: Session, session_id: int) -> None:
    session.execute(delete(LoginSession).where(LoginSession.id == session_id))


def purge_expired(session: Session, now: datetime) -> None:
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - LOGIN_WINDOW))


# -- login --------------------------------------------------------------------------------------------


class LoginRefused(Exception):
    def __init__(self, message: str, status: int, retry_after: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def backoff(failures: int, free: int) -> timedelta:
    """How long to wait after the last failure, ``failures`` failures in, ``free`` of them free."""
    if failures < free:
        return timedelta(0)
    factor: int = 2 ** min(failures - free, 20)
    return min(LOGIN_BACKOFF * factor, LOGIN_WINDOW)


def throttled(session: Session, username: str, client: str, now: datetime) -> int:
    """Seconds this client must still wait before trying this username (0: it may try now)."""
    since = now - LOGIN_WINDOW
    mine = and_(LoginAttempt.username == username, LoginAttempt.client == client)
    recent = select(
        func.count().filter(LoginAttempt.client == client),
        func.max(LoginAttempt.at).filter(LoginAttempt.client == client),
        func.count().filter(mine),
        func.max(LoginAttempt.at).filter(mine),
        func.count().filter(LoginAttempt.username == username),
    ).where(LoginAttempt.at > since, or_(LoginAttempt.username == username, LoginAttempt.client == client))
    by_client, client_last, by_pair, pair_last, by_account = session.execute(recent).one()
    free_pair = 1 if by_account >= LOGIN_MAX_PER_ACCOUNT else LOGIN_MAX_PER_USERNAME
    until = now
    if client_last is not None:
        until = max(until, _aware(client_last) + backoff(by_client, LOGIN_MAX_PER_CLIENT))
    if pair_last is not None:
        until = max(until, _aware(pair_last) + backoff(by_pair, free_pair))
    return int((until - now).total_seconds() + 0.999)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def login(session: Session, username: str, password: str, client: str, now: datetime) -> User:
    """The user whose password this is, or LoginRefused (401 wrong credentials, 429 throttled).

    A refused attempt is recorded; a throttled client (:func:`throttled`) is refused before the password
    is even checked, so waiting is the only way on, while the rightful user on another address is not.
    """
    username = username.replace("\x00", "").strip()[:64]
    client = client[:64]
    wait = throttled(session, username, client, now)
    if wait > 0:
        minutes = f"{wait // 60 + 1} minutes" if wait >= 90 else f"{wait} seconds"
        raise LoginRefused(f"Too many failed logins: wait {minutes} and try again.", 429, wait)
    user = find_user(session, username)
    if not verify_password(user, password) or user is None or user.disabled:
        session.add(LoginAttempt(username=username, client=client, at=now))
        raise LoginRefused("Wrong username or password.", 401)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    return user
