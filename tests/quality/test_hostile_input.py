"""Hostile input against every form: nothing breaks, nothing bad is stored, refusals are clear.

For each form (one declared table, ``FORMS``) a valid baseline is posted with ONE field replaced
by a hostile payload (or removed):

* over-long strings (10,000 characters), unicode edge cases (RTL override, zero-width joiner,
  emoji, combining marks), NUL bytes, HTML/JS (``<script>``, ``<img onerror>``, ``javascript:``),
  SQL-looking strings, wrong types (letters for numbers, impossible dates/times, unknown time
  zones, huge numbers), missing fields;
* plus invalid CSRF (CSRF switched on: no token / a forged token → 400, nothing written);
* plus hypothesis-generated text into a few free-text fields.

Each answer must be < 500. A payload the field cannot take ("must reject") must change nothing
(no committed SQL write, equal row counts) and say why (4xx, a form error, or a flashed error).
A payload the field may take must be stored without NUL bytes and never rendered unescaped.

Every case runs on SQLite; the payloads whose fate depends on the database (``PG_PAYLOADS``:
PostgreSQL enforces VARCHAR lengths and integer ranges, refuses NUL bytes and impossible dates,
counts characters not bytes) run on PostgreSQL too, as do the hypothesis cases. CSRF and the
hostile-URL smoke test are database-agnostic (SQLite only; test_url_rules_hostile.py walks every
URL rule on both).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, Text, text

from marketplace.extensions import db
from tests.conftest import require
from tests.factories import PASSWORD
from tests.quality.conftest import World, WriteRecorder, build_world, client_as, row_counts

pytestmark = pytest.mark.xdist_group("quality_hostile")
SQLITE_ONLY = pytest.mark.parametrize("quality_db_app", ["sqlite"], indirect=True)
ON_POSTGRES = pytest.mark.xdist_group("quality_hostile_postgres")  # its own group: may run on the other worker


@pytest.fixture(scope="module")
def quality_app(quality_db_app: Any) -> Any:
    """This module's app: the database is a parameter of each test (see ``_variants``)."""
    return quality_db_app


# --- payloads ----------------------------------------------------------------------------------------

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">x</a>'
RAW_XSS_MARKERS = ('<script>alert("xss")', "<img src=x onerror", 'href="javascript:')
UNICODE = "Ünïcödé \u202etxet desrever\u202c 👩\u200d💻 🙂🧠 e\u0301\u0301\u0301 ﷽ \u200b\ufeff done"
PAYLOADS: dict[str, str] = {
    "over_long": "x" * 10_000,
    "unicode": UNICODE,
    "nul": "before\x00after, still a sensible sentence",
    "html_js": XSS,
    "sql": "' OR 1=1 --; DROP TABLE users; -- \" OR \"\"=\"",
    "letters": "abc",
    "huge_number": "99999999999999999999999",
    "bad_date": "2026-02-30",
    "bad_time": "25:61",
    "bad_timezone": "Mars/Olympus_Mons",
    "path": "../../etc/passwd",
}
COMMON = ("over_long", "unicode", "nul", "html_js", "sql")  # every field
PG_PAYLOADS = ("over_long", "unicode", "nul", "huge_number", "bad_date")  # where PostgreSQL differs from SQLite
WRONG_TYPE = {  # structured fields additionally get letters, huge numbers and kind-specific nonsense
    "date": ("letters", "huge_number", "bad_date"), "time": ("letters", "huge_number", "bad_time"),
    "timezone": ("letters", "bad_timezone", "path"), "int": ("letters", "huge_number", "bad_date"),
    "slot": ("letters", "bad_date", "huge_number"), "choice": ("letters", "huge_number", "path"),
    "ids": ("letters", "huge_number"), "email": ("letters", "path"), "url": ("letters", "path"),
}


@dataclass(frozen=True)
class F:
    """A form field: its kind decides which payloads it must refuse."""

    kind: str  # text | password | email | int | date | time | timezone | choice | slot | url | ids
    required: bool = True  # False: may be left out (optional, or it has a default / keeps the stored value)
    max: int | None = None  # text: longest accepted value

    def payloads(self) -> tuple[str, ...]:
        return (*COMMON, *WRONG_TYPE.get(self.kind, ()), "missing")

    def must_reject(self, payload: str) -> bool:
        if payload == "missing":
            return self.required
        if self.kind in ("text", "password"):
            return payload == "over_long" and (self.max or 0) < 10_000
        return True  # structured fields accept nothing of the above


