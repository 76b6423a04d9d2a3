"""Extension points of the consultations domain, for the domains built on it (payments).

Consultations never imports a later domain (imports go one way: payments → consultations).
Where a later domain must take part in a consultation rule, it registers a function here;
the app factory (``marketplace.create_app``) does the registering::

    booking_hooks.before_booking(release_holds_before_booking)  # (specialist_id, now)
    booking_hooks.on_cancel(cancel_paid_session)                # (consultation, actor)
    booking_hooks.on_no_show(settle_no_show)                    # (consultation, specialist)
    booking_hooks.on_specialist_no_show(refund_missed_session)  # (consultation, client, now) -> str | None
    booking_hooks.move_refusal(series_move_refusal)             # (consultation, now) -> str | None
    booking_hooks.after_move(move_series_charge)                # (consultation, old_start)
    booking_hooks.not_charged_yet(series_occurrence_not_charged) # (consultation) -> bool

* ``before_booking`` runs inside the slot check of every booking (``booking.validate_slot``)
  when the specialist's calendar has payment holds past their expiry, so whoever owns those
  holds releases them (and its own records) before the new booking is placed.
* ``on_cancel`` runs in the same unit of work as a cancellation, after the state change and
  the release of the calendar blocks (the payments domain settles the money there).
* ``on_no_show`` runs in the same unit of work as the specialist recording a no-show (the
  payments domain applies the booking's no-show term to a paid session).
* ``on_specialist_no_show`` runs in the same unit of work as the client's report that the
  specialist did not come (``no_shows``): the payments domain refunds a paid session in full and
  returns what the client is told of it.

* ``after_booking`` runs in the savepoint of every new free consultation (the waitlist, of this
  domain, registers at import: a client who books leaves the specialist's waitlist).
* ``move_refusal`` is asked before a paid session is moved to another time (``moves``): the
  first message returned refuses the move (payments: a series occurrence whose charge was
  declined). It only reads, and also decides whether the consultation page offers the move.
* ``after_move`` runs in the savepoint of a paid session moved in place, after its new blocks
  are in, with its previous start (payments moves a series occurrence's charge due time).
* ``not_charged_yet`` tells whether a paid session has not been charged yet (payments: a series
  occurrence charged 24 hours before it): cancelling it then costs nothing, and the cancel step
  says so instead of naming a refund. It only reads.

With nothing registered (a consultations-only app) they do nothing. Registering the same
function twice keeps one (the factory runs once per app; several apps share this module).

Pages of this domain that show parts of later domains (``marketplace.parts.page_parts``; the
later domain registers a part function under these names, the page's view gathers them):

* ``CONSULTATION_PAGE`` — a consultation's page (context: ``consultation``, ``viewer``): payments' box;
* ``STATS_PAGE`` — the specialist's statistics (context: ``profile``, ``viewer``): featured's campaign numbers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CONSULTATION_PAGE = "consultations.detail"
STATS_PAGE = "consultations.stats"

BeforeBooking = Callable[[int, datetime], object]
OnCancel = Callable[[Any, Any], object]
AfterBooking = Callable[[Any], object]
MoveRefusal = Callable[[Any, datetime], str | None]
AfterMove = Callable[[Any, datetime], object]
NotChargedYet = Callable[[Any], bool]
SpecialistMissed = Callable[[Any, Any, datetime], str | None]


@dataclass
class BookingHooks:
    before_booking_hooks: list[BeforeBooking] = field(default_factory=list)
    on_cancel_hooks: list[OnCancel] = field(default_factory=list)
    after_booking_hooks: list[AfterBooking] = field(default_factory=list)
    on_no_show_hooks: list[OnCancel] = field(default_factory=list)
    move_refusal_hooks: list[MoveRefusal] = field(default_factory=list)
    after_move_hooks: list[AfterMove] = field(default_factory=list)
    not_charged_yet_hooks: list[NotChargedYet] = field(default_factory=list)
    on_specialist_no_show_hooks: list[SpecialistMissed] = field(default_factory=list)

    # --- registration (the app factory) --------------------------------------------------------

    def before_booking(self, func: BeforeBooking) -> BeforeBooking:
        if func not in self.before_booking_hooks:
            self.before_booking_hooks.append(func)
        return func

    def on_cancel(self, func: OnCancel) -> OnCancel:
        if func not in self.on_cancel_hooks:
            self.on_cancel_hooks.append(func)
        return func

    def after_booking(self, func: AfterBooking) -> AfterBooking:
        if func not in self.after_booking_hooks:
            self.after_booking_hooks.append(func)
        return func

    def on_no_show(self, func: OnCancel) -> OnCancel:
        if func not in self.on_no_show_hooks:
            self.on_no_show_hooks.append(func)
        return func

    def move_refusal(self, func: MoveRefusal) -> MoveRefusal:
        if func not in self.move_refusal_hooks:
            self.move_refusal_hooks.append(func)
        return func

    def after_move(self, func: AfterMove) -> AfterMove:
        if func not in self.after_move_hooks:
            self.after_move_hooks.append(func)
        return func

    def not_charged_yet(self, func: NotChargedYet) -> NotChargedYet:
        if func not in self.not_charged_yet_hooks:
            self.not_charged_yet_hooks.append(func)
        return func

    def on_specialist_no_show(self, func: SpecialistMissed) -> SpecialistMissed:
        if func not in self.on_specialist_no_show_hooks:
            self.on_specialist_no_show_hooks.append(func)
        return func

    # --- used by the consultations domain ------------------------------------------------------

    def run_after_booking(self, consultation: Any) -> None:
        for hook in self.after_booking_hooks:
            hook(consultation)

    def run_before_booking(self, specialist_id: int, now: datetime) -> None:
        for hook in self.before_booking_hooks:
            hook(specialist_id, now)

    def run_on_cancel(self, consultation: Any, actor: Any) -> None:
        for hook in self.on_cancel_hooks:
            hook(consultation, actor)

    def run_on_no_show(self, consultation: Any, actor: Any) -> None:
        for hook in self.on_no_show_hooks:
            hook(consultation, actor)

    def run_move_refusal(self, consultation: Any, now: datetime) -> str | None:
        """The first refusal a registered domain gives for moving ``consultation`` (None: none)."""
        for hook in self.move_refusal_hooks:
            refusal = hook(consultation, now)
            if refusal:
                return refusal
        return None

    def run_after_move(self, consultation: Any, old_start: datetime) -> None:
        for hook in self.after_move_hooks:
            hook(consultation, old_start)

    def run_not_charged_yet(self, consultation: Any) -> bool:
        return any(hook(consultation) for hook in self.not_charged_yet_hooks)

    def run_on_specialist_no_show(self, consultation: Any, client: Any, now: datetime) -> list[str]:
        """What each registered domain did about the report, as told to the client."""
        return [said for hook in self.on_specialist_no_show_hooks if (said := hook(consultation, client, now))]


booking_hooks = BookingHooks()
