"""``make bench``: the busiest pages under load, compared with a trivial endpoint, on PostgreSQL and SQLite.

For every database (``--database postgresql|sqlite|both``) and every size (``--specialists 10000,100000``):

1. creates a fresh database: ``balance_bench_<size>`` on TEST_DATABASE_URL's PostgreSQL server, or a
   SQLite file in a temporary directory; creates the tables (``db.create_all()``),
2. flushes the bench's dedicated Redis database (``--redis-url``; cache, counters and job queue of
   every process, as in production); in a child process (``--prepare``), loads the demo data plus
   ``size`` generated specialists, analyzes the tables, then creates 4,000 bench clients logged in
   through the app's own login and one free slot each (for the logged-in pages and the booking POSTs),
3. starts a Huey consumer (``huey_consumer wsgi.huey -k thread -w 2``) and gunicorn (2 sync workers)
   on a random loopback port, and waits until the job queue is empty,
4. runs wrk (16 connections, 2 threads, fixed duration) against every entry of ``TARGETS``,
   the trivial endpoint first, so every run has its own baseline (one request first: a logged-in
   page must show a signed-in user; afterwards the bookings made are counted in the database, and
   the bench waits until the jobs they queued are done — every e-mail sent — and reports how long
   after the load that was: the consumer's workers run at a lower CPU priority than gunicorn
   (``JOBS_NICENESS``), as on any host web and workers share),
5. stops gunicorn and the consumer, drops the database, flushes Redis.

Then it prints one table per (database, size) with req/s, p50, p99, each page's req/s as a ratio
of the trivial endpoint and whether the page meets its goal, and writes the tables into
docs/benchmarks.md. A missed goal is printed, not an error: the exit status is non-zero only when
the tool itself fails.

Other domains add pages by appending to ``TARGETS`` (``lua_context=`` for POSTs) and, when a path
needs data (a slug, an id), by appending a function to ``CONTEXT_PROVIDERS``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"  # dedicated to the bench: flushed before and after every run
DATABASE_PREFIX = "balance_bench"
DATABASES = ("postgresql", "sqlite")
DATABASE_LABELS = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
# The bench's queue, its own per invocation: a consumer left over from an interrupted run (on the
# same Redis database) cannot take this run's jobs and run them against another database.
JOBS_NAME = f"balance-bench-{os.getpid()}"
RESULTS_FILE = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"

# Goals from the issue. Every goal also requires 0 errors (non-2xx/3xx responses, socket errors).
GOAL_P99_MS = 50.0  # every GET page
GOAL_SCALING = 0.8  # a page's ratio at the largest size ≥ this × its ratio at the smallest size


@dataclass(frozen=True)
class Target:
    """One page to load. ``path`` may use ``{names}`` from the bench context (see CONTEXT_PROVIDERS)."""

    name: str
    path: str
    baseline: bool = False  # the trivial endpoint other pages are compared with
    min_ratio: float | None = None  # goal: req/s ≥ min_ratio × the trivial endpoint's req/s
    method: str = "GET"  # GET pages are held to the p99 goal
    logged_in: bool = False  # GETs sent with the session cookies of many different clients
    lua_context: str | None = None  # the name of a bench-context entry holding a wrk Lua script (POSTs)
    warmup: bool = True  # False for requests that can only succeed once (each booking takes a slot)
    # SQL counting what a successful request leaves behind (a booking): a 2xx/3xx response without it
    # (e.g. a redirect to the login page) counts as an error.
    effect_sql: str | None = None
    effect_name: str = "made"  # shown with the count, e.g. "412 bookings made"
    # SQL counting the work the requests left to the job queue that is not done yet (e-mails not
    # sent): after the load the bench waits until the queue is empty and this is 0, and reports how
    # long that took (the workers run at a lower CPU priority than the web, JOBS_NICENESS, so under
    # load they take what is left; what remains after WAIT_FOR_JOBS_SECONDS counts as errors).
    jobs_done_sql: str | None = None
    jobs_done_name: str = "jobs done"

    @property
    def p99_goal(self) -> bool:
        return self.method == "GET" and not self.baseline


FILTERED = "/specialists?specialty=anxiety&language=en&free=1&page=3"
PROFILE = "/specialists/{profile_slug}"

TARGETS: list[Target] = [
    Target("trivial endpoint", "/ping", baseline=True),
    Target("home", "/"),
    Target("home, logged in", "/", logged_in=True),
    Target("directory", "/specialists", min_ratio=0.8),
    Target("directory, logged in", "/specialists", min_ratio=0.25, logged_in=True),
    Target("directory, filtered, page 3", FILTERED, min_ratio=0.8),
    Target("directory, filtered, page 3, logged in", FILTERED, min_ratio=0.25, logged_in=True),
    Target("profile page", PROFILE, min_ratio=0.3),
    Target("profile page, logged in", PROFILE, min_ratio=0.3, logged_in=True),
    Target("booking POST (each a new slot and client)", PROFILE + "/book", min_ratio=0.1, method="POST",
           lua_context="booking_lua", warmup=False, effect_name="bookings made", effect_sql=(
               "SELECT count(*) FROM consultations WHERE client_id IN "
               "(SELECT id FROM users WHERE email LIKE 'bench-client-%')"),
           jobs_done_sql="SELECT count(*) FROM outbox_mail WHERE status IN ('pending', 'sending')",
           jobs_done_name="every e-mail sent"),
]
LOGGED_IN_MARKER = "Log out"  # on every page a signed-in user sees (the account menu)

BOOKINGS = 4000  # more than the booking target can make in its run (each uses one slot and one client)
BROWSING_SESSIONS = 200  # different signed-in clients behind the logged-in GETs
THREADS_PLACEHOLDER = "__THREADS__"
# Every request accepts compressed responses, as every browser does (pages are sent with brotli).
ACCEPT_ENCODING = "gzip, deflate, br"

# wrk gives every thread its own Lua state: thread k sends requests k, k + threads, k + 2 × threads …
# of REQUESTS, so no two requests are the same (a booking can only succeed once).
_LUA_REQUESTS = """
local created = 0
function setup(thread)
  thread:set("offset", created)
  created = created + 1
