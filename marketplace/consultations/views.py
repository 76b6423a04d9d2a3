"""Views of the consultations blueprint (mounted without a prefix; full paths below).

Thin: parse the form, call one service, flash, redirect or render. Rules live in
booking.py / lifecycle.py / availability.py and the model's ``can_<verb>`` methods.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.auth.confirmation import BOOK
from marketplace.auth.gate import confirmed_email_required
from marketplace.auth.models import Role
from marketplace.consultations import bp, feeds
from marketplace.consultations import services as svc
from marketplace.consultations.booking import week_query
from marketplace.consultations.forms import (
    BookingForm,
    CancelForm,
    CompleteForm,
    NoShowForm,
    OutcomeForm,
    ReportNoShowForm,
    RescheduleForm,
    VideoLinkForm,
)
from marketplace.consultations.hooks import CONSULTATION_PAGE
from marketplace.consultations.models import (
    Consultation,
    ConsultationOutcome,
    ConsultationState,
    OfferState,
    OverrideKind,
)
from marketplace.consultations.no_shows import report_specialist_no_show
from marketplace.consultations.notifications import build_ics_for, format_label
from marketplace.consultations.waitlist import waitlist_of
from marketplace.database import get_owned_or_404
from marketplace.extensions import db, limiter
from marketplace.forms import ActionForm
from marketplace.parts import HEADER, Part, page_parts
from marketplace.scheduling.weeks import SlotWeek
from marketplace.security import PROMPT_BOOKING, login_required_with_prompt, role_required
from marketplace.specialists.hooks import PROFILE_CARD, PROFILE_PERSON
from marketplace.specialists.models import SpecialistProfile
from marketplace.templating import expose_enums
from marketplace.timeutil import viewer_timezone

# The consultations' enums, for templates to compare by identity (``x is sameas ConsultationState.REQUESTED``).
expose_enums(bp, ConsultationState, ConsultationOutcome, OfferState, OverrideKind)

# --- parts of other domains' pages (marketplace.parts) -------------------------------------------

@page_parts.register(HEADER, "requests_waiting")
def _requests_waiting(user: Any, **_: Any) -> int:
    """The specialist's navigation badge (``_person.html``): requests waiting to be confirmed."""
    return svc.requests_waiting(user)


@bp.app_template_global()
def cancellation_terms_words(profile: SpecialistProfile, kind: str = "free") -> str:
    """The specialist's cancellation terms for a new booking of ``kind`` ("free" / "paid"), in
    plain words: shown before booking (the profile's booking card, both booking pages)."""
    if kind == "paid":
        return svc.describe_paid_terms(profile.paid_terms, profile.fee_minor, profile.currency)
    return svc.describe_free_terms(profile.free_terms, profile.display_name)


@page_parts.register(PROFILE_CARD, "free_consultation")
def _profile_booking(profile: SpecialistProfile, tz: str, src: str | None = None, preview: bool = False,
                     **_: Any) -> Part | None:
    """The profile page's booking card: the next free times in zone ``tz``. The same for every
    viewer in one zone (and campaign source), so it is cached with the profile page for everyone
    (``specialists.pages``, keyed by both and the profile's availability version). ``preview``:
    the owner's (or an admin's) view of an unlisted profile, with its real slots."""
    card = svc.profile_booking_card(profile, tz, preview=preview)
    if card is None:
        return None
    return Part("consultations/_profile_booking.html", {"card": card, "profile": profile, "tz": tz,
                                                        "src": src if src in svc.ALLOWED_SOURCES else None})


@page_parts.register(PROFILE_PERSON, "standing")
def _standing(profile: Any, viewer: Any, **_: Any) -> svc.Standing | None:
    """Where the logged-in client stands with this specialist (None for anyone else): the profile
    shows "Your consultation" instead of offering what they already have."""
    return svc.standing_of(viewer, profile.id)


@page_parts.register(PROFILE_PERSON, "admin_upcoming")
def _admin_upcoming(profile: Any, viewer: Any, preview: bool = False, **_: Any) -> list[Consultation] | None:
    """The specialist's upcoming consultations, for an admin deciding on a revocation."""
    if preview or not getattr(viewer, "is_admin", False):
        return None
    return svc.upcoming_with_specialist(profile.id)


# --- template helpers (no queries) --------------------------------------------------------------

@bp.app_template_global()
def picker_url(week: SlotWeek, start: date | None = None, parts: list[str] | None = None, **keep: str | None) -> str:
    """This page (booking or rescheduling) at the week ``start`` (default: the one shown) with the
    time-of-day filters ``parts`` (default: those on), keeping the chosen time and ``keep``
    (format, campaign source): the picker's links work without script."""
    values: dict[str, Any] = {**(request.view_args or {}), **{name: value for name, value in keep.items() if value}}
    if week.selected is not None:
        values["slot"] = svc.format_slot(week.selected)
    values["week"] = (start or week.start).isoformat()
    values["part"] = week.filter.values if parts is None else parts
    return url_for(request.endpoint or "", **values)


