"""Confirmed e-mail addresses: signed, single-use, expiring links, and the rule that waits for them.

* Every new account is sent a link (``send_confirmation``); until it is opened the person can
  browse and prepare, but booking, messaging, asking, contacting and publishing wait
  (``confirmation_refusal``: the one rule, used by those services; ``auth.gate`` shows the page).
* A link is ``{uid, to, fp, next}`` (``to``: a digest of the address, so logged paths carry none),
  signed with ``SECRET_KEY`` (salt ``email-confirm``) and refused after ``EMAIL_CONFIRM_MAX_AGE``.
  ``fp`` fingerprints what confirming changes (the address, whether it is confirmed, the address
  waiting for confirmation), so a link works once: a used link, or one superseded by an address
  change, is refused with its own message.
* Changing a confirmed address (account settings) keeps the old one in use and sends the link to
  the new one (``pending_email``); opening it switches. ``next`` (a local path, checked with
  ``security.is_safe_next``) is where the person was going, e.g. the booking page with their slot.
* The mail is composed on delivery (``email_confirmation``), never in the request.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from marketplace.audit import record_audit
from marketplace.auth.models import User, find_user_by_email, normalize_email
from marketplace.database import utcnow
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.notifications.mail import NothingToSay, external_url, mail_composer, render_mail, send_composed_mail
from marketplace.security import is_safe_next

log = logging.getLogger(__name__)

MAIL_COMPOSER = "email_confirmation"

# What waits for a confirmed address, worded for "Please confirm your e-mail address to …".
BOOK = "book a consultation"
MESSAGE = "send messages"
ASK = "ask a question"
CONTACT = "contact us"
PUBLISH = "publish your profile"

INVALID = ("This confirmation link is not valid. Check that you opened the whole link from the e-mail, "
           "or send yourself a new one.")
EXPIRED = "This confirmation link has expired (links work for {hours} hours). Send yourself a new one."
USED = "This confirmation link has already been used: your e-mail address is confirmed."
SUPERSEDED = ("This confirmation link is no longer valid: a newer link was sent or the address was changed "
              "since. Use the newest link, or send yourself a new one.")
ADDRESS_TAKEN = "Another account already uses this e-mail address, so it can't be confirmed for yours."


class ConfirmationError(DomainError):
    """A link that can't be used (message safe to show). ``used``: the address is already confirmed."""

    def __init__(self, message: str, *, used: bool = False) -> None:
        super().__init__(message)
        self.used = used


def confirmation_refusal(user: Any, action: str) -> str | None:
    """THE rule: why ``user`` must wait before ``action`` (None when they may go ahead)."""
    if getattr(user, "is_authenticated", False) and getattr(user, "email_confirmed_at", None) is None:
        return f"Please confirm your e-mail address to {action}."
    return None


def address_to_confirm(user: User) -> str | None:
    """The address a link should go to now: a new one waiting, or the account's own while unconfirmed."""
    if user.pending_email:
        return user.pending_email
    return user.email if user.email_confirmed_at is None else None


def max_age_hours() -> int:
    return int(current_app.config["EMAIL_CONFIRM_MAX_AGE"]) // 3600


# --- tokens ---------------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-confirm")


def _fingerprint(user: User) -> str:
    # Changes when a link is used (confirmed, or the address switched) or superseded (another address asked for).
    state = f"{user.id}|{user.email}|{user.email_confirmed_at is not None}|{user.pending_email or ''}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def _digest(address: str) -> str:
    return hashlib.sha256(f"address|{normalize_email(address)}".encode()).hexdigest()[:16]


def make_confirmation_token(user: User, address: str, next_url: str | None = None) -> str:
    data: dict[str, Any] = {"uid": user.id, "to": _digest(address), "fp": _fingerprint(user)}
    if is_safe_next(next_url):
        data["next"] = next_url
    return _serializer().dumps(data)


@dataclass(frozen=True)
class ConfirmationLink:
    """A link that can be used now: whose, which address, where the person was going."""

    user: User
    address: str
    next_url: str | None

    @property
    def is_change(self) -> bool:
        return self.address == self.user.pending_email


