"""The page in front of what waits for a confirmed e-mail address (``confirmation_refusal``).

``@confirmed_email_required(BOOK, resume=…)`` on a view: a POST by a logged-in person whose
address is not confirmed does nothing and answers "Please confirm your e-mail address to …" with
the resend button; GET (browsing, preparing) is untouched. Where they were going (``resume``, by
default this page) is kept in the session and in the links sent from here, so the confirmation
link brings them back to it, e.g. the booking page with their slot selected.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import render_template, request, session
from flask_login import current_user

from marketplace.auth.confirmation import confirmation_refusal
from marketplace.auth.forms import ResendConfirmationForm
from marketplace.security import current_path, is_safe_next

RESUME_KEY = "confirm_resume"  # session: {"uid": user id, "next": local path}


def remember_resume(user_id: int, next_url: str | None) -> None:
    """Keep where this person was going until their address is confirmed (local paths only)."""
    if is_safe_next(next_url):
        session[RESUME_KEY] = {"uid": user_id, "next": next_url}


def pop_resume(user_id: int) -> str | None:
    """Where this browser's person (``user_id``) was going, once (None when unknown)."""
    value = session.pop(RESUME_KEY, None)
    if isinstance(value, dict) and value.get("uid") == user_id and is_safe_next(value.get("next")):
        return str(value["next"])
    return None


def confirmation_required_page(refusal: str, next_url: str | None) -> tuple[str, int]:
    remember_resume(current_user.id, next_url)
    form = ResendConfirmationForm(next=next_url if is_safe_next(next_url) else "")
    return render_template("auth/confirm_required.html", refusal=refusal, form=form, hide_confirm_banner=True), 403


def confirmed_email_required(action: str, *, resume: Callable[..., str | None] | None = None) -> Callable:
    """Gate the POST of a view on a confirmed address (after the login gate). ``resume(**view_args)``
    is the page to come back to (default: this page)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if request.method == "POST":
                refusal = confirmation_refusal(current_user, action)
                if refusal:
                    next_url = resume(**kwargs) if resume is not None else current_path()
                    return confirmation_required_page(refusal, next_url)
            return view(*args, **kwargs)

        return wrapped

    return decorator


__all__ = ["confirmation_required_page", "confirmed_email_required", "pop_resume", "remember_resume"]
