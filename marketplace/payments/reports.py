"""Reading payments back: the admin list, the account data export, and earnings per month
(the specialist's earnings page and its CSV)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.account.hooks import data_exporter
from marketplace.auth.models import User
from marketplace.consultations.models import Consultation
from marketplace.extensions import db
from marketplace.money import format_money, to_major
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
        "refunded_minor_units": p.refund_minor if p.status is PaymentStatus.REFUNDED else None,
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


# --- earnings per month -------------------------------------------------------------------------

# Payments that were paid at some point (a refund that failed is still money received until an
# admin's retry succeeds).
WAS_PAID = (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.REFUND_FAILED)


@dataclass
class MonthlyEarnings:
    """One month and currency: sessions paid in that month, refunds made in it, and what remains."""

    month: str  # "2026-11", in the zone the report was made for
    currency: str
    paid_sessions: int = 0
    gross_minor: int = 0
    refunds: int = 0
    refunded_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.refunded_minor

    @property
    def month_label(self) -> str:
        return datetime.strptime(self.month, "%Y-%m").strftime("%B %Y")

    def money(self, amount_minor: int) -> str:
        return format_money(amount_minor, self.currency)


def _month(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m")


def monthly_earnings(zone: str, *, specialist_id: int | None = None) -> list[MonthlyEarnings]:
    """Paid sessions (count and gross, by the month paid) and refunds (by the month refunded) per
    month of ``zone`` and currency, newest month first (then currencies A–Z); one specialist's, or everyone's.

    One query (the payments that were ever paid, with the two instants); months are cut in Python
    because a month's bounds in a zone are not something SQLite can compute.
    """
    query = (select(Payment.amount_minor, Payment.currency, Payment.status, Payment.paid_at, Payment.refunded_at)
             .where(Payment.status.in_(WAS_PAID), Payment.paid_at.is_not(None)))
    if specialist_id is not None:
        query = query.join(Payment.consultation).where(Consultation.specialist_id == specialist_id)
    tz = ZoneInfo(zone)
    rows: dict[tuple[str, str], MonthlyEarnings] = {}

    def row(month: str, currency: str) -> MonthlyEarnings:
        return rows.setdefault((month, currency), MonthlyEarnings(month, currency))

    for amount, currency, status, paid_at, refunded_at in db.session.execute(query):
        if paid_at is None:  # excluded by the query; for the type checker
            continue
        paid = row(_month(paid_at, tz), currency)
        paid.paid_sessions += 1
        paid.gross_minor += amount
        if status is PaymentStatus.REFUNDED and refunded_at is not None:
            refunded = row(_month(refunded_at, tz), currency)
            refunded.refunds += 1
            refunded.refunded_minor += amount
    by_currency = sorted(rows.values(), key=lambda r: r.currency)
    return sorted(by_currency, key=lambda r: r.month, reverse=True)  # newest month first, currencies A–Z


CSV_HEADER = ("Month", "Currency", "Paid sessions", "Gross", "Refunds", "Refunded", "Net")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading apostrophe
    (OWASP "CSV injection"); numbers are written as numbers."""
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def earnings_csv(rows: list[MonthlyEarnings]) -> str:
    """The earnings as CSV (amounts in major units, e.g. 90.00), oldest month first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in sorted(rows, key=lambda r: (r.month, r.currency)):
        writer.writerow([csv_cell(v) for v in (
            r.month, r.currency, r.paid_sessions, to_major(r.gross_minor, r.currency), r.refunds,
            to_major(r.refunded_minor, r.currency), to_major(r.net_minor, r.currency))])
    return out.getvalue()
