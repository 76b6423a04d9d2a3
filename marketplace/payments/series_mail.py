"""E-mails of weekly series (queued in the unit of work, sent after commit), each person in
their own time zone: ``booked`` (the card was saved, every session listed, one .ics each),
``declined`` (a session's charge was refused: pay by the stated time or it is released) and
``released`` (it was released unpaid)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marketplace.consultations.models import Consultation
from marketplace.consultations.services import consultation_url, ics_attachment, recipients
from marketplace.money import format_money
from marketplace.notifications.mail import render_mail, send_mail
from marketplace.timeutil import format_datetime, user_zone

_SUBJECTS = {
    "booked": "Booked: {n} weekly sessions with {other}",
    "declined": "Payment declined: your session with {other}",
    "released": "Cancelled (not paid): your session with {other}",
}


def notify_series(series: Any, consultations: list[Consultation], what: str, *,
                  release_at: datetime | None = None) -> None:
    """Tell both participants about ``consultations`` of ``series`` (``what``: booked, declined, released)."""
    if not consultations:
        return
    first = consultations[0]
    for r in recipients(first):
        zone = user_zone(r.user)
        body = render_mail(
            f"payments/email_series_{what}.txt", role=r.role, recipient=r.user, other_name=r.other_name,
            whens=[format_datetime(c.start_utc, zone) for c in consultations],
            amount=format_money(first.price_minor or 0, first.currency or "EUR"),
            release_at=format_datetime(release_at, zone) if release_at else None,
            url=consultation_url(first),
        )
        attachments = ([ics_attachment(c, r) for c in consultations] if what == "booked"
                       else [ics_attachment(first, r, cancel=True)] if what == "released" else [])
        send_mail(r.user.email, _SUBJECTS[what].format(n=len(consultations), other=r.other_name), body,
                  attachments=attachments,
                  dedupe_key=f"series-{what}:{series.id}:{first.id}:{r.role}")
