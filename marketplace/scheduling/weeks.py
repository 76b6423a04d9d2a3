"""The slot picker's week: one week of free slots in the viewer's zone, with time-of-day filters.

Pure (no Flask, no database): free slots (UTC) + the viewer's zone + what the page was asked for
(``WeekQuery``: a week, time-of-day filters, a chosen slot) → what the picker shows (``SlotWeek``).
Weeks run Monday to Sunday in the viewer's zone; the times of day are the viewer's too:
morning before 12:00, afternoon 12:00–16:59, evening from 17:00, weekend Saturday and Sunday.

Filters combine as people read them: the parts of the day chosen are alternatives ("morning or
evening"), the weekend narrows them ("weekend mornings"); none chosen shows every time. A filtered
week still carries all its times (the non-matching ones marked not shown), so the browser script
can change the filters without a request; the server's choice of week, counts and messages are
the same the script computes.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from marketplace.scheduling.slots import group_by_local_day, load_zone

MORNING, AFTERNOON, EVENING, WEEKEND = "morning", "afternoon", "evening", "weekend"
DAY_PARTS = (MORNING, AFTERNOON, EVENING)
TIME_FILTERS = (*DAY_PARTS, WEEKEND)
TIME_FILTER_LABELS = {MORNING: "Morning", AFTERNOON: "Afternoon", EVENING: "Evening", WEEKEND: "Weekend"}
TIME_FILTER_HINTS = {MORNING: "before 12:00", AFTERNOON: "12:00 to 17:00", EVENING: "from 17:00",
                     WEEKEND: "Saturday and Sunday"}
AFTERNOON_FROM_HOUR, EVENING_FROM_HOUR = 12, 17
MAX_WEEK_OFFSET = 104  # ``?week=N``: at most two years ahead (any horizon is shorter)
MAX_FILTER_VALUES = len(TIME_FILTERS) * 2  # ``?part=`` values read at most (a link never has more)


def day_part(local: datetime) -> str:
    """"morning", "afternoon" or "evening" of a local time."""
    if local.hour < AFTERNOON_FROM_HOUR:
        return MORNING
    return AFTERNOON if local.hour < EVENING_FROM_HOUR else EVENING


def is_weekend(local: datetime) -> bool:
    return local.weekday() >= 5


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def slot_kind(local: datetime) -> str:
    """"morning", … or "morning-weekend", …: what the filters look at (the browser script too)."""
    return f"{day_part(local)}-{WEEKEND}" if is_weekend(local) else day_part(local)


@dataclass(frozen=True)
class TimeFilter:
    """The time-of-day chips that are on."""

    parts: frozenset[str] = frozenset()
    weekend: bool = False

    @classmethod
    def from_values(cls, values: Iterable[str]) -> TimeFilter:
        """From ``?part=morning&part=weekend`` (unknown values are ignored, never an error)."""
        chosen: set[str] = set()
        for i, value in enumerate(values):
            if i >= MAX_FILTER_VALUES:
                break
            if value in TIME_FILTERS:
                chosen.add(value)
        return cls(frozenset(chosen & set(DAY_PARTS)), WEEKEND in chosen)

    @property
    def active(self) -> bool:
        return bool(self.parts) or self.weekend

    @property
    def values(self) -> list[str]:
        """The chips that are on, in the order they are shown (for links)."""
        return [f for f in TIME_FILTERS if f in self.parts or (f == WEEKEND and self.weekend)]

    @property
    def summary(self) -> str:
        """The chips that are on, as read: "mornings or evenings", "weekends", "weekend evenings"
        ("" when none is on)."""
        parts = " or ".join(f"{part}s" for part in DAY_PARTS if part in self.parts)
        if self.weekend:
            return f"{WEEKEND} {parts}" if parts else f"{WEEKEND}s"
        return parts

    def is_on(self, value: str) -> bool:
        return value in self.values

    def matches_kind(self, kind: str) -> bool:
        part, _, weekend = kind.partition("-")
        return (not self.parts or part in self.parts) and (not self.weekend or bool(weekend))

    def matches(self, local: datetime) -> bool:
        return self.matches_kind(slot_kind(local))


@dataclass(frozen=True)
class WeekQuery:
    """What the page was asked for, as given (``week`` unchecked); ``selected`` is the time chosen
    earlier (a link, a form sent back, the return from login or e-mail confirmation)."""

    week: str | None = None
    filter: TimeFilter = TimeFilter()
    selected: datetime | None = None


@dataclass(frozen=True)
class SlotChoice:
    """One free time of the shown week (``at``: local, in the viewer's zone)."""

    at: datetime
    kind: str
    shown: bool  # matches the filters (or is the chosen time: that is never hidden)


@dataclass(frozen=True)
class WeekSummary:
    """A week that has free times: for the links to it and for the browser script."""

    start: date
    label: str
    kinds: tuple[str, ...]  # the kinds of time it has (``slot_kind``)


@dataclass
class SlotWeek:
    """What the picker shows: one week (Monday ``start``) of free times by local day."""

    start: date
    filter: TimeFilter
    days: dict[date, list[SlotChoice]] = field(default_factory=dict)  # only days with free times
    weeks: list[WeekSummary] = field(default_factory=list)  # every week with free times, in order
    selected_local: datetime | None = None  # the chosen time, if it is one of the free times

    @property
    def selected(self) -> datetime | None:
        """The chosen time (UTC), if it is one of the free times."""
        return self.selected_local.astimezone(UTC) if self.selected_local is not None else None

    @property
    def label(self) -> str:
        return week_label(self.start)

    @property
    def has_free_times(self) -> bool:
        """Any free time at all, in any week."""
        return bool(self.weeks)

    @property
    def previous(self) -> date | None:
        """The week before, while it is not before the first week with free times."""
        return self.start - timedelta(days=7) if self.weeks and self.start > self.weeks[0].start else None

    @property
    def next(self) -> date | None:
        """The week after, while it is not after the last week with free times."""
        return self.start + timedelta(days=7) if self.weeks and self.start < self.weeks[-1].start else None

    @property
    def shown_count(self) -> int:
        return sum(choice.shown for choices in self.days.values() for choice in choices)

    def shown_in(self, day: date) -> int:
        return sum(choice.shown for choice in self.days[day])

    @property
    def next_with_times(self) -> WeekSummary | None:
        """The next week after this one with times the filters show (offered when this one has none)."""
        return next((w for w in self.weeks if w.start > self.start and self.shows_any(w)), None)

    @property
    def earlier_with_times(self) -> WeekSummary | None:
        """The latest week before this one with times the filters show (offered when this one has
        none and no later week has either)."""
        return next((w for w in reversed(self.weeks) if w.start < self.start and self.shows_any(w)), None)

    def shows_any(self, week: WeekSummary) -> bool:
        """Whether ``week`` has times the filters show."""
        return any(map(self.filter.matches_kind, week.kinds))

    @property
    def pinned(self) -> datetime | None:
        """The chosen time when it is in another week (it stays chosen, shown apart)."""
        if self.selected_local is not None and monday_of(self.selected_local.date()) != self.start:
            return self.selected_local
        return None

    @property
    def open_day(self) -> date | None:
        """The day unfolded on narrow screens: the chosen time's, else the first with times shown."""
        if self.selected_local is not None and self.selected_local.date() in self.days:
            return self.selected_local.date()
        return next((day for day in self.days if self.shown_in(day)), None)

    @property
    def count_text(self) -> str:
        """'12 free times', '4 of 12 free times' (filtered): this week's, under its dates. The script
        says the same."""
        total = sum(len(choices) for choices in self.days.values())
        noun = "free time" if total == 1 else "free times"
        return f"{self.shown_count} of {total} {noun}" if self.filter.active else f"{total} {noun}"

    @property
    def chips(self) -> list[tuple[str, str, str, bool]]:
        """The time-of-day chips: (value, label, hint, on)."""
        return [(value, TIME_FILTER_LABELS[value], TIME_FILTER_HINTS[value], self.filter.is_on(value))
                for value in TIME_FILTERS]

    @property
    def pinned_week(self) -> date | None:
        return monday_of(self.pinned.date()) if self.pinned is not None else None

    @property
    def script_data(self) -> list[dict[str, object]]:
        """The weeks with free times for the browser script (a data attribute, JSON)."""
        return [{"week": w.start.isoformat(), "label": w.label, "kinds": list(w.kinds)} for w in self.weeks]


def week_label(start: date) -> str:
    """'2 – 8 March 2026', '30 March – 5 April 2026', '28 December 2026 – 3 January 2027'."""
    end = start + timedelta(days=6)
    if start.year != end.year:
        return f"{start.day} {start:%B} {start.year} – {end.day} {end:%B} {end.year}"
    if start.month != end.month:
        return f"{start.day} {start:%B} – {end.day} {end:%B} {end.year}"
    return f"{start.day} – {end.day} {end:%B} {end.year}"


def parse_week(value: str | None, today: date) -> date | None:
    """The Monday of ``?week=``: a date in that week (``2026-03-04``) or a number of weeks after
    this one (``?week=2``; 0 is this week). None for anything else (the caller falls back)."""
    if not value or len(value) > 10:
        return None
    if value.isdigit() and value.isascii():
        weeks = int(value)
        return monday_of(today) + timedelta(weeks=weeks) if weeks <= MAX_WEEK_OFFSET else None
    if len(value) != 10:
        return None
    try:
        return monday_of(date.fromisoformat(value))
    except ValueError:
        return None


def slot_week(slots_utc: Sequence[datetime], tz_name: str, query: WeekQuery, now: datetime) -> SlotWeek:
    """The week the picker shows for ``query``.

    The week asked for if it is one between the first and the last week with free times; else
    (nothing asked, or a bad or out-of-range value) the chosen time's week, else the first week
    with times the filters show, else the first week with free times.
    """
    by_week: dict[date, dict[date, list[datetime]]] = {}
    for day, times in group_by_local_day(list(slots_utc), tz_name).items():
        by_week.setdefault(monday_of(day), {})[day] = times
    weeks = [WeekSummary(start, week_label(start), tuple(sorted({slot_kind(t) for ts in days.values() for t in ts})))
             for start, days in by_week.items()]
    # Compared as UTC instants: a local time in the repeated hour of a DST change is otherwise ambiguous.
    chosen = next((t for days in by_week.values() for ts in days.values() for t in ts
                   if query.selected is not None and t.astimezone(UTC) == query.selected), None)
    today = now.astimezone(load_zone(tz_name)).date()
    week = SlotWeek(start=monday_of(today), filter=query.filter, weeks=weeks, selected_local=chosen)
    if not weeks:
        return week
    asked = parse_week(query.week, today)
    if asked is not None and weeks[0].start <= asked <= weeks[-1].start:
        week.start = asked
    elif chosen is not None:
        week.start = monday_of(chosen.date())
    else:
        week.start = next((w.start for w in weeks if week.shows_any(w)), weeks[0].start)
    week.days = {day: [SlotChoice(t, slot_kind(t), t is chosen or query.filter.matches(t)) for t in times]
                 for day, times in by_week.get(week.start, {}).items()}
    return week


__all__ = [
    "AFTERNOON", "DAY_PARTS", "EVENING", "MORNING", "TIME_FILTERS", "TIME_FILTER_HINTS", "TIME_FILTER_LABELS",
    "WEEKEND", "SlotChoice", "SlotWeek", "TimeFilter", "WeekQuery", "WeekSummary", "day_part", "is_weekend",
    "monday_of", "parse_week", "slot_kind", "slot_week", "week_label",
]
