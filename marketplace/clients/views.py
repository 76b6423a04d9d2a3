"""The specialist's client list and client pages (mounted without a prefix; full paths below)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from marketplace.auth.models import Role
from marketplace.clients import bp
from marketplace.clients import services as svc
from marketplace.clients.forms import ClientNoteForm
from marketplace.security import role_required


@bp.route("/specialists/me/clients")
@role_required(Role.SPECIALIST)
def index() -> ResponseReturnValue:
    return render_template("clients/list.html", records=svc.list_clients(current_user))


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
