"""Home, the free-consultation explainer, health check."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, send_from_directory
from sqlalchemy import text

from marketplace.extensions import db, limiter
from marketplace.main import bp
from marketplace.main.services import home_page_sections


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("main/home.html", **home_page_sections())


@bp.route("/free-consultation")
def free_consultation():  # type: ignore[no-untyped-def]
    return render_template("main/free_consultation.html")


@bp.route("/healthz")
@limiter.exempt
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session.execute(text("SELECT 1"))
        ok = True
    except Exception:  # report, don't raise: this is what the probe is for
        current_app.logger.exception("health check: database unreachable")
        ok = False
    return jsonify(status="ok" if ok else "error", database="reachable" if ok else "unreachable"), 200 if ok else 503


@bp.route("/ping")
@limiter.exempt
def ping():  # type: ignore[no-untyped-def]
    """Trivial endpoint: the baseline that `make bench` compares pages against."""
    return "ok"


@bp.route("/favicon.ico")
def favicon():  # type: ignore[no-untyped-def]
    return send_from_directory(current_app.static_folder, "img/favicon.svg", mimetype="image/svg+xml")