@dataclass
class Form:
    url: Callable[[World], str]
    role: str
    valid: Callable[[World], dict[str, Any]]
    fields: dict[str, F]
    consumes: bool = False  # an accepted post uses the world up (cancel, delete…): rebuild after
    xfail: dict[str, str] = field(default_factory=dict)  # "field=payload" -> "bug: …"
    note: str = ""


_n = itertools.count(1)


def _email() -> str:
    return f"hostile{next(_n)}@example.test"


def _slot(w: World, index: int = 0, profile: str = "other_profile") -> str:
    from marketplace.consultations.availability import free_slots_for
    from marketplace.consultations.booking import format_slot

    return format_slot(free_slots_for(getattr(w, profile))[index])


def _future_day(days: int = 40) -> str:
    from datetime import date, timedelta

    return (date.today() + timedelta(days=days)).isoformat()


def _profile_baseline(w: World) -> dict[str, Any]:
    p = w.profile
    return {"display_name": p.display_name, "title": "Clinical psychologist", "bio_markdown": "I help adults.",
            "years_of_practice": "8", "licence_type": "Psychologist licence", "licence_number": p.licence_number,
            "licence_jurisdiction": "Berlin, Germany", "specialties": ["anxiety"], "approaches": ["cbt"],
            "languages": ["en"], "formats": ["video"], "city": "Berlin", "country": "DE",
            "timezone": "Europe/Berlin", "fee": "90", "currency": "EUR", "session_minutes": "50",
            "offers_free_consultation": "y", "accepting_new_clients": "y", "video_link": "https://meet.example.org/r",
            "address": "Example Str. 1", "phone": "+49 30 1234567", "version": str(p.version_id)}


