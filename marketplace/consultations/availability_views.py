"""The specialist's own scheduling pages of the consultations blueprint: weekly hours, date
exceptions, booking settings, external busy calendars, and their statistics (full paths below).

Thin, as ``views``: parse the form, call one service, flash, redirect or render.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.auth.models import Role
from marketplace.consultations import bp, external_calendars
from marketplace.consultations import services as svc
from marketplace.consultations.forms import (
    ExternalCalendarForm,
    OverrideForm,
    SchedulingSettingsForm,
    WeeklyHoursForm,
    WeeklyRuleEditForm,
)
from marketplace.consultations.hooks import STATS_PAGE
from marketplace.consultations.stats import funnel_chart, specialist_stats, weekly_funnel
from marketplace.forms import ActionForm
from marketplace.parts import page_parts
from marketplace.security import role_required
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import viewer_timezone
from marketplace.weeks import PERIODS, Weeks, parse_period


def _my_profile() -> SpecialistProfile:
    profile = current_user.specialist_profile
    if profile is None:
        abort(404)
    return profile



# --- specialist: availability and stats -------------------------------------------------------

def _render_availability(status: int = 200, **forms: Any) -> tuple[str, int]:
    profile = _my_profile()
    view = svc.get_availability(profile)
    settings_form = forms.get("settings_form") or SchedulingSettingsForm(
        buffer_minutes=view.settings.buffer_minutes, min_notice_hours=view.settings.min_notice_minutes // 60,
        horizon_days=view.settings.horizon_days, max_per_day=view.settings.max_per_day,
        auto_confirm=view.settings.auto_confirm, confirm_within_hours=view.settings.confirm_within_hours,
        free_cancel_notice_hours=profile.free_cancel_notice_hours,
        paid_cancel_notice_hours=profile.paid_cancel_notice_hours,
        paid_late_refund=profile.paid_late_refund.value, version_id=view.settings.version_id)
    return render_template(
        "consultations/availability.html", profile=profile, view=view, settings_form=settings_form,
        rule_form=forms.get("rule_form") or WeeklyHoursForm(),
        edit_form=forms.get("edit_form"), edit_rule_id=forms.get("edit_rule_id"),
        override_form=forms.get("override_form") or OverrideForm(),
        calendars=external_calendars.external_calendars_of(profile),
        calendar_form=forms.get("calendar_form") or ExternalCalendarForm(),
        action_form=ActionForm()), status


@bp.route("/specialists/me/availability")
@role_required(Role.SPECIALIST)
def availability() -> ResponseReturnValue:
    return _render_availability()


def _availability_post(form: Any, form_name: str, call: Any, success: str, **context: Any) -> Any:
    if form.validate_on_submit():
        try:
            result = call(form)
        except svc.AvailabilityError as exc:
            flash(str(exc), "error")
            return _render_availability(422, **{form_name: form}, **context)
        flash(success, "success")
        for merged in getattr(result, "merged", ()):
            flash(f"{merged}.", "info")
        return redirect(url_for("consultations.availability"))
    return _render_availability(422, **{form_name: form}, **context)


@bp.route("/specialists/me/availability/rules", methods=["POST"])
@role_required(Role.SPECIALIST)
def add_rule() -> ResponseReturnValue:
    return _availability_post(WeeklyHoursForm(), "rule_form", lambda f: svc.add_weekly_hours(
        _my_profile(), f.weekday.data, f.start.data, f.end.data), "Weekly hours added.")


@bp.route("/specialists/me/availability/rules/<int:rule_id>", methods=["POST"])
@role_required(Role.SPECIALIST)
def edit_rule(rule_id: int) -> ResponseReturnValue:
    """New times for one weekly rule; anyone else's (or a removed) rule is a 404."""
    if svc.weekly_rule_of(_my_profile(), rule_id) is None:
        abort(404)

    def change(form: WeeklyRuleEditForm) -> svc.HoursChange:
        result = svc.update_weekly_rule(_my_profile(), rule_id, form.start.data, form.end.data)
        if result is None:
            abort(404)
        return result

    return _availability_post(WeeklyRuleEditForm(), "edit_form", change, "Weekly hours changed.",
                              edit_rule_id=rule_id)


