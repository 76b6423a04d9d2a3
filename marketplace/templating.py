"""Jinja filters and globals shared by every template, and the means to cache pages shared by
everyone: ``render_fragment`` renders without anything of the person or request, leaving a
marker where a page shows such a part (``person_part``); ``compose_page`` fills the markers in
for the current request."""
from __future__ import annotations

import re
import secrets
from collections import ChainMap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NoReturn

from flask import Blueprint, Flask, current_app, g, has_request_context, request, session
from flask_login import current_user
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from marketplace import security, timeutil
from marketplace.cache import Entry, Recent, cached_at_versions, clock, is_shared, kept_columns
from marketplace.money import format_money
from marketplace.parts import HEADER, page_parts
from marketplace.text import render_markdown
from marketplace.visitor_responses import Replay, count_visit, offer_to_visitors


def localtime(dt: datetime | None, tz_name: str | None = None) -> str:
    """Plain text (titles, attributes); in a page's body use ``time_tag``."""
    return timeutil.format_datetime(dt, tz_name or timeutil.viewer_timezone())


TIME_STYLES: dict[str, Callable[[datetime, str], str]] = {
    "datetime": timeutil.format_datetime,  # 'Mon 7 Dec 2026, 09:30 CET (Europe/Berlin)'
    "date": timeutil.format_date,  # 'Monday 7 December 2026'
    "clock": timeutil.format_time,  # '09:30' (under a heading that names the zone)
}


def time_tag(dt: datetime | None, style: str = "datetime", tz_name: str | None = None) -> Markup:
    """Every time shown to a viewer: ``<time datetime="…Z" data-style data-zone>text</time>``, the
    text computed in ``tz_name`` (default: the viewer's zone) and carrying its instant, so
    static/js/localtime.js can show it in the browser's zone when the server did not know it."""
    if dt is None:
        return Markup("")
    tz = tz_name or timeutil.viewer_timezone()
    return Markup('<time datetime="{}" data-style="{}" data-zone="{}">{}</time>').format(
        timeutil.utc_instant(dt), style, tz, TIME_STYLES[style](dt, tz))


# What differs between people (or requests) and so must never end up in a cached fragment.
PERSONAL_GLOBALS = ("current_user", "csrf_token", "current_path", "request", "session", "g",
                    "get_flashed_messages", "header", "viewer_timezone", "viewer_zone")
FRAGMENT_ENV = "fragment_jinja_env"
PERSON_TEMPLATE = "_person.html"  # the parts of base.html that belong to the person or request
MARKER = re.compile(r"<!--person:([\w./-]+):(\w+):([0-9a-f]{32})-->")


class PersonalDataInFragment(RuntimeError):
    """A cached fragment's template used something that belongs to one person or request."""


