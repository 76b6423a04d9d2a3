"""Security headers and CSP, safe ``next`` redirects, role and login-gating decorators."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, render_template, request, url_for
from flask_login import current_user

from marketplace.extensions import login_manager

# Seed wording for the gated actions (PRODUCT.md, "Login gating").
PROMPT_MESSAGE = "You need to be logged in to send messages"
PROMPT_SPECIALIST_PROFILE = "To create your specialist profile, please log in to your account."
PROMPT_CONTACT = "You need to be logged in to contact us"
PROMPT_QUESTION = "To create a new Question, please log in or create an account"
PROMPT_BOOKING = "You need to be logged in to book a consultation"


def is_safe_next(target: str | None) -> TypeGuard[str]:
    """Only local absolute paths: '/x?y'. Rejects '//host', '/\\host', schemes and control chars."""
    if not target or not isinstance(target, str):
        return False
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default_endpoint: str = "main.home") -> str:
    return target if is_safe_next(target) else url_for(default_endpoint)


def current_path() -> str:
    """The current URL as a local path (with query string) to use as ``next``."""
    path = request.full_path if request.query_string else request.path
    return path if is_safe_next(path) else "/"


def account_key() -> str:
    """Rate-limit key per account (several people may share one address), else per address."""
    return f"user:{current_user.id}" if current_user.is_authenticated else request.remote_addr or "-"


def login_required_with_prompt(prompt: str, signup_role: str | None = None) -> Callable:
    """Gate an action: visitors get a 200 page with the seed prompt and Login / Sign up
    links that bring them back here (``next``). One helper for every gated action.
    ``signup_role``: the kind of account its Sign up link creates ("specialist"; a client by default)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                next_url = request.path if request.method != "GET" else current_path()
                return render_template("gated.html", prompt=prompt, next_url=next_url, signup_role=signup_role)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def role_required(*roles: Any) -> Callable:
    """Logged-in users with one of ``roles``; others get 403 (visitors go to login)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


_FORM_ACTION_SOURCES = "csp_form_action_sources"


def allow_form_action(app: Flask, source: Callable[[], Iterable[str]]) -> None:
    """Let forms post (and be redirected) to the origins ``source()`` names, besides our own —
    e.g. a payment provider's checkout page (registered by the app factory; read per response)."""
    sources = app.extensions.setdefault(_FORM_ACTION_SOURCES, [])
    if source not in sources:
        sources.append(source)


def build_csp(nonce: str | None = None) -> str:
    hosts = [host for source in current_app.extensions.get(_FORM_ACTION_SOURCES, []) for host in source()]
    form_action = " ".join(["'self'", *hosts])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            f"form-action {form_action}",
        ]
    )


# C0 control characters and DEL. Paths and query strings never need them; form fields may hold
# line breaks and tabs (textareas), nothing else. PostgreSQL refuses NUL in text outright.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(request_: Any) -> bool:
    """Whether the path, a query parameter or a form field carries characters no input needs."""
    if _CONTROL.search(request_.path):
        return True
    if any(_CONTROL.search(k) or _CONTROL.search(v) for k, v in request_.args.items(multi=True)):
        return True
    if request_.method in ("POST", "PUT", "PATCH") and request_.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return any(_CONTROL.search(k) or _CONTROL_IN_TEXT.search(v) for k, v in request_.form.items(multi=True))
    return False


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def register_security(app: Flask) -> None:
    @app.before_request
    def _refuse_control_characters() -> None:
        # One guard at the edge: such input is refused with a 400 before any view or query sees it.
        if has_control_characters(request):
            abort(400, "The request contained characters that are not allowed (such as a NUL byte).")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        present = {name.lower() for name in headers.keys()}  # a view's own value wins (setdefault)
        wanted = [*SECURITY_HEADERS, ("Content-Security-Policy", build_csp())]
        if request.is_secure:
            wanted.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
        if current_user and getattr(current_user, "is_authenticated", False):
            # Pages with personal data must not be stored by shared caches or the back button.
            wanted.append(("Cache-Control", "no-store"))
        headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response
