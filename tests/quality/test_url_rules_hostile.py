"""Every URL rule of the app, walked with hostile path segments and query parameters: never a 500.

For each rule of ``app.url_map`` (static files excluded):

* path arguments get a real value from the quality world (an id, a slug, a token) and, one at a
  time, hostile ones: ids beyond any column (2**31, 2**63, 10**20), 0, -1, letters; strings with
  NUL and other control characters, 10,000 characters, an RTL override, zero-width characters,
  emoji, ``[]``, ``../``, markup;
* every query parameter the view reads (``QUERY_PARAMS``; the source is checked below, so a new
  parameter cannot be forgotten) gets, one at a time on top of a valid baseline query, the same
  hostile values plus huge and negative numbers, an empty and a repeated value;
* as a visitor, a client, a specialist and an admin where the rule needs login (a visitor and a
  client on public pages), on SQLite with every payload and on PostgreSQL with those whose fate can
  depend on the database (``POSTGRES_PAYLOADS``: numbers beyond its integer columns, letters for
  numbers, very long and 4-byte text, empty and repeated values; the markup, direction and
  zero-width payloads are handled before any query, the same on both).

GET rules get the whole walk; rules that take POST get the hostile path variants with an empty
body (hostile form BODIES are test_hostile_input.py's subject). No answer may be >= 500 (an
exception escaping the app counts as one) and markup sent in is never reflected unescaped. The
harness prints what it did: "URL rules × parameters × payloads × roles × databases = N requests".
"""
from __future__ import annotations

import inspect
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask, template_rendered
from wtforms.fields.core import UnboundField

from marketplace.extensions import db
from tests.quality.conftest import World, build_world, client_as

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("visitor", "client", "specialist", "admin")
PUBLIC_ROLES = ("visitor", "client")

# --- what each view reads from the query string ----------------------------------------------------------

DIRECTORY_FILTERS = ("q", "specialty", "approach", "language", "format", "country", "city", "fee_min", "fee_max",
                     "free", "available", "part", "sort")
AUDIT_FILTERS = ("action", "actor", "date_from", "date_to")

# endpoint -> the query parameters it reads (directly, through a form bound to request.args, or in its
# templates: ``src`` is read by the ``specialist_booking_url`` template global on every page with a
# booking link, and by the campaign tracking hook on profiles).
QUERY_PARAMS: dict[str, tuple[str, ...]] = {
    "main.home": ("src",),
    "main.free_consultation": ("src",),
    "featured.campaign": ("src",),
    "specialists.directory": (*DIRECTORY_FILTERS, "page", "src"),
    "specialists.profile": ("src",),
    "consultations.book": ("src", "slot", "format", "week", "part"),
    "consultations.reschedule": ("slot", "week", "part"),
    "payments.book": ("slot", "format", "week", "part"),
    "payments.series_book": ("slot", "format", "week", "part"),
    "payments.series_saved": ("session_id",),
    "consultations.specialist_calendar": ("week",),
    "consultations.agenda": ("week",),
    "account.time_zone": ("next",),
    "auth.signup": ("role", "next"),
    "auth.login": ("next",),
    "articles.index": ("page",),
    "clients.index": ("page",),
    "questions.index": ("topic", "q", "page"),
    "messaging.new": ("to", "client"),
    "payments.success": ("session_id",),
    "admin.audit_log": (*AUDIT_FILTERS, "page"),
    "admin.contact_messages": ("show",),
    "admin.no_show_reports": ("show",),
    "admin.payments": ("status",),
    "admin.featured_campaign": ("q",),
    "admin.stats": ("weeks",),
    "consultations.stats": ("weeks",),
}
ALL_PARAMS = {name for names in QUERY_PARAMS.values() for name in names}


def _baseline_query(endpoint: str, w: World, role: str) -> dict[str, Any]:
    """A valid query for the endpoint (hostile values replace one parameter of it at a time)."""
    if endpoint == "messaging.new":
        return {"client": w.user("client").id} if role == "specialist" else {"to": w.other_profile.slug}
    if endpoint == "payments.success":
        return {"session_id": w.payment.provider_checkout_id}
    if endpoint == "consultations.book":
        return {"src": "campaign"}
    return {}


# --- payloads ----------------------------------------------------------------------------------------------

