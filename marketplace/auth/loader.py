"""Flask-Login user loading (session id = "<user id>:<auth version>")."""
from __future__ import annotations

from flask import flash, redirect, request, url_for

from marketplace.auth.models import User
from marketplace.extensions import db, login_manager
from marketplace.security import current_path


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.auth_version != int(version) or not user.is_active:
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():  # type: ignore[no-untyped-def]
    flash("Please log in to continue.", "info")
    return redirect(url_for("auth.login", next=current_path() if request.method == "GET" else None))