TEXT = F("text", max=80)
FORMS: dict[str, Form] = {
    "signup": Form(lambda w: "/auth/signup", "visitor",
                   lambda w: {"display_name": "Kim", "email": _email(), "password": "a-calm-river-at-dawn",
                              "confirm": "a-calm-river-at-dawn", "timezone": "Europe/Berlin"},
                   {"display_name": F("text", max=80), "email": F("email"), "timezone": F("timezone", required=False)}),
    "login": Form(lambda w: "/auth/login", "visitor",
                  lambda w: {"email": w.user("other_client").email, "password": PASSWORD},
                  {"email": F("email"), "password": F("password", max=256)},
                  note="a changed password can't log in: refused with 401"),
    "reset_request": Form(lambda w: "/auth/reset", "visitor", lambda w: {"email": w.user("client").email},
                          {"email": F("email")}),
    "reset_password": Form(lambda w: f"/auth/reset/{w.reset_token}", "visitor",
                           lambda w: {"password": "a-new-calm-river-9", "confirm": "a-new-calm-river-9"},
                           {"password": F("password", max=256), "confirm": F("password", max=256)}, consumes=True),
    "account": Form(lambda w: "/account", "client",
                    lambda w: {"display_name": "Client", "email": w.user("client").email, "timezone": "Europe/Berlin"},
                    {"display_name": F("text", max=80), "email": F("email", required=False),
                     "timezone": F("timezone", required=False)},
                    note="the form is filled from the account: a field left out keeps its stored value"),
    "account_password": Form(lambda w: "/account/password", "other_client",
                             lambda w: {"current_password": PASSWORD, "password": "another-calm-river-7",
                                        "confirm": "another-calm-river-7"},
                             {"current_password": F("password", max=256), "password": F("password", max=256)},
                             consumes=True),
    "account_delete": Form(lambda w: "/account/delete", "other_client", lambda w: {"password": "wrong-password-1"},
                           {"password": F("password", max=256)},
                           note="baseline is a WRONG password: deleting is not what we probe here"),
    "message_new": Form(lambda w: f"/messages/new?to={w.other_profile.slug}", "client",
                        lambda w: {"body": "Hello, do you have time next week?"}, {"body": F("text", max=5000)}),
    "message_reply": Form(lambda w: f"/messages/{w.conversation.id}", "specialist",
                          lambda w: {"body": "Yes, Tuesday works."}, {"body": F("text", max=5000)}),
    "contact": Form(lambda w: "/contact", "client", lambda w: {"subject": "Hello", "body": "A question about Balance."},
                    {"subject": F("text", max=150), "body": F("text", max=5000)}),
    "question": Form(lambda w: "/questions/new", "client",
                     lambda w: {"title": "How do I find the right therapist?", "topic": str(_topic_id()),
                                "body": "I have never been to therapy and feel unsure where to begin."},
                     {"title": F("text", max=200), "topic": F("choice"), "body": F("text", max=5000)}),
    "answer": Form(lambda w: f"/questions/{w.question.id}/answers", "specialist",
                   lambda w: {"body": "A first conversation can help you find out what you need."},
                   {"body": F("text", max=8000)}),
    "report": Form(lambda w: f"/questions/report/question/{w.question.id}", "other_specialist",
                   lambda w: {"reason": "spam"}, {"reason": F("choice")}, consumes=True),
    "article": Form(lambda w: "/articles/new", "specialist",
                    lambda w: {"title": "Finding calm in a busy week", "summary": "Small habits that help.",
                               "body": "Breathing, walking and talking to someone you trust all help. " * 2},
                    {"title": F("text", max=200), "summary": F("text", max=400), "body": F("text", max=50_000)}),
    "article_edit": Form(lambda w: f"/articles/{w.article.slug}/edit", "specialist",
                         lambda w: {"title": "Starting therapy without fear", "summary": "What to expect.",
                                    "body": "A first session is a conversation about what you need. " * 2},
                         {"title": F("text", required=False, max=200), "summary": F("text", required=False, max=400)},
                         note="the form is filled from the article: a field left out keeps its stored value"),
    "profile": Form(lambda w: "/specialists/me/edit", "specialist", _profile_baseline,
                    {"display_name": F("text", max=80), "bio_markdown": F("text", required=False, max=10_000),
                     "years_of_practice": F("int", required=False), "timezone": F("timezone"),
                     "fee": F("int", required=False), "session_minutes": F("int", required=False),
                     "video_link": F("url", required=False), "phone": F("url", required=False),
                     "country": F("choice", required=False),
                     "specialties": F("choice", required=False)},
                    consumes=True, note="an accepted save bumps the version: rebuild"),
    "booking": Form(lambda w: f"/specialists/{w.other_profile.slug}/book", "client",
                    lambda w: {"slot": _slot(w), "format": "video", "note": "Sleep, mostly.", "consent": "y"},
                    {"slot": F("slot"), "format": F("choice", required=False),
                     "note": F("text", required=False, max=1000)},
                    consumes=True, note="format defaults to the specialist's only format"),
    "cancel": Form(lambda w: f"/consultations/{w.consultation.id}/cancel", "client",
                   lambda w: {"reason": "Something came up."}, {"reason": F("text", required=False, max=500)},
                   consumes=True, note="the reason is optional for the client (required for the specialist)"),
    "outcome": Form(lambda w: f"/consultations/{w.consultation.id}/outcome", "specialist",
                    lambda w: {"outcome": "proceed", "outcome_note": "Looking forward.", "confirm": "y"},
                    {"outcome": F("choice"), "outcome_note": F("text", required=False, max=1000)},
                    note="not started yet: even the baseline is refused (422) — still no 500, no write"),
    "reschedule": Form(lambda w: f"/consultations/{w.consultation.id}/reschedule", "client",
                       lambda w: {"slot": _slot(w, 2, "profile")}, {"slot": F("slot")}, consumes=True),
    "client_note": Form(lambda w: f"/specialists/me/clients/{w.consultation.client_id}", "specialist",
                        lambda w: {"note": "Talked about sleep; follow up on the move."},
                        {"note": F("text", required=False, max=5000)},
                        note="stored encrypted; saved empty it is removed, a missing field keeps the stored note"),
    "availability_rule": Form(lambda w: "/specialists/me/availability/rules", "other_specialist",
                              lambda w: {"weekday": "0", "start": "06:00", "end": "06:30"},
                              {"weekday": F("choice"), "start": F("time"), "end": F("time")}, consumes=True),
    "availability_rule_edit": Form(lambda w: f"/specialists/me/availability/rules/{w.availability_rule.id}",
                                   "specialist", lambda w: {"start": "06:00", "end": "06:30"},
                                   {"start": F("time"), "end": F("time")}, consumes=True),
    "availability_override": Form(lambda w: "/specialists/me/availability/overrides", "other_specialist",
                                  lambda w: {"day": _future_day(), "kind": "off"},
                                  {"day": F("date"), "kind": F("choice", required=False)}, consumes=True,
                                  note="kind defaults to 'off'"),
    "external_calendar": Form(lambda w: "/specialists/me/availability/calendars", "other_specialist",
                              lambda w: {"url": f"http://127.0.0.1:9/calendar-{next(_n)}.ics"}, {"url": F("url")},
                              consumes=True, note="the first read right after (a closed port) fails at once"),
    "availability_settings": Form(lambda w: "/specialists/me/availability/settings", "other_specialist",
                                  lambda w: {"buffer_minutes": "15", "min_notice_hours": "12", "horizon_days": "30",
                                             "max_per_day": "4", "confirm_within_hours": "48"},
                                  {"buffer_minutes": F("choice"), "min_notice_hours": F("int"),
                                   "horizon_days": F("int"), "confirm_within_hours": F("int"),
                                   "max_per_day": F("int", required=False)},
                                  consumes=True),
    "campaign_new": Form(lambda w: "/admin/featured/new", "admin",
                         lambda w: {"name": "Autumn", "starts_on": _future_day(1), "ends_on": _future_day(30),
                                    "active": "y"},
                         {"name": F("text", max=120), "starts_on": F("date"), "ends_on": F("date")}),
    "campaign_feature": Form(lambda w: f"/admin/featured/{w.campaign.id}/entries", "admin",
                             lambda w: {"profile_id": str(w.other_profile.id)}, {"profile_id": F("int")},
                             consumes=True),
    "campaign_order": Form(lambda w: f"/admin/featured/{w.campaign.id}/order", "admin",
                           lambda w: {"order": str(w.featured_entry.id)}, {"order": F("ids")}),
    "licence_reject": Form(lambda w: f"/admin/verification/{w.other_profile.id}/reject", "admin",
                           lambda w: {f"p{w.other_profile.id}-reason": "Licence number not found."},
                           {"reason": F("text", max=500)}, consumes=True,
                           note="field is prefixed per profile (p<id>-reason)"),
}


