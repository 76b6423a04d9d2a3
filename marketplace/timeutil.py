"""Time zones at the edges: store UTC, show in the viewer's zone and always name it."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import has_request_context, request
from flask_login import current_user

TZ_COOKIE = "tz"  # set by static/js/app.js from the browser (Intl API)


@lru_cache(maxsize=1)
def all_timezones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))) + ["UTC"])


def is_valid_timezone(name: str | None) -> bool:
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def viewer_timezone() -> str:
    """Account setting if logged in, else the browser-detected zone (cookie), else UTC."""
    if has_request_context():
        if getattr(current_user, "is_authenticated", False) and current_user.timezone:
            return current_user.timezone
        cookie = unquote(request.cookies.get(TZ_COOKIE, ""))
        if is_valid_timezone(cookie):
            return cookie
    return "UTC"


def to_zone(dt: datetime, tz_name: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz_name))


def format_datetime(dt: datetime | None, tz_name: str, *, with_date: bool = True) -> str:
    """'Mon 7 Dec 2026, 09:30 CET (Europe/Berlin)' — the zone is always named."""
    if dt is None:
        return ""
    local = to_zone(dt, tz_name)
    clock = local.strftime("%H:%M")
    zone = f"{local.tzname()} ({tz_name})" if local.tzname() != tz_name else tz_name
    if not with_date:
        return f"{clock} {zone}"
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b %Y')}, {clock} {zone}"


def format_time(dt: datetime, tz_name: str) -> str:
    return to_zone(dt, tz_name).strftime("%H:%M")


def format_date(dt: datetime, tz_name: str) -> str:
    local = to_zone(dt, tz_name)
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B %Y')}"
