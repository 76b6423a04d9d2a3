"""Cancellation terms: what cancelling (or missing) a booking costs, from the terms snapshotted
on it at booking. Pure: no Flask, no database session; "now" is passed in.

A specialist picks, in their booking settings (``SchedulingSettings``), a notice window for free
consultations (none / 12 h / 24 h) and one for paid sessions (24 / 48 / 72 h), and what a late
cancellation or a no-show of a paid session costs the client (full / half / no refund). Each
booking copies the terms that apply to its kind (``Consultation.cancel_notice_hours`` and
``late_refund``), so a later change of settings never touches it.

* Anyone but the client cancelling (the specialist, or Balance) is never late, and a paid session
  is then always refunded in full.
* The client cancelling with more than the notice left is on time (a paid session is refunded
  in full); exactly the notice or less is late. A late free consultation still uses up the
  client's one free consultation with that specialist (they cannot book another); a late paid
  session is refunded by the ``late_refund`` term, as is a no-show.

The default terms are the rules before specialists could choose: no notice for free
consultations, 24 hours for paid sessions and no refund after that.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from marketplace.money import format_money

FREE_NOTICE_CHOICES = (0, 12, 24)  # hours; 0: free consultations can be cancelled until the start
PAID_NOTICE_CHOICES = (24, 48, 72)
DEFAULT_FREE_NOTICE_HOURS = 0
DEFAULT_PAID_NOTICE_HOURS = 24


class LateRefund(enum.StrEnum):
    """What a client gets back of a paid session cancelled late or missed."""

    FULL = "full"
    HALF = "half"
    NONE = "none"

    @property
    def fraction(self) -> Fraction:
        return _FRACTIONS[self]

    @property
    def label(self) -> str:
        return _LABELS[self]


_FRACTIONS = {LateRefund.FULL: Fraction(1), LateRefund.HALF: Fraction(1, 2), LateRefund.NONE: Fraction(0)}
_LABELS = {LateRefund.FULL: "full refund", LateRefund.HALF: "half refund", LateRefund.NONE: "no refund"}
DEFAULT_LATE_REFUND = LateRefund.NONE


@dataclass(frozen=True)
class CancellationTerms:
    """The terms of one booking (or offered by a specialist for one kind of booking)."""

    notice_hours: int
    late_refund: LateRefund = DEFAULT_LATE_REFUND

    @property
    def notice(self) -> timedelta:
        return timedelta(hours=self.notice_hours)

    def is_late(self, now: datetime, start_utc: datetime) -> bool:
        """Late: the notice or less is left before the start (never late without a notice)."""
        return self.notice_hours > 0 and start_utc - now <= self.notice


@dataclass(frozen=True)
class Consequence:
    """What cancelling (or a no-show) means, in numbers and in words for the viewer."""

    late: bool
    refund_fraction: Fraction  # of the amount paid; 0 for a free consultation
    refund_minor: int | None  # paid sessions: the amount refunded (minor units); None when free
    words: str

    @property
    def refundable(self) -> bool:
        return bool(self.refund_minor)

    @property
    def key(self) -> str:
        """Identifies the consequence shown, so a confirmation can tell whether it still holds."""
        return f"{'late' if self.late else 'on-time'}:{self.refund_minor if self.refund_minor is not None else '-'}"


def refund_amount(amount_minor: int, fraction: Fraction) -> int:
    """``fraction`` of ``amount_minor``, an odd minor unit rounded in the client's favour."""
    return -(-amount_minor * fraction.numerator // fraction.denominator)


def _hours(hours: int) -> str:
    return f"{hours} hours"


def free_consequence(terms: CancellationTerms, *, by_client: bool, now: datetime, start_utc: datetime,
                     specialist_name: str) -> Consequence:
    """Cancelling a free consultation at ``now``."""
    if not by_client:
        return Consequence(False, Fraction(0), None,
                           "If you cancel, the client is told and can book another free consultation with you.")
    if terms.is_late(now, start_utc):
        return Consequence(True, Fraction(0), None,
                           f"This is less than {_hours(terms.notice_hours)} before the start, so it counts as a "
                           f"late cancellation: it uses up your free consultation with {specialist_name} "
                           "(you cannot book another one with them).")
    return Consequence(False, Fraction(0), None,
                       f"You can cancel free of charge. You can book another free consultation with "
                       f"{specialist_name} later.")


def paid_consequence(terms: CancellationTerms, *, by_client: bool, now: datetime, start_utc: datetime,
                     amount_minor: int, currency: str) -> Consequence:
    """Cancelling a paid session of ``amount_minor`` at ``now``."""
    total = format_money(amount_minor, currency)
    if not by_client:
        return Consequence(False, Fraction(1), amount_minor,
                           f"If you cancel, the client gets a full refund of {total}.")
    if not terms.is_late(now, start_utc):
        return Consequence(False, Fraction(1), amount_minor,
                           f"Cancelling now refunds {total} of {total} (full refund), because it is more than "
                           f"{_hours(terms.notice_hours)} before the start.")
    fraction = terms.late_refund.fraction
    refund = refund_amount(amount_minor, fraction)
    because = f"because it is less than {_hours(terms.notice_hours)} before the start"
    if refund == 0:
        words = f"If you cancel now, the {total} you paid will not be refunded, {because}."
    else:
        words = (f"Cancelling now refunds {format_money(refund, currency)} of {total} "
                 f"({terms.late_refund.label}), {because}.")
    return Consequence(True, fraction, refund, words)


def uncharged_consequence(*, by_client: bool) -> Consequence:
    """Cancelling a paid session that has not been charged yet (a weekly series' occurrence is
    charged 24 hours before it, or when its notice starts if that is earlier): it costs nothing."""
    if by_client:
        return Consequence(False, Fraction(1), None,
                           "Nothing has been charged for this session yet, so cancelling it costs nothing.")
    return Consequence(False, Fraction(1), None,
                       "Nothing has been charged for this session yet: if you cancel, the client pays nothing.")


def no_show_consequence(terms: CancellationTerms, *, amount_minor: int, currency: str) -> Consequence:
    """A client who did not come to a paid session of ``amount_minor``: the late-cancellation term."""
    fraction = terms.late_refund.fraction
    refund = refund_amount(amount_minor, fraction)
    total = format_money(amount_minor, currency)
    words = (f"The client gets {format_money(refund, currency)} of {total} back ({terms.late_refund.label})."
             if refund else f"The {total} paid is not refunded (no refund for a missed session).")
    return Consequence(True, fraction, refund, words)


def describe_free_terms(terms: CancellationTerms, specialist_name: str) -> str:
    """The free-consultation terms in plain words, shown before booking."""
    if terms.notice_hours == 0:
        return "You can cancel at any time before the start."
    return (f"Please cancel at least {_hours(terms.notice_hours)} before the start. A later cancellation uses "
            f"up your free consultation with {specialist_name}.")


def describe_paid_terms(terms: CancellationTerms, amount_minor: int | None, currency: str | None) -> str:
    """The paid-session terms in plain words, shown before booking and on the session's page."""
    notice = _hours(terms.notice_hours)
    start = f"Cancel more than {notice} before the start for a full refund."
    if terms.late_refund is LateRefund.FULL:
        return f"{start} Later cancellations and missed sessions are refunded in full too."
    if terms.late_refund is LateRefund.HALF:
        half = (f" ({format_money(refund_amount(amount_minor, Fraction(1, 2)), currency)})"
                if amount_minor and currency else "")
        return f"{start} If you cancel later or miss the session, you get half of the fee back{half}."
    return f"{start} Sessions cancelled later, or missed, are not refunded."