class _Refused:
    """Stands in for a person-specific global while a fragment renders: any use raises."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PersonalDataInFragment(f"{self._name!r} is person-specific and must not be used in a cached fragment; "
                                     "pass what the fragment needs (and key the cache by it) or compose it per request")

    __call__ = __getattr__ = __getitem__ = __iter__ = __bool__ = __str__ = __html__ = _refuse


@pass_context
def person_part(context: Context, name: str, template: str = PERSON_TEMPLATE) -> Markup:
    """The part ``name`` (an exported variable) of ``template``, rendered with the page's context;
    the template renders once per page (``_person.html``: unread badge, account links, flashes…)."""
    modules = context.__dict__.setdefault("_person_modules", {})
    if template not in modules:
        modules[template] = person_module(context.environment, template, context.get_all())
    return Markup(modules[template][name])  # noqa: S704 (rendered with autoescape)


@pass_context
def _person_marker(context: Context, name: str, template: str = PERSON_TEMPLATE) -> Markup:
    """``person_part`` in a cached fragment: a marker that ``compose_page`` replaces per request.
    The nonce is new for every rendering, so no content can forge a marker."""
    nonce = context.get("shell_nonce")
    if not nonce:
        raise PersonalDataInFragment(f"person_part({name!r}) in a fragment rendered without a shell_nonce")
    return Markup(f"<!--person:{template}:{name}:{nonce}-->")  # noqa: S704


def new_shell_nonce() -> str:
    return secrets.token_hex(16)


def compose_page(shell: str, nonce: str, **context: Any) -> Markup:
    """A cached page (rendered by ``render_fragment`` with ``shell_nonce=nonce``) with its
    person parts rendered for this request; ``context`` is what those parts need besides the
    usual template context (current_user, request…)."""
    env = current_app.jinja_env
    current_app.update_template_context(context)
    modules: dict[str, Any] = {}
    page_state = context.get(PAGE_PERSON_STATE)
    kept_as = None if page_state is None else (nonce, page_state)

    def fill(match: re.Match[str]) -> str:
        template, name, found = match.groups()
        if found != nonce:
            return match.group(0)
        if template not in modules:
            modules[template] = person_module(env, template, context, kept_as)
        return str(modules[template][name])

    return Markup(MARKER.sub(fill, shell))  # noqa: S704 (both rendered with autoescape)


# --- the person's parts, rendered once per person, page and state -------------------------------

# What _person.html reads besides the app's globals, the person and the request: names of the page's
# context (tests/test_person_parts.py holds the template to this list).
PERSON_CONTEXT = ("hide_confirm_banner",)
PERSON_MODULES_PER_PROCESS = 4096
PERSON_MODULE_SECONDS = 300


class PersonModules(Recent[tuple[Any, ...], dict[str, str]]):
    """The exported parts of ``_person.html`` (account links, unread badge, time zone note…) by
    everything they are made of (``person_key``), kept in this process. The key holds every input,
    so an entry never goes stale: a new unread message, another role, zone or path is another key;
    entries expire only to free memory."""

    def __init__(self, size: int = PERSON_MODULES_PER_PROCESS, seconds: float = PERSON_MODULE_SECONDS) -> None:
        super().__init__(size)
        self.seconds = seconds

    def keep(self, key: tuple[Any, ...], parts: dict[str, str]) -> None:
        self.put(key, parts, clock() + self.seconds)


PERSON_MODULES = "person_modules"


def person_modules() -> PersonModules:
    """This app's ``PersonModules`` (made by ``register``)."""
    return current_app.extensions[PERSON_MODULES]


def _user_state(user: Any) -> tuple[Any, ...]:
    """Every column of the person's account row (role, confirmation, e-mail, zone…) but a secret
    one (``cache.kept_columns``)."""
    return tuple(getattr(user, name) for name in kept_columns(type(user)))


def _session_csrf() -> str | None:
    return session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def person_key(context: dict[str, Any]) -> tuple[Any, ...] | None:
    """Everything ``_person.html`` is made of for this request, or None when it must be rendered
    (messages to flash, which rendering consumes; no CSRF token in the session yet, which rendering
    creates): the account row, the header's parts (unread messages, requests waiting), the
    session's CSRF token, the path (Login and zone links come back to it), the zone and where it
    came from, and the page's ``PERSON_CONTEXT``."""
    if not has_request_context() or session.get("_flashes"):
        return None
    csrf = _session_csrf()
    user = current_user._get_current_object()
    if user.is_authenticated:
        if not csrf:
            return None
        header = context.get(HEADER)
        values = tuple(header[name] for name in page_parts.names(HEADER)) if header is not None else None
        person: tuple[Any, ...] = (_user_state(user), values)
    else:
        person = ()
    zone = timeutil.viewer_zone()
    return (person, csrf, request.full_path, zone.name, zone.source.value,
            *(context.get(name) for name in PERSON_CONTEXT))


# In a cached page's context: what its own person parts (e.g. the profile's buttons) depend on
# besides the cached entry (its nonce) and the person (``person_key``), or None when they must be
# rendered (``specialists.pages.ProfilePage``: kept only when no later domain has a part for this
# person there — no consultation with the specialist, not an admin).
PAGE_PERSON_STATE = "page_person_state"


def person_module(env: Environment, template: str, context: dict[str, Any],
                  kept_as: tuple[Any, ...] | None = None) -> dict[str, str]:
    """The exported variables of ``template`` rendered with ``context``; kept in ``person_modules``
    for ``_person.html`` (by ``person_key``), and for a cached page's own person template when the
    page says by what (``kept_as``: its entry's nonce and ``PAGE_PERSON_STATE``)."""
    if template == PERSON_TEMPLATE:
        key = person_key(context)
    elif kept_as is not None and (person := person_key(context)) is not None:
        key = (template, kept_as, person)
    else:
        key = None
    if key is None:
        return _render_module(env, template, context)
    kept, csrf = person_modules(), _session_csrf()
    parts = kept.get(key)
    if parts is None:
        parts = _render_module(env, template, context)
        if _session_csrf() == csrf:  # a CSRF token made while rendering is not shared
            kept.keep(key, parts)
    return parts


