"""Account page: settings, password, data export, deletion."""
from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from marketplace.account import bp
from marketplace.account.forms import AccountForm, DeleteAccountForm, PasswordChangeForm, TimezoneChoiceForm
from marketplace.account.services import choose_timezone, delete_account, export_user_data, update_account
from marketplace.auth.services import AccountError, change_password
from marketplace.auth.sessions import log_in, log_out, log_out_everywhere
from marketplace.forms import ActionForm, required_text
from marketplace.security import safe_next
from marketplace.timeutil import remember_zone_choice, viewer_timezone


def _render(account_form: AccountForm | None = None, password_form: PasswordChangeForm | None = None,
            delete_form: DeleteAccountForm | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "account/index.html",
        account_form=account_form or AccountForm(obj=current_user),
        password_form=password_form or PasswordChangeForm(),
        delete_form=delete_form or DeleteAccountForm(),
    ), status


@bp.route("", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    form = AccountForm(obj=current_user)
    if form.validate_on_submit():
        try:
            sent_to = update_account(current_user, display_name=required_text(form.display_name),
                                     email=required_text(form.email), timezone=form.timezone.data)
        except AccountError as exc:
            flash(str(exc), "error")
            return _render(account_form=form, status=422)
        flash("Your account settings have been saved.", "success")
        if sent_to:
            flash(f"We have sent a confirmation link to {sent_to}. "
                  + (f"Until you open it, Balance keeps using {current_user.email}." if current_user.pending_email
                     else "Please open it to confirm your address."), "info")
        return redirect(url_for("account.index"))
    return _render(account_form=form, status=422 if form.errors else 200)


@bp.route("/password", methods=["POST"])
@login_required
def password() -> ResponseReturnValue:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, required_text(form.current_password), required_text(form.password))
        except AccountError as exc:
            flash(str(exc), "error")
            return _render(password_form=form, status=422)
        log_in(current_user._get_current_object())  # a new session here; every other one has ended
        flash("Your password has been changed. Other devices have been logged out.", "success")
        return redirect(url_for("account.index"))
    return _render(password_form=form, status=422)


@bp.route("/sessions/end", methods=["POST"])
@login_required
def log_out_all() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        return _render(status=400)
    log_out_everywhere(current_user._get_current_object())
    flash("You have been logged out on every device. Log in again to continue.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/export")
@login_required
def export() -> ResponseReturnValue:
    payload = json.dumps(export_user_data(current_user), indent=2, default=str, ensure_ascii=False)
    return Response(payload, mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=balance-my-data.json"})


@bp.route("/delete", methods=["POST"])
@login_required
def delete() -> ResponseReturnValue:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            delete_account(current_user, required_text(form.password))
        except AccountError as exc:
            flash(str(exc), "error")
            return _render(delete_form=form, status=422)
        log_out(current_user._get_current_object())
        flash("Your account has been deleted. Take care.", "info")
        return redirect(url_for("main.home"))
    return _render(delete_form=form, status=422)


def _render_time_zone(form: TimezoneChoiceForm, status: int) -> tuple[str, int]:
    return render_template("account/timezone.html", form=form, back=safe_next(form.next.data) if form.next.data else None), status


@bp.route("/time-zone", methods=["GET", "POST"])
def time_zone() -> ResponseReturnValue:
    """The zone chooser, for everyone: a visitor's choice is kept in a cookie, a person's in their account."""
    form = (TimezoneChoiceForm() if request.method == "POST"
            else TimezoneChoiceForm(timezone=viewer_timezone(), next=request.args.get("next", "")))
    person = current_user if current_user.is_authenticated else None
    if not form.validate_on_submit():
        return _render_time_zone(form, 422 if form.errors else 200)
    try:
        zone = choose_timezone(person, form.timezone.data)
    except AccountError as exc:
        form.timezone.errors = [str(exc)]
        return _render_time_zone(form, 422)
    response = redirect(safe_next(form.next.data))
    if person is None:
        remember_zone_choice(response, zone)
    flash(f"Times are now shown in {zone}.", "success")
    return response
