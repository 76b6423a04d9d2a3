"""Accounts: registration, authentication, password policy, reset tokens."""
from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from marketplace.auth.confirmation import mark_confirmed, send_confirmation
from marketplace.auth.hooks import registration_hooks
from marketplace.auth.models import Role, User, find_user_by_email, normalize_email
from marketplace.database import utcnow
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.jobs import enqueue_after_commit, jobs
from marketplace.notifications.mail import external_url, render_mail, send_mail
from marketplace.timeutil import zone_or_utc

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")


class AccountError(DomainError):
    """A user-facing problem with the request (message is safe to show)."""


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "common-passwords.txt"
    return frozenset(
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    )


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """Reasons the password is unacceptable (empty list = fine)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 256:
        problems.append("Use at most 256 characters.")
    if password.lower() in _common_passwords():
        problems.append("This password is too common — it appears in lists of breached passwords.")
    if email and normalize_email(email).split("@")[0] and normalize_email(email).split("@")[0] in password.lower():
        problems.append("Don't include your e-mail address in your password.")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if user and ok and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return bool(user) and ok


def register_user(*, email: str, password: str, display_name: str, role: Role = Role.CLIENT,
                  timezone: str | None = None, confirmed: bool = False, next_url: str | None = None) -> User:
    """Create an account. Raises AccountError if the e-mail is taken or the password is weak.

    The address is sent a confirmation link (bringing the person back to ``next_url``), unless
    ``confirmed`` (an address vouched for otherwise: demo data, ``create-admin``)."""
    problems = password_problems(password, email=email)
    if problems:
        raise AccountError(" ".join(problems))
    email = normalize_email(email)
    if find_user_by_email(email) is not None:
        raise AccountError("An account with this e-mail already exists. Try logging in.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name.strip(),
        role=role,
        timezone=zone_or_utc(timezone),
    )
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # lost a race with a concurrent signup for the same e-mail
        raise AccountError("An account with this e-mail already exists. Try logging in.") from exc
    if role is Role.SPECIALIST:
        registration_hooks.notify_specialist_registered(user)  # the specialists domain adds a draft profile
    if confirmed:
        mark_confirmed(user)
    else:
        send_confirmation(user, next_url)
    log.info("user %s registered as %s", user.id, role.value)
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email)
    if not verify_password(user, password) or user is None or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password and log out every other session (auth_version bump)."""
    if not verify_password(user, current_password):
        raise AccountError("Your current password is not correct.")
    _set_password(user, new_password)


def _set_password(user: User, new_password: str) -> None:
    problems = password_problems(new_password, email=user.email)
    if problems:
        raise AccountError(" ".join(problems))
    user.password_hash = hash_password(new_password)
    user.auth_version += 1
    db.session.flush()


# --- password reset -------------------------------------------------------------------

def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _fingerprint(user: User) -> str:
    # Changes when the password (or auth version) changes, so a token works only once.
    return hashlib.sha256(f"{user.password_hash}:{user.auth_version}".encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("uid")) if isinstance(data.get("uid"), int) else None
    if user is None or not user.is_active or data.get("fp") != _fingerprint(user):
        return None
    return user


def request_password_reset(email: str) -> None:
    """Queue the reset mail. The request does the same (no) work whether or not the account
    exists, so neither its answer nor its timing tells (no account probing)."""
    enqueue_after_commit(send_password_reset_link, email)


@jobs.task
def send_password_reset_link(email: str) -> None:
    """Job: mail a reset link if an active account has this address; nothing otherwise."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    link = external_url("auth.reset_with_token", token=make_reset_token(user))
    send_mail(user.email, "Reset your Balance password",
              render_mail("email/password_reset.txt", user=user, link=link,
                          minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60))


def reset_password(user: User, new_password: str) -> None:
    _set_password(user, new_password)


def create_or_promote_admin(*, email: str, password: str, display_name: str) -> User:
    """``flask create-admin``: a new admin, or an existing account promoted to admin."""
    user = find_user_by_email(email)
    if user is None:
        return register_user(email=email, password=password, display_name=display_name, role=Role.ADMIN,
                             confirmed=True)
    problems = password_problems(password, email=email)
    if problems:
        raise AccountError(" ".join(problems))
    user.role = Role.ADMIN
    mark_confirmed(user)
    user.password_hash = hash_password(password)
    user.auth_version += 1
    db.session.flush()
    return user