end
function init(args)
  index = offset
end
function request()
  local r = REQUESTS[(index % #REQUESTS) + 1]
  index = index + __THREADS__
  return wrk.format(r[1], r[2], {["Cookie"] = r[3], ["Content-Type"] = "application/x-www-form-urlencoded",
                                 ["Accept-Encoding"] = "__ACCEPT_ENCODING__"}, r[4])
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lua_requests(requests: list[tuple[str, str, str, str]]) -> str:
    """A wrk script sending (method, path, cookie, body) requests in turn."""
    rows = ",\n".join("{" + ", ".join(_lua_string(v) for v in request) + "}" for request in requests)
    return "REQUESTS = {\n" + rows + "\n}\n" + _LUA_REQUESTS


def _session_cookies(app: Any, users: list[Any]) -> list[tuple[str, str]]:
    """(Cookie header, CSRF token) of a logged-in session for each user, made by the app's own login
    (a server-side session row where the app keeps them) and signed like the app does."""
    from flask import g, session
    from flask_wtf.csrf import generate_csrf

    from marketplace.database import commit

    try:
        from marketplace.auth.sessions import log_in
    except ImportError:  # before server-side sessions
        from flask_login import login_user as log_in

    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    csrf_field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    cookies = []
    for user in users:
        with app.test_request_context("/"):  # inside the caller's app context: one database session
            g.pop(csrf_field, None)  # flask_wtf caches the token in `g`, which the app context shares
            log_in(user)
            token = generate_csrf()
            cookies.append((f"{name}={serializer.dumps(dict(session))}", token))
    commit()
    return cookies


def _bench_clients(count: int) -> list[Any]:
    from sqlalchemy import select

    from marketplace.auth.models import Role, User
    from marketplace.database import utcnow
    from marketplace.extensions import db

    now = utcnow()
    db.session.execute(User.__table__.insert(), [
        {"email": f"bench-client-{i}@bench.example", "password_hash": "!", "role": Role.CLIENT.value,
         "display_name": f"Bench client {i}", "timezone": "UTC", "auth_version": 1, "active": True,
         "created_at": now, "email_confirmed_at": now} for i in range(count)])  # confirmed: they may book
    db.session.commit()
    return list(db.session.scalars(select(User).where(User.email.like("bench-client-%")).order_by(User.id)))


def _slot_lists(profiles: list[tuple[int, str]], now: datetime) -> dict[int, list[datetime]]:
    """Free slots of each (profile id, time zone), through the availability module's public functions."""
    from marketplace.consultations import availability

    if hasattr(availability, "load_calendars"):  # batched: a constant number of queries
        calendars = availability.load_calendars(profiles, now)
        return {pid: calendars[pid].free_slots(now) for pid, _tz in profiles}
    from marketplace.extensions import db  # fallback: one profile at a time
    from marketplace.specialists.models import SpecialistProfile

    return {pid: availability.free_slots_for(db.session.get(SpecialistProfile, pid), now) for pid, _tz in profiles}


def _bookable() -> Any:
    """The app's own "bookable specialist" clause (listed, offering the free consultation)."""
    try:
        from marketplace.consultations.availability import bookable_clause
    except ImportError:  # an older checkout
        from marketplace.specialists.models import SpecialistProfile

        return (SpecialistProfile.is_published.is_(True) & SpecialistProfile.offers_free_consultation.is_(True)
                & SpecialistProfile.accepting_new_clients.is_(True))
    return bookable_clause()


def _free_slots(count: int) -> list[tuple[str, str, datetime]]:
    """``count`` (slug, format, start) bookable slots, at least two hours apart per specialist."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from marketplace.database import utcnow
    from marketplace.extensions import db
    from marketplace.specialists.models import Format, SpecialistProfile, profile_formats

    now = utcnow()
    first_format = (select(profile_formats.c.profile_id, func.min(Format.slug).label("slug"))
                    .join(Format, Format.id == profile_formats.c.format_id)
                    .group_by(profile_formats.c.profile_id).subquery())
    profiles = db.session.execute(
        select(SpecialistProfile.id, SpecialistProfile.timezone, SpecialistProfile.slug, first_format.c.slug)
        .join(first_format, first_format.c.profile_id == SpecialistProfile.id)
        .where(_bookable())
        .order_by(SpecialistProfile.id).limit(600)).all()
    free = _slot_lists([(pid, tz) for pid, tz, _slug, _format in profiles], now)
    slots: list[tuple[str, str, datetime]] = []
    for pid, _tz, slug, format_slug in profiles:
        last = None
        for start in free[pid]:
            if start > now + timedelta(days=1) and (last is None or start - last >= timedelta(hours=2)):
                slots.append((slug, format_slug, start))
                last = start
                if len(slots) >= count or sum(1 for s in slots if s[0] == slug) >= 10:
                    break
        if len(slots) >= count:
            break
    return slots


def _sessions_and_bookings(app: Any) -> dict[str, Any]:
    """Signed-in clients, and free-consultation bookings: each request books another slot as another
    client (one free consultation per pair). The profile page is the first bookable profile's."""
    from urllib.parse import urlencode

    slots = _free_slots(BOOKINGS)
    if not slots:
        raise RuntimeError("no bookable slot in the bench data (availability changed?)")
    clients = _bench_clients(len(slots))
    cookies = _session_cookies(app, clients)
    bookings = [("POST", f"/specialists/{slug}/book", cookie, urlencode({
        "slot": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "format": format_slug, "consent": "y", "note": "",
        "csrf_token": token})) for (slug, format_slug, start), (cookie, token) in zip(slots, cookies, strict=True)]
    return {"profile_slug": slots[0][0], "session_cookies": [cookie for cookie, _token in cookies[:BROWSING_SESSIONS]],
            "booking_lua": _lua_requests(bookings), "bookable_slots": len(bookings)}


# Each provider returns names for ``Target.path`` templates (and Lua scripts); they run once per
# database, after loading data.
CONTEXT_PROVIDERS: list[Callable[[Any], dict[str, Any]]] = [_sessions_and_bookings]


@dataclass
class Result:
    target: Target
    path: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors + non-2xx/3xx responses (+ responses without their effect_sql effect)
    note: str = ""  # e.g. "1,020 bookings made"


@dataclass
class Run:
    """One (database, size) combination."""

    database: str
    specialists: int
    database_version: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # phase → seconds
    results: list[Result] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    jobs_left: int = 0  # still queued when the last page's run ended
    bookable_slots: int = 0

    @property
    def label(self) -> str:
        return f"{DATABASE_LABELS[self.database]}, {self.specialists:,} specialists"

    @property
    def baseline(self) -> Result | None:
        return next((r for r in self.results if r.target.baseline), None)

    def ratio(self, result: Result) -> float:
        base = self.baseline
        return result.requests_per_second / base.requests_per_second if base and base.requests_per_second else 0.0


# --- databases ------------------------------------------------------------------------------------

def server_url() -> URL:
    return make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER))


