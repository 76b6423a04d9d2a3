"""Hooks through which later domains take part in this one's rules without this domain importing
them (imports go one way: consultations → specialists, featured → specialists).

The consultations domain registers, at import time of its ``services`` module::

    @availability_hooks.has_hours
    def profile_has_hours(profile) -> bool: ...          # publishing needs hours

    @availability_hooks.calendar_changed
    def changed(profile_ids) -> None: ...                # bookability changed: refresh availability

    @availability_hooks.zone_changed
    def move(profile, old_zone, new_zone, keep) -> None: ...  # the profile's zone changed

The featured domain registers, at import time of its ``services`` module::

    @directory_hooks.featured_order
    def order() -> list[int]: ...                        # featured profile ids, campaign order

    @directory_hooks.cards_shown
    def count(profile_ids, placement) -> None: ...       # featured cards the directory showed

With nothing registered, a profile counts as having hours, nobody is featured, and the other
hooks do nothing.

Pages of this domain that show parts of later domains (``marketplace.parts.page_parts``; the
later domain registers a part function under these names, the page's view gathers them):

* ``PROFILE_CARD`` — the profile's booking card, cached with the page for everyone in one zone
  (context: ``profile``, ``tz``, ``src``, ``preview``): consultations' free times;
* ``PROFILE_PERSON`` — what the profile shows to this viewer, composed per request (context:
  ``profile`` — a ``ProfileHead`` on a cached page —, ``viewer``, ``preview``): consultations'
  ``standing`` (the client's consultation with the specialist) and ``admin_upcoming``;
* ``PROFILE_EDITOR`` — the specialist's dashboard (context: ``profile``, ``viewer``): featured's note.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

PROFILE_CARD = "specialists.profile.card"
PROFILE_PERSON = "specialists.profile.person"
PROFILE_EDITOR = "specialists.edit"

# How weekly hours follow a change of the profile's time zone.
KEEP_CLOCK = "clock"  # 09:00 stays 09:00 in the new zone
KEEP_MOMENTS = "moments"  # the hours move with the clock difference


@dataclass
class AvailabilityHooks:
    has_hours_checks: list[Callable[[Any], bool]] = field(default_factory=list)
    calendar_listeners: list[Callable[[Iterable[int]], None]] = field(default_factory=list)
    zone_listeners: list[Callable[[Any, str, str, str], None]] = field(default_factory=list)

    def has_hours(self, func: Callable[[Any], bool]) -> Callable[[Any], bool]:
        if func not in self.has_hours_checks:
            self.has_hours_checks.append(func)
        return func

    def calendar_changed(self, func: Callable[[Iterable[int]], None]) -> Callable[[Iterable[int]], None]:
        if func not in self.calendar_listeners:
            self.calendar_listeners.append(func)
        return func

    def zone_changed(self, func: Callable[[Any, str, str, str], None]) -> Callable[[Any, str, str, str], None]:
        if func not in self.zone_listeners:
            self.zone_listeners.append(func)
        return func

    # --- used by specialists.services ---------------------------------------------------------

    def profile_has_hours(self, profile: Any) -> bool:
        return all(check(profile) for check in self.has_hours_checks)

    def notify_calendar_changed(self, profile_ids: Iterable[int]) -> None:
        ids = list(profile_ids)
        for listener in self.calendar_listeners:
            listener(ids)

    def notify_zone_changed(self, profile: Any, old_zone: str, new_zone: str, keep: str) -> None:
        for listener in self.zone_listeners:
            listener(profile, old_zone, new_zone, keep)


availability_hooks = AvailabilityHooks()


@dataclass
class DirectoryHooks:
    order_sources: list[Callable[[], list[int]]] = field(default_factory=list)
    shown_listeners: list[Callable[[Iterable[int], str], None]] = field(default_factory=list)

    def featured_order(self, func: Callable[[], list[int]]) -> Callable[[], list[int]]:
        if func not in self.order_sources:
            self.order_sources.append(func)
        return func

    def cards_shown(self, func: Callable[[Iterable[int], str], None]) -> Callable[[Iterable[int], str], None]:
        if func not in self.shown_listeners:
            self.shown_listeners.append(func)
        return func

    # --- used by specialists.directory and its view ---------------------------------------------

    def load_featured_order(self) -> list[int]:
        """The featured profile ids in campaign order (from the featured domain; none without it)."""
        return [pid for source in self.order_sources for pid in source()]

    def notify_cards_shown(self, profile_ids: Iterable[int], placement: str) -> None:
        ids = list(profile_ids)
        for listener in self.shown_listeners:
            listener(ids, placement)


directory_hooks = DirectoryHooks()
