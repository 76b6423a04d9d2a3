"""Weekly paid-session series: N sessions (2–12) at the same local time, booked in one step.

``book_series`` computes the occurrences at the first session's wall-clock time in the
specialist's zone (across a DST change the UTC time moves by an hour, the local time stays),
checks every one with the booking service's one slot check (``validate_slot``) and places
them all in ONE savepoint through ``place_booking``: if any is taken or outside the
specialist's hours, nothing is booked and the message names that session's date. The
occurrences are held (``pending_payment``) while the client saves a card at the provider
(a setup checkout); the ``SETUP_COMPLETED`` webhook (``on_card_saved``) confirms them, or, for
the checkout of "Use another card", replaces the card (``series_charges.card_replaced``).

Each occurrence is then charged off-session before it (``payments.series_charges``). Occurrences
are ordinary paid consultations: cancelling one (the consultation's own cancel) leaves the others.
The pages: after the card was saved (``series_for_checkout``), and the series at a glance
(``series_overview``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.consultations.availability import SpecialistCalendar
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState
from marketplace.consultations.services import (
    BookingError,
    calendar_changed,
    confirm_hold,
    place_booking,
    reclaim_released_hold,
    validate_slot,
)
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.payments.eligibility import check_paid_booking
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.policy import (
    CHECKOUT_LIFETIME,
    HOLD_MINUTES,
    PROVIDER_UNAVAILABLE,
    SeriesError,
)
from marketplace.payments.providers import (
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    SetupCheckoutRequest,
    active_provider,
)
from marketplace.payments.series_charges import card_replaced, charge_due, series_by_checkout
from marketplace.payments.series_mail import notify_series
from marketplace.payments.series_models import (
    MAX_SERIES_SESSIONS,
    MIN_SERIES_SESSIONS,
    ChargeState,
    SeriesCharge,
    SeriesState,
    SessionSeries,
)
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import user_zone, zone_or_utc

log = logging.getLogger(__name__)

NOT_FREE = "The session on {when} is not free: choose another start or fewer sessions"


def weekly_starts(first_utc: datetime, count: int, zone_name: str) -> list[datetime]:
    """``count`` weekly start times (UTC) at ``first_utc``'s wall-clock time in ``zone_name``.

    The local date advances by seven days and the local time is kept, so across a DST change
    the UTC instant moves by the change (09:00 Berlin is 08:00 UTC in winter, 07:00 in summer).
    A local time that does not exist that day (inside a spring-forward gap) is resolved by
    ``zoneinfo`` to the later offset; the slot check then refuses it unless it is a real slot.
    """
    zone = ZoneInfo(zone_name)
    local = first_utc.astimezone(zone)
    return [datetime.combine(local.date() + timedelta(weeks=k), local.timetz().replace(tzinfo=None), zone)
            .astimezone(timezone.utc) for k in range(count)]


def describe_start(start_utc: datetime, zone_name: str) -> str:
    """'Tue 14 April at 10:00 (Europe/Berlin)': the date an error or e-mail names."""
    local = start_utc.astimezone(ZoneInfo(zone_name))
    return f"{local.strftime('%a')} {local.day} {local.strftime('%B')} at {local.strftime('%H:%M')} ({zone_name})"


def _check_request(client: User, profile: SpecialistProfile, provider: PaymentProvider | None,
                   start_utc: datetime | None, count: int | None, format_slug: str | None) -> None:
    check_paid_booking(client, profile, provider, format_slug, SeriesError)
    if count is None or not MIN_SERIES_SESSIONS <= count <= MAX_SERIES_SESSIONS:
        raise SeriesError(f"Choose between {MIN_SERIES_SESSIONS} and {MAX_SERIES_SESSIONS} sessions.",
                          "invalid", "sessions")
    if start_utc is None:
        raise SeriesError("Choose a time for your first session.", "invalid", "slot")


def _validated(profile: SpecialistProfile, starts: list[datetime], now: datetime,
               zone_name: str) -> list[SpecialistCalendar]:
    """Every occurrence through THE slot check; the first that fails is named."""
    calendars = []
    for start in starts:
        calendar, problem = validate_slot(profile, start, now, duration_minutes=profile.session_minutes)
        if problem is not None:
            raise SeriesError(NOT_FREE.format(when=describe_start(start, zone_name)), "taken")
        calendars.append(calendar)
    return calendars


class _OccurrenceTaken(Exception):
    def __init__(self, start: datetime) -> None:
        super().__init__(start.isoformat())
        self.start = start


def book_series(client: User, profile: SpecialistProfile, start_utc: datetime | None, count: int | None,
                format_slug: str | None, *, now: datetime | None = None) -> SessionSeries:
    """Hold ``count`` weekly paid sessions from ``start_utc`` and open the provider's setup checkout.

    All or none: every occurrence is validated, then placed with its blocks, its Payment and
    its charge row in one savepoint with the checkout; a lost race on any occurrence, or a
    provider failure, rolls everything back. Raises ``SeriesError`` (nothing booked).
    Redirect the client to ``series.checkout_url``.
    """
    now = now or utcnow()
    provider = active_provider()
    _check_request(client, profile, provider, start_utc, count, format_slug)
    assert provider is not None and start_utc is not None and count is not None
    shown_zone = user_zone(client)
    specialist_zone = zone_or_utc(profile.timezone)
    starts = weekly_starts(start_utc, count, specialist_zone)
    calendars = _validated(profile, starts, now, shown_zone)
    duration = timedelta(minutes=profile.session_minutes)
    hold_until = now + timedelta(minutes=HOLD_MINUTES)
    try:
        with db.session.begin_nested():
            series = SessionSeries(client_id=client.id, specialist_id=profile.id, sessions=count,
                                   timezone=specialist_zone, provider=provider.name, created_at=now)
            db.session.add(series)
            db.session.flush()
            for start, calendar in zip(starts, calendars, strict=True):
                consultation = Consultation(
                    client_id=client.id, specialist_id=profile.id, kind=ConsultationKind.PAID,
                    state=ConsultationState.PENDING_PAYMENT, start_utc=start, end_utc=start + duration,
                    format=format_slug, price_minor=profile.fee_minor, currency=profile.currency,
                    hold_expires_at=hold_until, sequence=0, created_at=now)
                try:
                    place_booking(consultation, calendar)
                except BookingError as lost:
                    raise _OccurrenceTaken(start) from lost
                payment = Payment(consultation_id=consultation.id, provider=provider.name,
                                  amount_minor=profile.fee_minor, currency=profile.currency,
                                  status=PaymentStatus.PENDING, created_at=now)
                db.session.add(payment)
                db.session.flush()
                db.session.add(SeriesCharge(series_id=series.id, consultation_id=consultation.id,
                                            payment_id=payment.id, due_at=charge_due(consultation)))
            db.session.flush()
            checkout = provider.create_setup_checkout(_setup_request(series, client, profile, count, now))
            series.provider_checkout_id = checkout.id
            series.checkout_url = checkout.url
            record_audit(client, "payment.series_held", series,
                         after={"sessions": count, "first_start_utc": start_utc.isoformat(),
                                "provider": provider.name})
            db.session.flush()
    except _OccurrenceTaken as taken:
        raise SeriesError(NOT_FREE.format(when=describe_start(taken.start, shown_zone)), "taken") from None
    except ProviderError as exc:
        log.warning("setup checkout for specialist %s not created (%s); series rolled back", profile.id, exc)
        raise SeriesError(PROVIDER_UNAVAILABLE, "provider") from exc
    calendar_changed([profile.id], blocks_only=True)
    log.info("series %s of %s sessions held, card to be saved", series.id, count)
    return series


def _setup_request(series: SessionSeries, client: User, profile: SpecialistProfile, count: int,
                   now: datetime) -> SetupCheckoutRequest:
    return SetupCheckoutRequest(
        currency=profile.currency,
        description=f"{count} weekly sessions with {profile.display_name}",
        reference=f"series-{series.id}",
        success_url=url_for("payments.series_saved", _external=True),
        cancel_url=url_for("payments.series_book", slug=profile.slug, _external=True),
        expires_at=now + CHECKOUT_LIFETIME,
        idempotency_key=f"setup-series-{series.id}",
        metadata={"series_id": str(series.id)},
        customer_email=client.email,
    )


# --- the card is saved (webhook) ----------------------------------------------------------------

def on_card_saved(provider: str, event: ProviderEvent, now: datetime) -> str:
    """``SETUP_COMPLETED``: keep the card and confirm every occurrence still held (or whose
    released time is still free); each confirmed one is scheduled for its off-session charge.
    The setup checkout of "Use another card" replaces the card instead (``_card_replaced``)."""
    series = series_by_checkout(provider, event.checkout_id)
    if series is None:
        replacing = series_by_checkout(provider, event.checkout_id, another_card=True)
        if replacing is not None:
            return card_replaced(replacing, event, now)
        log.warning("%s setup checkout not linked to any series", provider)
        return "unknown"
    if series.state is not SeriesState.AWAITING_CARD:
        return "already-settled"
    if not event.customer or not event.payment_method:
        log.error("series %s: setup completed without a customer or card", series.id)
        return "no-card"
    series.provider_customer_id = event.customer
    series.provider_payment_method_id = event.payment_method
    series.card_saved_at = now
    series.state = SeriesState.ACTIVE
    confirmed = []
    for charge in series.charges:
        consultation = charge.consultation
        if confirm_hold(consultation, now) or reclaim_released_hold(consultation, now):
            charge.charge_state = ChargeState.SCHEDULED
            charge.payment.status = PaymentStatus.PENDING
            confirmed.append(consultation)
        else:
            charge.charge_state = ChargeState.CANCELLED
    db.session.flush()
    record_audit(None, "payment.series_card_saved", series, after={"confirmed": len(confirmed)})
    notify_series(series, confirmed, "booked")
    return "confirmed"


# --- pages --------------------------------------------------------------------------------------

@dataclass
class SeriesView:
    series: SessionSeries
    occurrences: list[SeriesCharge]


def series_overview(series_id: int, user: Any) -> SeriesView | None:
    """A series and its occurrences in time order, with their charges, for its client and its
    specialist (None for anyone else: the page answers 404)."""
    series = db.session.scalar(select(SessionSeries).where(SessionSeries.id == series_id).options(
        selectinload(SessionSeries.charges).joinedload(SeriesCharge.consultation),
        selectinload(SessionSeries.charges).joinedload(SeriesCharge.payment),
        joinedload(SessionSeries.specialist), joinedload(SessionSeries.client)))
    if series is None or getattr(user, "id", None) not in (series.client_id, series.specialist.user_id):
        return None
    return SeriesView(series=series, occurrences=sorted(series.charges, key=lambda c: c.consultation.start_utc))


def series_for_checkout(checkout_id: str | None, user: User) -> SeriesView | None:
    """The page after the card was saved: the user's series for a setup checkout (None if not theirs)."""
    provider = active_provider()
    if not checkout_id or len(checkout_id) > 255 or provider is None:
        return None
    series = series_by_checkout(provider.name, checkout_id)
    if series is None or not series.can_view(user):
        return None
    # In time order: an occurrence moved after its charge keeps its due time.
    return SeriesView(series=series, occurrences=sorted(series.charges, key=lambda c: c.consultation.start_utc))


__all__ = ["NOT_FREE", "SeriesError", "SeriesView", "book_series", "describe_start", "on_card_saved",
           "series_for_checkout", "series_overview", "weekly_starts"]
