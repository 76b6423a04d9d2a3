"""The one error convention of the domains: a service that refuses an action raises a subclass of
``DomainError`` — its message is safe to show to the person, ``code`` names the rule that refused
(for views that answer differently, and for tests), ``field`` the form field it is about. Nothing
was changed when it is raised (services work in savepoints; they never roll back the request)."""
from __future__ import annotations


class DomainError(Exception):
    """A domain rule refused the action; ``message`` is shown to the person."""

    code: str = "refused"

    def __init__(self, message: str, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
