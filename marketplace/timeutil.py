"""Time zones at the edges: store UTC, show in the viewer's zone and always name it.

The zones people choose from are curated (``timezones.txt``: canonical tzdata names grouped by
region, and the deprecated spellings that map to them). The viewer's zone comes, in this order,
from their account, the zone they chose as a visitor (``TZ_CHOICE_COOKIE``, set by the server),
the zone their browser reported (``TZ_COOKIE``, set by static/js/localtime.js), else it is not
known and times are shown in UTC, named as such.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_request_context, request
from flask_login import current_user
from werkzeug.wrappers import Response

TZ_COOKIE = "tz"  # the browser's zone, written by static/js/localtime.js (Intl API)
TZ_CHOICE_COOKIE = "tz_choice"  # a visitor's chosen zone, written by the server (account.choose_timezone)
TZ_COOKIE_SECONDS = 365 * 24 * 3600
ZONE_FILE = Path(__file__).with_name("timezones.txt")
REGIONS = ("Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
OTHER_REGION = "Other"


@dataclass(frozen=True)
class ZoneList:
    canonical: tuple[str, ...]  # sorted, "UTC" last
    aliases: Mapping[str, str]  # deprecated or backward-compatible name -> canonical name


@lru_cache(maxsize=1)
def zone_list() -> ZoneList:
    """The curated zones (those the installed tzdata knows) and the aliases of them."""
    canonical: list[str] = []
    aliases: dict[str, str] = {}
    for line in ZONE_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            alias, _, target = (part.strip() for part in line.partition("="))
            aliases[alias] = target
        elif _loadable(line):
            canonical.append(line)
    known = set(canonical)
    return ZoneList(tuple(sorted(z for z in canonical if z != "UTC")) + ("UTC",),
                    {a: t for a, t in aliases.items() if t in known})


def curated_timezones() -> tuple[str, ...]:
    """Every zone a person can choose: canonical names only, no deprecated aliases."""
    return zone_list().canonical


def _loadable(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_valid_timezone(name: str | None) -> bool:
    """A zone the installed tzdata can load (stored values, e-mails, calendars)."""
    if not name or len(name) > 64:
        return False
    return _loadable(name)


def zone_or_utc(name: str | None) -> str:
    """``name`` when it is a zone tzdata can load, else "UTC": the one fallback for a stored zone."""
    return name if name is not None and is_valid_timezone(name) else "UTC"


def user_zone(user: object) -> str:
    """The zone a person's e-mails, calendar files and times are written in: their account's zone
    (``zone_or_utc``)."""
    return zone_or_utc(getattr(user, "timezone", None))


def canonical_timezone(name: str | None) -> str | None:
    """The curated name for ``name`` (itself, or the zone a deprecated alias stands for); None
    for anything else. What people choose and what a cookie says is checked with this."""
    if not name or len(name) > 64:
        return None
    zones = zone_list()
    if name in zones.aliases:
        return zones.aliases[name]
    return name if name in _curated_set() else None


@lru_cache(maxsize=1)
def _curated_set() -> frozenset[str]:
    return frozenset(zone_list().canonical)


def readable_timezone(name: str | None) -> str | None:
    """A stored zone as it is shown and used: the curated name when there is one (aliases
    mapped), a zone tzdata still knows as it is, None when it is not a zone at all."""
    canonical = canonical_timezone(name)
    if canonical is not None:
        return canonical
    return name if is_valid_timezone(name) else None


def utc_offset_label(name: str, now: datetime | None = None) -> str:
    """'UTC+01:00', 'UTC-03:30', 'UTC+00:00': the zone's offset at ``now``."""
    offset = (now or datetime.now(UTC)).astimezone(ZoneInfo(name)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_label(name: str, now: datetime | None = None) -> str:
    """'Europe/Berlin (UTC+01:00)', 'America/New York (UTC-05:00)': human spelling, current offset."""
    return f"{name.replace('_', ' ')} ({utc_offset_label(name, now)})"


def zone_choices(current: str | None = None, now: datetime | None = None) -> dict[str, list[tuple[str, str]]]:
    """The curated zones as select options grouped by region (optgroups), labelled with their
    current offset. ``current``: a stored zone that is not curated (but still a zone) is offered
    too, under "Other", so a form never silently replaces it."""
    return _zone_choices(_hour(now), current if current and current not in _curated_set()
                         and is_valid_timezone(current) else None)


def _hour(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)


@lru_cache(maxsize=8)
def _zone_choices(hour: datetime, extra: str | None) -> dict[str, list[tuple[str, str]]]:
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in REGIONS}
    for name in curated_timezones():
        region = name.split("/", 1)[0]
        if region in groups:
            groups[region].append((name, zone_label(name, hour)))
    groups["UTC"] = [("UTC", "UTC (UTC+00:00)")]
    if extra:
        groups[OTHER_REGION] = [(extra, zone_label(extra, hour))]
    return {region: options for region, options in groups.items() if options}


# --- the viewer's zone ---------------------------------------------------------------------------

class ZoneSource(StrEnum):
    ACCOUNT = "account"  # the logged-in person's setting
    CHOSEN = "chosen"  # a visitor chose it (TZ_CHOICE_COOKIE)
    BROWSER = "browser"  # the visitor's browser reported it (TZ_COOKIE)
    UNKNOWN = "unknown"  # nothing known: UTC, and the page says so

    @property
    def fixed(self) -> bool:
        """The person set it: the browser script must not show other times."""
        return self in (ZoneSource.ACCOUNT, ZoneSource.CHOSEN)


@dataclass(frozen=True)
class ViewerZone:
    name: str
    source: ZoneSource

    @property
    def known(self) -> bool:
        return self.source is not ZoneSource.UNKNOWN


def viewer_zone() -> ViewerZone:
    """The zone times are shown in for this request, and where it came from."""
    if has_request_context():
        if getattr(current_user, "is_authenticated", False):
            stored = readable_timezone(current_user.timezone)
            if stored:
                return ViewerZone(stored, ZoneSource.ACCOUNT)
        chosen = canonical_timezone(unquote(request.cookies.get(TZ_CHOICE_COOKIE, "")))
        if chosen:
            return ViewerZone(chosen, ZoneSource.CHOSEN)
        detected = canonical_timezone(unquote(request.cookies.get(TZ_COOKIE, "")))
        if detected:
            return ViewerZone(detected, ZoneSource.BROWSER)
    return ViewerZone("UTC", ZoneSource.UNKNOWN)


def remember_zone_choice(response: Response, name: str) -> None:
    """Keep a visitor's chosen zone (already checked: ``canonical_timezone``) in this browser."""
    response.set_cookie(TZ_CHOICE_COOKIE, name, max_age=TZ_COOKIE_SECONDS, path="/", httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))


def viewer_timezone() -> str:
    """Account setting if logged in, else the zone the visitor chose or their browser reported
    (cookies, checked against the curated list), else UTC."""
    return viewer_zone().name


# --- formatting ----------------------------------------------------------------------------------

def to_zone(dt: datetime, tz_name: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz_name))


def utc_instant(dt: datetime) -> str:
    """'2026-12-01T07:00:00Z': the instant, as a <time datetime> attribute and slot value carry it."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