MARKUP = "<script>alert(1)</script>"
TEXT_PAYLOADS: dict[str, str] = {
    # Control characters are refused before any view, by one check (security.has_control_characters,
    # whose every boundary is tested in tests/unit/test_security_units.py): one of them here.
    "nul": "a\x00b",
    "int64": str(2**63),
    "huge_int": "99999999999999999999",
    "over_long": "x" * 10_000,
    "letters": "abc",
    "brackets": "[]",
    "rtl": "\u202eevil\u202c",
    "zero_width": "a\u200bb\ufeff",
    "emoji": "\U0001f469\u200d\U0001f4bb\U0001f642",
    "markup": MARKUP,
}
QUERY_PAYLOADS: dict[str, Any] = {**TEXT_PAYLOADS, "negative": "-1", "empty": "", "repeated": ["1", "abc"]}
SEGMENT_PAYLOADS: dict[str, str] = {**TEXT_PAYLOADS, "dotdot": "../../etc/passwd"}
BODY_ONLY_PAYLOADS = ("baseline", "nul", "over_long", "markup")
INT_PAYLOADS: dict[str, str] = {"zero": "0", "negative": "-1", "int32_over": str(2**31), "int64": str(2**63),
                                "huge_int": "99999999999999999999", "letters": "abc", "nul": "1\x00"}

# The payloads walked on PostgreSQL too (see the module's docstring); SQLite gets all of them.
POSTGRES_PAYLOADS = frozenset({"int64", "huge_int", "int32_over", "zero", "negative", "letters", "over_long",
                               "emoji", "empty", "repeated", "nul", "unknown"})

# A real value for every path argument of every rule (a rule with a new argument fails until added here).
REAL_ARGS: dict[str, Callable[[World], Any]] = {
    "consultation_id": lambda w: w.consultation.id,
    "client_id": lambda w: w.consultation.client_id,
    "conversation_id": lambda w: w.conversation.id,
    "question_id": lambda w: w.question.id,
    "target_id": lambda w: w.question.id,
    "report_id": lambda w: w.report.id,
    "payment_id": lambda w: w.payment.id,
    "series_id": lambda w: w.series.id,
    "profile_id": lambda w: w.other_profile.id,
    "campaign_id": lambda w: w.campaign.id,
    "entry_id": lambda w: w.featured_entry.id,
    "message_id": lambda w: w.contact_message.id,
    "override_id": lambda w: w.availability_override.id,
    "rule_id": lambda w: w.availability_rule.id,
    "calendar_id": lambda w: w.external_calendar.id,
    "token": lambda w: w.reset_token,
    "feed_token": lambda w: w.feed_token,
    "filename": lambda w: "no-such-photo.jpg",
    "provider_name": lambda w: "stripe",  # a registered payment provider (its webhook URL)
}
SLUG_OF: dict[str, Callable[[World], str]] = {
    "articles": lambda w: w.article.slug,
    "questions": lambda w: w.question.slug,
    "specialists": lambda w: w.profile.slug,
    "consultations": lambda w: w.profile.slug,
    "payments": lambda w: w.profile.slug,
}
WORLD_OBJECTS = ("consultation", "conversation", "question", "report", "payment", "campaign", "featured_entry",
                 "contact_message", "availability_override", "availability_rule", "external_calendar", "reset_token",
                 "feed_token",
                 "article")

_ARG = re.compile(r"<(?:(?P<conv>[a-zA-Z_]\w*)(?:\((?P<conv_args>[^)]*)\))?:)?(?P<name>\w+)>")


def app_rules(app: Any) -> list[Any]:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def _real_value(rule: Any, name: str, conv: str | None, conv_args: str | None, w: World) -> str:
    if conv == "any":
        return conv_args.split(",")[0].strip().strip("'\"")
    if name == "slug":
        return SLUG_OF[rule.endpoint.split(".")[0]](w)
    if name not in REAL_ARGS:
        raise KeyError(f"{rule.rule}: no real value for path argument <{name}> (add it to REAL_ARGS)")
    return str(REAL_ARGS[name](w))


def _build(rule: Any, values: dict[str, str]) -> str:
    return _ARG.sub(lambda m: quote(values[m.group("name")], safe=""), rule.rule)


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    label: str  # rule and what is hostile, for the report (never the 10,000-character value)
    payload: str
    param: str  # "<arg>" for a path argument, "?name" for a query parameter, "" for the baseline