def _render_module(env: Environment, template: str, context: dict[str, Any]) -> dict[str, str]:
    module = env.get_template(template).make_module(context)
    return {name: str(value) for name, value in vars(module).items() if not name.startswith("_")}


# --- pages cached whole and shared by everyone ------------------------------------------------

PER_PROCESS_CACHE_SECONDS = 15  # see cache_seconds


def cache_seconds(seconds: int) -> int:
    """How long to keep a cached part: ``seconds`` when the cache is shared (Redis), at most
    ``PER_PROCESS_CACHE_SECONDS`` when every process has its own (the default SimpleCache), where a
    version bumped by one process does not reach the others."""
    if not is_shared():
        return min(seconds, PER_PROCESS_CACHE_SECONDS)
    return seconds


def cached_at_version(names: tuple[str, ...], key_for: Callable[..., str], produce: Callable[[], Any],
                      timeout: int) -> Entry:
    """``cache.cached_at_versions`` with the timeout bounded for a per-process cache (``cache_seconds``)."""
    return cached_at_versions(names, key_for, produce, cache_seconds(timeout))


VISITOR_PAGES_PER_ENTRY = 32  # paths (query strings) composed for visitors kept per cached page


def _same_for_every_visitor() -> bool:
    """Whether this request's person parts are those of any visitor on this path: nobody is logged
    in and no message is waiting to be flashed (the time zone is in the page's key; where it came
    from, which the footer says, is in the key of the composed page: ``_visitor_key``)."""
    return not current_user.is_authenticated and not session.get("_flashes")


def _visitor_key() -> str:
    """A visitor's person parts differ by path and by where their zone came from (the footer says
    so, and the browser script only re-renders times of a zone the person did not set)."""
    return f"{timeutil.viewer_zone().source.value}:{request.full_path}"


@dataclass(frozen=True)
class CachedPage:
    """A page rendered for everyone, with markers for the person's parts (``compose_page``)."""

    shell: str
    nonce: str
    featured_ids: tuple[int, ...] = ()  # featured cards on it, in page order
    visitor_pages: dict[str, Any] | None = None  # this process's pages composed for visitors, by path
    compressed: dict[str, bytes] | None = None  # … and their compressed forms (``SharedPageCompression``)
    entry: Entry | None = None  # the cache entry it came from (its versions and expiry)

    @classmethod
    def from_entry(cls, entry: Entry) -> CachedPage:
        value = entry.value
        return cls(value["shell"], value["nonce"], tuple(value.get("featured_ids", ())),
                   entry.memo.setdefault("visitor_pages", {}), entry.memo.setdefault("visitor_compressed", {}), entry)

    def response(self, **context: Any) -> Markup:
        """The page for this request: the person's parts filled in. For a visitor (not logged in,
        nothing to flash) they depend on the path only, so that page is composed once per process."""
        return self._respond(None, context)

    def response_counting(self, replay: Iterable[Replay]) -> Markup:
        """``response()`` for a view that counts every visit (``replay``: ``(function, args)``,
        e.g. the featured cards shown): counted now, and a visitor's response may be served again
        before Flask with the same counts (``visitor_responses``). (A view that counts elsewhere,
        in before-request hooks, uses ``response``: always served by Flask.)"""
        replay = tuple(replay)
        count_visit(replay)
        return self._respond(replay, {})

    def _respond(self, replay: Iterable[Replay] | None, context: dict[str, Any]) -> Markup:
        if self.visitor_pages is None or not _same_for_every_visitor():
            return compose_page(self.shell, self.nonce, **context)
        key = _visitor_key()
        page = self.visitor_pages.get(key)
        if page is None:
            page = compose_page(self.shell, self.nonce, **context)
            if len(self.visitor_pages) < VISITOR_PAGES_PER_ENTRY:
                self.visitor_pages[key] = page
        if key in self.visitor_pages and self.compressed is not None:  # the same bytes for every visitor:
            g.compressed_with = (self.compressed, key)  # compressed once too
        if key in self.visitor_pages and replay is not None and self.entry is not None:
            offer_to_visitors(self.entry.names, self.entry.at, self.entry.expires, replay)
        return page


