"""Views of the specialists blueprint: directory, public profile, the profile editor, photos.

Thin: parse the request, call one service, flash, redirect or render.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    abort,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from marketplace.auth.confirmation import PUBLISH
from marketplace.auth.gate import confirmed_email_required
from marketplace.auth.models import Role
from marketplace.database import utcnow
from marketplace.extensions import limiter
from marketplace.forms import ActionForm
from marketplace.parts import page_parts
from marketplace.security import PROMPT_SPECIALIST_PROFILE, account_key, login_required_with_prompt, role_required
from marketplace.specialists import bp
from marketplace.specialists.forms import ProfileForm
from marketplace.specialists.hooks import PROFILE_EDITOR, PROFILE_PERSON, directory_hooks
from marketplace.specialists.models import SpecialistProfile
from marketplace.specialists.pages import directory_page, profile_page
from marketplace.specialists.photos import is_photo_filename, photo_folder
from marketplace.specialists.responsiveness import Responsiveness, describe_profile
from marketplace.specialists.services import (
    AVAILABILITY_LINK,
    HOURS_MISSING,
    ProfileConflict,
    ProfileError,
    become_specialist,
    missing_for_publishing,
    own_profile,
    publish_profile,
    unpublish_profile,
    update_profile,
)
from marketplace.specialists.vocabulary import country_names
from marketplace.timeutil import viewer_timezone
from marketplace.uploads import accepts_uploads

PHOTO_MAX_AGE = 30 * 24 * 3600  # photo names are random and never reused, so caching is safe


@bp.route("")
def directory() -> ResponseReturnValue:
    page = directory_page(request.args, viewer_timezone())  # cached, shared by everyone
    counted = [(directory_hooks.notify_cards_shown, (page.featured_ids, "directory"))] if page.featured_ids else []
    return page.response_counting(counted)  # a visitor's is served again, counted the same


@bp.route("/<slug>")
def profile(slug: str) -> ResponseReturnValue:
    page = profile_page(slug, current_user, viewer_timezone())
    if page is None:
        abort(404)
    return page.response(page_parts.gather(PROFILE_PERSON, profile=page.profile, viewer=current_user,
                                           preview=page.preview))


@bp.route("/photos/<filename>")
def photo(filename: str) -> ResponseReturnValue:
    if not is_photo_filename(filename):
        abort(404)
    return send_from_directory(photo_folder(), filename, mimetype="image/jpeg", max_age=PHOTO_MAX_AGE)


@bp.route("/new", methods=["GET", "POST"])
@login_required_with_prompt(PROMPT_SPECIALIST_PROFILE, signup_role="specialist")
def new_profile() -> ResponseReturnValue:
    if current_user.is_specialist:
        return redirect(url_for(".edit_profile"))
    form = ActionForm()
    if form.validate_on_submit():
        try:
            become_specialist(current_user)
        except ProfileError as exc:
            flash(str(exc), "error")
            return render_template("specialists/new.html", form=form), 403
        flash("Your specialist profile has been created. Fill it in, then publish it when you're ready.", "success")
        return redirect(url_for(".edit_profile"))
    return render_template("specialists/new.html", form=form)


# Each photo upload may take up to ~100 MiB and a fraction of a second of CPU (see photos.py).
PROFILE_EDIT_LIMIT = "10 per minute;60 per hour"


@bp.route("/me/edit", methods=["GET", "POST"])
@accepts_uploads("PROFILE_FORM_MAX_BYTES")
@role_required(Role.SPECIALIST)
@limiter.limit(PROFILE_EDIT_LIMIT, methods=["POST"], key_func=account_key)
def edit_profile() -> ResponseReturnValue:
    mine = _own_profile_or_404()
    form = ProfileForm() if request.method == "POST" else ProfileForm.for_profile(mine)
    form.timezone.keep(mine.timezone)  # a saved zone outside the curated list stays choosable
    if form.validate_on_submit():
        try:
            result = update_profile(mine, form.to_input(), expected_version=form.expected_version(),
                                    photo=form.uploaded_photo(), remove_photo=bool(form.remove_photo.data))
        except ProfileConflict as exc:
            flash(str(exc), "error")
            return _editor(form, mine, 409)
        except ProfileError as exc:
            _attach_error(form, exc)
            return _editor(form, mine, 422)
        flash("Your profile has been saved.", "success")
        for notice in result.notices:
            flash(notice, "warning")
        return redirect(url_for(".edit_profile"))
    return _editor(form, mine, 422 if form.errors else 200)


@bp.route("/me/publish", methods=["POST"])
@role_required(Role.SPECIALIST)
@confirmed_email_required(PUBLISH, resume=lambda: url_for(".edit_profile"))
def publish() -> ResponseReturnValue:
    try:
        profile = publish_profile(_own_profile_or_404(), current_user)
    except ProfileError as exc:
        flash(_with_link(exc), "error")
    else:
        flash("Your profile is published and visible in the directory." if profile.is_listed else
              "Your profile is published. It will be listed in the directory, and clients can book and message you, "
              "as soon as an admin has verified your licence. We will e-mail you.", "success")
    return redirect(url_for(".edit_profile"))


@bp.route("/me/unpublish", methods=["POST"])
@role_required(Role.SPECIALIST)
def unpublish() -> ResponseReturnValue:
    unpublish_profile(_own_profile_or_404(), current_user)
    flash("Your profile is hidden. Only you can see it until you publish it again.", "info")
    return redirect(url_for(".edit_profile"))


def _own_profile_or_404() -> SpecialistProfile:
    mine = own_profile(current_user)
    if mine is None:
        abort(404)
    return mine


def _with_link(exc: ProfileError) -> str | Markup:
    """The message, followed by a link to where it is put right (e.g. the availability page)."""
    if exc.link is None:
        return str(exc)
    label, endpoint = exc.link
    return Markup('{} <a href="{}">{}</a>').format(str(exc), url_for(endpoint), label)


def _editor(form: ProfileForm, profile: SpecialistProfile, status: int) -> Any:
    missing = missing_for_publishing(profile)
    return render_template("specialists/edit.html", form=form, profile=profile, missing=missing,
                           hours_missing=HOURS_MISSING, availability_link=AVAILABILITY_LINK,
                           has_hours=HOURS_MISSING not in missing,
                           parts=page_parts.gather(PROFILE_EDITOR, profile=profile, viewer=current_user)), status


def _attach_error(form: ProfileForm, exc: ProfileError) -> None:
    if exc.field and exc.field in form:
        form[exc.field].errors = [*form[exc.field].errors, str(exc)]
    else:
        flash(str(exc), "error")


# --- helpers for every template (the card is reused by other domains) --------------------------

@bp.app_template_global()
def specialist_booking_url(profile: Any) -> str:
    """Where "Book a free consultation" goes (the consultations domain's booking page).

    A profile reached from a campaign placement (``?src=campaign``) keeps that source on its
    booking link, so the booking is attributed to the campaign.
    """
    slug = getattr(profile, "slug", profile)
    src = "campaign" if has_request_context() and request.args.get("src") == "campaign" else None
    return url_for("consultations.book", slug=slug, src=src)


@bp.app_template_global()
def specialist_photo_url(profile: Any) -> str:
    if getattr(profile, "photo_filename", None):
        return url_for("specialists.photo", filename=profile.photo_filename)
    return url_for("static", filename="img/avatar.svg")


@bp.app_template_global()
def country_name(code: str | None) -> str:
    """English name of an ISO 3166 country code ("DE" → "Germany")."""
    return country_names().get(code or "", code or "")


@bp.app_template_global()
def responsiveness(profile: Any) -> Responsiveness:
    """"Usually replies within 3 hours", "Usually confirms requests within an hour" or "New on
    Balance" for a profile or a directory card (the stored figures, worded)."""
    return describe_profile(profile, utcnow())


@bp.app_template_global()
def is_past(moment: datetime | None) -> bool:
    """Whether an aware UTC time has already passed (e.g. a stale ``next_available_at``)."""
    return moment is not None and moment <= utcnow()
