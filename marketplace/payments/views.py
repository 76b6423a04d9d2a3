"""Views of the payments blueprint (/payments): paid-session booking, checkout redirects,
the success page and the providers' webhooks (``/payments/webhooks/<provider>``).

Thin: parse, call one service, flash, redirect or render. Rules live in the services.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.auth.confirmation import BOOK
from marketplace.auth.gate import confirmed_email_required
from marketplace.consultations.hooks import CONSULTATION_PAGE
from marketplace.consultations.models import Consultation, ConsultationKind
from marketplace.consultations.services import format_label, safe_format_param, week_query
from marketplace.database import get_owned_or_404
from marketplace.extensions import csrf, limiter
from marketplace.parts import Part, page_parts
from marketplace.payments import bp
from marketplace.payments import services as svc
from marketplace.payments.forms import PaidBookingForm
from marketplace.payments.models import Payment, PaymentStatus, payment_of
from marketplace.payments.providers import ProviderError, WebhookRejected, payments_enabled, provider_named
from marketplace.payments.series_charges import can_try_again, series_charge_of
from marketplace.payments.series_models import ChargeState, SeriesState
from marketplace.scheduling.cancellation import describe_paid_terms
from marketplace.security import PROMPT_BOOKING, login_required_with_prompt
from marketplace.specialists.services import profile_for_viewer
from marketplace.templating import expose_enums
from marketplace.timeutil import viewer_timezone

log = logging.getLogger(__name__)
expose_enums(bp, PaymentStatus, SeriesState, ChargeState)

_STATUS = {"disabled": 200, "not_eligible": 403, "not_bookable": 409, "invalid": 422, "taken": 409,
           "provider": 503}


# --- the part of the consultation page (marketplace.parts) --------------------------------------

@bp.app_template_global()
def paid_session_terms(consultation: Consultation) -> str:
    """The cancellation terms this paid session was booked under, in plain words."""
    return describe_paid_terms(consultation.terms, consultation.price_minor, consultation.currency)


@page_parts.register(CONSULTATION_PAGE, "payment")
def _payment_box(consultation: Consultation, viewer: Any, **_: Any) -> Part | None:
    """A paid session's payment, refund state and the cancellation terms it was booked under (what
    cancelling now means is shown with the cancel button); on a free consultation that agreed to
    proceed, the client's "Book a paid session"."""
    payment = payment_of(consultation) if consultation.kind is ConsultationKind.PAID else None
    if payment is None and not svc.offers_paid_follow_up(consultation, viewer):
        return None
    # A series occurrence links its series; one whose charge was declined, until it is released,
    # offers the client to try the card again.
    charge = series_charge_of(consultation) if payment is not None else None
    declined = charge if can_try_again(charge) else None
    return Part("payments/_consultation_payment.html",
                {"consultation": consultation, "payment": payment, "series_charge": charge, "declined": declined})


# --- booking -----------------------------------------------------------------------------------

def render_paid_booking(template: str, profile: Any, form: Any, *, status: int = 200,
                        error: str | None = None) -> Any:
    """A paid-booking page (one session, or a weekly series): "Payments are not enabled" without
    keys, 403 for clients who may not book paid sessions with this specialist."""
    enabled = payments_enabled()
    eligible = enabled and svc.may_book_paid_session(current_user, profile)
    query = week_query(request.args, form.slot.data or request.args.get("slot"))
    week = svc.paid_session_week(profile, viewer_timezone(), query) if eligible else None
    return render_template(template, profile=profile, form=form, enabled=enabled,
                           eligible=eligible, week=week, error=error,
                           keep={"format": safe_format_param(request.values.get("format"))},
                           not_eligible=svc.NOT_ELIGIBLE.format(name=profile.display_name)
                           ), 403 if enabled and not eligible else status


