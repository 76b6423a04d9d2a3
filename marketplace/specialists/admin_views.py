"""Admin pages of the specialists domain (registered on the admin blueprint, /admin/…):
the licence verification queue."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.routes import RouteTable
from marketplace.specialists.forms import RejectLicenceForm
from marketplace.specialists.services import ProfileError, pending_verifications, reject_licence, verify_licence

pages = RouteTable()  # admin pages: added to the admin blueprint by marketplace/blueprints.py


def _reject_form(profile_id: int) -> RejectLicenceForm:
    # One form per queue item; the prefix keeps field ids unique on the page.
    return RejectLicenceForm(prefix=f"p{profile_id}")


@pages.route("/verification")
def verification_queue() -> ResponseReturnValue:
    profiles = pending_verifications()
    return render_template("specialists/admin_verification.html", profiles=profiles,
                           reject_forms={p.id: _reject_form(p.id) for p in profiles})


@pages.route("/verification/<int:profile_id>/approve", methods=["POST"])
def approve_licence(profile_id: int) -> ResponseReturnValue:
    try:
        profile = verify_licence(current_user, profile_id)
    except ProfileError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{profile.display_name}'s licence is verified. We have e-mailed them.", "success")
    return redirect(url_for("admin.verification_queue"))


@pages.route("/verification/<int:profile_id>/reject", methods=["POST"], endpoint="reject_licence")
def reject_licence_view(profile_id: int) -> ResponseReturnValue:
    form = _reject_form(profile_id)
    if not form.validate_on_submit():
        flash("Please give the specialist a reason (up to 500 characters).", "error")
        return redirect(url_for("admin.verification_queue"))
    try:
        profile = reject_licence(current_user, profile_id, form.reason.data or "")
    except ProfileError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{profile.display_name}'s licence was rejected. We have e-mailed them the reason.", "success")
    return redirect(url_for("admin.verification_queue"))