# --- compressed once per shared page ------------------------------------------------------------

class SharedPageCompression:
    """Flask-Compress's cache (``COMPRESS_CACHE_BACKEND`` / ``COMPRESS_CACHE_KEY``): a page composed
    once for every visitor (``CachedPage.response``) keeps its compressed forms beside it, in the
    same per-process memo, so it is compressed once per algorithm instead of on every request. Any
    other response (a logged-in person's, an uncached page) is compressed as it goes: nothing is
    kept for it."""

    @staticmethod
    def key(_request: Any) -> str:
        shared = g.get("compressed_with")
        return "" if shared is None else shared[1]

    def get(self, key: str) -> bytes | None:
        shared = g.get("compressed_with")
        if shared is None or not key.endswith(";" + shared[1]):
            return None
        return shared[0].get(key)

    def set(self, key: str, value: bytes) -> None:
        shared = g.get("compressed_with")
        if shared is not None and key.endswith(";" + shared[1]):
            shared[0][key] = value


def render_page_shell(template: str, **context: Any) -> dict[str, Any]:
    """``template`` rendered for everyone (``render_fragment``) with markers for the person's parts:
    ``{"shell": …, "nonce": …}``, to cache and later give to ``CachedPage``."""
    nonce = new_shell_nonce()
    return {"shell": str(render_fragment(template, shell_nonce=nonce, **context)), "nonce": nonce}


def fragment_environment() -> Environment:
    """The app's Jinja environment without person-specific globals (one per app, built lazily
    so every blueprint's globals and filters are there)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    env = app.extensions.get(FRAGMENT_ENV)
    if env is None:
        env = app.jinja_env.overlay(cache_size=100)  # its own template cache: templates bind their globals
        refused: dict[str, Any] = {name: _Refused(name) for name in PERSONAL_GLOBALS}
        env.globals = ChainMap({**refused, "person_part": _person_marker}, app.jinja_env.globals)
        env = app.extensions.setdefault(FRAGMENT_ENV, env)  # two threads may build one: keep the first
    return env


def render_fragment(template_name: str, **context: Any) -> Markup:
    """Render a part of a page that is cached and shown to everyone.

    Unlike ``render_template`` no context processors run (no ``current_user``, CSRF token, flash
    messages), and the person-specific globals raise ``PersonalDataInFragment``: whatever the
    fragment depends on is passed in ``context``, so the caller can key the cache by it.
    """
    return Markup(fragment_environment().get_template(template_name).render(**context))  # noqa: S704 (autoescaped)


def page_path() -> str:
    """The path of this page (the main navigation marks its section): the same for every request
    that a cached page is shared by, so allowed in fragments."""
    return request.path if has_request_context() else ""


def expose_enums(bp: Blueprint, *enums: type[Enum]) -> None:
    """Make ``enums`` template globals under their class names, so that templates compare by
    identity (``c.state is sameas ConsultationState.REQUESTED``), never by a value's spelling.
    Called once by the domain that owns the enums (in its views module)."""
    for enum_cls in enums:
        bp.add_app_template_global(enum_cls, enum_cls.__name__)


def register(app: Flask) -> None:
    app.extensions[PERSON_MODULES] = PersonModules()
    app.jinja_env.filters.update(
        localtime=localtime,
        localclock=lambda dt, tz=None: timeutil.format_time(dt, tz or timeutil.viewer_timezone()),
        localdate=lambda dt, tz=None: timeutil.format_date(dt, tz or timeutil.viewer_timezone()),
        timetag=time_tag,
        money=format_money,
        markdown=render_markdown,
    )
    app.jinja_env.globals.update(
        viewer_timezone=timeutil.viewer_timezone,
        viewer_zone=timeutil.viewer_zone,
        prompts=security,
        # A global (not a context variable) so macros imported without context can use it.
        current_path=security.current_path,
        person_part=person_part,
        page_path=page_path,
        ZoneSource=timeutil.ZoneSource,  # zone.source is sameas ZoneSource.ACCOUNT
    )