@bp.app_template_filter("slot_param")
def slot_param(value: Any) -> str:
    return svc.format_slot(value)


@bp.app_template_filter("format_label")
def _format_label(slug: str) -> str:
    return format_label(slug)


def _published_profile_or_404(slug: str) -> SpecialistProfile:
    profile = db.session.scalar(select(SpecialistProfile).where(SpecialistProfile.slug == slug)
                                .options(selectinload(SpecialistProfile.formats), joinedload(SpecialistProfile.user)))
    if profile is None or not profile.is_listed:
        abort(404)
    return profile


# --- booking ----------------------------------------------------------------------------------

def _render_booking(profile: SpecialistProfile, form: BookingForm, *, status: int = 200,
                    error: str | None = None, selected: str | None = None) -> tuple[str, int]:
    page = svc.booking_page(profile, current_user, viewer_timezone(),
                            query=week_query(request.args, selected or form.slot.data))
    if error is None and selected and not page.blocked and not page.offers(svc.parse_slot(selected)):
        # A time chosen earlier (a profile link, or kept while the e-mail address was confirmed)
        # was taken meanwhile: say so, with the next free times.
        error = svc.SLOT_TAKEN
    return render_template("consultations/book.html", page=page, form=form, error=error,
                           keep=_kept_choices()), status


def _kept_choices() -> dict[str, str | None]:
    """What the picker's week and filter links keep besides the time: the format and source chosen."""
    src = request.values.get("src")
    return {"format": svc.safe_format_param(request.values.get("format")),
            "src": src if src in svc.ALLOWED_SOURCES else None}


def _booking_resume(slug: str) -> str:
    """The booking page with what the person chose (time, format), to come back to after confirming."""
    slot = svc.parse_slot(request.form.get("slot"))
    return url_for("consultations.book", slug=slug, slot=svc.format_slot(slot) if slot else None,
                   format=svc.safe_format_param(request.form.get("format")),
                   src=request.form.get("src") if request.form.get("src") in svc.ALLOWED_SOURCES else None)


@bp.route("/specialists/<slug>/book", methods=["GET", "POST"])
@login_required_with_prompt(PROMPT_BOOKING)
@confirmed_email_required(BOOK, resume=_booking_resume)
def book(slug: str) -> ResponseReturnValue:
    profile = _published_profile_or_404(slug)
    form = BookingForm(src=request.args.get("src", ""), format=svc.safe_format_param(request.args.get("format")))
    form.set_formats([(f.slug, format_label(f.slug)) for f in profile.formats])
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return _render_booking(profile, form, status=status, selected=request.args.get("slot"))
    try:
        booked = svc.book_free_consultation(current_user, profile, svc.parse_slot(form.slot.data), form.format.data,
                                            form.note.data, source=form.src.data or None)
    except svc.BookingError as exc:
        return _render_booking(profile, form, status=409 if exc.code in ("taken", "duplicate") else 422,
                               error=exc.message)
    flash("Your free consultation is booked." if booked.state is ConsultationState.CONFIRMED
          else "Your free consultation is requested. You will get an e-mail when it is confirmed.", "success")
    return redirect(url_for("consultations.detail", consultation_id=booked.id))


# --- my consultations -------------------------------------------------------------------------

@bp.route("/consultations")
@login_required
def my_consultations() -> ResponseReturnValue:
    return _render_list()


def _render_list(feed_url: str | None = None) -> str:
    return render_template("consultations/list.html", lists=svc.list_consultations(current_user),
                           waitlist=waitlist_of(current_user),
                           has_feed=feed_url is not None or feeds.has_calendar_feed(current_user),
                           feed_url=feed_url, feed_form=ActionForm())


# --- calendar subscription (feeds out) ----------------------------------------------------------

@bp.route("/calendar/subscription", methods=["GET", "POST"])
@login_required
def calendar_subscription() -> ResponseReturnValue:
    """Make (or replace) the person's private subscription URL and show it, this once: only its
    hash is kept. The page is answered directly so the URL travels in no redirect or cookie (a GET,
    e.g. back from the zone chooser, goes to the list)."""
    if request.method == "GET":
        return redirect(url_for("consultations.my_consultations"))
    if not ActionForm().validate_on_submit():
        abort(400)
    token = feeds.make_calendar_feed(current_user)
    base = current_app.config["SERVER_BASE_URL"].rstrip("/")
    return _render_list(feed_url=base + url_for("consultations.calendar_feed", feed_token=token))


