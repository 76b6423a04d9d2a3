"""Authorization matrix: every route × role × method against ONE declared table.

* Every rule of ``app.url_map`` (except ``static``) must have an entry in ``MATRIX``; a new route
  without one fails ``test_every_route_has_an_entry`` *and* its own cases (the message names it).
* For each rule, each role (visitor, client, other client, specialist, other specialist, admin)
  and each of GET/POST the rule accepts, the response must match the declared outcome.
* POSTs are sent empty (no form fields), each on a fresh world, so an allowed role sees a
  validation answer (or a harmless success); a denied POST must leave the database unchanged.
* Runs on SQLite only: the subject is the permission logic, not the database.

Outcomes are small objects (``OK``, ``TO_LOGIN``, ``FORBIDDEN``, ``NOT_FOUND``, ``prompt(...)``…)
and access patterns combine them per role (``public``, ``login``, ``gated``, ``owners``,
``admin_only``, ``roles_only``). Adding a route = adding one line.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from marketplace import create_app
from marketplace.extensions import db
from marketplace.security import (
    PROMPT_BOOKING,
    PROMPT_CONTACT,
    PROMPT_MESSAGE,
    PROMPT_QUESTION,
    PROMPT_SPECIALIST_PROFILE,
)
from tests.conftest import require
from tests.quality.conftest import LOGGED_IN, ROLES, World, WriteRecorder, build_world, client_as, row_counts

pytestmark = pytest.mark.xdist_group("quality_matrix")


# --- outcomes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    codes: frozenset[int]
    location: str | None = None  # redirect path (query ignored); "/x*" = any path starting with /x
    contains: str | None = None  # body must contain this text
    name: str = ""

    def problem(self, response: Any) -> str | None:
        if response.status_code not in self.codes:
            return f"status {response.status_code}, expected {sorted(self.codes)} ({self.name})"
        if self.location is not None:
            target = response.headers.get("Location", "")
            path = target.split("://", 1)[-1]
            path = path[path.find("/"):] if "://" in target else target
            path = path.split("?", 1)[0]
            ok = path.startswith(self.location[:-1]) if self.location.endswith("*") else path == self.location
            if not ok:
                return f"redirected to {target!r}, expected {self.location!r} ({self.name})"
        if self.contains is not None and self.contains not in response.get_data(as_text=True):
            return f"body lacks {self.contains!r} ({self.name})"
        return None

    @property
    def denied(self) -> bool:
        """A refusal: nothing may have been written."""
        return self.name in {"TO_LOGIN", "FORBIDDEN", "NOT_FOUND", "PROMPT", "NOT_ALLOWED", "REFUSED"}

    @property
    def rolls_back(self) -> bool:
        """Only error statuses: the unit of work rolls the request back."""
        return all(code >= 400 for code in self.codes)


def expect(*codes: int, name: str = "", location: str | None = None, contains: str | None = None) -> Expect:
    return Expect(frozenset(codes), location, contains, name or "/".join(map(str, codes)))


OK = expect(200, name="OK")
REDIRECT = expect(302, name="REDIRECT")
TO_LOGIN = expect(302, location="/auth/login", name="TO_LOGIN")
TO_HOME = expect(302, location="/", name="TO_HOME")
FORBIDDEN = expect(403, name="FORBIDDEN")
NOT_FOUND = expect(404, name="NOT_FOUND")
NOT_ALLOWED = expect(405, name="NOT_ALLOWED")
INVALID = expect(400, 422, name="INVALID")  # empty POST from an allowed role: a validation answer
BAD_REQUEST = expect(400, name="BAD_REQUEST")
REFUSED = expect(403, 409, 422, name="REFUSED")  # may see it, may not do it: refused with a message


def prompt(text: str) -> Expect:
    """A visitor on a gated action: 200 page carrying the seed prompt."""
    return Expect(frozenset({200}), None, text, "PROMPT")


def redirect_to(path: str) -> Expect:
    return expect(302, location=path, name=f"REDIRECT {path}")


# --- access patterns: role -> outcome -------------------------------------------------------------

Access = dict[str, Expect]


def everyone(outcome: Expect) -> Access:
    return {role: outcome for role in ROLES}


def public(ok: Expect = OK) -> Access:
    return everyone(ok)


def login(ok: Expect = OK) -> Access:
    """Any logged-in user; visitors are sent to the login page."""
    return {"visitor": TO_LOGIN, **{role: ok for role in LOGGED_IN}}


def gated(text: str, ok: Expect = OK) -> Access:
    """Any logged-in user; visitors see the seed prompt."""
    return {"visitor": prompt(text), **{role: ok for role in LOGGED_IN}}


def roles_only(allowed: set[str], ok: Expect = OK, denied: Expect = FORBIDDEN, visitor: Expect = TO_LOGIN) -> Access:
    return {"visitor": visitor, **{role: ok if role in allowed else denied for role in LOGGED_IN}}


def owners(allowed: set[str], ok: Expect = OK, denied: Expect = NOT_FOUND, visitor: Expect = TO_LOGIN) -> Access:
    """Only the participants/owners; everyone else gets 404 (existence not revealed)."""
    return roles_only(allowed, ok, denied, visitor)


def admin_only(ok: Expect = OK) -> Access:
    return roles_only({"admin"}, ok)


def override(access: Access, **roles: Expect) -> Access:
    return {**access, **roles}


CLIENT_AND_SPECIALIST = {"client", "specialist"}  # the two participants of the world's objects
SPECIALISTS = {"specialist", "other_specialist"}
CLIENTS = {"client", "other_client"}


@dataclass
class Route:
    """One row of the table: how to build the URL and what each role gets per method."""

    GET: Access | None = None
    POST: Access | None = None
    url: Callable[[World], str] | None = None  # needed when the rule has parameters
    data: Callable[[World], dict[str, Any]] | None = None  # POST body (default: empty)
    xfail: dict[tuple[str, str], str] = field(default_factory=dict)  # (method, role) -> "bug: …"
    note: str = ""

    def outcome(self, method: str) -> Access | None:
        return getattr(self, method)


# --- THE table ------------------------------------------------------------------------------------

MOVED = expect(301, name="MOVED")
ANSWER = {"body": "Talking to someone you trust is a good first step."}  # valid: authz is checked after validation

# Forms filled from an object (obj=…) keep its values for fields that are absent, so blank them.
BLANK_ACCOUNT = {"display_name": "", "email": "", "timezone": ""}

MATRIX: dict[str, Route] = {
    # --- main
    "/": Route(GET=public()),
    "/free-consultation": Route(GET=public()),
    "/healthz": Route(GET=public()),
    "/ping": Route(GET=public()),
    "/favicon.ico": Route(GET=public()),
    # --- auth: logged-in users are sent on (safe next / home)
    "/auth/signup": Route(GET=override(everyone(TO_HOME), visitor=OK),
                          POST=override(everyone(TO_HOME), visitor=INVALID)),
    "/auth/login": Route(GET=override(everyone(TO_HOME), visitor=OK),
                         POST=override(everyone(TO_HOME), visitor=INVALID)),
    "/auth/logout": Route(POST=everyone(TO_HOME)),
    "/auth/reset": Route(GET=public(), POST=everyone(INVALID)),
    "/auth/reset/<token>": Route(GET=public(), POST=everyone(INVALID), url=lambda w: f"/auth/reset/{w.reset_token}",
                                 note="the token is the credential: anyone holding it may use it"),
    "/auth/confirm/<token>": Route(GET=public(), POST=public(), url=lambda w: f"/auth/confirm/{w.confirm_token}",
                                   note="the link is the credential; the world's is used: 'already used', nothing changes"),
    "/auth/confirm/resend": Route(POST=login(redirect_to("/account")),
                                  note="to the poster's own address only; confirmed accounts get nothing"),
    # --- account
    "/account": Route(GET=login(), POST=login(INVALID), data=lambda w: BLANK_ACCOUNT),
    "/account/password": Route(POST=login(INVALID)),
    "/account/export": Route(GET=login()),
    "/account/delete": Route(POST=login(INVALID)),
    "/account/time-zone": Route(GET=public(), POST=everyone(INVALID),
                                note="the zone chooser: a visitor's choice is a cookie, a person's their account"),
    "/account/sessions/end": Route(POST=login(redirect_to("/auth/login")),
                                   note="ends every session of the poster's own account, nobody else's"),
    # --- specialists
    "/specialists": Route(GET=public()),
    "/specialists/<slug>": Route(GET=public(), url=lambda w: f"/specialists/{w.profile.slug}"),
    "/specialists/photos/<filename>": Route(GET=everyone(NOT_FOUND), url=lambda w: "/specialists/photos/nope.jpg",
                                            note="no photo in the world: a missing file is a 404 for everyone"),
    "/specialists/new": Route(  # a client becomes a specialist; a specialist is sent to the editor
        GET=override(gated(PROMPT_SPECIALIST_PROFILE), specialist=REDIRECT, other_specialist=REDIRECT),
        POST=override(gated(PROMPT_SPECIALIST_PROFILE, REDIRECT), admin=FORBIDDEN)),
    "/specialists/me/edit": Route(GET=roles_only(SPECIALISTS), POST=roles_only(SPECIALISTS, INVALID)),
    "/specialists/me/publish": Route(POST=roles_only(SPECIALISTS, REDIRECT)),
    "/specialists/me/unpublish": Route(POST=roles_only(SPECIALISTS, REDIRECT)),
    "/specialists/me/consultations": Route(GET=roles_only(SPECIALISTS, redirect_to("/consultations"))),
    "/specialists/me/stats": Route(GET=roles_only(SPECIALISTS)),
    "/specialists/me/calendar": Route(GET=roles_only(SPECIALISTS),
                                      note="the week calendar of the viewer's own profile: nobody else's"),
    "/specialists/me/earnings": Route(GET=roles_only(SPECIALISTS),
                                      note="the specialist's own earnings (always their own: no id in the URL)"),
    "/specialists/me/earnings.csv": Route(GET=roles_only(SPECIALISTS)),
    "/specialists/me/clients": Route(GET=roles_only(SPECIALISTS)),
    "/specialists/me/clients/<int:client_id>": Route(
        GET=owners({"specialist"}), POST=owners({"specialist"}, REDIRECT),
        url=lambda w: f"/specialists/me/clients/{w.consultation.client_id}",
        note="the client's page and private note: their specialist only (the other specialist, the admin and the "
             "client themself get 404)"),
    "/specialists/me/availability": Route(GET=roles_only(SPECIALISTS)),
    "/specialists/me/availability/rules": Route(POST=roles_only(SPECIALISTS, INVALID)),
    "/specialists/me/availability/overrides": Route(POST=roles_only(SPECIALISTS, INVALID)),
    "/specialists/me/availability/settings": Route(POST=roles_only(SPECIALISTS, INVALID)),
    "/specialists/me/availability/rules/<int:rule_id>": Route(
        POST=override(roles_only({"specialist"}, INVALID), other_specialist=NOT_FOUND),
        url=lambda w: f"/specialists/me/availability/rules/{w.availability_rule.id}"),
    "/specialists/me/availability/rules/<int:rule_id>/delete": Route(
        POST=override(roles_only({"specialist"}, REDIRECT), other_specialist=NOT_FOUND),
        url=lambda w: f"/specialists/me/availability/rules/{w.availability_rule.id}/delete"),
    "/specialists/me/availability/calendars": Route(POST=roles_only(SPECIALISTS, INVALID)),
    "/specialists/me/availability/calendars/<int:calendar_id>/delete": Route(
        POST=override(roles_only({"specialist"}, REDIRECT), other_specialist=NOT_FOUND),
        url=lambda w: f"/specialists/me/availability/calendars/{w.external_calendar.id}/delete",
        note="another specialist's calendar is a 404 (existence not revealed)"),
    "/specialists/me/availability/overrides/<int:override_id>/delete": Route(
        POST=override(roles_only({"specialist"}, REDIRECT), other_specialist=NOT_FOUND),
        url=lambda w: f"/specialists/me/availability/overrides/{w.availability_override.id}/delete"),
    # --- consultations (the world's consultation: client with specialist, requested, in the future)
    "/specialists/<slug>/book": Route(GET=gated(PROMPT_BOOKING), POST=gated(PROMPT_BOOKING, INVALID),
                                      url=lambda w: f"/specialists/{w.other_profile.slug}/book"),
    # --- the waitlist (the world's entry and held time: the client's, with the other specialist)
    "/specialists/<slug>/waitlist": Route(
        POST=gated(PROMPT_BOOKING, REDIRECT), url=lambda w: f"/specialists/{w.other_profile.slug}/waitlist",
        note="joins, or is refused with a message on the booking page (not a client, already waiting)"),
    "/waitlist/<int:entry_id>/leave": Route(POST=owners({"client"}, REDIRECT),
                                            url=lambda w: f"/waitlist/{w.waitlist_entry.id}/leave"),
    "/waitlist/offers/<token>": Route(
        GET=owners({"client"}, visitor=prompt(PROMPT_BOOKING)),
        POST=owners({"client"}, INVALID, visitor=prompt(PROMPT_BOOKING)),
        url=lambda w: f"/waitlist/offers/{w.waitlist_token}", note="the claim link: its client only"),
    "/consultations": Route(GET=login()),
    "/consultations/agenda": Route(
        GET=override(login(), specialist=redirect_to("/specialists/me/calendar"),
                     other_specialist=redirect_to("/specialists/me/calendar")),
        note="the viewer's own consultations week by week; a specialist's are in their calendar"),
    "/consultations/<int:consultation_id>": Route(
        GET=owners(CLIENT_AND_SPECIALIST | {"admin"}, visitor=NOT_FOUND),
        url=lambda w: f"/consultations/{w.consultation.id}", note="admins may look (support), visitors get 404"),
    "/consultations/<int:consultation_id>.ics": Route(
        GET=owners(CLIENT_AND_SPECIALIST, visitor=NOT_FOUND), url=lambda w: f"/consultations/{w.consultation.id}.ics",
        note="participants only, not even admins: the invitation carries meeting details"),
    "/calendar/subscription": Route(GET=login(redirect_to("/consultations")), POST=login(OK),
                                    note="makes or replaces the poster's own feed link, shown once on the answer"),
    "/calendar/<feed_token>.ics": Route(GET=public(), url=lambda w: f"/calendar/{w.feed_token}.ics",
                                        note="a calendar app holds no session: the token is the credential"),
    # Participants (and admins, who may look) without the permission for an action are REFUSED with a message.
    "/consultations/<int:consultation_id>/cancel": Route(
        POST=override(owners(CLIENT_AND_SPECIALIST, REDIRECT), admin=REFUSED),
        data=lambda w: {"reason": "Plans changed"},
        url=lambda w: f"/consultations/{w.consultation.id}/cancel"),
    "/consultations/<int:consultation_id>/confirm": Route(
        POST=override(owners({"specialist"}, REDIRECT), client=REFUSED, admin=REFUSED),
        url=lambda w: f"/consultations/{w.consultation.id}/confirm"),
    "/consultations/<int:consultation_id>/complete": Route(  # not started yet: refused even for the specialist
        POST=override(owners({"specialist"}, REFUSED), client=REFUSED, admin=REFUSED),
        data=lambda w: {"confirm": "y"}, url=lambda w: f"/consultations/{w.consultation.id}/complete"),
    "/consultations/<int:consultation_id>/no-show": Route(
        POST=override(owners({"specialist"}, REFUSED), client=REFUSED, admin=REFUSED),
        data=lambda w: {"confirm": "y"}, url=lambda w: f"/consultations/{w.consultation.id}/no-show"),
    "/consultations/<int:consultation_id>/report-no-show": Route(  # requested, not started: refused for its client
        POST=override(owners({"client"}, REFUSED), specialist=REFUSED, admin=REFUSED),
        data=lambda w: {"confirm": "y"}, url=lambda w: f"/consultations/{w.consultation.id}/report-no-show"),
    "/consultations/<int:consultation_id>/outcome": Route(
        POST=override(owners({"specialist"}, INVALID), client=REFUSED, admin=REFUSED),
        data=lambda w: {"outcome": "proceed", "confirm": "y"},
        url=lambda w: f"/consultations/{w.consultation.id}/outcome"),
    "/consultations/<int:consultation_id>/video-link": Route(  # the specialist of this video consultation only
        POST=override(owners({"specialist"}, REDIRECT), client=REFUSED, admin=REFUSED),
        data=lambda w: {"video_link": "https://meet.example.org/just-this-one"},
        url=lambda w: f"/consultations/{w.consultation.id}/video-link"),
    "/consultations/<int:consultation_id>/undo": Route(  # nothing recorded yet: refused even for the specialist
        POST=override(owners({"specialist"}, REFUSED), client=REFUSED, admin=REFUSED),
        url=lambda w: f"/consultations/{w.consultation.id}/undo"),
    "/consultations/<int:consultation_id>/reschedule": Route(  # only the client reschedules; others are sent back
        GET=override(owners({"client"}), specialist=REDIRECT, admin=REDIRECT),
        POST=override(owners({"client"}, INVALID), specialist=REDIRECT, admin=REDIRECT),
        url=lambda w: f"/consultations/{w.consultation.id}/reschedule"),
    # --- payments (disabled in tests: no Stripe keys; the world has one pending paid session)
    "/payments/book/<slug>": Route(GET=gated(PROMPT_BOOKING), POST=gated(PROMPT_BOOKING),
                                   url=lambda w: f"/payments/book/{w.profile.slug}",
                                   note="with payments disabled everyone sees 'Payments are not enabled'"),
    "/payments/series/<slug>": Route(GET=gated(PROMPT_BOOKING), POST=gated(PROMPT_BOOKING),
                                     url=lambda w: f"/payments/series/{w.profile.slug}",
                                     note="with payments disabled everyone sees 'Payments are not enabled'"),
    "/payments/series/saved": Route(
        GET=owners({"client"}), url=lambda w: f"/payments/series/saved?session_id={w.series.provider_checkout_id}"),
    "/payments/series/<int:series_id>/sessions": Route(
        GET=owners(CLIENT_AND_SPECIALIST), url=lambda w: f"/payments/series/{w.series.id}/sessions"),
    "/payments/series/sessions/<int:consultation_id>/new-card": Route(  # its client only; nothing declined
        POST=owners({"client"}, REDIRECT), url=lambda w: f"/payments/series/sessions/{w.consultation.id}/new-card",
        note="the client is sent back to the session with 'no declined payment'; only the client pays for it"),
    "/payments/series/sessions/<int:consultation_id>/retry-charge": Route(  # its client only; nothing declined
        POST=owners({"client"}, REDIRECT), url=lambda w: f"/payments/series/sessions/{w.consultation.id}/retry-charge",
        note="the client is sent back to the session with 'no declined payment'; only the client pays for it"),
    "/payments/checkout/<int:payment_id>": Route(  # the specialist / an admin are sent to the booking page
        GET=override(owners({"client"}, expect(302, 303, name="TO_CHECKOUT")),
                     specialist=redirect_to("/payments/book/*"), admin=redirect_to("/payments/book/*")),
        url=lambda w: f"/payments/checkout/{w.payment.id}"),
    "/payments/checkout/<int:payment_id>/cancelled": Route(
        GET=owners({"client", "specialist", "admin"}, redirect_to("/consultations/*")),
        url=lambda w: f"/payments/checkout/{w.payment.id}/cancelled"),
    "/payments/success": Route(
        GET=owners({"client"}), url=lambda w: f"/payments/success?session_id={w.payment.provider_checkout_id}"),
    "/payments/webhook": Route(POST=everyone(BAD_REQUEST), note="unsigned: refused before anything is read"),
    "/payments/webhooks/<provider_name>": Route(POST=everyone(BAD_REQUEST), url=lambda w: "/payments/webhooks/stripe",
                                                note="the Stripe provider's URL; unsigned: refused"),
    # --- messaging (visitors see the prompt; only the two participants see a conversation)
    "/messages": Route(GET=gated(PROMPT_MESSAGE)),
    "/messages/<int:conversation_id>": Route(
        GET=owners(CLIENT_AND_SPECIALIST, visitor=prompt(PROMPT_MESSAGE)),
        POST=owners(CLIENT_AND_SPECIALIST, ok=INVALID, visitor=prompt(PROMPT_MESSAGE)),
        url=lambda w: f"/messages/{w.conversation.id}"),
    "/messages/new": Route(  # to a specialist nobody has written to yet
        GET=roles_only(CLIENTS, visitor=prompt(PROMPT_MESSAGE)),
        POST=roles_only(CLIENTS, ok=INVALID, visitor=prompt(PROMPT_MESSAGE)),
        url=lambda w: f"/messages/new?to={w.other_profile.slug}",
        note="specialists may not write to specialists, admins not at all (403 page with the reason)"),
    # --- questions
    "/questions": Route(GET=public()),
    "/questions/new": Route(GET=roles_only(CLIENTS, visitor=prompt(PROMPT_QUESTION)),
                            POST=roles_only(CLIENTS, ok=INVALID, visitor=prompt(PROMPT_QUESTION))),
    "/questions/<int:question_id>": Route(GET=everyone(MOVED), url=lambda w: f"/questions/{w.question.id}"),
    "/questions/<int:question_id>-<slug>": Route(GET=public(),
                                                 url=lambda w: f"/questions/{w.question.id}-{w.question.slug}"),
    "/questions/<int:question_id>/answers": Route(POST=roles_only(SPECIALISTS, ok=REDIRECT), data=lambda w: ANSWER,
                                                  url=lambda w: f"/questions/{w.question.id}/answers",
                                                  note="any published specialist may answer"),
    "/questions/report/<any(question, answer):target_type>/<int:target_id>": Route(
        POST=login(REDIRECT), data=lambda w: {"reason": "spam"},
        url=lambda w: f"/questions/report/answer/{w.answer.id}"),
    # --- articles (written by the verified specialist of the world)
    "/articles": Route(GET=public()),
    "/articles/new": Route(GET=roles_only(SPECIALISTS | {"admin"}), POST=roles_only(SPECIALISTS | {"admin"}, INVALID)),
    "/articles/<slug>": Route(GET=public(), url=lambda w: f"/articles/{w.article.slug}"),
    "/articles/<slug>/edit": Route(GET=roles_only({"specialist", "admin"}),
                                   POST=roles_only({"specialist", "admin"}, INVALID),
                                   data=lambda w: {"title": "", "summary": "", "body": ""},
                                   url=lambda w: f"/articles/{w.article.slug}/edit",
                                   note="published article: others get 403 (it is visible, just not theirs)"),
    "/articles/<slug>/<any(publish, unpublish):action>": Route(
        POST=roles_only({"specialist", "admin"}, REDIRECT), url=lambda w: f"/articles/{w.article.slug}/unpublish"),
    # --- contact
    "/contact": Route(GET=gated(PROMPT_CONTACT), POST=gated(PROMPT_CONTACT, INVALID)),
    # --- featured
    "/campaign": Route(GET=public()),
    # --- admin (the blueprint refuses non-admins before any view runs)
    "/admin": Route(GET=admin_only()),
    "/admin/audit": Route(GET=admin_only()),
    "/admin/stats": Route(GET=admin_only()),
    "/admin/contact": Route(GET=admin_only()),
    "/admin/contact/<int:message_id>/handled": Route(POST=admin_only(REDIRECT),
                                                     url=lambda w: f"/admin/contact/{w.contact_message.id}/handled"),
    "/admin/no-shows": Route(GET=admin_only()),
    "/admin/no-shows/<int:report_id>/review": Route(
        POST=admin_only(REDIRECT), url=lambda w: f"/admin/no-shows/{w.no_show_report.id}/review"),
    "/admin/moderation": Route(GET=admin_only()),
    "/admin/moderation/<any(question, answer):target_type>/<int:target_id>/<any(hide, restore):action>": Route(
        POST=admin_only(REDIRECT), url=lambda w: f"/admin/moderation/question/{w.question.id}/hide"),
    "/admin/moderation/reports/<int:report_id>/dismiss": Route(
        POST=admin_only(REDIRECT), url=lambda w: f"/admin/moderation/reports/{w.report.id}/dismiss"),
    "/admin/verification": Route(GET=admin_only()),
    "/admin/verification/<int:profile_id>/approve": Route(
        POST=admin_only(REDIRECT), url=lambda w: f"/admin/verification/{w.other_profile.id}/approve"),
    "/admin/verification/<int:profile_id>/reject": Route(
        POST=admin_only(REDIRECT), data=lambda w: {f"p{w.other_profile.id}-reason": "Licence not found."},
        url=lambda w: f"/admin/verification/{w.other_profile.id}/reject"),
    "/admin/verification/<int:profile_id>/revoke": Route(
        POST=admin_only(REDIRECT), data=lambda w: {"reason": "The licence lapsed.", "consultations": "keep"},
        url=lambda w: f"/admin/verification/{w.other_profile.id}/revoke"),
    "/admin/payments": Route(GET=admin_only()),
    "/admin/payments/<int:payment_id>/retry-refund": Route(
        POST=admin_only(REDIRECT), url=lambda w: f"/admin/payments/{w.payment.id}/retry-refund"),
    "/admin/featured": Route(GET=admin_only()),
    "/admin/featured/new": Route(GET=admin_only(), POST=admin_only(INVALID)),
    "/admin/featured/<int:campaign_id>": Route(GET=admin_only(), POST=admin_only(INVALID),
                                               url=lambda w: f"/admin/featured/{w.campaign.id}"),
    "/admin/featured/<int:campaign_id>/entries": Route(
        POST=admin_only(REDIRECT), url=lambda w: f"/admin/featured/{w.campaign.id}/entries",
        data=lambda w: {"profile_id": w.other_profile.id}),
    "/admin/featured/<int:campaign_id>/entries/<int:entry_id>/move": Route(
        POST=admin_only(REDIRECT), data=lambda w: {"direction": "down"},
        url=lambda w: f"/admin/featured/{w.campaign.id}/entries/{w.featured_entry.id}/move"),
    "/admin/featured/<int:campaign_id>/entries/<int:entry_id>/remove": Route(
        POST=admin_only(REDIRECT),
        url=lambda w: f"/admin/featured/{w.campaign.id}/entries/{w.featured_entry.id}/remove"),
    "/admin/featured/<int:campaign_id>/order": Route(
        POST=admin_only(REDIRECT), url=lambda w: f"/admin/featured/{w.campaign.id}/order",
        data=lambda w: {"order": str(w.featured_entry.id)}),
}

# Prompts referenced so far (kept importable for entries that land later).
_PROMPTS = (PROMPT_BOOKING, PROMPT_MESSAGE, PROMPT_QUESTION, PROMPT_SPECIALIST_PROFILE)


# --- collection: the app's routes -----------------------------------------------------------------

def _app_rules() -> list[tuple[str, list[str]]]:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = sorted((rule.methods or set()) & {"GET", "POST"})
        rules.append((rule.rule, methods))
    return sorted(rules)


APP_RULES = _app_rules()


def _cases() -> list[Any]:
    cases = []
    for rule, methods in APP_RULES:
        entry = MATRIX.get(rule)
        for method in methods:
            for role in ROLES:
                marks = []
                if entry is not None and (method, role) in entry.xfail:
                    marks.append(pytest.mark.xfail(strict=True, reason=entry.xfail[(method, role)]))
                cases.append(pytest.param(rule, method, role, id=f"{method} {rule} as {role}", marks=marks))
    return cases


def test_every_route_has_an_entry() -> None:
    """A new route (or method) without a declared outcome fails here, by name."""
    problems = []
    for rule, methods in APP_RULES:
        entry = MATRIX.get(rule)
        if entry is None:
            problems.append(f"{rule} ({', '.join(methods)}): no entry in MATRIX")
            continue
        for method in methods:
            access = entry.outcome(method)
            if access is None:
                problems.append(f"{method} {rule}: method accepted by the app but not declared")
            elif set(access) != set(ROLES):
                problems.append(f"{method} {rule}: roles missing {sorted(set(ROLES) - set(access))}")
        for method in ("GET", "POST"):
            if entry.outcome(method) is not None and method not in methods:
                problems.append(f"{method} {rule}: declared but the app does not accept it")
    stale = sorted(set(MATRIX) - {rule for rule, _ in APP_RULES})
    problems += [f"{rule}: in MATRIX but not a route any more" for rule in stale]
    assert not problems, "authorization matrix out of date:\n  " + "\n  ".join(problems)


def test_world_is_complete(world: World) -> None:
    """Every object of the world can be built through its domain (else matrix cases are skipped)."""
    from tests.quality.conftest import BUILDERS

    for name, _ in BUILDERS:
        getattr(world, name)
    assert not world.missing, f"world objects that could not be built: {world.missing}"


def test_matrix_size_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the coverage numbers quoted in docs/quality.md."""
    cases = sum(len(methods) * len(ROLES) for _, methods in APP_RULES)
    with capsys.disabled():
        print(f"\nauthz matrix: {len(APP_RULES)} routes × {len(ROLES)} roles, "
              f"{sum(len(m) for _, m in APP_RULES)} route-methods, {cases} cases")
    assert cases > 0