def _args(rule: Any) -> list[tuple[str, str | None, str | None]]:
    return [(m.group("name"), m.group("conv"), m.group("conv_args")) for m in _ARG.finditer(rule.rule)]


def real_values(rule: Any, w: World) -> dict[str, str]:
    return {name: _real_value(rule, name, conv, conv_args, w) for name, conv, conv_args in _args(rule)}


def probes(rule: Any, w: World, role: str, database: str = "sqlite") -> Iterator[Probe]:
    """The requests made to one rule as one role (on PostgreSQL, the ``POSTGRES_PAYLOADS`` only)."""
    for probe in _all_probes(rule, w, role):
        if database == "sqlite" or probe.payload in ("baseline", *POSTGRES_PAYLOADS):
            yield probe


def _all_probes(rule: Any, w: World, role: str) -> Iterator[Probe]:
    args = _args(rule)
    real = real_values(rule, w)
    methods = rule.methods - {"HEAD", "OPTIONS"}
    if "GET" in methods:
        base = _baseline_query(rule.endpoint, w, role)
        path = _build(rule, real)
        yield Probe("GET", path + (f"?{urlencode(base)}" if base else ""), f"GET {rule.rule}", "baseline", "")
        for param in QUERY_PARAMS.get(rule.endpoint, ()):
            for payload, value in QUERY_PAYLOADS.items():
                query = urlencode({**base, param: value}, doseq=True)
                yield Probe("GET", f"{path}?{query}", f"GET {rule.rule}?{param}={payload}", payload, f"?{param}")
    hostile_methods = [m for m in ("GET", "POST") if m in methods]
    for name, conv, _ in args:
        if conv == "any":
            options = {"unknown": "nope"}
        elif conv == "int":
            options = INT_PAYLOADS
        else:
            options = SEGMENT_PAYLOADS
        for payload, value in options.items():
            url = _build(rule, {**real, name: value})
            for method in hostile_methods:
                yield Probe(method, url, f"{method} {rule.rule} <{name}>={payload}", payload, f"<{name}>")


# --- the walk ---------------------------------------------------------------------------------------------

@dataclass
class Tally:
    database: str
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    rules: set[str] = field(default_factory=set)
    params: set[tuple[str, str]] = field(default_factory=set)
    payloads: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)

    def summary(self) -> dict[str, Any]:
        return {"database": self.database, "requests": self.requests, "failures": len(self.failures),
                "rules": sorted(self.rules), "params": sorted(f"{r} {p}" for r, p in self.params),
                "payloads": sorted(self.payloads), "roles": sorted(self.roles)}


