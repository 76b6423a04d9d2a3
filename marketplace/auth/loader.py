"""Flask-Login user loading: the session must be live on the server (see ``auth.sessions``)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from marketplace.auth.models import User
from marketplace.auth.sessions import load_session_user
from marketplace.extensions import login_manager
from marketplace.security import current_path


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    return load_session_user(session_id)


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    flash("Please log in to continue.", "info")
    return redirect(url_for("auth.login", next=current_path() if request.method == "GET" else None))
