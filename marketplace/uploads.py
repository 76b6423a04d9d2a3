"""Request size limits per view: the app-wide ``MAX_CONTENT_LENGTH`` stays small, and a view that
takes a photo declares a larger body with ``@accepts_uploads(config_key)``.

Why: a body over the app-wide limit is refused before the form is read (a bare 413 page, every
unsaved edit lost). With the larger limit the form is read, and the photo's own size rule (the
domain's, e.g. ``MAX_PHOTO_BYTES``) answers as a field error beside the other fields as typed.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Request, current_app

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "_request_limit_config_key"


def accepts_uploads(config_key: str) -> Callable[[F], F]:
    """Let this view's requests carry up to ``app.config[config_key]`` bytes."""
    def mark(view: F) -> F:
        setattr(view, _ATTRIBUTE, config_key)
        return view
    return mark


class SizedRequest(Request):
    """Flask's request, with the body limit of the matched view (``accepts_uploads``)."""

    @property
    def max_content_length(self) -> int | None:
        if self.endpoint is not None:
            view = current_app.view_functions.get(self.endpoint)
            key = getattr(view, _ATTRIBUTE, None) if view is not None else None
            if key is not None:
                return int(current_app.config[key])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)  # type: ignore[attr-defined]
