"""Page parts: how a page of one domain shows a part owned by a later domain (imports run one way).

A page offers named places for parts; a later domain registers, at import time of its views, a
function that returns the data of its part (and the template that shows it), or None when there
is nothing to show::

    @page_parts.register("consultations.detail", "payment")
    def payment_part(consultation, viewer) -> Part | None: ...

The view of the page gathers them through the public service functions of those domains, before
rendering, and passes the result to the template, which includes each part with its data (and
runs no query)::

    parts = page_parts.gather("consultations.detail", consultation=c, viewer=current_user)
    {% for part in parts.values() if part %}{% include part.template %}{% endfor %}

The part's template reads ``part.data``. Every part function takes the page's context as keyword
arguments (and ignores what it does not need: ``**_``).

The header of every page (``_person.html``: the unread badge, the requests waiting) is the page
"header": it stays lazy, because pages cached for everyone are composed with the person's header
on each request (``templating.compose_page``). ``lazy_parts("header", user=…)`` (the one context
processor, ``register``) computes a part on first use in a request and keeps it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask
from flask_login import current_user

HEADER = "header"

PartFunction = Callable[..., Any]
F = TypeVar("F", bound=PartFunction)

# The lazy part being computed right now, if any (for logs, and for the test that templates run
# no queries: only lazy parts may query while a template renders).
running_lazy_part: ContextVar[str | None] = ContextVar("running_lazy_part", default=None)


@dataclass(frozen=True)
class Part:
    """A part of a page: the template that shows it and the data it reads (``part.data``)."""

    template: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class PageParts:
    """Part functions by page and name. Registering the same name twice keeps the last function
    (the registering modules are imported once; tests may re-register)."""

    pages: dict[str, dict[str, PartFunction]] = field(default_factory=dict)

    def register(self, page: str, name: str) -> Callable[[F], F]:
        """Decorator: ``func(**context)`` returns part ``name`` of ``page`` (a ``Part``, data, or None)."""
        def add(func: F) -> F:
            self.pages.setdefault(page, {})[name] = func
            return func
        return add

    def names(self, page: str) -> list[str]:
        return list(self.pages.get(page, {}))

    def gather(self, page: str, **context: Any) -> dict[str, Any]:
        """Every registered part of ``page`` for ``context``, by name (in registration order)."""
        return {name: func(**context) for name, func in self.pages.get(page, {}).items()}

    def lazy(self, page: str, **context: Any) -> LazyParts:
        """The parts of ``page``, each computed when first read (see ``LazyParts``)."""
        return LazyParts(self, page, context)


@dataclass
class LazyParts:
    """The parts of one page computed on first use and kept (``header.unread_messages``): a page
    that shows none of them (or a cached page without the person's header) computes nothing."""

    registry: PageParts
    page: str
    context: dict[str, Any]
    computed: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Any:
        if name not in self.computed:
            func = self.registry.pages.get(self.page, {}).get(name)
            if func is None:
                raise KeyError(f"no part {name!r} is registered for page {self.page!r}")
            with _running(f"{self.page}.{name}"):
                self.computed[name] = func(**self.context)
        return self.computed[name]


@contextmanager
def _running(name: str) -> Iterator[None]:
    token = running_lazy_part.set(name)
    try:
        yield
    finally:
        running_lazy_part.reset(token)


page_parts = PageParts()


def _header() -> dict[str, Any]:
    """The one context processor of the parts: the header's lazy parts for the person."""
    return {HEADER: page_parts.lazy(HEADER, user=current_user)}


def register(app: Flask) -> None:
    app.context_processor(_header)


__all__ = ["HEADER", "LazyParts", "PageParts", "Part", "page_parts", "register", "running_lazy_part"]
