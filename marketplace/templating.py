"""Jinja filters and globals shared by every template, and ``render_fragment`` for the parts of
pages that are cached and shared between people."""
from __future__ import annotations

from collections import ChainMap
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

from flask import Flask, current_app
from flask_login import current_user
from jinja2 import Environment
from markupsafe import Markup

from marketplace import security, timeutil
from marketplace.text import render_markdown

ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF"}
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "PLN": "zł "}


def format_money(amount_minor: int | None, currency: str) -> str:
    if amount_minor is None:
        return ""
    if currency in ZERO_DECIMAL_CURRENCIES:
        value = f"{amount_minor:,}"
    else:
        value = f"{Decimal(amount_minor) / 100:,.2f}"
        if value.endswith(".00"):
            value = value[:-3]
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


def localtime(dt: datetime | None, tz_name: str | None = None) -> str:
    return timeutil.format_datetime(dt, tz_name or timeutil.viewer_timezone())


# What differs between people (or requests) and so must never end up in a cached fragment.
PERSONAL_GLOBALS = ("current_user", "csrf_token", "current_path", "request", "session", "g",
                    "get_flashed_messages", "unread_messages", "viewer_timezone")
FRAGMENT_ENV = "fragment_jinja_env"


class PersonalDataInFragment(RuntimeError):
    """A cached fragment's template used something that belongs to one person or request."""


class _Refused:
    """Stands in for a person-specific global while a fragment renders: any use raises."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PersonalDataInFragment(f"{self._name!r} is person-specific and must not be used in a cached fragment; "
                                     "pass what the fragment needs (and key the cache by it) or compose it per request")

    __call__ = __getattr__ = __getitem__ = __iter__ = __bool__ = __str__ = __html__ = _refuse  # type: ignore[assignment]


def fragment_environment() -> Environment:
    """The app's Jinja environment without person-specific globals (one per app, built lazily
    so every blueprint's globals and filters are there)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    env = app.extensions.get(FRAGMENT_ENV)
    if env is None:
        env = app.jinja_env.overlay(cache_size=100)  # its own template cache: templates bind their globals
        env.globals = ChainMap({name: _Refused(name) for name in PERSONAL_GLOBALS}, app.jinja_env.globals)
        env = app.extensions.setdefault(FRAGMENT_ENV, env)  # two threads may build one: keep the first
    return env


def render_fragment(template_name: str, **context: Any) -> Markup:
    """Render a part of a page that is cached and shown to everyone.

    Unlike ``render_template`` no context processors run (no ``current_user``, CSRF token, flash
    messages), and the person-specific globals raise ``PersonalDataInFragment``: whatever the
    fragment depends on is passed in ``context``, so the caller can key the cache by it.
    """
    return Markup(fragment_environment().get_template(template_name).render(**context))  # noqa: S704 (autoescaped)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        localtime=localtime,
        localclock=lambda dt, tz=None: timeutil.format_time(dt, tz or timeutil.viewer_timezone()),
        localdate=lambda dt, tz=None: timeutil.format_date(dt, tz or timeutil.viewer_timezone()),
        money=format_money,
        markdown=render_markdown,
    )
    app.jinja_env.globals.update(
        viewer_timezone=timeutil.viewer_timezone,
        prompts=security,
        # A global (not a context variable) so macros imported without context can use it.
        current_path=security.current_path,
    )

    @app.context_processor
    def _navigation() -> dict[str, Any]:
        def unread_messages() -> int:
            if not getattr(current_user, "is_authenticated", False):
                return 0
            from marketplace.messaging.services import unread_count

            return unread_count(current_user)

        return {"unread_messages": unread_messages}