def _topic_id() -> int:
    from marketplace.questions.services import topics

    return topics()[0].id


def _field_name(form_name: str, w: World, name: str) -> str:
    return f"p{w.other_profile.id}-{name}" if form_name == "licence_reject" else name


# --- checks -------------------------------------------------------------------------------------------

ERROR_MARKERS = ('class="field-error"', 'class="form-error"', "flash-error", 'role="alert"')


def _says_why(client: Any, response: Any) -> bool:
    """A refusal is clear: an error status, a form error on the page, or a flashed error after a redirect."""
    if response.status_code >= 400:
        return True
    html = response.get_data(as_text=True)
    if response.status_code in (301, 302, 303):
        html = client.get(response.headers["Location"]).get_data(as_text=True)
    return any(marker in html for marker in ERROR_MARKERS)


def _rendered_raw(client: Any, response: Any) -> str | None:
    """The XSS payload must never come back unescaped (in the answer or the page it redirects to)."""
    pages = [response.get_data(as_text=True)]
    if response.status_code in (301, 302, 303):
        pages.append(client.get(response.headers["Location"]).get_data(as_text=True))
    for html in pages:
        for marker in RAW_XSS_MARKERS:
            if marker in html:
                return marker
    return None


def nul_bytes_stored() -> list[str]:
    """Columns holding a NUL byte anywhere in the database (PostgreSQL would refuse them: a 500)."""
    import marketplace.models  # noqa: F401

    if db.engine.dialect.name != "sqlite":
        return []  # PostgreSQL cannot store one in text at all: the attempt is an error (a 500), caught above
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text)):
                count = db.session.execute(text(
                    f'SELECT COUNT(*) FROM "{table.name}" WHERE instr("{column.name}", char(0)) > 0')).scalar_one()
                if count:
                    found.append(f"{table.name}.{column.name}")
    return found


