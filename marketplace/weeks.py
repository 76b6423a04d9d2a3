"""Weekly buckets for trend charts: the last N weeks (Monday to Sunday) in a zone, their instants
in UTC, and a SQL expression that puts a timestamp into its week, so a chart's data is one
``GROUP BY`` per source instead of one query per week (on SQLite and PostgreSQL alike: the
zone's midnights are computed here, the database only compares instants).

Infrastructure: imports nothing from the domains.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, literal

from marketplace.database import utcnow

PERIODS = (4, 12, 26)  # the period selector's choices, in weeks
DEFAULT_PERIOD = 12


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_period(value: Any) -> int:
    """``?weeks=`` as one of ``PERIODS``; anything else is the default (never an error)."""
    try:
        weeks = int(value)
    except (TypeError, ValueError):
        return DEFAULT_PERIOD
    return weeks if weeks in PERIODS else DEFAULT_PERIOD


@dataclass(frozen=True)
class Weeks:
    """``count`` consecutive weeks ending with the one containing ``today``, in ``zone``."""

    mondays: tuple[date, ...]  # oldest first
    zone: str

    @classmethod
    def ending(cls, today: date, count: int, zone: str = "UTC") -> Weeks:
        last = monday_of(today)
        return cls(tuple(last - timedelta(weeks=n) for n in reversed(range(count))), zone)

    @classmethod
    def ending_now(cls, count: int, zone: str = "UTC") -> Weeks:
        """The last ``count`` weeks up to this one, "today" being today in ``zone``."""
        return cls.ending(utcnow().astimezone(ZoneInfo(zone)).date(), count, zone)

    def __len__(self) -> int:
        return len(self.mondays)

    def midnight_utc(self, day: date) -> datetime:
        """The instant ``day`` begins in the zone (DST-aware), in UTC."""
        return datetime.combine(day, time.min, tzinfo=ZoneInfo(self.zone)).astimezone(timezone.utc)

    @property
    def start_utc(self) -> datetime:
        return self.midnight_utc(self.mondays[0])

    @property
    def end_utc(self) -> datetime:
        return self.midnight_utc(self.mondays[-1] + timedelta(weeks=1))

    def bounds_utc(self) -> list[datetime]:
        """Where each week starts, and where the last one ends: ``len(self) + 1`` instants."""
        return [self.midnight_utc(m) for m in self.mondays] + [self.end_utc]

    def index_of(self, column: Any) -> Any:
        """SQL: the index of the week ``column`` (a UTC timestamp) falls in, or -1 outside."""
        bounds = self.bounds_utc()
        whens = [(column >= bounds[i], literal(i)) for i in reversed(range(len(self)))]
        return case((column >= bounds[-1], literal(-1)), *whens, else_=literal(-1))

    def index_of_day(self, day: date) -> int:
        """The index of the week a calendar day (as stored, e.g. a UTC day) belongs to, or -1."""
        monday = monday_of(day)
        try:
            return self.mondays.index(monday)
        except ValueError:
            return -1

    def empty(self) -> list[int]:
        return [0] * len(self)


def week_labels(weeks: Weeks) -> tuple[list[str], list[str]]:
    """Each week's Monday written out ("3 Nov 2026", for tables) and short ("3 Nov", for an axis)."""
    return ([f"{m.day} {m.strftime('%b %Y')}" for m in weeks.mondays],
            [f"{m.day} {m.strftime('%b')}" for m in weeks.mondays])