def paid_booking(slug: str, form: Any, template: str, place: Callable[[Any, Any], str | None]) -> Any:
    """The views of a paid booking: the page on GET (or without payments), 422 for a bad form, the
    service's refusal with its status, else on to the provider's checkout. ``place(profile, form)``
    books through one service and returns the checkout URL."""
    profile = profile_for_viewer(slug, current_user) or abort(404)
    form.set_formats([(f.slug, format_label(f.slug)) for f in profile.formats])
    if request.method == "GET" or not payments_enabled():
        return render_paid_booking(template, profile, form)
    if not form.validate_on_submit():
        return render_paid_booking(template, profile, form, status=422)
    try:
        checkout_url = place(profile, form)
    except svc.PaidBookingError as exc:
        return render_paid_booking(template, profile, form, status=_STATUS.get(exc.code, 422), error=exc.message)
    assert checkout_url is not None  # booked: a checkout was opened
    return redirect(checkout_url, code=303)


@bp.route("/book/<slug>", methods=["GET", "POST"])
@login_required_with_prompt(PROMPT_BOOKING)
@confirmed_email_required(BOOK)
def book(slug: str) -> Any:
    return paid_booking(slug, PaidBookingForm(), "payments/book.html", lambda profile, form: svc.book_paid_session(
        current_user, profile, form.start_utc, form.format.data).checkout_url)


@bp.route("/checkout/<int:payment_id>")
@login_required
def checkout(payment_id: int) -> Any:
    """(Re)open the provider's checkout for a pending hold; PRODUCT.md's /payments/checkout/<session_id>."""
    payment = get_owned_or_404(Payment, payment_id, current_user)
    try:
        return redirect(svc.checkout_redirect(payment, current_user), code=303)
    except svc.PaymentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("payments.book", slug=payment.consultation.specialist.slug))


@bp.route("/checkout/<int:payment_id>/cancelled")
@login_required
def checkout_cancelled(payment_id: int) -> Any:
    """The checkout's cancel URL: the client left the provider's checkout without paying."""
    payment = get_owned_or_404(Payment, payment_id, current_user)
    if payment.status is PaymentStatus.PENDING:
        flash("Payment not completed. Your time is held for a few minutes — you can still pay "
              "from this page.", "warning")
    return redirect(url_for("consultations.detail", consultation_id=payment.consultation_id))


@bp.route("/success")
@login_required
def success() -> Any:
    payment = svc.payment_for_checkout(request.args.get("session_id"), current_user) or abort(404)
    return render_template("payments/success.html", payment=payment, consultation=payment.consultation)


# --- provider webhooks ------------------------------------------------------------------------

def _receive(provider_name: str) -> Any:
    """Provider → us. The signature is verified before anything is read; replays do nothing."""
    provider = provider_named(provider_name)
    if provider is None:
        abort(404)
    try:
        event = provider.parse_webhook(request.get_data(), {k.lower(): v for k, v in request.headers.items()})
    except WebhookRejected as exc:
        log.warning("%s webhook rejected: %s", provider.name, exc)
        return {"error": "invalid signature"}, 400
    except ProviderError as exc:  # reading what the event names failed (e.g. a saved card's SetupIntent)
        log.warning("%s webhook not processed yet: %s", provider.name, exc)
        return {"error": "could not be processed now; send it again"}, 503  # the provider retries it
    return {"received": True, "result": svc.process_event(provider.name, event)}, 200


@bp.route("/webhooks/<provider_name>", methods=["POST"])
@csrf.exempt
@limiter.exempt
def provider_webhook(provider_name: str) -> Any:
    """One URL per registered provider (``/payments/webhooks/stripe``)."""
    return _receive(provider_name)


@bp.route("/webhook", methods=["POST"])
@csrf.exempt
@limiter.exempt
def webhook() -> Any:
    """The Stripe webhook's first URL (PRODUCT.md, configured in Stripe's dashboard): an alias
    of ``/payments/webhooks/stripe``, kept so existing endpoints keep working."""
    return _receive("stripe")