def submit(app: Any, w: World, form: Form, data: dict[str, Any]) -> tuple[Any, Any, list[str], bool]:
    """Post ``data``; returns (client, response, committed writes, row counts unchanged)."""
    user = w.user(form.role)
    if user is not None:
        db.session.refresh(user)  # a password change bumps the session version
    client = client_as(app, user)
    url = form.url(w)  # builds the world's objects it names before anything is recorded
    before = row_counts()
    with WriteRecorder(db.engine) as writes:
        response = client.post(url, data=data)
    return client, response, writes.committed, row_counts() == before


def _variants(database: str = "sqlite") -> list[Any]:
    """(form, field, payload) for every form × field × payload (the single cases, each xfail-able);
    on PostgreSQL only the ``PG_PAYLOADS``."""
    cases = []
    for form_name in sorted(FORMS):
        form = FORMS[form_name]
        for field_name, spec in form.fields.items():
            for payload in spec.payloads():
                if database == "postgres" and payload not in PG_PAYLOADS:
                    continue
                label = f"{field_name}={payload}"
                marks = ([pytest.mark.xfail(strict=True, reason=form.xfail[label])] if label in form.xfail else [])
                cases.append(pytest.param(form_name, field_name, payload, id=f"{form_name}-{label}", marks=marks))
    return cases


_WORLDS: dict[str, World] = {}


def world_for(form_name: str, *, fresh: bool = False) -> World:
    """One world per form, shared by its cases until an accepted post uses it up."""
    if fresh or form_name not in _WORLDS:
        _WORLDS[form_name] = build_world()
    return _WORLDS[form_name]


@pytest.fixture(scope="module", autouse=True)
def _forget_worlds(quality_app: Any) -> Any:
    _WORLDS.clear()
    yield
    _WORLDS.clear()


# The database is its own parametrize (one value per decorator): pytest then keeps the module's app
# for every case of a database instead of rebuilding it per case.
@SQLITE_ONLY
@pytest.mark.parametrize(("form_name", "field_name", "payload"), _variants())
def test_hostile_payload(form_name: str, field_name: str, payload: str, quality_app: Any) -> None:
    check_hostile_payload(form_name, field_name, payload, quality_app)


@ON_POSTGRES
@pytest.mark.parametrize("quality_db_app", ["postgres"], indirect=True)
@pytest.mark.parametrize(("form_name", "field_name", "payload"), _variants("postgres"))
def test_hostile_payload_on_postgres(form_name: str, field_name: str, payload: str, quality_app: Any) -> None:
    check_hostile_payload(form_name, field_name, payload, quality_app)


def check_hostile_payload(form_name: str, field_name: str, payload: str, quality_app: Any) -> None:
    form = FORMS[form_name]
    spec = form.fields[field_name]
    w = world_for(form_name)
    try:
        data = form.valid(w)
    except AttributeError as exc:
        require(False, f"world lacks an object for {form_name}: {exc} ({w.missing})")  # a missing world object fails in CI
    key = _field_name(form_name, w, field_name)
    if payload == "missing":
        data.pop(key, None)
    else:
        data[key] = PAYLOADS[payload]
    client, response, writes, counts_same = submit(quality_app, w, form, data)
    where = f"{form_name} ({form.url(w)} as {form.role}) {field_name}={payload}"
    if writes and form.consumes:
        world_for(form_name, fresh=True)

    assert response.status_code < 500, f"{where}: server error {response.status_code}"
    if spec.must_reject(payload):
        assert not writes and counts_same, f"{where}: accepted ({response.status_code}), wrote {writes[:2]}"
        assert _says_why(client, response), f"{where}: refused silently ({response.status_code}, no error shown)"
    else:
        raw = _rendered_raw(client, response)
        assert raw is None, f"{where}: rendered unescaped: {raw!r}"
    if payload == "nul":
        assert not nul_bytes_stored(), f"{where}: NUL byte stored"


