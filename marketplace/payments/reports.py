"""Reading payments back: the admin list and the account data export."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.account.hooks import data_exporter
from marketplace.auth.models import User
from marketplace.consultations.models import Consultation
from marketplace.extensions import db
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.specialists.models import SpecialistProfile


@data_exporter("payments")
def export_payments(user: User) -> list[dict[str, Any]]:
    """Payments for the user's paid sessions (as client, or as the specialist paid)."""
    profile_id = db.session.scalar(select(SpecialistProfile.id).where(SpecialistProfile.user_id == user.id))
    owner = Consultation.client_id == user.id
    if profile_id is not None:
        owner = owner | (Consultation.specialist_id == profile_id)
    rows = db.session.scalars(select(Payment).join(Payment.consultation).where(owner).order_by(Payment.id))
    return [{
        "id": p.id, "consultation_id": p.consultation_id, "amount_minor_units": p.amount_minor,
        "currency": p.currency, "status": p.status.value, "created_at": p.created_at.isoformat(),
        "paid_at": p.paid_at.isoformat() if p.paid_at else None,
        "refunded_at": p.refunded_at.isoformat() if p.refunded_at else None,
        "refunded_minor_units": p.refund_minor if p.status.value == "refunded" else None,
    } for p in rows]


def list_payments(status: str | None = None, limit: int = 200) -> list[Payment]:
    """Newest payments first (optionally one status) with consultation, client and specialist."""
    query = (select(Payment).order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
             .options(joinedload(Payment.consultation).joinedload(Consultation.client),
                      joinedload(Payment.consultation).joinedload(Consultation.specialist)))
    if status:
        try:
            query = query.where(Payment.status == PaymentStatus(status))
        except ValueError:
            pass
    return list(db.session.scalars(query))
