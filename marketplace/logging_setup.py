"""Structured (key=value) logs without personal data: no e-mails, bodies, notes or passwords."""
from __future__ import annotations

import logging
import secrets
import sys

from flask import Flask, g, has_request_context, request

# Path arguments that are credentials (password reset, address confirmation, calendar feed):
# a log line shows the URL rule instead of the path carrying them.
SECRET_PATH_ARGS = frozenset({"token", "feed_token"})


def loggable_path() -> str:
    """The request's path for a log line: its URL rule (``/calendar/<feed_token>.ics``) when a path
    argument is a secret, else the path itself."""
    rule = request.url_rule
    if rule is not None and SECRET_PATH_ARGS & set(request.view_args or {}):
        return rule.rule
    return request.path


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            record.path = loggable_path()
        else:
            record.request_id = "-"
            record.path = "-"
        return True


def configure(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(
        "ts=%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s path=%(path)s msg=%(message)s"
    ))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger("marketplace")
    if not any(getattr(h, "_balance", False) for h in root.handlers):
        handler._balance = True  # type: ignore[attr-defined]  # our marker on a stdlib handler (one per process)
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Werkzeug's access log prints query strings (may contain e-mail in ?next=…); keep it at warning in prod.
    if not app.debug:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    @app.before_request
    def _request_id() -> None:
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
