"""Responses that are the same for every visitor, served again before Flask runs.

A page cached for everyone and composed once for visitors (``templating.CachedPage``) is the same
bytes for every visitor who sends the same request: the same path and query, host and scheme, the
same time zone cookies, the same ``Accept-Encoding``, and no other cookie (no session: nobody
logged in, nothing to flash, no CSRF token). When a view offers such a response
(``offer_to_visitors``: the versions its page was made at, when its entry expires, and what to
count on every visit), this WSGI middleware keeps the finished response — status, headers
(security headers, ``Content-Encoding``, ``Vary``), body — in this process. The next such request
is answered from it after one check: the versions, read in one cache round trip as the view would
read them, are still those the page was made at (an edit in any process shows at once), and the
entry has not expired. What the view counts on every visit (featured cards shown) is counted on a
hit too. Anything else — another cookie, a changed version, a response that sets a cookie, any
status but 200 — goes to Flask as usual.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from flask import Flask, request

from marketplace.cache import Recent, versions
from marketplace.database import run_after_commit_callbacks
from marketplace.timeutil import TZ_CHOICE_COOKIE, TZ_COOKIE

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

OFFER = "balance.visitor_response"  # the environ key a view's offer travels in
SHARED_COOKIES = frozenset({TZ_COOKIE, TZ_CHOICE_COOKIE})  # the only cookies a shared response may be made for
MAX_RESPONSES = 256
MAX_KEY_PART = 2048  # longer query strings or headers are not kept

Replay = tuple[Callable[..., None], tuple[Any, ...]]


@dataclass(frozen=True)
class Offer:
    """What a view says of its response: made at ``names`` = ``at``, good until ``expires``
    (``cache.clock``), and ``replay``: the calls to make on every visit."""

    names: tuple[str, ...]
    at: tuple[int, ...]
    expires: float
    replay: tuple[Replay, ...] = ()


@dataclass(frozen=True)
class Kept:
    offer: Offer
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def offer_to_visitors(names: tuple[str, ...], at: tuple[int, ...], expires: float, replay: Iterable[Replay] = ()) -> None:
    """This request's response is the same for every visitor sending the same request (the caller
    checked: nobody logged in, nothing to flash); ``replay``: ``(function, args)`` to call on every
    visit, in an app context (counting)."""
    request.environ[OFFER] = Offer(names, at, expires, tuple(replay))


def count_visit(replay: Iterable[Replay]) -> None:
    """What a view counts on every visit (``offer_to_visitors``' ``replay``), for this one."""
    for function, args in replay:
        function(*args)


def request_key(environ: WSGIEnvironment) -> tuple[str, ...] | None:
    """What a shared response depends on, or None when this request is not a visitor's plain GET."""
    if environ.get("REQUEST_METHOD") != "GET" or "HTTP_AUTHORIZATION" in environ:
        return None
    zones = ("", "")
    raw_cookies = environ.get("HTTP_COOKIE", "")
    if raw_cookies:
        try:
            cookies = SimpleCookie(raw_cookies)
        except CookieError:
            return None
        if not cookies.keys() <= SHARED_COOKIES:
            return None
        zones = (cookies[TZ_COOKIE].value if TZ_COOKIE in cookies else "",
                 cookies[TZ_CHOICE_COOKIE].value if TZ_CHOICE_COOKIE in cookies else "")
    key = (environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", ""), environ.get("SCRIPT_NAME", ""),
           environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT_ENCODING", ""),
           *zones)
    if any(len(part) > MAX_KEY_PART for part in key):
        return None
    return key


class VisitorResponses:
    """The WSGI middleware (``install``): kept responses by ``request_key``, least recently used
    dropped first."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication, size: int = MAX_RESPONSES) -> None:
        self.app, self.wsgi_app, self.size = app, wsgi_app, size
        self.kept: Recent[tuple[str, ...], Kept] = Recent(size)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        key = request_key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        kept = self.kept.get(key)
        if kept is not None and self._still_current(kept.offer):
            start_response(kept.status, list(kept.headers))
            return [kept.body]
        return self._serve_and_keep(key, environ, start_response)

    def _still_current(self, offer: Offer) -> bool:
        """The page's versions unchanged (its expiry is the kept response's: ``Recent``); then count
        this visit."""
        with self.app.app_context():
            if versions(*offer.names) != offer.at:
                return False
            count_visit(offer.replay)
            run_after_commit_callbacks()
        return True

    def _serve_and_keep(self, key: tuple[str, ...], environ: WSGIEnvironment,
                        start_response: StartResponse) -> Iterable[bytes]:
        started: list[Any] = []

        def remember(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, remember)
        offer = environ.get(OFFER)
        if not isinstance(offer, Offer) or not started or not started[0].startswith("200 "):
            return body
        headers = tuple(started[1])
        if any(name.lower() == "set-cookie" for name, _value in headers):
            return body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        self.kept.put(key, Kept(offer, started[0], headers, data), offer.expires)
        return [data]


EXTENSION = "visitor_responses"


def install(app: Flask) -> None:
    """Serve kept visitor responses in front of the app (inside any proxy middleware added later)."""
    middleware = VisitorResponses(app, app.wsgi_app, int(app.config.get("VISITOR_RESPONSES", MAX_RESPONSES)))
    app.extensions[EXTENSION] = middleware
    if middleware.size > 0:
        # Flask's documented way to add WSGI middleware; its types declare wsgi_app a method.
        app.wsgi_app = middleware  # type: ignore[method-assign]


__all__ = ["OFFER", "Offer", "VisitorResponses", "count_visit", "install", "offer_to_visitors", "request_key"]
