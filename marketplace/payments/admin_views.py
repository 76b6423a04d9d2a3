"""Admin pages of the payments domain (registered on the admin blueprint, /admin/…)."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.database import get_or_404
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.reports import monthly_earnings
from marketplace.payments.services import PaymentError, list_payments, retry_refund
from marketplace.routes import RouteTable

pages = RouteTable()  # admin pages: added to the admin blueprint by marketplace/blueprints.py


@pages.route("/payments")
def payments() -> Any:
    status = request.args.get("status") or None
    status = status if status in {s.value for s in PaymentStatus} else None
    return render_template("payments/admin_list.html", payments=list_payments(status), status=status,
                           statuses=list(PaymentStatus), months=monthly_earnings("UTC")[:12])


@pages.route("/payments/<int:payment_id>/retry-refund", methods=["POST"])
def payment_retry_refund(payment_id: int) -> Any:
    payment = get_or_404(Payment, payment_id)
    try:
        retry_refund(payment, current_user)
    except PaymentError as exc:
        flash(str(exc), "error")
    else:
        flash("The refund was accepted by the payment provider.", "success")
    return redirect(url_for("admin.payments", status=request.form.get("status") or None))