def _where(exc: BaseException) -> str:
    """The innermost frame in the product code, for the report."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/marketplace/" in f.filename] or frames
    return f"{ours[-1].filename.replace(str(ROOT) + '/', '')}:{ours[-1].lineno} in {ours[-1].name}"


def send(client: Any, probe: Probe, role: str, rule: str, tally: Tally) -> None:
    tally.requests += 1
    tally.rules.add(rule)
    tally.roles.add(role)
    tally.payloads.add(probe.payload)
    if probe.param:
        tally.params.add((rule, probe.param))
    where = f"{probe.label} as {role} [{tally.database}]"
    try:
        response = client.open(probe.url, method=probe.method, data={} if probe.method == "POST" else None)
    except Exception as exc:  # noqa: BLE001 - an exception escaping the app is a 500
        db.session.rollback()
        tally.failures.append(f"{where}: raised {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                              f" ({_where(exc)})")
        return
    if response.status_code >= 500:
        tally.failures.append(f"{where}: {response.status_code}")
    elif probe.payload == "markup" and response.mimetype == "text/html" and MARKUP in response.get_data(as_text=True):
        tally.failures.append(f"{where}: {response.status_code}, the markup is reflected unescaped")


def roles_for(app: Any, rule: Any, w: World, visitor: Any) -> tuple[str, ...]:
    """Every role for a rule that needs login (a visitor is sent to log in, refused, or shown the login
    prompt); a visitor and a client for a public page (the time budget: its logged-in variants differ
    in the header and the calls to action, not in how the parameters are read)."""
    if "GET" not in rule.methods:
        return ROLES
    rendered: list[str] = []

    def _record(sender: Any, template: Any, context: Any, **extra: Any) -> None:
        rendered.append(template.name)

    with template_rendered.connected_to(_record, app):
        response = visitor.get(next(probes(rule, w, "visitor")).url)
    needs_login = (response.status_code in (401, 403) or "/auth/login" in response.headers.get("Location", "")
                   or "gated.html" in rendered)
    return ROLES if needs_login else PUBLIC_ROLES


def walk(app: Any, w: World, database: str) -> Tally:
    tally = Tally(database)
    clients = {role: client_as(app, w.user(role)) for role in ROLES}
    for role in ROLES[1:]:  # a logged-in role that silently browsed as a visitor would prove little
        assert clients[role].get("/account").status_code == 200, f"{role} is not logged in"
    for rule in app_rules(app):
        for role in roles_for(app, rule, w, clients["visitor"]):
            for probe in probes(rule, w, role, database):
                send(clients[role], probe, role, rule.rule, tally)
    # Last, as they may end the session or change the world (log out, log out everywhere, unpublish…):
    # the POST rules whose whole input is the form body get an empty one, plus a stray hostile query
    # parameter, each through a fresh session.
    for rule in app_rules(app):
        if "POST" not in rule.methods or _args(rule):
            continue
        for role in ROLES:
            for payload in BODY_ONLY_PAYLOADS:
                user = w.user(role)
                if user is not None:
                    db.session.refresh(user)  # "log out everywhere" bumped the auth version
                query = "" if payload == "baseline" else f"?{urlencode({'stray': QUERY_PAYLOADS[payload]})}"
                probe = Probe("POST", rule.rule + query, f"POST {rule.rule} (empty body)?stray={payload}", payload,
                              "" if payload == "baseline" else "?stray")
                send(client_as(app, user), probe, role, rule.rule, tally)
    return tally


def misrouted(app: Any, w: World) -> list[str]:
    """Each rule's real URL must reach that rule: the baselines are not silently routing 404s."""
    adapter = app.url_map.bind("localhost")
    wrong = []
    for rule in app_rules(app):
        path = _build(rule, real_values(rule, w))
        method = "GET" if "GET" in rule.methods else "POST"
        try:
            endpoint, _ = adapter.match(path, method=method)
        except Exception as exc:  # noqa: BLE001 - NotFound, MethodNotAllowed, a redirect
            wrong.append(f"{rule.rule}: {path} -> {type(exc).__name__}")
            continue
        if endpoint != rule.endpoint:
            wrong.append(f"{rule.rule}: {path} -> {endpoint}")
    return wrong


# --- the count, shown in the terminal (also from an xdist worker: its stderr is the terminal's) ----------

def _shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id != "main" else base  # the run's directory, shared by its workers


def _count_line(tallies: list[dict[str, Any]]) -> str:
    rules = {r for t in tallies for r in t["rules"]}
    params = {p for t in tallies for p in t["params"]}
    payloads = {p for t in tallies for p in t["payloads"]}
    roles = {r for t in tallies for r in t["roles"]}
    dbs = sorted(t["database"] for t in tallies)
    requests = sum(t["requests"] for t in tallies)
    failures = sum(t["failures"] for t in tallies)
    return (f"hostile URL harness: {len(rules)} URL rules × {len(params)} parameters × {len(payloads)} payloads × "
            f"{len(roles)} roles × {len(dbs)} database{'s' if len(dbs) > 1 else ''} ({', '.join(dbs)}) = "
            f"{requests:,} requests, {failures} responses ≥ 500")


