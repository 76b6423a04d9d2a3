"""Views of the earlier-slot waitlist (consultations blueprint; rules in ``waitlist.py``).

* ``POST /specialists/<slug>/waitlist`` joins (from the booking page's form, ``_waitlist.html``);
* ``POST /waitlist/<id>/leave`` leaves (the client's own entry only: 404 for anyone else);
* ``GET|POST /waitlist/offers/<token>`` is the claim link of the e-mail: a confirm page, then the booking.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.auth.confirmation import BOOK
from marketplace.auth.gate import confirmed_email_required
from marketplace.consultations import bp
from marketplace.consultations import services as svc
from marketplace.consultations.booking import BookingError
from marketplace.consultations.forms import ClaimForm, WaitlistForm
from marketplace.consultations.models import ConsultationState, OfferState, WaitlistEntry
from marketplace.consultations.notifications import format_label
from marketplace.consultations.waitlist import describe
from marketplace.database import get_owned_or_404
from marketplace.extensions import db
from marketplace.security import PROMPT_BOOKING, login_required_with_prompt, safe_next
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import viewer_timezone


@bp.app_template_global()
def waitlist_form() -> WaitlistForm:
    """The booking page's "Tell me if an earlier time frees up" form."""
    return WaitlistForm(formdata=None)


@bp.app_template_filter("waitlist_wish")
def _waitlist_wish(entry: WaitlistEntry) -> str:
    return describe(entry)


@bp.route("/specialists/<slug>/waitlist", methods=["POST"])
@login_required_with_prompt(PROMPT_BOOKING)
@confirmed_email_required(BOOK, resume=lambda slug: url_for("consultations.book", slug=slug))
def join_waitlist(slug: str) -> ResponseReturnValue:
    profile = db.session.scalar(select(SpecialistProfile).where(SpecialistProfile.slug == slug))
    if profile is None or not profile.is_listed:
        abort(404)
    form = WaitlistForm()
    if not form.validate_on_submit():
        flash("Please choose days and times of day from the lists.", "error")
        return redirect(url_for("consultations.book", slug=slug))
    try:
        entry = svc.join_waitlist(current_user, profile, weekdays=form.weekdays.data or [],
                                  parts=form.parts.data or [], tz=viewer_timezone())
    except svc.WaitlistError as exc:
        flash(exc.message, "error")
        return redirect(url_for("consultations.book", slug=slug))
    flash("You are on the waitlist. We will e-mail you when an earlier time frees up." if entry.before_utc
          else "You are on the waitlist. We will e-mail you when a time frees up.", "success")
    return redirect(url_for("consultations.book", slug=slug))


@bp.route("/waitlist/<int:entry_id>/leave", methods=["POST"])
@login_required
def leave_waitlist(entry_id: int) -> ResponseReturnValue:
    entry = get_owned_or_404(WaitlistEntry, entry_id, current_user, permission="leave")
    name = entry.specialist.display_name
    svc.leave_waitlist(entry, current_user)
    flash(f"You left {name}'s waitlist.", "success")
    return redirect(safe_next(request.form.get("next"), "consultations.my_consultations"))


def _render_offer(offer: Any, form: ClaimForm, *, status: int = 200, error: str | None = None) -> tuple[str, int]:
    return render_template("consultations/waitlist_offer.html", offer=offer, form=form, error=error,
                           open=offer.state is OfferState.OFFERED and error is None, tz=viewer_timezone()), status


@bp.route("/waitlist/offers/<token>", methods=["GET", "POST"])
@login_required_with_prompt(PROMPT_BOOKING)
@confirmed_email_required(BOOK)
def waitlist_offer(token: str) -> ResponseReturnValue:
    offer = svc.offer_from_token(token)
    if offer is None or not offer.can_claim(current_user):
        abort(404)
    form = ClaimForm()
    form.set_formats([(f.slug, format_label(f.slug)) for f in offer.specialist.formats])
    if not form.validate_on_submit():
        return _render_offer(offer, form, status=422 if form.errors else 200)
    try:
        consultation = svc.claim_offer(offer, current_user, form.format.data, form.note.data)
    except BookingError as refused:
        if refused.code == "claimed" and offer.consultation_id is not None:
            return redirect(url_for("consultations.detail", consultation_id=offer.consultation_id))
        return _render_offer(offer, form, status=409, error=refused.message)
    flash("Your free consultation is booked." if consultation.state is ConsultationState.CONFIRMED
          else "Your free consultation is requested. You will get an e-mail when it is confirmed.", "success")
    return redirect(url_for("consultations.detail", consultation_id=consultation.id))
