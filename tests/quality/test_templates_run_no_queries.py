"""One composition pattern: views gather what a page shows (through each domain's public services
and the page-parts registry, ``marketplace.parts``); templates receive data and run no queries.

Every page of the quality walk is rendered with a SQLAlchemy ``before_cursor_execute`` listener
that fails the page when a statement runs while a Jinja template renders or its context is built
(a template global or context processor that queries, a lazy relationship a template touches, a
partial that loads its own data). The exceptions: the header's lazy parts (page "header",
``parts.running_lazy_part``) — pages cached for everyone are composed with the person's header on
each request, so its badges are computed when shown (usually loaded with the session's user) —
and the session's user itself, which Flask-Login loads on first use (its context processor).
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import jinja2
import pytest
from flask import render_template_string
from flask_login import LoginManager
from sqlalchemy import event, select

from marketplace.extensions import db
from marketplace.parts import HEADER, page_parts, running_lazy_part
from tests.quality.conftest import World, client_as, page_cases, page_url

# Pages of the walk whose parts come from later domains, besides MAIN_PAGES (admin tools on a profile).
EXTRA_PAGES = [("admin", "profile", lambda w: f"/specialists/{w.profile.slug}")]
CASES = [*(tuple(param.values) for param in page_cases()), *((role, name) for role, name, _ in EXTRA_PAGES)]


def _loading_the_user(frame: FrameType | None) -> bool:
    """Whether Flask-Login is loading the session's user (the person, needed by every page)."""
    while frame is not None:
        if frame.f_code is LoginManager._load_user.__code__:
            return True
        frame = frame.f_back
    return False


def _template_lines(frame: FrameType | None) -> list[str]:
    """Where in the templates the statement ran ("consultations/detail.html:5"), innermost first."""
    lines = []
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            lines.append(f"{template.name}:{template.get_corresponding_lineno(frame.f_lineno)}")
        frame = frame.f_back
    return lines


class QueriesInTemplates:
    """Statements run while a template renders (``Template.render``/``make_module``: render_template,
    the cached fragments, the person's parts) or while Flask builds a template's context (context
    processors), outside the header's lazy parts."""

    def __init__(self) -> None:
        self.depth = 0
        self.found: list[str] = []

    def rendering(self, func: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.depth += 1
            try:
                return func(*args, **kwargs)
            finally:
                self.depth -= 1
        return wrapped

    def on_query(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.depth and running_lazy_part.get() is None and not _loading_the_user(sys._getframe()):
            where = " ← ".join(_template_lines(sys._getframe())) or "a context processor"
            self.found.append(f"{' '.join(statement.split())[:90]}… in {where}")


@contextmanager
def queries_in_templates(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[QueriesInTemplates]:
    recorder = QueriesInTemplates()
    for name in ("render", "make_module"):
        monkeypatch.setattr(jinja2.Template, name, recorder.rendering(getattr(jinja2.Template, name)))
    monkeypatch.setattr(app, "update_template_context", recorder.rendering(app.update_template_context))
    event.listen(db.engine, "before_cursor_execute", recorder.on_query)
    try:
        yield recorder
    finally:
        event.remove(db.engine, "before_cursor_execute", recorder.on_query)


@pytest.fixture(scope="module")
def requests(quality_app: Any, world: World) -> dict[tuple[str, str], tuple[str, Any]]:
    """(role, page) -> (url, logged-in client), all built before any page is requested (each
    request then starts from an empty session, as in production)."""
    clients: dict[str, Any] = {}
    extra = {(role, name): path for role, name, path in EXTRA_PAGES}
    found = {}
    for role, name in CASES:
        url = extra[(role, name)](world) if (role, name) in extra else page_url(world, role, name)
        found[(role, name)] = url, clients.setdefault(role, client_as(quality_app, world.user(role)))
    db.session.commit()
    return found


@pytest.mark.parametrize(("role", "name"), CASES)
def test_no_template_runs_a_query(role: str, name: str, quality_app: Any, requests: dict[tuple[str, str], Any],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url, client = requests[(role, name)]
    db.session.close()  # nothing of the test's objects in the identity map: lazy loads show
    with queries_in_templates(quality_app, monkeypatch) as recorder:
        response = client.get(url)
    assert response.status_code == (404 if name == "not-found" else 200), url
    assert not recorder.found, f"{role} {url}: queries while rendering:\n  " + "\n  ".join(recorder.found)


def test_the_check_catches_a_querying_global_and_allows_the_lazy_header(quality_app: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The listener can fail: a template helper that queries is caught; the header's parts are not."""
    def count_users() -> Any:
        return db.session.scalar(select(1))

    monkeypatch.setitem(page_parts.pages.setdefault(HEADER, {}), "probe", lambda **_: count_users())
    with quality_app.test_request_context("/"), queries_in_templates(quality_app, monkeypatch) as recorder:
        render_template_string("{{ header.probe }}")
        assert recorder.found == []
        render_template_string("{{ count_users() }}", count_users=count_users)
    assert len(recorder.found) == 1 and "SELECT 1" in recorder.found[0]
