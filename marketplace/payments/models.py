"""Models of the payments domain: one Payment per paid consultation, and the
Stripe events already processed (so a replayed webhook does nothing)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import Model, db


class PaymentStatus(str, enum.Enum):
    PENDING = "pending"  # hold placed, Checkout Session open
    PAID = "paid"  # checkout.session.completed received
    EXPIRED = "expired"  # hold released without payment
    REFUNDED = "refunded"
    REFUND_FAILED = "refund_failed"  # Stripe refused / unreachable: admin retries

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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Financial record: never cascaded away with the consultation.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), unique=True)
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(String(2000))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    amount_minor: Mapped[int]  # minor units of `currency` (cents for EUR, yen for JPY): marketplace.money
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(
        Enum(PaymentStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=PaymentStatus.PENDING,
    )
    refund_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    consultation = relationship("Consultation", backref=db.backref("payment", uselist=False, lazy="select"))

    def can_view(self, user: object) -> bool:
        consultation = self.consultation
        return consultation is not None and bool(consultation.can_view(user))

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.status.value}>"


class StripeEvent(Model):
    """Every processed webhook event, by Stripe's id: inserted first, so a replay
    hits the primary key and is acknowledged without doing anything."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
