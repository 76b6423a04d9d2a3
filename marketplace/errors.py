"""Error pages (HTML for people, JSON for /healthz-style clients) and friendly 413/429."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from marketplace.database import rollback
from marketplace.logging_setup import loggable_path

log = logging.getLogger(__name__)

TITLES = {
    400: "That request could not be understood",
    403: "You don't have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    413: "That file is too large",
    429: "Too many attempts — please wait a moment and try again",
    500: "Something went wrong on our side",
}


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if code >= 500:
            rollback()  # the layout queries (current user): never inside a failed transaction
        if request.accept_mimetypes.best == "application/json" or request.path.startswith("/payments/webhook"):
            return {"error": TITLES.get(code, exc.name)}, code
        return render_template("errors/error.html", code=code, title=TITLES.get(code, exc.name),
                               description=None if code >= 500 else exc.description), code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("unhandled error on %s %s", request.method, loggable_path())
        rollback()  # e.g. PostgreSQL's InFailedSqlTransaction: the error page must still render
        return render_template("errors/error.html", code=500, title=TITLES[500], description=None), 500
