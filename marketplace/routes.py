"""Routes a domain declares for a blueprint that a later layer owns.

A domain's admin pages (``<domain>/admin_views.py``) are served under /admin by the admin blueprint,
but the admin area builds on every domain, so no domain imports it. The domain collects its pages in
a ``RouteTable``::

    pages = RouteTable()

    @pages.route("/moderation")
    def moderation() -> ResponseReturnValue: ...

and the factory (``marketplace/blueprints.py``) adds them to the admin blueprint, where they get its
admins-only check and their ``admin.<view name>`` endpoints.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint

View = TypeVar("View", bound=Callable[..., Any])


@dataclass
class RouteTable:
    routes: list[tuple[str, str | None, Callable[..., Any], dict[str, Any]]] = field(default_factory=list)
    added_to: list[Blueprint] = field(default_factory=list)

    def route(self, rule: str, *, endpoint: str | None = None, **options: Any) -> Callable[[View], View]:
        """Like ``Blueprint.route``: the view is added with its blueprint's name as prefix."""
        def register(view: View) -> View:
            self.routes.append((rule, endpoint, view, options))
            return view
        return register

    def add_to(self, blueprint: Blueprint) -> None:
        """Add every route to ``blueprint``, once (a blueprint takes no routes after its first registration
        with an app, and the factory runs for every app)."""
        if any(known is blueprint for known in self.added_to):
            return
        for rule, endpoint, view, options in self.routes:
            blueprint.add_url_rule(rule, endpoint, view, **options)
        self.added_to.append(blueprint)