@bp.route("/specialists/me/availability/overrides", methods=["POST"])
@role_required(Role.SPECIALIST)
def add_override() -> ResponseReturnValue:
    return _availability_post(OverrideForm(), "override_form", lambda f: svc.add_date_override(
        _my_profile(), f.day.data, f.kind.data, f.start.data, f.end.data), "Date exception added.")


@bp.route("/specialists/me/availability/settings", methods=["POST"])
@role_required(Role.SPECIALIST)
def save_settings() -> ResponseReturnValue:
    return _availability_post(SchedulingSettingsForm(), "settings_form", lambda f: svc.update_scheduling_settings(
        _my_profile(), version_id=int(f.version_id.data) if (f.version_id.data or "").isdigit() else None,
        buffer_minutes=f.buffer_minutes.data, min_notice_minutes=f.min_notice_hours.data * 60,
        horizon_days=f.horizon_days.data, max_per_day=f.max_per_day.data, auto_confirm=f.auto_confirm.data,
        confirm_within_hours=f.confirm_within_hours.data, terms=f.cancellation_choice()), "Booking settings saved.")


def _remove(remove: Any, item_id: int, success: str) -> WerkzeugResponse:
    """Delete one of the specialist's own rules/exceptions; anyone else's id is a 404."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if not remove(_my_profile(), item_id):
        abort(404)
    flash(success, "success")
    return redirect(url_for("consultations.availability"))


@bp.route("/specialists/me/availability/rules/<int:rule_id>/delete", methods=["POST"])
@role_required(Role.SPECIALIST)
def remove_rule(rule_id: int) -> ResponseReturnValue:
    return _remove(svc.remove_weekly_rule, rule_id, "Weekly hours removed.")


@bp.route("/specialists/me/availability/overrides/<int:override_id>/delete", methods=["POST"])
@role_required(Role.SPECIALIST)
def remove_override(override_id: int) -> ResponseReturnValue:
    return _remove(svc.remove_date_override, override_id, "Date exception removed.")


@bp.route("/specialists/me/availability/calendars", methods=["POST"])
@role_required(Role.SPECIALIST)
def add_external_calendar() -> ResponseReturnValue:
    """Another calendar whose busy times block free slots (read right after the commit)."""
    form = ExternalCalendarForm()
    if not form.validate_on_submit():
        return _render_availability(422, calendar_form=form)
    try:
        external_calendars.add_external_calendar(_my_profile(), form.url.data)
    except external_calendars.CalendarUrlError as exc:
        form.url.errors = [*form.url.errors, exc.message]
        return _render_availability(422, calendar_form=form)
    flash("Calendar added. Its busy times block your free times; we read it again every 15 minutes.", "success")
    return redirect(url_for("consultations.availability", _anchor="calendars-heading"))


@bp.route("/specialists/me/availability/calendars/<int:calendar_id>/delete", methods=["POST"])
@role_required(Role.SPECIALIST)
def remove_external_calendar(calendar_id: int) -> ResponseReturnValue:
    return _remove(external_calendars.remove_external_calendar, calendar_id,
                   "Calendar removed. Its busy times no longer block your free times.")


@bp.route("/specialists/me/stats")
@role_required(Role.SPECIALIST)
def stats() -> ResponseReturnValue:
    profile = _my_profile()
    period = parse_period(request.args.get("weeks"))
    return render_template("consultations/stats.html", profile=profile, stats=specialist_stats(profile.id),
                           chart=funnel_chart(weekly_funnel(profile.id, Weeks.ending_now(period, viewer_timezone()))),
                           period=period, periods=PERIODS,
                           parts=page_parts.gather(STATS_PAGE, profile=profile, viewer=current_user))
