"""Contact us (logged-in users only)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.auth.confirmation import CONTACT
from marketplace.auth.gate import confirmed_email_required
from marketplace.contact import bp
from marketplace.contact.forms import ContactForm
from marketplace.contact.services import submit_contact_message
from marketplace.extensions import limiter
from marketplace.forms import MESSAGE_SENT, required_text
from marketplace.security import PROMPT_CONTACT, account_key, login_required_with_prompt


@bp.route("", methods=["GET", "POST"])
@login_required_with_prompt(PROMPT_CONTACT)
@confirmed_email_required(CONTACT)
@limiter.limit("5 per minute;20 per day", methods=["POST"], key_func=account_key)
def index() -> ResponseReturnValue:
    form = ContactForm()
    if form.validate_on_submit():
        submit_contact_message(current_user, subject=required_text(form.subject), body=required_text(form.body))
        flash(MESSAGE_SENT, "success")
        return redirect(url_for("contact.index"))
    return render_template("contact/index.html", form=form), 422 if form.errors else 200