def check_confirmation_token(token: str) -> ConfirmationLink:
    """The link's account and address; raises ConfirmationError (invalid, expired, used, superseded)."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["EMAIL_CONFIRM_MAX_AGE"])
    except SignatureExpired as exc:
        raise ConfirmationError(EXPIRED.format(hours=max_age_hours())) from exc
    except BadSignature as exc:
        raise ConfirmationError(INVALID) from exc
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int) or not isinstance(data.get("to"), str):
        raise ConfirmationError(INVALID)
    user = db.session.get(User, data["uid"])
    if user is None or not user.is_active:
        raise ConfirmationError(INVALID)
    address = address_to_confirm(user)
    if data.get("fp") != _fingerprint(user) or address is None or data["to"] != _digest(address):
        if data["to"] == _digest(user.email) and user.email_confirmed_at is not None:
            raise ConfirmationError(USED, used=True)
        raise ConfirmationError(SUPERSEDED)
    next_url = data.get("next")
    return ConfirmationLink(user=user, address=address, next_url=next_url if is_safe_next(next_url) else None)


# --- confirming -----------------------------------------------------------------------------------

def confirm_email(token: str, now: datetime | None = None) -> ConfirmationLink:
    """Use a link: the address is confirmed (a new address replaces the old one). Raises
    ConfirmationError, with nothing changed, when the link can't be used."""
    link = check_confirmation_token(token)
    user = link.user
    if link.is_change:
        other = find_user_by_email(link.address)
        if other is not None and other.id != user.id:
            raise ConfirmationError(ADDRESS_TAKEN)
        before = user.email
        user.email, user.pending_email = link.address, None
        user.email_confirmed_at = now or utcnow()
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError as exc:  # another account took the address a moment ago
            db.session.refresh(user)
            raise ConfirmationError(ADDRESS_TAKEN) from exc
        record_audit(user, "account.email_changed", user, before={"email": before}, after={"email": user.email})
        log.info("user %s confirmed a new e-mail address", user.id)
    else:
        user.email_confirmed_at = now or utcnow()
        db.session.flush()
        log.info("user %s confirmed their e-mail address", user.id)
    return link


def mark_confirmed(user: User, now: datetime | None = None) -> None:
    """For accounts whose address is vouched for otherwise (demo data, ``create-admin``)."""
    user.email_confirmed_at = user.email_confirmed_at or now or utcnow()


# --- sending --------------------------------------------------------------------------------------

def send_confirmation(user: User, next_url: str | None = None) -> str | None:
    """Queue a link to the address waiting for confirmation (composed on delivery); returns that
    address, or None when there is nothing to confirm."""
    address = address_to_confirm(user)
    if address is None:
        return None
    subject = "Confirm your new e-mail address for Balance" if user.pending_email else "Confirm your e-mail address for Balance"
    send_composed_mail(address, subject, MAIL_COMPOSER, user_id=user.id, address=address,
                       next=next_url if is_safe_next(next_url) else None)
    return address


def request_email_change(user: User, new_email: str) -> str | None:
    """Account settings: the address ``new_email`` replaces ``user.email`` once confirmed.

    A confirmed account keeps its address until the link sent to the new one is opened (the
    safer choice: a typo or a lost mailbox cannot take the account's mail away). An account not
    yet confirmed just corrects its address and gets the link there. Returns the address a link
    was sent to (None: nothing changed). Raises ValueError if another account uses the address."""
    new_email = normalize_email(new_email)
    if new_email == user.email:
        user.pending_email = None  # asking for the current address again cancels a change
        return None
    other = find_user_by_email(new_email)
    if other is not None and other.id != user.id:
        raise ValueError("Another account already uses this e-mail address.")
    if user.email_confirmed_at is None:
        user.email, user.pending_email = new_email, None
    else:
        user.pending_email = new_email
    db.session.flush()
    return send_confirmation(user)


@mail_composer(MAIL_COMPOSER)
def compose_confirmation(*, user_id: int, address: str, next: str | None = None) -> tuple[str, list]:  # noqa: A002
    """On delivery: the link for the address still waiting (moot if confirmed or changed since)."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or address_to_confirm(user) != address:
        raise NothingToSay("nothing to confirm for this address any more")
    link = external_url("auth.confirm", token=make_confirmation_token(user, address, next))
    body = render_mail("email/confirm_email.txt", user=user, link=link, hours=max_age_hours(),
                       change=address == user.pending_email, old_email=user.email)
    return body, []


__all__ = [
    "ASK", "BOOK", "CONTACT", "MESSAGE", "PUBLISH", "ConfirmationError", "ConfirmationLink", "address_to_confirm",
    "check_confirmation_token", "confirm_email", "confirmation_refusal", "make_confirmation_token",
    "mark_confirmed", "request_email_change", "send_confirmation",
]