def _feed_limit_key() -> str:
    """Rate limit per feed (the hash of its token, never the token): calendar services poll from
    shared addresses, so a per-address limit would let one busy service lock others out."""
    return "feed:" + feeds.token_fingerprint(str((request.view_args or {}).get("feed_token", "")))[:32]


@bp.route("/calendar/<feed_token>.ics")
@limiter.limit("120 per minute")
@limiter.limit("30 per minute;300 per hour", key_func=_feed_limit_key)
def calendar_feed(feed_token: str) -> ResponseReturnValue:
    """The subscription calendar: no login, the token is the credential (unknown or replaced: 404)."""
    feed = feeds.calendar_feed(feed_token)
    if feed is None:
        abort(404)
    response = Response(feed.body, mimetype="text/calendar")
    response.set_etag(feed.etag)
    # Personal data behind a secret URL: no shared or stored copies; apps revalidate with the ETag.
    response.headers["Cache-Control"] = "private, no-store, max-age=0"
    response.headers["Content-Disposition"] = 'inline; filename="balance.ics"'
    return response.make_conditional(request)


@bp.route("/specialists/me/consultations")
@role_required(Role.SPECIALIST)
def specialist_consultations() -> ResponseReturnValue:
    return redirect(url_for("consultations.my_consultations"))


def _render_detail(consultation: Consultation, status: int = 200, **forms: Any) -> tuple[str, int]:
    suggestions = (svc.suggest_other_specialists(consultation)
                   if consultation.outcome is ConsultationOutcome.NOT_A_FIT
                   and consultation.is_client(current_user) else [])
    cancel_form = forms.get("cancel_form") or CancelForm()
    if consultation.is_specialist(current_user):
        cancel_form.for_specialist()
    consequence = (svc.cancellation_consequence(consultation, current_user)
                   if consultation.can_cancel(current_user) else None)
    if consequence is not None:
        cancel_form.terms.data = consequence.key  # what the person sees is what they confirm
    move = (svc.move_policy(consultation, current_user)
            if consultation.can_move(current_user) or consultation.can_reschedule(current_user) else None)
    return render_template("consultations/detail.html", c=consultation, suggestions=suggestions, move=move,
                           parts=page_parts.gather(CONSULTATION_PAGE, consultation=consultation, viewer=current_user),
                           cancel_form=cancel_form, consequence=consequence, undo_form=ActionForm(),
                           no_show_consequence=svc.missed_session_consequence(consultation)
                           if consultation.can_complete(current_user) else None,
                           complete_form=forms.get("complete_form") or CompleteForm(),
                           outcome_form=forms.get("outcome_form") or OutcomeForm(),
                           video_link_form=forms.get("video_link_form") or VideoLinkForm(
                               video_link=consultation.video_link or ""),
                           no_show_form=forms.get("no_show_form") or NoShowForm(),
                           report_form=forms.get("report_form") or ReportNoShowForm()), status


def _viewable_or_404(consultation_id: int) -> Consultation:
    """The consultation with its people eager-loaded; 404 unless a participant or an admin."""
    # One joined query fills the identity map (held here: it keeps only weak references) …
    loaded = svc.load_consultation(consultation_id)
    consultation = get_owned_or_404(Consultation, consultation_id, current_user)  # … so this check costs none
    assert loaded is None or loaded is consultation
    return consultation


@bp.route("/consultations/<int:consultation_id>")
def detail(consultation_id: int) -> ResponseReturnValue:
    return _render_detail(_viewable_or_404(consultation_id))


