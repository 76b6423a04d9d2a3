"""Jinja filters and globals shared by every template."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask_login import current_user

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
