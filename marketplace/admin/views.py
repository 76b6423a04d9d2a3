"""The admin dashboard, the audit log and marketplace statistics (admins only: see __init__)."""
from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from marketplace.admin import bp
from marketplace.admin.forms import AuditFilterForm
from marketplace.admin.services import admin_dashboard, audit_actions, marketplace_stats, search_audit_log


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
    return render_template("admin/stats.html", stats=marketplace_stats())
