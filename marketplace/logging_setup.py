"""Structured (key=value) logs without personal data: no e-mails, bodies, notes or passwords."""
from __future__ import annotations

import logging
import re
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


class SecretPathFilter(logging.Filter):
    """For Werkzeug's access log (the development server's, with debug on): a path of a rule whose
    arguments are credentials is shown as its URL rule (``GET /calendar/<feed_token>.ics``), as in
    the app's own log lines (``loggable_path``)."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app
        self._rules: list[str] | None = None
        self._pattern: re.Pattern[str] | None = None

    def _compiled(self) -> re.Pattern[str] | None:
        if self._rules is None:  # built at the first log line, once every blueprint is registered
            self._rules = sorted({rule.rule for rule in self.app.url_map.iter_rules()
                                  if SECRET_PATH_ARGS & set(rule.arguments)})
            alternatives = [f"(?P<r{i}>" + "".join(r"[^/?#\s\"]+" if k % 2 else re.escape(piece)
                                                   for k, piece in enumerate(re.split(r"(<[^>]+>)", rule))) + ")"
                            for i, rule in enumerate(self._rules)]
            self._pattern = re.compile("|".join(alternatives)) if alternatives else None
        return self._pattern

    def filter(self, record: logging.LogRecord) -> bool:
        pattern = self._compiled()
        if pattern is None:
            return True
        message = record.getMessage()
        if pattern.search(message):
            rules = self._rules or []
            record.msg = pattern.sub(lambda m: rules[int(str(m.lastgroup)[1:])], message)
            record.args = ()
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
    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_log.filters = [f for f in werkzeug_log.filters if not isinstance(f, SecretPathFilter)]
    werkzeug_log.addFilter(SecretPathFilter(app))  # one per process: the last app's rules

    @app.before_request
    def _request_id() -> None:
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
