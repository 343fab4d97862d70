"""Accounts, passwords, login sessions, feed tokens and the login rate limit (no HTTP here: the web app and
``tracker users`` both use it).

Secrets are random (``secrets.token_urlsafe``) and only their SHA-256 is stored: the session cookie's token
and the feed token. Passwords are hashed with argon2id (argon2-cffi's defaults).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from db.models_web import ROLES, LoginAttempt, LoginSession, User
from tracker.config import check_email
from tracker.errors import TrackerError

SESSION_LIFETIME = timedelta(hours=12)  # sliding: renewed when less than half of it is left
PRE_SESSION_LIFETIME = timedelta(hours=2)  # the anonymous session that carries the login form's CSRF token
# Login rate limit: failed attempts within the window, per username and per client address.
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_PER_USERNAME = 5
LOGIN_MAX_PER_CLIENT = 20
MIN_PASSWORD_LENGTH = 8
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


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


def add_user(
    session: Session, username: str, role: str, password: str, now: datetime, email: str | None = None
) -> User:
    check_username(username)
    check_role(role)
    if email is not None:
        try:
            email = check_email(email)
        except ValueError as exc:
            raise AccountError(str(exc)) from None
    if find_user(session, username) is not None:
        raise AccountError(f"user {username!r} exists already")
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
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
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
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def login(session: Session, username: str, password: str, client: str, now: datetime) -> User:
    """The user whose password this is, or LoginRefused (401 wrong credentials, 429 too many attempts).

    A refused attempt is recorded; too many recent failures for the username or from the client refuse
    even a right password until the window has passed.
    """
    username = username.strip()[:64]
    client = client[:64]
    since = now - LOGIN_WINDOW
    recent = select(
        func.count().filter(LoginAttempt.username == username),
        func.count().filter(LoginAttempt.client == client),
    ).where(LoginAttempt.at > since, or_(LoginAttempt.username == username, LoginAttempt.client == client))
    by_name, by_client = session.execute(recent).one()
    if by_name >= LOGIN_MAX_PER_USERNAME or by_client >= LOGIN_MAX_PER_CLIENT:
        raise LoginRefused("Too many failed logins: wait 15 minutes and try again.", 429)
    user = find_user(session, username)
    if not verify_password(user, password) or user is None or user.disabled:
        session.add(LoginAttempt(username=username, client=client, at=now))
        raise LoginRefused("Wrong username or password.", 401)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    return user
