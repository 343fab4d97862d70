"""Web app accounts: users, server-side login sessions and login attempts.

- ``users``: one account per person, with a role (``admin`` ⊇ ``editor`` ⊇ ``staff``), an argon2 password
  hash, an optional e-mail address (a staff user's digest subscriptions are those with this address) and
  the SHA-256 of their secret Atom feed token (the token itself is shown once, when it is made);
- ``login_sessions``: the session cookie holds a random token, the table only its SHA-256; each session
  has its own CSRF token. A session without a user is the pre-login session that carries the login
  form's CSRF token; logging in replaces it with a new session (no fixation);
- ``login_attempts``: failed logins, by username and client address, for the login rate limit (in the
  database, so it holds across workers and restarts).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models import Base
from db.types import utcnow

ROLES = ("admin", "editor", "staff")
# What each role may do includes what the roles below it may do.
ROLE_RANK = {"staff": 1, "editor": 2, "admin": 3}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    # SHA-256 (hex) of the secret feed token; None until the user makes one.
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    sessions: Mapped[list[LoginSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def has_role(self, role: str) -> bool:
        """True when this user's role is ``role`` or above it."""
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 (hex) of the cookie's random token: a database leak gives no usable cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None for a pre-login session (it only carries the login form's CSRF token).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[User | None] = relationship(back_populates="sessions")


class LoginAttempt(Base):
    """A failed login (successful ones are not recorded here)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
