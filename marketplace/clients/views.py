"""The specialist's client list and client pages (mounted without a prefix; full paths below)."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from marketplace.auth.models import Role
from marketplace.clients import bp
from marketplace.clients import services as svc
from marketplace.clients.forms import ClientNoteForm
from marketplace.payments.reports import MonthlyEarnings, earnings_csv, monthly_earnings
from marketplace.security import role_required
from marketplace.specialists.models import profile_id_of
from marketplace.timeutil import viewer_timezone


@bp.route("/specialists/me/clients")
@role_required(Role.SPECIALIST)
def index() -> ResponseReturnValue:
    return render_template("clients/list.html", records=svc.list_clients(current_user, request.args.get("page")))


def _record_or_404(client_id: int) -> svc.ClientRecord:
    try:
        return svc.client_record(current_user, client_id)
    except svc.NotYourClient:
        abort(404)


@bp.route("/specialists/me/clients/<int:client_id>", methods=["GET", "POST"])
@login_required
def detail(client_id: int) -> ResponseReturnValue:
    record = _record_or_404(client_id)
    form = ClientNoteForm(data={"note": record.note or ""})
    if form.validate_on_submit():
        try:
            message = svc.save_client_note(current_user, record, form.note.data or "")
        except svc.ClientsError as exc:
            form.note.errors = [str(exc)]
        else:
            flash(message, "success")
            return redirect(url_for("clients.detail", client_id=client_id, _anchor="private-note"))
    status = 422 if form.errors else 200
    return render_template("clients/detail.html", record=record, form=form), status


# --- earnings (the numbers come from the payments domain) ----------------------------------------

def _my_earnings() -> list[MonthlyEarnings]:
    profile_id = profile_id_of(current_user)
    return monthly_earnings(viewer_timezone(), specialist_id=profile_id) if profile_id is not None else []


@bp.route("/specialists/me/earnings")
@role_required(Role.SPECIALIST)
def earnings() -> ResponseReturnValue:
    return render_template("clients/earnings.html", rows=_my_earnings(), zone=viewer_timezone())


@bp.route("/specialists/me/earnings.csv")
@role_required(Role.SPECIALIST)
def earnings_export() -> ResponseReturnValue:
    return Response(earnings_csv(_my_earnings()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="balance-earnings.csv"',
                             "Cache-Control": "private, no-store"})