def _gist(response: Any) -> str:
    """The page's heading and messages, to make a failure readable."""
    import re

    html = response.get_data(as_text=True)
    parts = re.findall(r'<h1[^>]*>(.*?)</h1>|<p class="(?:flash [^"]*|field-error|form-error)"[^>]*>(.*?)</p>',
                       html, re.S)
    return " | ".join(" ".join(p for p in pair if p).strip() for pair in parts)[:300] or html[:200]


@pytest.mark.parametrize(("rule", "method", "role"), _cases())
def test_authorization(rule: str, method: str, role: str, quality_app: Any, world: World) -> None:
    entry = MATRIX.get(rule)
    assert entry is not None, f"route {rule} has no entry in the authorization MATRIX ({__file__})"
    access = entry.outcome(method)
    assert access is not None and role in access, f"{method} {rule}: no outcome declared for {role}"
    expected = access[role]

    # A refusal or a validation answer writes nothing, so it can share the module's world; an
    # allowed POST that may succeed (2xx/3xx) gets a fresh world so it cannot disturb others.
    fresh = method == "POST" and not expected.denied and not expected.rolls_back
    w = build_world() if fresh else world
    assert "<" not in rule or entry.url is not None, f"{rule} has parameters: give its MATRIX entry a url=lambda w: …"
    try:
        url = entry.url(w) if entry.url else rule
        data = entry.data(w) if entry.data else {"_probe": "1"}  # non-empty, so forms read it (not obj)
    except AttributeError as exc:  # an object of the world is missing (domain not ready)
        require(False, f"cannot fill {rule}: {exc} (world could not build: {w.missing})")  # a missing world object fails in CI
    client = client_as(quality_app, w.user(role))
    counts = row_counts() if method == "POST" and not fresh else None
    with WriteRecorder(db.engine) as writes:
        response = client.open(url, method=method, data=data if method == "POST" else None)

    assert response.status_code != 500, f"{method} {url} as {role}: server error"
    problem = expected.problem(response)
    assert problem is None, f"{method} {url} as {role}: {problem}; page says: {_gist(response)}"
    if counts is not None:
        assert not writes.committed, f"{method} {url} as {role} was refused but wrote: {writes.committed}"
        assert row_counts() == counts, f"{method} {url} as {role} was refused but row counts changed"
