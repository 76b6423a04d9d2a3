"""Views of weekly series (/payments/series): book N weekly paid sessions in one step (then
save a card at the provider), and the page the provider sends the client back to.

Thin: parse, call one service, render or redirect. Rules live in ``payments.series``."""
from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request
from flask_login import current_user, login_required

from marketplace.auth.confirmation import BOOK
from marketplace.auth.gate import confirmed_email_required
from marketplace.consultations.services import format_label, safe_format_param, week_query
from marketplace.payments import bp
from marketplace.payments import series as series_svc
from marketplace.payments import services as svc
from marketplace.payments.forms import SeriesBookingForm
from marketplace.payments.providers import payments_enabled
from marketplace.security import PROMPT_BOOKING, login_required_with_prompt
from marketplace.specialists.services import profile_for_viewer
from marketplace.timeutil import viewer_timezone

_STATUS = {"disabled": 200, "not_eligible": 403, "not_bookable": 409, "invalid": 422, "taken": 409,
           "provider": 503}


def _render(profile: Any, form: SeriesBookingForm, *, status: int = 200, error: str | None = None) -> Any:
    enabled = payments_enabled()
    eligible = enabled and svc.may_book_paid_session(current_user, profile)
    query = week_query(request.args, form.slot.data or request.args.get("slot"))
    week = svc.paid_session_week(profile, viewer_timezone(), query) if eligible else None
    return render_template("payments/series.html", profile=profile, form=form, enabled=enabled,
                           eligible=eligible, week=week, error=error,
                           keep={"format": safe_format_param(request.values.get("format"))},
                           not_eligible=svc.NOT_ELIGIBLE.format(name=profile.display_name),
                           ), 403 if enabled and not eligible else status


@bp.route("/series/<slug>", methods=["GET", "POST"])
@login_required_with_prompt(PROMPT_BOOKING)
@confirmed_email_required(BOOK)
def series_book(slug: str) -> Any:
    profile = profile_for_viewer(slug, current_user) or abort(404)
    form = SeriesBookingForm()
    form.set_formats([(f.slug, format_label(f.slug)) for f in profile.formats])
    if request.method == "GET" or not payments_enabled():
        return _render(profile, form)
    if not form.validate_on_submit():
        return _render(profile, form, status=422)
    try:
        series = series_svc.book_series(current_user, profile, form.start_utc, form.sessions.data, form.format.data)
    except series_svc.SeriesError as exc:
        return _render(profile, form, status=_STATUS.get(exc.code or "", 422), error=str(exc))
    assert series.checkout_url is not None
    return redirect(series.checkout_url, code=303)


@bp.route("/series/saved")
@login_required
def series_saved() -> Any:
    """The setup checkout's success URL (``?session_id=<checkout id>``)."""
    view = series_svc.series_for_checkout(request.args.get("session_id"), current_user) or abort(404)
    return render_template("payments/series_saved.html", series=view.series, occurrences=view.occurrences)
