"""Admin pages of the consultations domain (registered on the admin blueprint, /admin/…): the
queue of clients' reports that the specialist did not come."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.consultations.models import NoShowReport
from marketplace.consultations.no_shows import QUEUE_FILTERS, list_no_show_reports, review_no_show_report
from marketplace.database import get_owned_or_404
from marketplace.routes import RouteTable

pages = RouteTable()  # admin pages: added to the admin blueprint by marketplace/blueprints.py


def _show(value: str | None) -> str:
    return value if value in QUEUE_FILTERS else "open"


@pages.route("/no-shows")
def no_show_reports() -> ResponseReturnValue:
    show = _show(request.args.get("show"))
    return render_template("consultations/admin_no_shows.html", reports=list_no_show_reports(show), show=show,
                           filters=QUEUE_FILTERS)


@pages.route("/no-shows/<int:report_id>/review", methods=["POST"])
def no_show_review(report_id: int) -> ResponseReturnValue:
    report = get_owned_or_404(NoShowReport, report_id, current_user, permission="review")
    dismiss = request.form.get("dismiss") == "1"
    review_no_show_report(report, current_user, dismiss=dismiss)
    flash("Dismissed: the report no longer counts against the specialist." if dismiss
          else "Marked as reviewed.", "success")
    return redirect(url_for("admin.no_show_reports", show=_show(request.form.get("show"))))
