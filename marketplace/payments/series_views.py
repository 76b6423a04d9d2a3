"""Views of weekly series (/payments/series): book N weekly paid sessions in one step (then
save a card at the provider), the page the provider sends the client back to, the series'
sessions at a glance, and for a session whose charge was declined: trying the card again, or
saving another card.

Thin: parse, call one service, render or redirect. Rules live in ``payments.series`` and
``payments.series_charges``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.auth.confirmation import BOOK
from marketplace.auth.gate import confirmed_email_required
from marketplace.consultations.models import Consultation
from marketplace.database import get_owned_or_404
from marketplace.extensions import limiter
from marketplace.forms import ActionForm
from marketplace.payments import bp, series_charges
from marketplace.payments import series as series_svc
from marketplace.payments.forms import SeriesBookingForm
from marketplace.payments.policy import SeriesError
from marketplace.payments.views import paid_booking
from marketplace.security import PROMPT_BOOKING, login_required_with_prompt


@bp.route("/series/<slug>", methods=["GET", "POST"])
@login_required_with_prompt(PROMPT_BOOKING)
@confirmed_email_required(BOOK)
def series_book(slug: str) -> Any:
    return paid_booking(slug, SeriesBookingForm(), "payments/series.html", lambda profile, form: series_svc.book_series(
        current_user, profile, form.start_utc, form.sessions.data, form.format.data).checkout_url)


@bp.route("/series/saved")
@login_required
def series_saved() -> Any:
    """The setup checkout's success URL (``?session_id=<checkout id>``)."""
    view = series_svc.series_for_checkout(request.args.get("session_id"), current_user) or abort(404)
    return render_template("payments/series_saved.html", series=view.series, occurrences=view.occurrences)


def _for_declined_session(consultation_id: int, action: Callable[[Consultation, Any], WerkzeugResponse]) -> Any:
    """A POST by the client of a session whose charge was declined: ``action`` answers, or back to
    the session with the refusal (``SeriesError``: nothing to pay, the provider unreachable)."""
    consultation = get_owned_or_404(Consultation, consultation_id, current_user)
    if not consultation.is_client(current_user):
        abort(404)  # (an admin may view the session; only its client pays for it)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        return action(consultation, current_user)
    except SeriesError as exc:
        flash(str(exc), "error")
    return redirect(url_for("consultations.detail", consultation_id=consultation_id))


@bp.route("/series/sessions/<int:consultation_id>/retry-charge", methods=["POST"])
@login_required
@limiter.limit("10 per hour")
def series_retry_charge(consultation_id: int) -> Any:
    """The client tries their saved card again for a session whose charge was declined."""
    def retry(consultation: Consultation, client: Any) -> WerkzeugResponse:
        flash(series_charges.retry_declined_charge(consultation, client), "success")
        return redirect(url_for("consultations.detail", consultation_id=consultation_id))

    return _for_declined_session(consultation_id, retry)


@bp.route("/series/sessions/<int:consultation_id>/new-card", methods=["POST"])
@login_required
@limiter.limit("10 per hour")
def series_new_card(consultation_id: int) -> Any:
    """The client saves another card for a session whose charge was declined (the provider's page)."""
    return _for_declined_session(consultation_id, lambda consultation, client: redirect(
        series_charges.new_card_checkout(consultation, client), code=303))


@bp.route("/series/<int:series_id>/sessions")
@login_required
def series_overview(series_id: int) -> Any:
    """Every session of a weekly series and where its payment stands (its client and specialist)."""
    view = series_svc.series_overview(series_id, current_user) or abort(404)
    return render_template("payments/series_overview.html", series=view.series, occurrences=view.occurrences)
