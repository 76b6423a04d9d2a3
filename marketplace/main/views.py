"""Home, the free-consultation explainer, health check."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from marketplace.extensions import db, limiter
from marketplace.featured.services import count_impressions
from marketplace.main import bp
from marketplace.main.services import home_page
from marketplace.timeutil import viewer_timezone


@bp.route("/")
def home() -> ResponseReturnValue:
    page = home_page(viewer_timezone())  # cached, shared by everyone
    counted = [(count_impressions, (page.featured_ids, "home"))] if page.featured_ids else []
    return page.response_counting(counted)  # a visitor's is served again, counted the same


@bp.route("/free-consultation")
def free_consultation() -> ResponseReturnValue:
    return render_template("main/free_consultation.html")


@bp.route("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
        ok = True
    except Exception:  # report, don't raise: this is what the probe is for
        current_app.logger.exception("health check: database unreachable")
        ok = False
    return jsonify(status="ok" if ok else "error", database="reachable" if ok else "unreachable"), 200 if ok else 503


@bp.route("/ping")
@limiter.exempt
def ping() -> ResponseReturnValue:
    """Trivial endpoint: the baseline that `make bench` compares pages against."""
    return "ok"


@bp.route("/favicon.ico")
def favicon() -> ResponseReturnValue:
    static_folder = current_app.static_folder
    assert static_folder is not None  # the app has its static/ folder
    return send_from_directory(static_folder, "img/favicon.svg", mimetype="image/svg+xml")
