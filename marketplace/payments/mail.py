"""E-mails of paid sessions (queued in the unit of work, sent after commit)."""
from __future__ import annotations

from marketplace.consultations.models import Consultation
from marketplace.consultations.services import (
    consultation_url,
    format_label,
    ics_attachment,
    meeting_details,
    recipients,
)
from marketplace.money import format_money
from marketplace.notifications.mail import render_mail, send_mail
from marketplace.payments.models import PaymentStatus, payment_of
from marketplace.timeutil import format_datetime, user_zone


def notify_payment(consultation: Consultation, what: str) -> None:
    """``confirmed`` (both participants, with the .ics) or ``unavailable`` (the client: paid
    too late for a time that is gone, refunded), each in their own time zone."""
    payment = payment_of(consultation)
    assert payment is not None  # paid sessions only
    for r in recipients(consultation):
        if what == "confirmed":
            subject = f"Confirmed: paid session with {r.other_name}"
            attachments = [ics_attachment(consultation, r)]
        else:
            if r.role != "client":
                continue
            subject = f"Refunded: the session with {r.other_name} could not be booked"
            attachments = []
        body = render_mail(
            f"payments/email_{what}.txt", role=r.role, recipient=r.user, other_name=r.other_name,
            when=format_datetime(consultation.start_utc, user_zone(r.user)),
            duration=int((consultation.end_utc - consultation.start_utc).total_seconds() // 60),
            format_label=format_label(consultation.format),
            details=meeting_details(consultation) if what == "confirmed" else None,
            amount=format_money(payment.amount_minor, payment.currency), url=consultation_url(consultation),
            refunded=payment.status is PaymentStatus.REFUNDED, slug=consultation.specialist.slug,
        )
        send_mail(r.user.email, subject, body, attachments=attachments,
                  dedupe_key=f"payment-{what}:{payment.id}:{r.role}")