def _postgres_admin(base: URL, statement: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@contextmanager
def bench_database(kind: str, specialists: int, workdir: Path, keep: bool) -> Iterator[str]:
    """A fresh, empty database (URL); dropped or deleted afterwards unless ``keep``."""
    if kind == "postgresql":
        base = server_url()
        name = f"{DATABASE_PREFIX}_{specialists}"
        _postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _postgres_admin(base, f'CREATE DATABASE "{name}"')
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            if keep:
                print(f"  kept PostgreSQL database {name}", flush=True)
            else:
                _postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = workdir / f"bench-{specialists}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            if keep:
                kept = Path(tempfile.gettempdir()) / f"{DATABASE_PREFIX}_{specialists}.db"
                shutil.move(path, kept)
                print(f"  kept SQLite database {kept}", flush=True)


def database_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
            return "SQLite " + str(conn.execute(text("SELECT sqlite_version()")).scalar())
    finally:
        engine.dispose()


def prepare(url: str, specialists: int, out: Path) -> None:
    """In a child process (``--prepare``), so that it imports the app as gunicorn will and frees its
    memory before the load: create tables (metadata: works whether or not every domain has a migration
    yet), load demo data with ``specialists`` generated profiles, analyze, run CONTEXT_PROVIDERS;
    write ``{"phases": …, "context": …}`` as JSON into ``out``."""
    from marketplace import create_app
    from marketplace.database import commit
    from marketplace.demo.loader import load_demo_data
    from marketplace.extensions import db

    phases: dict[str, float] = {}
    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": url, "MAIL_BACKEND": "memory"})
    with app.app_context():
        db.create_all()
        started = time.monotonic()
        load_demo_data(bulk=specialists)
        commit()
        phases["load"] = time.monotonic() - started
        started = time.monotonic()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Statistics (+ PostgreSQL's visibility map), as autovacuum / `PRAGMA optimize` would.
            conn.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
        phases["analyze"] = time.monotonic() - started
        started = time.monotonic()
        context: dict[str, Any] = {}
        for provider in CONTEXT_PROVIDERS:
            context.update(provider(app))
        phases["clients, sessions, slots"] = time.monotonic() - started
        db.session.remove()
        db.engine.dispose()
    out.write_text(json.dumps({"phases": phases, "context": context}))


def load_data(url: str, specialists: int, env: dict[str, str], workdir: Path, run: Run) -> dict[str, Any]:
    """``prepare`` in a child process with the app's environment; its phases go into ``run``."""
    out = workdir / "prepared.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.run", "--prepare", url, str(specialists), str(out)]
    subprocess.run(command, cwd=ROOT, env=dict(os.environ, **env), check=True)  # noqa: S603 (fixed argv)
    prepared = json.loads(out.read_text())
    run.phases.update(prepared["phases"])
    return prepared["context"]


def count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


# --- Redis, processes -----------------------------------------------------------------------------

def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


def redis_version(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        return "Redis " + str(client.info("server")["redis_version"])
    finally:
        client.close()


def pending_jobs(url: str) -> int:
    from huey import RedisHuey

    return int(RedisHuey(JOBS_NAME, url=url).pending_count())


def wait_for_jobs(url: str, timeout: float) -> int:
    """Wait until the job queue is empty (at most ``timeout`` seconds); return what is left."""
    deadline = time.monotonic() + timeout
    while (left := pending_jobs(url)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


WAIT_FOR_JOBS_SECONDS = 300


def wait_until_done(redis_url: str, database_url: str, sql: str, before: int,
                    timeout: float) -> tuple[float, int, int]:
    """Wait until the job queue is empty and ``sql`` counts no more than ``before`` (its count
    before the load): (seconds waited, jobs queued, what ``sql`` counts beyond ``before``)."""
    started = time.monotonic()
    while True:
        left, undone = pending_jobs(redis_url), max(0, count(database_url, sql) - before)
        waited = time.monotonic() - started
        if (not left and not undone) or waited > timeout:
            return waited, left, undone
        time.sleep(0.5)


def app_environment(workdir: Path, redis_url: str) -> dict[str, str]:
    """What the bench's app processes (loader, gunicorn, consumer) share: everything shared lives in
    the bench's Redis database, files in the bench's temporary directory, never in instance/."""
    instance = workdir / "instance"
    instance.mkdir(exist_ok=True)
    return {"BALANCE_ENV": "development", "FLASK_DEBUG": "0", "LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": "0",
            "MAIL_BACKEND": "memory",  # mails: kept in memory by the job that delivers them
            "INSTANCE_PATH": str(instance), "UPLOAD_FOLDER": str(instance / "uploads"),
            "REDIS_URL": redis_url, "JOBS_URL": redis_url, "JOBS_NAME": JOBS_NAME, "CACHE_REDIS_URL": redis_url,
            "COUNTERS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                start_new_session=True)  # its own process group: stopped as a whole


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _error_summary(log: Path, limit: int = 6) -> list[str]:
    """The most frequent exception lines of a log ("sqlite3.OperationalError: database is locked")."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    counts = Counter(line for line in lines if re.match(r"[\w.]+(Error|Exception|Timeout)\b.*:", line))
    return [f"{count} × {line[:200]}" for line, count in counts.most_common(limit)]


def start_consumer(env: dict[str, str], log: Path) -> subprocess.Popen:
    # -q: warnings and errors only (not a line per job), as gunicorn's --log-level warning.
    process = _start([str(BIN / "huey_consumer"), "wsgi.huey", "-k", "thread", "-w", "2", "-q"], env, log)
    time.sleep(1.5)
    if process.poll() is not None:
        raise RuntimeError(f"huey consumer exited with code {process.returncode}:\n{_tail(log)}")
    return process


def start_gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    process = _start([str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                      "--log-level", "warning", "wsgi:app"], env, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    stop_process(process)
    raise RuntimeError("gunicorn did not start within 60 s")


def stop_process(process: subprocess.Popen | None) -> None:
    """SIGTERM to the process group (gunicorn's master and workers; the consumer), SIGKILL after 20 s."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


# --- wrk ------------------------------------------------------------------------------------------

def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found; installing the Debian package …", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)  # noqa: S603
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)  # noqa: S603
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("could not install wrk (apt package `wrk`)")
    return found


def wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "-v"], capture_output=True, text=True)  # noqa: S603 (exits 1, prints usage)
    match = re.search(r"wrk (\S+)", completed.stdout + completed.stderr)  # "wrk debian/4.1.0-3+b2 [epoll] …"
    return f"wrk {match.group(1).rsplit('/', 1)[-1]}" if match else "wrk"


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not match:
        raise ValueError(f"unexpected wrk duration {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """(req/s, p50 ms, p99 ms, requests, errors) from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _duration_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _duration_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(g) for g in match.groups())
    return rps, p50, p99, requests, errors


def run_wrk(wrk: str, url: str, *, seconds: int, connections: int, threads: int, lua: str | None,
            workdir: Path) -> str:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
               "-H", f"Accept-Encoding: {ACCEPT_ENCODING}"]
    if lua:
        script = workdir / "request.lua"
        script.write_text(lua)
        command += ["-s", str(script)]
    completed = subprocess.run([*command, url], capture_output=True, text=True)  # noqa: S603
    if completed.returncode != 0 or "Requests/sec" not in completed.stdout:
        raise RuntimeError(f"wrk failed ({completed.returncode}) on {url}:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def target_lua(target: Target, context: dict[str, Any], path: str, threads: int) -> str | None:
    if target.lua_context:
        lua = context[target.lua_context]
    elif target.logged_in:
        lua = _lua_requests([(target.method, path, cookie, "") for cookie in context["session_cookies"]])
    else:
        return None
    return lua.replace(THREADS_PLACEHOLDER, str(threads)).replace("__ACCEPT_ENCODING__", ACCEPT_ENCODING)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is answered as an HTTPError: we want to see it, not follow it


def preflight(target: Target, url: str, context: dict[str, Any]) -> None:
    """One request before the load: a logged-in page that does not show a signed-in user means the
    bench's sessions stopped working (a tool failure, not a slow page); other surprises are reported."""
    if target.method != "GET":
        return
    request = urllib.request.Request(url)  # noqa: S310 (loopback http)
    if target.logged_in:
        request.add_header("Cookie", context["session_cookies"][0])
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=30) as response:
            status, body = response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, ""
    if status != 200:
        print(f"  warning: {target.name}: GET {url} answered {status} before the load", flush=True)
    elif target.logged_in and LOGGED_IN_MARKER not in body:
        raise RuntimeError(f"{target.name}: the page does not show a signed-in user ({LOGGED_IN_MARKER!r} missing): "
                           "the bench's session cookies no longer log in (see _session_cookies)")


def benchmark(wrk: str, base_url: str, context: dict[str, Any], args: argparse.Namespace, workdir: Path,
              database_url: str) -> list[Result]:
    results = []
    for target in TARGETS:
        if args.pages and not target.baseline and not any(word in target.name for word in args.pages):
            continue
        path = target.path.format(**context)
        url = base_url + path
        preflight(target, url, context)
        lua = target_lua(target, context, path, args.threads)
        options = {"connections": args.connections, "threads": args.threads, "lua": lua, "workdir": workdir}
        if target.warmup and args.warmup > 0:
            run_wrk(wrk, url, seconds=args.warmup, **options)
        before = count(database_url, target.effect_sql) if target.effect_sql else 0
        undone_before = count(database_url, target.jobs_done_sql) if target.jobs_done_sql else 0
        output = run_wrk(wrk, url, seconds=args.duration, **options)
        rps, p50, p99, requests, errors = parse_wrk(output)
        result = Result(target, path, rps, p50, p99, requests, errors)
        if target.effect_sql:
            time.sleep(1)  # requests wrk gave up on at the end may still be committing
            made = count(database_url, target.effect_sql) - before
            missing = max(0, requests - errors - made)
            result.errors += missing
            result.note = f"{made:,} {target.effect_name}" + (f", {missing:,} responses without" if missing else "")
        if target.jobs_done_sql:
            waited, left, undone = wait_until_done(args.redis_url, database_url, target.jobs_done_sql,
                                                   undone_before, WAIT_FOR_JOBS_SECONDS)
            result.errors += undone
            result.note += (f"; {target.jobs_done_name} {waited:.0f} s after the load" if not (left or undone) else
                            f"; {undone:,} not done, {left:,} jobs queued {waited:.0f} s after the load")
        results.append(result)
        print(f"  {target.name:<42} {rps:>8.1f} req/s   p50 {p50:>7.2f} ms   p99 {p99:>7.2f} ms"
              + (f"   ({result.errors} errors of {requests})" if result.errors else "")
              + (f"   [{result.note}]" if result.note else ""), flush=True)
    return results


# --- one (database, size) -------------------------------------------------------------------------

def run_one(kind: str, specialists: int, args: argparse.Namespace, wrk: str, workdir: Path,
            env: dict[str, str]) -> Run:
    run = Run(kind, specialists, load_before=os.getloadavg())
    print(f"\n== {run.label} ==", flush=True)
    server = consumer = None
    log = workdir / f"{kind}-{specialists}.log"  # gunicorn's and the consumer's output (warnings and errors)
    flush_redis(args.redis_url)
    failed = True
    try:
        with bench_database(kind, specialists, workdir, args.keep_database) as url:
            run.database_version = database_version(url)
            print(f"loading demo data with {specialists:,} specialists ({run.database_version}) …", flush=True)
            context = load_data(url, specialists, env, workdir, run)
            run.bookable_slots = int(context.get("bookable_slots", 0))
            print(f"  loaded in {run.phases['load']:.1f} s; analyze {run.phases['analyze']:.1f} s; bench clients, "
                  f"sessions and slots {run.phases['clients, sessions, slots']:.1f} s", flush=True)
            started = time.monotonic()
            process_env = dict(os.environ, **env, DATABASE_URL=url)
            consumer = start_consumer(process_env, log)
            port = free_port()
            server = start_gunicorn(process_env, port, args.workers, log)
            left = wait_for_jobs(args.redis_url, timeout=300)
            run.phases["start, queue drained"] = time.monotonic() - started
            print(f"gunicorn ({args.workers} workers) on 127.0.0.1:{port}, huey consumer (2 threads); "
                  f"{'job queue empty' if not left else f'{left} jobs still queued'} after "
                  f"{run.phases['start, queue drained']:.1f} s; wrk {args.threads} threads, {args.connections} "
                  f"connections, {args.duration} s per page:", flush=True)
            started = time.monotonic()
            run.results = benchmark(wrk, f"http://127.0.0.1:{port}", context, args, workdir, url)
            run.phases["pages"] = time.monotonic() - started
            run.jobs_left = pending_jobs(args.redis_url)
            run.load_after = os.getloadavg()
            started = time.monotonic()
            stop_process(server)
            server = None
            stop_process(consumer)
            consumer = None
        run.phases["stop, drop"] = time.monotonic() - started
        failed = False
    finally:
        stop_process(server)
        stop_process(consumer)
        flush_redis(args.redis_url)
        if (failed or any(r.errors for r in run.results)) and log.exists() and log.stat().st_size:
            kept = Path(tempfile.gettempdir()) / f"balance-bench-{kind}-{specialists}.log"
            shutil.copy(log, kept)
            summary = _error_summary(log) or _tail(log, 12).splitlines()
            print(f"  server and consumer log (warnings, errors): {kept}", *summary, sep="\n    ", flush=True)
    return run


# --- report ---------------------------------------------------------------------------------------

def _ratio_vs_smallest(run: Run, runs: list[Run], result: Result) -> float | None:
    """This page's ratio divided by its ratio at the smallest size on the same database (larger sizes only)."""
    smaller = [r for r in runs if r.database == run.database and r.specialists < run.specialists]
    if not smaller:
        return None
    first = min(smaller, key=lambda r: r.specialists)
    before = next((r for r in first.results if r.target == result.target), None)
    if before is None or not first.ratio(before):
        return None
    return run.ratio(result) / first.ratio(before)


def goal_text(target: Target) -> str:
    parts = [f"≥ {target.min_ratio:.2f}×"] if target.min_ratio is not None else []
    if target.p99_goal:
        parts.append(f"p99 < {GOAL_P99_MS:.0f} ms")
    return ", ".join(parts) or "—"


def missed(run: Run, runs: list[Run], result: Result) -> list[str] | None:
    """Why ``result`` misses its goals ([] if it meets them); None for the baseline (no goal)."""
    target = result.target
    if target.baseline:
        return None
    reasons = []
    ratio = run.ratio(result)
    if target.min_ratio is not None and ratio < target.min_ratio:
        reasons.append(f"ratio {ratio:.2f} < {target.min_ratio:.2f}")
    if target.p99_goal and result.p99_ms >= GOAL_P99_MS:
        reasons.append(f"p99 {result.p99_ms:.0f} ms")
    if result.errors:
        reasons.append(f"{result.errors} errors")
    scaling = _ratio_vs_smallest(run, runs, result)
    if scaling is not None and scaling < GOAL_SCALING:
        reasons.append(f"{scaling:.2f} of its ratio at the smaller size")
    return reasons


def results_table(run: Run, runs: list[Run]) -> list[str]:
    scaled = any(_ratio_vs_smallest(r, runs, res) is not None for r in runs for res in r.results)
    smallest = min((r.specialists for r in runs if r.database == run.database), default=run.specialists)
    scale_header = f" ratio ÷ ratio at {smallest:,} |" if scaled else ""
    lines = [f"| Page | Path | req/s | p50 (ms) | p99 (ms) | ratio to trivial |{scale_header} goal | goal met |",
             "|---|---|---:|---:|---:|---:|" + ("---:|" if scaled else "") + "---|---|"]
    for r in run.results:
        reasons = missed(run, runs, r)
        met = "—" if reasons is None else "yes" if not reasons else "**no**: " + "; ".join(reasons)
        goal = "—" if r.target.baseline else goal_text(r.target)
        errors = f" ({r.errors} errors)" if r.errors else ""
        errors += f" ({r.note})" if r.note else ""
        scale = ""
        if scaled:
            value = _ratio_vs_smallest(run, runs, r)
            scale = " — |" if value is None or r.target.baseline else f" {value:.2f} |"
        lines.append(f"| {r.target.name}{errors} | `{r.path}` | {r.requests_per_second:.0f} | {r.p50_ms:.1f} | "
                     f"{r.p99_ms:.1f} | {run.ratio(r):.2f} |{scale} {goal} | {met} |")
    return lines


def _versions() -> str:
    names = ["Flask", "Flask-SQLAlchemy", "SQLAlchemy", "gunicorn", "huey", "psycopg"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def header_lines(args: argparse.Namespace, runs: list[Run], wrk: str, started: datetime) -> list[str]:
    goals = ", ".join(f"{t.name} ≥ {t.min_ratio}" for t in TARGETS if t.min_ratio is not None)
    return [
        f"- Run: {started:%Y-%m-%d %H:%M} UTC; "
        + "; ".join(f"{r.label} (loaded in {r.phases.get('load', 0):.1f} s)" for r in runs) + ".",
        f"- Server: gunicorn, {args.workers} sync workers, loopback, plus a Huey consumer (2 threads); cache, "
        f"counters and job queue in one Redis database shared by all of them ({redis_version(args.redis_url)}); "
        f"Python {platform.python_version()}; {_versions()}; {os.cpu_count()} CPUs shared by wrk, gunicorn, "
        "the consumer, Redis and the database.",
        f"- Load: {wrk_version(wrk)}, {args.threads} threads, {args.connections} connections, {args.duration} s per "
        f"page after a {args.warmup} s warm-up (none for the booking POSTs). Logged-in pages: "
        f"{BROWSING_SESSIONS} different signed-in clients in turn. Every request sends "
        f"`Accept-Encoding: {ACCEPT_ENCODING}`, as browsers do.",
        f"- Goals (ratio to the trivial endpoint's req/s of the same run): {goals}; p99 < {GOAL_P99_MS:.0f} ms for "
        f"every GET page; with more than one size, each page's ratio at the larger size ≥ {GOAL_SCALING} × its "
        "ratio at the smallest; every goal also needs 0 errors (non-2xx/3xx responses, socket errors).",
    ]


def run_lines(run: Run) -> list[str]:
    phases = "; ".join(f"{name} {seconds:.1f} s" for name, seconds in run.phases.items())
    return [
        f"- {run.database_version}; phases: {phases}.",
        f"- Machine load average (1/5/15 min) before: {_load(run.load_before)}, after: {_load(run.load_after)}. "
        f"Jobs still queued after the last page: {run.jobs_left}. Bookable slots prepared: {run.bookable_slots:,}.",
    ]


def report_lines(args: argparse.Namespace, runs: list[Run], wrk: str, started: datetime) -> list[str]:
    lines = [*header_lines(args, runs, wrk, started)]
    if args.label:
        lines = [f"**{args.label}**", "", *lines]
    for run in runs:
        lines += ["", f"### {run.label}", "", *run_lines(run), "", *results_table(run, runs)]
    return lines


def write_report(path: Path, lines: list[str]) -> None:
    block = "\n".join([BEGIN, "", *lines, "", END])
    if path.exists() and BEGIN in path.read_text():
        before, rest = path.read_text().split(BEGIN, 1)
        after = rest.split(END, 1)[1] if END in rest else ""
        path.write_text(before + block + after)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Benchmarks\n\nWritten by `make bench` (bench/run.py).\n\n" + block + "\n")


def missed_goals(runs: list[Run]) -> list[str]:
    return [f"{run.label}: {r.target.name}: {'; '.join(reasons)}"
            for run in runs for r in run.results if (reasons := missed(run, runs, r))]


# --- command line ---------------------------------------------------------------------------------

def _sizes(value: str) -> list[int]:
    try:
        sizes = sorted({int(v.replace("_", "")) for v in value.split(",") if v.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {value!r}") from exc
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("give at least one positive number of specialists")
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--specialists", type=_sizes, default=[10_000], metavar="N[,N…]",
                        help="generated specialists, e.g. 10000,100000 (default 10000)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per page (not measured)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
                        help="a Redis database for the bench alone: flushed before and after every run "
                             f"(default {DEFAULT_REDIS_URL}, or BENCH_REDIS_URL)")
    parser.add_argument("--pages", type=lambda v: [w.strip() for w in v.split(",") if w.strip()], default=[],
                        metavar="WORD[,WORD…]", help="only the pages whose name contains one of these words "
                        "(e.g. 'booking' or 'profile,directory'), with the trivial endpoint; for trying a change")
    parser.add_argument("--keep-database", action="store_true",
                        help=f"keep the databases ({DATABASE_PREFIX}_<N> on PostgreSQL, a file in the temp dir)")
    parser.add_argument("--no-report", action="store_true", help="don't write the results file")
    parser.add_argument("--report", type=Path, default=RESULTS_FILE, help="results file (default docs/benchmarks.md)")
    parser.add_argument("--label", default="", help="a line above the results, e.g. 'smoke run, not a measurement'")
    parser.add_argument("--prepare", nargs=3, metavar=("URL", "N", "OUT"), help=argparse.SUPPRESS)  # the child
    return parser.parse_args(argv)


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every `finally`: processes, databases, Redis


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.prepare:
        url, specialists, out = args.prepare
        prepare(url, int(specialists), Path(out))
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    wrk = ensure_wrk()
    started = datetime.now(timezone.utc)
    kinds = DATABASES if args.database == "both" else (args.database,)
    workdir = Path(tempfile.mkdtemp(prefix="balance-bench-"))
    env = app_environment(workdir, args.redis_url)
    runs: list[Run] = []
    try:
        for kind in kinds:
            for specialists in args.specialists:
                runs.append(run_one(kind, specialists, args, wrk, workdir, env))
        lines = report_lines(args, runs, wrk, started)
        print("\n" + "\n".join(lines))
        missed_list = missed_goals(runs)
        print("\nMissed goals:" if missed_list else "\nEvery goal met.")
        for line in missed_list:
            print(f"  - {line}")
        if not args.no_report:
            write_report(args.report, lines)
            print(f"\nwritten to {args.report}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt as exc:
        print(f"\nbench interrupted ({exc or 'Ctrl-C'}); servers stopped, databases and Redis cleaned up", file=sys.stderr)
        raise SystemExit(130) from None
