"""Admin pages of the questions domain (registered on the admin blueprint, /admin/…):
the moderation queue, hide / restore, dismiss a report."""
from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.questions.services import (
    QuestionError,
    dismiss_report,
    hidden_content,
    moderation_queue,
    set_content_hidden,
)
from marketplace.routes import RouteTable
from marketplace.security import safe_next

pages = RouteTable()  # admin pages: added to the admin blueprint by marketplace/blueprints.py


@pages.route("/moderation")
def moderation() -> ResponseReturnValue:
    return render_template("questions/admin_moderation.html", queue=moderation_queue(), hidden=hidden_content())


@pages.route("/moderation/<any(question, answer):target_type>/<int:target_id>/<any(hide, restore):action>",
          methods=["POST"])
def moderate_content(target_type: str, target_id: int, action: str) -> ResponseReturnValue:
    try:
        set_content_hidden(current_user, target_type, target_id, hidden=action == "hide")
    except QuestionError as exc:
        flash(str(exc), "error")
    else:
        flash(f"The {target_type} is {'hidden' if action == 'hide' else 'visible again'}.", "success")
    return redirect(safe_next(request.form.get("next"), "admin.moderation"))


@pages.route("/moderation/reports/<int:report_id>/dismiss", methods=["POST"])
def dismiss_moderation_report(report_id: int) -> ResponseReturnValue:
    try:
        dismiss_report(current_user, report_id)
    except QuestionError as exc:
        flash(str(exc), "error")
    else:
        flash("The report has been dismissed.", "success")
    return redirect(safe_next(request.form.get("next"), "admin.moderation"))