@SQLITE_ONLY
@pytest.mark.parametrize("form_name", sorted(FORMS))
def test_invalid_csrf_is_refused(form_name: str, quality_app: Any) -> None:
    """With CSRF on, a valid submission without a token, or with a forged one, is a 400 and writes nothing."""
    form = FORMS[form_name]
    w = build_world()
    try:
        data = form.valid(w)
    except AttributeError as exc:
        require(False, f"world lacks an object for {form_name}: {exc} ({w.missing})")  # a missing world object fails in CI
    quality_app.config["WTF_CSRF_ENABLED"] = True
    try:
        for token in (None, "forged-token", "IjAwMCI.ZZZ.forged"):
            payload = dict(data) if token is None else {**data, "csrf_token": token}
            client, response, writes, counts_same = submit(quality_app, w, form, payload)
            assert response.status_code == 400, f"{form_name} with csrf_token={token!r}: {response.status_code}"
            assert not writes and counts_same, f"{form_name} with csrf_token={token!r} wrote {writes}"
    finally:
        quality_app.config["WTF_CSRF_ENABLED"] = False


# Hypothesis: arbitrary text (any unicode category, surrogates excluded by st.text) into free-text fields.
FUZZED = [("contact", "subject"), ("contact", "body"), ("signup", "display_name"), ("question", "title"),
          ("message_new", "body")]


@SQLITE_ONLY
@pytest.mark.parametrize(("form_name", "field_name"), FUZZED)
def test_arbitrary_text(form_name: str, field_name: str, quality_app: Any) -> None:
    check_arbitrary_text(form_name, field_name, quality_app)


@ON_POSTGRES
@pytest.mark.parametrize("quality_db_app", ["postgres"], indirect=True)
@pytest.mark.parametrize(("form_name", "field_name"), FUZZED)
def test_arbitrary_text_on_postgres(form_name: str, field_name: str, quality_app: Any) -> None:
    check_arbitrary_text(form_name, field_name, quality_app)


def check_arbitrary_text(form_name: str, field_name: str, quality_app: Any) -> None:
    form = FORMS[form_name]
    w = build_world()
    try:
        form.valid(w)
    except AttributeError as exc:
        require(False, f"world lacks an object for {form_name}: {exc}")  # a missing world object fails in CI

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(value=st.text(max_size=400))
    def check(value: str) -> None:
        data = form.valid(w)
        data[field_name] = value
        client, response, writes, counts_same = submit(quality_app, w, form, data)
        assert response.status_code < 500, f"{form_name}.{field_name}={value!r}: {response.status_code}"
        if response.status_code >= 400:
            assert not writes and counts_same, f"{form_name}.{field_name}={value!r} refused but wrote {writes}"
        assert _rendered_raw(client, response) is None

    check()
    assert not nul_bytes_stored()


def _gist(response: Any) -> str:
    html = response.get_data(as_text=True)
    parts = re.findall(r'<p class="(?:flash [^"]*|field-error|form-error)"[^>]*>(.*?)</p>', html, re.S)
    return " | ".join(p.strip() for p in parts)[:300] or html[:200]


# --- hostile URLs: huge ids and odd path segments in every parameterised route -------------------------

def _hostile_urls() -> list[Any]:
    from tests.quality.test_authz_matrix import APP_RULES

    cases = []
    for rule, methods in APP_RULES:
        if "<" not in rule:
            continue
        for variant, number, word in (("huge_id", "9" * 25, "x"), ("odd_segment", "0", "%00%E2%80%AE..%2Fetc")):
            url = re.sub(r"<int:[^>]+>", number, rule)
            url = re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(), url)
            url = re.sub(r"<(?:path:)?[^>]+>", word, url)
            for method in methods:
                cases.append(pytest.param(method, url, id=f"{method} {rule} {variant}"))
    return cases


@SQLITE_ONLY
@pytest.mark.parametrize(("method", "url"), _hostile_urls())
def test_hostile_url_is_not_a_server_error(method: str, url: str, quality_app: Any) -> None:
    """Ids beyond any integer column and odd slugs are a 4xx (or a redirect), never a 500, for any role."""
    w = world_for("_urls")
    for role in ("admin", "client", "specialist"):
        response = client_as(quality_app, w.user(role)).open(url, method=method)
        assert response.status_code < 500, f"{method} {url} as {role}: {response.status_code}"