@bp.route("/consultations/<int:consultation_id>.ics")
def ics(consultation_id: int) -> ResponseReturnValue:
    loaded = svc.load_consultation(consultation_id)  # held: the identity map keeps weak references
    # Participants only: not even admins (the invitation carries the meeting details).
    consultation = get_owned_or_404(Consultation, consultation_id, current_user, permission="view_ics")
    assert loaded is None or loaded is consultation
    other = (consultation.specialist.display_name if consultation.is_client(current_user)
             else consultation.client.display_name)
    data = build_ics_for(consultation, current_user, other, cancel=consultation.is_released)
    return Response(data, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="consultation-{consultation.id}.ics"'})


def _back(consultation_id: int) -> WerkzeugResponse:
    return redirect(url_for("consultations.detail", consultation_id=consultation_id))


def _run_action(consultation_id: int, action: Any, success: str | Callable[[Any], str], *args: Any,
                form_name: str = "", form: Any = None) -> Any:
    """POST actions: one lifecycle service, flash (``success``, or what it says of the service's
    result), back to the page (422 with the page on bad input)."""
    consultation = _viewable_or_404(consultation_id)
    if form is not None and not form.validate_on_submit():
        return _render_detail(consultation, 422, **{form_name: form})
    try:
        result = action(consultation, current_user, *args)
    except svc.ConsultationError as exc:
        flash(str(exc), "error")
        return _render_detail(consultation, 422, **({form_name: form} if form is not None else {}))
    flash(success(result) if callable(success) else success, "success")
    return _back(consultation_id)


@bp.route("/consultations/<int:consultation_id>/confirm", methods=["POST"])
@login_required
def confirm(consultation_id: int) -> ResponseReturnValue:
    return _run_action(consultation_id, svc.confirm_consultation, "The consultation is confirmed.",
                       form=ActionForm())


@bp.route("/consultations/<int:consultation_id>/complete", methods=["POST"])
@login_required
def complete(consultation_id: int) -> ResponseReturnValue:
    return _run_action(consultation_id, svc.complete_consultation,
                       "Marked as completed. You can undo it within 24 hours.",
                       form_name="complete_form", form=CompleteForm())


@bp.route("/consultations/<int:consultation_id>/no-show", methods=["POST"])
@login_required
def no_show(consultation_id: int) -> ResponseReturnValue:
    form = NoShowForm()
    return _run_action(consultation_id, svc.mark_no_show,
                       "Marked as a no-show. The client is told by e-mail. You can undo it within 24 hours.",
                       form.note.data, form_name="no_show_form", form=form)


@bp.route("/consultations/<int:consultation_id>/report-no-show", methods=["POST"])
@login_required
def report_no_show(consultation_id: int) -> ResponseReturnValue:
    """The client reports that the specialist did not come."""
    form = ReportNoShowForm()
    return _run_action(consultation_id, report_specialist_no_show, lambda reported: reported.message,
                       form.note.data, form_name="report_form", form=form)


@bp.route("/consultations/<int:consultation_id>/cancel", methods=["POST"])
@login_required
def cancel(consultation_id: int) -> ResponseReturnValue:
    form = CancelForm()
    return _run_action(consultation_id, lambda c, user, reason: svc.cancel_consultation(
        c, user, reason, expected=form.terms.data or None), "The consultation is cancelled.",
                       form.reason.data, form_name="cancel_form", form=form)


@bp.route("/consultations/<int:consultation_id>/outcome", methods=["POST"])
@login_required
def outcome(consultation_id: int) -> ResponseReturnValue:
    form = OutcomeForm()
    return _run_action(consultation_id, svc.record_outcome, "The outcome is saved. The client is told by e-mail.",
                       form.outcome.data, form.outcome_note.data, form_name="outcome_form", form=form)


@bp.route("/consultations/<int:consultation_id>/video-link", methods=["POST"])
@login_required
def video_link(consultation_id: int) -> ResponseReturnValue:
    form = VideoLinkForm()
    return _run_action(consultation_id, svc.set_video_link, "The video link for this consultation is saved.",
                       form.video_link.data, form_name="video_link_form", form=form)


@bp.route("/consultations/<int:consultation_id>/undo", methods=["POST"])
@login_required
def undo(consultation_id: int) -> ResponseReturnValue:
    return _run_action(consultation_id, svc.undo_record,
                       "Undone. Record what happened again below; if the client was e-mailed, "
                       "they get a correction.", form=ActionForm())


@bp.route("/consultations/<int:consultation_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule(consultation_id: int) -> ResponseReturnValue:
    """A free consultation is rescheduled (a new booking replaces it); a paid session is moved in
    place, under its cancellation terms (``moves``). Anyone but its client is sent back with why."""
    consultation = _viewable_or_404(consultation_id)
    form = RescheduleForm()
    policy = svc.move_policy(consultation, current_user)
    if policy.refusal is not None:
        flash(policy.refusal, "error")
        return _back(consultation_id)
    error, status = None, 200
    if form.validate_on_submit():
        move = svc.reschedule_consultation if consultation.is_free else svc.move_paid_session
        try:
            moved = move(consultation, current_user, svc.parse_slot(form.slot.data))
        except svc.BookingError as exc:
            error, status = exc.message, 409 if exc.taken else 422
        else:
            flash(f"Your {'consultation' if consultation.is_free else 'session'} has moved to the new time.", "success")
            return _back(moved.id)
    elif form.errors:
        status = 422
    page = svc.booking_page(consultation.specialist, current_user, viewer_timezone(), rescheduling=consultation,
                            query=week_query(request.args, form.slot.data or request.args.get("slot")))
    return render_template("consultations/reschedule.html", c=consultation, page=page, form=form, error=error,
                           policy=policy, keep={}), status
