"""Admin pages of the contact domain (registered on the admin blueprint, /admin/…)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.contact.models import ContactMessage
from marketplace.contact.services import FILTERS, list_contact_messages, set_contact_handled
from marketplace.database import get_owned_or_404
from marketplace.routes import RouteTable

pages = RouteTable()  # admin pages: added to the admin blueprint by marketplace/blueprints.py


@pages.route("/contact")
def contact_messages() -> ResponseReturnValue:
    show = request.args.get("show", "unhandled")
    show = show if show in FILTERS else "unhandled"
    return render_template("contact/admin_list.html", messages=list_contact_messages(show), show=show,
                           filters=FILTERS)


@pages.route("/contact/<int:message_id>/handled", methods=["POST"])
def contact_set_handled(message_id: int) -> ResponseReturnValue:
    message = get_owned_or_404(ContactMessage, message_id, current_user, permission="handle")
    handled = request.form.get("handled", "1") == "1"
    set_contact_handled(message, current_user, handled)
    flash("Marked as handled." if handled else "Marked as not handled.", "success")
    show = request.form.get("show", "unhandled")
    return redirect(url_for("admin.contact_messages", show=show if show in FILTERS else "unhandled"))
