"""Views of weekly series (/payments/series): book N weekly paid sessions in one step (then
save a card at the provider), and the page the provider sends the client back to.

Thin: parse, call one service, render or redirect. Rules live in ``payments.series``."""
from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_login import current_user, login_required

from marketplace.auth.confirmation import BOOK
from marketplace.auth.gate import confirmed_email_required
from marketplace.payments import bp
from marketplace.payments import series as series_svc
from marketplace.payments.forms import SeriesBookingForm
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
