"""Sign up, log in, log out, password reset. Thin: forms in, one service call, flash, redirect."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from marketplace.auth import bp
from marketplace.auth.confirmation import (
    ConfirmationError,
    check_confirmation_token,
    confirm_email,
    max_age_hours,
    send_confirmation,
)
from marketplace.auth.forms import (
    ConfirmEmailForm,
    LoginForm,
    ResendConfirmationForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignupForm,
)
from marketplace.auth.gate import pop_resume, remember_resume
from marketplace.auth.models import Role
from marketplace.auth.services import (
    AccountError,
    authenticate,
    register_user,
    request_password_reset,
    reset_password,
    user_for_reset_token,
)
from marketplace.auth.sessions import log_in, log_out
from marketplace.auth.throttle import (
    ACCOUNT_LIMIT,
    AUTH_LIMIT,
    account_key,
    is_known_device,
    login_failed,
    remember_device,
)
from marketplace.extensions import limiter
from marketplace.forms import ActionForm, required_text
from marketplace.security import account_key as per_account
from marketplace.security import safe_next
from marketplace.templating import expose_enums

expose_enums(bp, Role)

RESEND_LIMIT = "3 per 10 minutes;10 per day"


def _role_from_request() -> Role:
    return Role.SPECIALIST if request.args.get("role") == "specialist" else Role.CLIENT


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def signup() -> ResponseReturnValue:
    role = _role_from_request()
    # "Join as a specialist" leads to the create page: a logged-in client turns their account into a
    # specialist one there, a visitor logging in instead of signing up comes back to it.
    default_next = url_for("specialists.new_profile") if role is Role.SPECIALIST else ""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next") or default_next or None))
    form = SignupForm(next=request.args.get("next") or default_next)
    form.for_role(role)
    if form.validate_on_submit():
        # A new specialist goes straight to their profile editor unless they came from elsewhere.
        to_editor = role is Role.SPECIALIST and form.next.data in ("", default_next)
        next_url = url_for("specialists.edit_profile") if to_editor else form.next.data or None
        try:
            user = register_user(email=required_text(form.email), password=required_text(form.password),
                                 display_name=required_text(form.display_name), role=role, timezone=form.timezone.data,
                                 next_url=next_url)
        except AccountError as exc:
            flash(str(exc), "error")
        else:
            log_in(user)
            flash(f"Welcome to Balance — your account is ready. We have sent a link to {user.email}: "
                  "please open it to confirm your address.", "success")
            return redirect(safe_next(next_url))
    return render_template("auth/signup.html", form=form, role=role), 200 if not form.errors else 422


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
@limiter.limit(ACCOUNT_LIMIT, methods=["POST"], key_func=account_key, deduct_when=login_failed,
               exempt_when=is_known_device)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(required_text(form.email), required_text(form.password))
        if user is None:
            flash("That e-mail and password don't match an account.", "error")
            return render_template("auth/login.html", form=form), 401
        log_in(user, remember=form.remember.data)
        flash("You are logged in.", "success")
        return remember_device(redirect(safe_next(form.next.data)), user.email)
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    log_out(current_user._get_current_object())
    flash("You have been logged out.", "info")
    return redirect(url_for("main.home"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def reset_request() -> ResponseReturnValue:
    form = ResetRequestForm()
    if form.validate_on_submit():
        request_password_reset(required_text(form.email))
        flash("If an account exists for that address, we have sent a link to reset the password. "
              "It works once and expires in an hour.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form), 200 if not form.errors else 422


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset_with_token(token: str) -> ResponseReturnValue:
    user = user_for_reset_token(token)
    if user is None:
        flash("This reset link is invalid, expired or already used. Request a new one.", "error")
        return redirect(url_for("auth.reset_request"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            reset_password(user, required_text(form.password))
        except AccountError as exc:
            flash(str(exc), "error")
        else:
            log_out(current_user._get_current_object())
            flash("Your password has been changed. Please log in.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form), 200 if not form.errors else 422


# --- e-mail confirmation ----------------------------------------------------------------------

@bp.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def confirm(token: str) -> ResponseReturnValue:
    """GET shows the address and a button (a mail scanner fetching the link confirms nothing);
    POST confirms and returns the person to what they were doing."""
    form = ConfirmEmailForm()
    try:
        if not form.validate_on_submit():
            link = check_confirmation_token(token)
            return render_template("auth/confirm_email.html", form=form, address=link.address, change=link.is_change,
                                   hide_confirm_banner=True), 200 if request.method == "GET" else 400
        link = confirm_email(token)
    except ConfirmationError as exc:
        return render_template("auth/confirm_email.html", error=str(exc), used=exc.used,
                               hide_confirm_banner=True), 200 if exc.used else 400
    mine = current_user.is_authenticated and current_user.id == link.user.id
    next_url = (pop_resume(link.user.id) if mine else None) or link.next_url
    if not mine:
        flash("Thank you — your e-mail address is confirmed. Please log in to continue.", "success")
        return redirect(url_for("auth.login", next=next_url))
    flash("Thank you — your e-mail address is confirmed.", "success")
    return redirect(safe_next(next_url))


@bp.route("/confirm/resend", methods=["POST"])
@limiter.limit(AUTH_LIMIT)
@limiter.limit(RESEND_LIMIT, key_func=per_account)
@login_required
def resend_confirmation() -> ResponseReturnValue:
    """Send the link again, to the logged-in person's own address waiting (nobody else's)."""
    form = ResendConfirmationForm()
    if not form.validate_on_submit():
        abort(400)
    next_url = form.next.data
    remember_resume(current_user.id, next_url)
    address = send_confirmation(current_user, next_url)
    if address is None:
        flash("Your e-mail address is already confirmed.", "info")
    else:
        flash(f"We have sent a new confirmation link to {address}. It works once, for {max_age_hours()} hours.",
              "success")
    return redirect(safe_next(next_url, "account.index"))
