"""Users and roles."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import UTCDateTime, enum_type, utcnow
from marketplace.extensions import Model, db


class Role(enum.StrEnum):
    CLIENT = "client"
    SPECIALIST = "specialist"
    ADMIN = "admin"


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        # E-mails are stored lower-cased; this makes uniqueness case-insensitive by construction.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        Index("ix_users_role", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), info={"secret": True})  # never kept in a cache
    role: Mapped[Role] = mapped_column(enum_type(Role, 20))
    display_name: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Bumped on password change / reset: invalidates other sessions, remember cookies and reset tokens.
    auth_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the owner opened the confirmation link sent to ``email`` (None: not yet; booking,
    # messaging, asking, contacting and publishing wait for it, see ``auth.confirmation``).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A new address asked for in the account settings: ``email`` stays in use until the link sent
    # here is opened, then this becomes ``email`` (see ``auth.confirmation.confirm_email``).
    pending_email: Mapped[str | None] = mapped_column(String(254))

    # The server-side session this object was loaded for (or logged in with); see AuthSession.
    if TYPE_CHECKING:  # (an annotation in the class body would make it a column)
        session_token: str | None
        loaded_with_session: Mapping[str, Any]
    session_token = None  # (not a column)
    # Values other domains load in the same query as the session's user (``load_with_user``), e.g.
    # the unread-messages badge; empty for a user loaded any other way.
    loaded_with_session = MappingProxyType({})

    # Flask-Login: the id kept in the session and the remember cookie names the account, its auth
    # version (bumping it ends every session) and one server-side session (revoking it ends that one).
    def get_id(self) -> str:
        return f"{self.id}:{self.auth_version}:{self.session_token or ''}"

    @property
    def is_active(self) -> bool:
        return self.active and self.deleted_at is None

    @property
    def is_email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_specialist(self) -> bool:
        return self.role is Role.SPECIALIST

    @property
    def is_client(self) -> bool:
        return self.role is Role.CLIENT

    def __repr__(self) -> str:  # never include the e-mail: reprs end up in logs
        return f"<User {self.id} {self.role.value}>"


class AuthSession(Model):
    """One logged-in session (a browser), checked on every request: logging out revokes it, so a
    copied session or remember cookie stops working at once. Only the token's hash is stored."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalize_email(email)))


__all__ = ["AuthSession", "Role", "User", "find_user_by_email", "normalize_email", "func"]
