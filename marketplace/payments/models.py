"""Models of the payments domain: one Payment per paid consultation, and the provider
webhook events already processed (so a replayed webhook does nothing).

Column names are provider-neutral: ``provider`` names the provider a payment was made with
(``payments/providers``), ``provider_checkout_id`` its checkout there (Stripe: the Checkout
Session), ``provider_payment_id`` what a refund needs (Stripe: the PaymentIntent)."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import Model, db


class PaymentStatus(str, enum.Enum):
    PENDING = "pending"  # hold placed, checkout open at the provider
    PAID = "paid"  # the provider's "checkout completed, paid" webhook received
    EXPIRED = "expired"  # hold released without payment
    REFUNDED = "refunded"
    REFUND_FAILED = "refund_failed"  # the provider refused / was unreachable: admin retries

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    PaymentStatus.PENDING: "Awaiting payment",
    PaymentStatus.PAID: "Paid",
    PaymentStatus.EXPIRED: "Not paid (hold expired)",
    PaymentStatus.REFUNDED: "Refunded",
    PaymentStatus.REFUND_FAILED: "Refund pending (being handled by our team)",
}


class Payment(Model):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_non_negative"),
        Index("ix_payments_status_created", "status", "created_at"),
        UniqueConstraint("provider", "provider_checkout_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Financial record: never cascaded away with the consultation.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_checkout_id: Mapped[str | None] = mapped_column(String(255))
    checkout_url: Mapped[str | None] = mapped_column(String(2000))
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), index=True)
    amount_minor: Mapped[int]  # minor units of `currency` (cents for EUR, yen for JPY): marketplace.money
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(
        Enum(PaymentStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=PaymentStatus.PENDING,
    )
    refund_id: Mapped[str | None] = mapped_column(String(255))
    # The amount refunded (or to refund, while ``refund_failed``), fixed by the booking's cancellation
    # terms: the whole amount, or part of it (a late cancellation or a no-show with a half refund).
    refund_minor: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    consultation = relationship("Consultation", backref=db.backref("payment", uselist=False, lazy="select"))

    @property
    def partly_refunded(self) -> bool:
        return (self.status is PaymentStatus.REFUNDED and self.refund_minor is not None
                and self.refund_minor < self.amount_minor)

    def can_view(self, user: object) -> bool:
        consultation = self.consultation
        return consultation is not None and bool(consultation.can_view(user))

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.status.value}>"


def payment_of(consultation: Any) -> Payment | None:
    """A paid session's payment: the ``payment`` backref ``Payment.consultation`` adds to
    ``Consultation`` (loaded once; the consultations domain does not declare it, it knows
    nothing of payments)."""
    payment: Payment | None = getattr(consultation, "payment", None)
    return payment


class WebhookEvent(Model):
    """Every processed webhook event, by provider and the provider's event id: inserted
    first, so a replay hits the unique constraint and is acknowledged without doing anything."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
