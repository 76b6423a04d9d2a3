"""Account settings, data export and account deletion."""
from __future__ import annotations

import logging
import secrets
from typing import Any

from marketplace.account.hooks import DELETION_HOOKS, EXPORTERS
from marketplace.audit import record_audit
from marketplace.auth.confirmation import request_email_change
from marketplace.auth.models import User
from marketplace.auth.services import AccountError, hash_password, verify_password
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.timeutil import canonical_timezone, readable_timezone

log = logging.getLogger(__name__)


class UnknownTimezone(AccountError):
    """A zone that is not in the curated list (nor an alias of one)."""


def chosen_timezone(name: str | None, *, keep: str | None = None) -> str:
    """The curated zone for ``name`` (an alias gives its canonical zone). ``keep``: a stored zone
    outside the list that the person may keep as it is. Raises ``UnknownTimezone``."""
    canonical = canonical_timezone(name)
    if canonical is not None:
        return canonical
    if name and keep and name == readable_timezone(keep):
        return name
    raise UnknownTimezone(f"“{(name or '')[:64]}” is not a time zone Balance knows. "
                          "Choose one from the list (a region and a city, e.g. Europe/Berlin).")


def choose_timezone(user: User | None, name: str | None) -> str:
    """A zone chosen with the chooser (footer, booking pages): checked against the curated list;
    for a logged-in person it becomes their account setting. The canonical name is returned (the
    caller remembers a visitor's choice in a cookie)."""
    zone = chosen_timezone(name, keep=user.timezone if user is not None else None)
    if user is not None and user.timezone != zone:
        user.timezone = zone
        db.session.flush()
    return zone


def update_account(user: User, *, display_name: str, email: str, timezone: str) -> str | None:
    """Save the settings. A new e-mail address is confirmed first (``request_email_change``: a
    confirmed account keeps its address until then). Returns the address a link was sent to."""
    timezone = chosen_timezone(timezone, keep=user.timezone)
    try:
        sent_to = request_email_change(user, email)
    except ValueError as exc:
        raise AccountError(str(exc)) from exc
    user.display_name = display_name.strip()
    user.timezone = timezone
    db.session.flush()
    return sent_to


def export_user_data(user: User) -> dict[str, Any]:
    """Everything Balance stores about ``user``, as JSON-serialisable data."""
    data: dict[str, Any] = {
        "account": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role.value,
            "timezone": user.timezone,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        }
    }
    for section, exporter in sorted(EXPORTERS.items()):
        data[section] = exporter(user)
    return data


def delete_account(user: User, password: str) -> None:
    """Delete an account: each domain cleans up (cancels future consultations with notice,
    anonymises messages and questions), then personal fields are erased."""
    if not verify_password(user, password):
        raise AccountError("Your password is not correct.")
    for hook in DELETION_HOOKS:
        hook(user)
    record_audit(user, "account.deleted", user)
    user.email = f"deleted-{user.id}-{secrets.token_hex(4)}@deleted.invalid"
    user.display_name = "Deleted user"
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.deleted_at = utcnow()
    user.active = False
    user.auth_version += 1
    db.session.flush()
    log.info("user %s deleted their account", user.id)
