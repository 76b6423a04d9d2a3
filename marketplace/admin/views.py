"""The admin dashboard, the audit log and marketplace statistics (admins only: see __init__)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.admin import bp
from marketplace.admin.forms import AuditFilterForm, RevokeLicenceForm
from marketplace.admin.services import (
    admin_dashboard,
    audit_actions,
    marketplace_stats,
    revoke_verification,
    search_audit_log,
)
from marketplace.consultations.services import ConsultationError
from marketplace.database import rollback
from marketplace.extensions import db
from marketplace.specialists.models import SpecialistProfile
from marketplace.specialists.services import ProfileError
from marketplace.weeks import PERIODS, parse_period


@bp.route("")
def dashboard() -> ResponseReturnValue:
    return render_template("admin/dashboard.html", board=admin_dashboard())


@bp.route("/audit")
def audit_log() -> ResponseReturnValue:
    form = AuditFilterForm(audit_actions(), formdata=request.args)
    form.validate()
    filters = form.filters()
    page = search_audit_log(filters, request.args.get("page"))
    return render_template("admin/audit.html", form=form, page=page, params=filters.as_params())


@bp.route("/stats")
def stats() -> ResponseReturnValue:
    period = parse_period(request.args.get("weeks"))
    return render_template("admin/stats.html", stats=marketplace_stats(weeks_shown=period), period=period,
                           periods=PERIODS)


@bp.route("/verification/<int:profile_id>/revoke", methods=["POST"])
def revoke_licence(profile_id: int) -> ResponseReturnValue:
    profile = db.session.get(SpecialistProfile, profile_id) or abort(404)
    back = url_for("specialists.profile", slug=profile.slug)  # the admin acts from the profile page
    form = RevokeLicenceForm()
    if not form.validate_on_submit():
        flash("Please give a reason (up to 500 characters) and choose what happens to the booked consultations.",
              "error")
        return redirect(back)
    try:
        result = revoke_verification(current_user, profile_id, form.reason.data or "",
                                     cancel_upcoming=form.consultations.data == "cancel")
    except (ProfileError, ConsultationError) as exc:
        rollback()  # all or nothing: no consultation cancelled without the revocation
        flash(str(exc), "error")
        return redirect(back)
    done = (f"{result.cancelled} upcoming consultation(s) cancelled; each client was told." if result.cancelled
            else f"{result.kept} upcoming consultation(s) kept.")
    flash(f"{result.profile.display_name}'s verification was withdrawn: the profile is no longer listed. {done}",
          "success")
    return redirect(back)