def report(tally: Tally, shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Print this database's count; the second database to finish also prints the total of both."""
    key = os.environ.get("PYTEST_XDIST_TESTRUNUID", "local")
    (shared / f"hostile-urls-{key}-{tally.database}.json").write_text(json.dumps(tally.summary()))
    lines = [_count_line([tally.summary()])]
    done = [json.loads(p.read_text()) for p in sorted(shared.glob(f"hostile-urls-{key}-*.json"))]
    if len(done) > 1:
        try:
            (shared / f"hostile-urls-{key}.printed").touch(exist_ok=False)
            lines.append(_count_line(done))
        except FileExistsError:
            pass
    with capsys.disabled():
        sys.stderr.write("\n" + "\n".join(lines) + "\n")
        sys.stderr.flush()


# --- tests ----------------------------------------------------------------------------------------------

MIN_REQUESTS = 2500  # per database: the walk shrinking (rules or parameters lost) fails loudly


def test_every_url_rule_with_hostile_input_is_never_a_server_error(
        quality_db_app: Any, capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory,
        worker_id: str) -> None:
    database = db.engine.dialect.name
    w = build_world()
    w.need(*WORLD_OBJECTS)
    wrong = misrouted(quality_db_app, w)
    assert not wrong, f"real URLs that do not reach their rule: {wrong}"
    tally = walk(quality_db_app, w, database)
    report(tally, _shared_dir(tmp_path_factory, worker_id), capsys)

    not_walked = sorted({r.rule for r in app_rules(quality_db_app)} - tally.rules)
    assert not not_walked, f"rules not walked: {not_walked}"
    assert tally.requests >= MIN_REQUESTS, f"only {tally.requests} requests on {database}"
    failures, requests = tally.failures, tally.requests
    assert not failures, (f"{len(failures)} of {requests} requests on {database} answered >= 500:\n  "
                          + "\n  ".join(failures[:40]))


# --- the table above is complete: a view reading a query parameter not in it fails here ------------------

_READ = re.compile(r"""request\.args(?:\.get|\.getlist)?(?:\(|\[)\s*(?P<q>["'])(?P<name>[^"']+)(?P=q)""")
_ANY_USE = re.compile(r"request\.args\b")
_ARGS_BEFORE = r"(?:[^()\n]|\([^()\n]*\))*?"  # the call's arguments before it (one level of nested calls)
_PASSED = re.compile(rf"(?P<call>\w+)\({_ARGS_BEFORE}(?:\w+=)?request\.args\s*[,)]")  # a form or a helper gets it


def _form_fields(cls: type) -> set[str]:
    return {name for name in dir(cls) if isinstance(getattr(cls, name, None), UnboundField)}


def _reads(func: Callable[..., Any], name: str, depth: int = 0) -> set[str]:
    """The query parameters ``func`` reads from ``name`` (``request.args`` or a parameter holding it):
    literal ``.get("x")`` / ``["x"]``, the fields of a form bound to it, and (recursively) what a
    helper it is passed to reads from it, or a product helper it calls reads from ``request.args``."""
    source = inspect.getsource(func)
    names: set[str] = set()
    if name == "request.args" and depth < 4:
        for call in set(re.findall(r"(?<![\w.])(\w+)\(", source)) - {func.__name__}:
            callee = func.__globals__.get(call)
            if (inspect.isfunction(callee) and callee.__module__.split(".")[0] in ("marketplace", func.__module__.split(".")[0])
                    and "request.args" in inspect.getsource(callee)):
                names |= _reads(inspect.unwrap(callee), name, depth + 1)
    n = re.escape(name)
    names |= {m.group("name") for m in re.finditer(
        rf"""(?<![\w.]){n}(?:\.get|\.getlist)?(?:\(|\[)\s*(?P<q>["'])(?P<name>[^"']+)(?P=q)""", source)}
    for m in re.finditer(rf"(?P<call>\w+)\((?P<before>{_ARGS_BEFORE})(?P<kw>\w+=)?{n}\s*[,)]", source):
        callee = func.__globals__.get(m.group("call"))
        if isinstance(callee, type) and _form_fields(callee):
            names |= _form_fields(callee)
        elif inspect.isfunction(callee) and depth < 4:
            parameters = list(inspect.signature(callee).parameters)
            position = re.sub(r"\([^()]*\)", "", m.group("before")).count(",")
            target = (m.group("kw") or "")[:-1] or parameters[position]
            names |= _reads(inspect.unwrap(callee), target, depth + 1)
    return names


def params_read(view: Callable[..., Any]) -> set[str]:
    """The query parameters a view function reads (itself, through a bound form or through helpers)."""
    return _reads(inspect.unwrap(view), "request.args")


@pytest.fixture(scope="module")
def bare_app() -> Any:
    from marketplace import create_app

    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_every_query_parameter_a_view_reads_is_in_the_table(bare_app: Any) -> None:
    missing = {}
    for endpoint, view in bare_app.view_functions.items():
        if endpoint == "static":
            continue
        unlisted = params_read(view) - set(QUERY_PARAMS.get(endpoint, ()))
        if unlisted:
            missing[endpoint] = sorted(unlisted)
    assert not missing, f"views read query parameters the hostile URL harness does not send (add to QUERY_PARAMS): {missing}"
    stale = sorted(set(QUERY_PARAMS) - set(bare_app.view_functions))
    assert not stale, f"QUERY_PARAMS names endpoints that do not exist: {stale}"


def _sources() -> Iterator[tuple[Path, str]]:
    for path in sorted([*(ROOT / "marketplace").rglob("*.py"), *(ROOT / "templates").rglob("*.html")]):
        yield path, path.read_text(encoding="utf-8")


def test_every_request_args_use_in_the_code_is_known() -> None:
    """Outside the views too (helpers, hooks, templates): every parameter name read is in the table, and
    every use of ``request.args`` is one the checks above understand (a literal name, or passed on)."""
    unknown, opaque = [], []
    for path, source in _sources():
        for m in _ANY_USE.finditer(source):
            line = source.count("\n", 0, m.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}"
            read = _READ.match(source, m.start())
            if read:
                if read.group("name") not in ALL_PARAMS:
                    unknown.append(f"{where} reads {read.group('name')!r}")
                continue
            line_text = source.splitlines()[line - 1]
            if _PASSED.search(line_text) or "type=database_id" in line_text:
                continue  # a bound form or a helper: followed per view by params_read
            opaque.append(f"{where}: {line_text.strip()}")
    assert not unknown, f"query parameters missing from QUERY_PARAMS: {unknown}"
    assert not opaque, f"request.args used in a way the harness cannot see (read a literal name): {opaque}"


def test_the_table_check_can_fail() -> None:
    """The source scanner finds direct reads, bound forms and helpers (the completeness test is not vacuous)."""
    def view():  # type: ignore[no-untyped-def]
        from flask import request

        return request.args.get("secret_param"), request.args["other"], _helper(1, request.args), _own()

    assert params_read(view) == {"secret_param", "other", "deep", "deeper", "own"}
    from marketplace.specialists.views import directory

    assert set(DIRECTORY_FILTERS) <= params_read(directory)


def _helper(n: int, query: Any) -> Any:
    return query.get("deep"), _deeper(query=query)


def _deeper(query: Any) -> Any:
    return query.getlist("deeper")


def _own() -> Any:
    from flask import request

    return request.args.get("own")


def test_every_path_argument_has_a_real_value(bare_app: Any) -> None:
    """A new rule with an argument the harness can't fill fails here (cheaply) before the walk does."""
    unknown = sorted({f"{r.rule} <{m.group('name')}>" for r in app_rules(bare_app) for m in _ARG.finditer(r.rule)
                      if m.group("conv") != "any" and m.group("name") not in REAL_ARGS
                      and not (m.group("name") == "slug" and r.endpoint.split(".")[0] in SLUG_OF)})
    assert not unknown, f"add a real value to REAL_ARGS / SLUG_OF for: {unknown}"


def test_the_walk_reports_a_server_error_and_reflected_markup(bare_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness can fail: a toy app that overflows on a huge id and echoes a parameter raw is caught."""
    toy = Flask("toy")
    toy.config["TESTING"] = True

    @toy.get("/boom/<int:question_id>")
    def boom(question_id: int) -> str:
        if question_id > 2**31 - 1:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return "ok"

    @toy.get("/echo")
    def echo() -> str:
        from flask import request

        return f"<p>{request.args.get('q', '')}</p>"

    monkeypatch.setitem(QUERY_PARAMS, "echo", ("q",))
    w = type("W", (), {"question": type("Q", (), {"id": 1})})()
    tally = Tally("toy")
    with bare_app.app_context():
        for rule in toy.url_map.iter_rules():
            if rule.endpoint != "static":
                for probe in probes(rule, w, "visitor"):
                    send(toy.test_client(), probe, "visitor", rule.rule, tally)
    assert any("<question_id>=int32_over" in f and "OverflowError" in f for f in tally.failures), tally.failures
    assert any("?q=markup" in f and "reflected" in f for f in tally.failures), tally.failures
