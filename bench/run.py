"""``make bench``: the directory and profile pages under load, compared with a trivial endpoint.

1. creates the PostgreSQL database ``balance_bench`` on TEST_DATABASE_URL's server,
2. creates the tables and loads the demo data plus 10,000 generated specialists, then
   4,000 bench clients with signed-in sessions and one free slot each (for the logged-in
   directory and the booking POSTs),
3. starts gunicorn (2 workers) on a random loopback port,
4. runs wrk (16 connections, 2 threads, fixed duration) against every entry of ``TARGETS``,
5. prints req/s, p50, p99 and each page's req/s as a ratio of the trivial endpoint,
6. writes the table into docs/benchmarks.md, stops gunicorn and drops the database.

Other domains add pages by appending to ``TARGETS`` (``lua=`` for POSTs) and, when a path
needs data (a slug, an id), by appending a function to ``CONTEXT_PROVIDERS``.
"""
from __future__ import annotations

import argparse
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
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE_NAME = "balance_bench"
RESULTS_FILE = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"

# Goals from the issue: directory pages at ≥ 0.5 of the trivial endpoint's req/s, p99 < 50 ms.
GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0


@dataclass(frozen=True)
class Target:
    """One page to load. ``path`` may use ``{names}`` from the bench context (see CONTEXT_PROVIDERS)."""

    name: str
    path: str
    baseline: bool = False  # the trivial endpoint other pages are compared with
    goal: bool = False  # held to the ratio / p99 goals
    lua: str | None = None  # a wrk Lua script (e.g. a POST with a body) instead of a plain GET
    lua_context: str | None = None  # or: the name of a bench-context entry holding the script
    warmup: bool = True  # False for requests that can only succeed once (each booking takes a slot)


TARGETS: list[Target] = [
    Target("trivial endpoint", "/ping", baseline=True),
    Target("directory", "/specialists", goal=True),
    Target("directory, filtered, page 3", "/specialists?specialty=anxiety&language=en&free=1&page=3", goal=True),
    Target("directory, logged in (no cache)", "/specialists", lua_context="logged_in_lua"),
    Target("profile page", "/specialists/{profile_slug}"),
    Target("booking POST (each a new slot and client)", "/specialists/{profile_slug}/book",
           lua_context="booking_lua",
           warmup=False),
]


def _profile_slug(app: Any) -> dict[str, str]:
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.specialists.models import SpecialistProfile

    slug = db.session.scalar(select(SpecialistProfile.slug).where(SpecialistProfile.is_published.is_(True))
                             .order_by(SpecialistProfile.id).limit(1))
    return {"profile_slug": slug or "missing"}


BOOKINGS = 4000  # more than the booking target can make in its run (each uses one slot and one client)
THREADS_PLACEHOLDER = "__THREADS__"

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
  return wrk.format(r[1], r[2], {["Cookie"] = r[3], ["Content-Type"] = "application/x-www-form-urlencoded"}, r[4])
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lua_requests(requests: list[tuple[str, str, str, str]]) -> str:
    """A wrk script sending (method, path, cookie, body) requests in turn."""
    rows = ",\n".join("{" + ", ".join(_lua_string(v) for v in request) + "}" for request in requests)
    return "REQUESTS = {\n" + rows + "\n}\n" + _LUA_REQUESTS


def _session_cookies(app: Any, users: list[Any]) -> list[tuple[str, str]]:
    """(Cookie header, CSRF token) of a logged-in session for each user, signed like the app does."""
    from flask import session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    cookies = []
    for user in users:
        with app.app_context(), app.test_request_context("/"):  # a fresh `g`: flask_wtf caches the token there
            login_user(user)
            token = generate_csrf()
            cookies.append((f"{name}={serializer.dumps(dict(session))}", token))
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
         "created_at": now} for i in range(count)])
    db.session.commit()
    return list(db.session.scalars(select(User).where(User.email.like("bench-client-%")).order_by(User.id)))


def _free_slots(count: int) -> list[tuple[str, str, datetime]]:
    """``count`` (slug, format, start) bookable slots, at least two hours apart per specialist."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from marketplace.consultations.availability import load_calendars
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
        .where(SpecialistProfile.is_published.is_(True), SpecialistProfile.offers_free_consultation.is_(True),
               SpecialistProfile.accepting_new_clients.is_(True))
        .order_by(SpecialistProfile.id).limit(600)).all()
    calendars = load_calendars([(pid, tz) for pid, tz, _slug, _format in profiles], now)
    slots: list[tuple[str, str, datetime]] = []
    for pid, _tz, slug, format_slug in profiles:
        last = None
        for start in calendars[pid].free_slots(now):
            if start > now + timedelta(days=1) and (last is None or start - last >= timedelta(hours=2)):
                slots.append((slug, format_slug, start))
                last = start
                if len(slots) >= count or sum(1 for s in slots if s[0] == slug) >= 10:
                    break
        if len(slots) >= count:
            break
    return slots


def _logged_in_requests(app: Any) -> dict[str, str]:
    """Directory GETs as logged-in clients (never served from the page cache), and free-consultation
    bookings: each request books another slot as another client (one free consultation per pair)."""
    from urllib.parse import urlencode

    slots = _free_slots(BOOKINGS)
    clients = _bench_clients(len(slots))
    cookies = _session_cookies(app, clients)
    bookings = [("POST", f"/specialists/{slug}/book", cookie, urlencode({
        "slot": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "format": format_slug, "consent": "y", "note": "",
        "csrf_token": token})) for (slug, format_slug, start), (cookie, token) in zip(slots, cookies, strict=True)]
    browsing = [("GET", "/specialists", cookie, "") for cookie, _token in cookies[:200]]
    return {"booking_lua": _lua_requests(bookings), "logged_in_lua": _lua_requests(browsing),
            "bookable_slots": str(len(bookings))}


# Each provider returns names for ``Target.path`` templates; they run once, after loading data.
CONTEXT_PROVIDERS: list[Callable[[Any], dict[str, str]]] = [_profile_slug, _logged_in_requests]


@dataclass
class Result:
    target: Target
    path: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors + non-2xx/3xx responses


# --- database ---------------------------------------------------------------------------------

def server_url() -> URL:
    return make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER))


def recreate_database(base: URL) -> URL:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE_NAME}"'))
    admin.dispose()
    return base.set(database=DATABASE_NAME)


def drop_database(base: URL) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)'))
    admin.dispose()


def load_data(url: str, specialists: int) -> tuple[float, dict[str, str]]:
    """Create tables (metadata: works whether or not every domain has a migration yet), load
    demo data with ``specialists`` generated profiles; return (seconds, path context)."""
    from marketplace import create_app
    from marketplace.database import commit
    from marketplace.demo.loader import load_demo_data
    from marketplace.extensions import db

    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": url, "MAIL_BACKEND": "memory"})
    with app.app_context():
        db.create_all()
        started = time.monotonic()
        load_demo_data(bulk=specialists)
        commit()
        seconds = time.monotonic() - started
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # statistics + visibility map, as autovacuum would
        context: dict[str, str] = {}
        for provider in CONTEXT_PROVIDERS:
            context.update(provider(app))
        db.session.remove()
        db.engine.dispose()
    return seconds, context


# --- server -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, BALANCE_ENV="development", RATELIMIT_ENABLED="0",
               LOG_LEVEL="WARNING", FLASK_DEBUG="0",
               MAIL_BACKEND="memory")  # booking mails: kept in memory, not printed (console) or sent
    command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), "--bind",
               f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603 (fixed argv)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    stop_gunicorn(process)
    raise RuntimeError("gunicorn did not start within 60 s")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the master and its workers
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


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


def run_wrk(wrk: str, url: str, *, seconds: int, connections: int, threads: int, lua: str | None) -> str:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    script = None
    if lua:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(lua)
        script.close()
        command += ["-s", script.name]
    try:
        completed = subprocess.run([*command, url], capture_output=True, text=True, check=True)  # noqa: S603
    finally:
        if script:
            os.unlink(script.name)
    return completed.stdout


def benchmark(wrk: str, base_url: str, context: dict[str, str], args: argparse.Namespace) -> list[Result]:
    results = []
    for target in TARGETS:
        path = target.path.format(**context)
        url = base_url + path
        lua = context[target.lua_context] if target.lua_context else target.lua
        if lua:
            lua = lua.replace(THREADS_PLACEHOLDER, str(args.threads))
        if target.warmup:
            run_wrk(wrk, url, seconds=args.warmup, connections=args.connections, threads=args.threads, lua=lua)
        output = run_wrk(wrk, url, seconds=args.duration, connections=args.connections, threads=args.threads,
                         lua=lua)
        rps, p50, p99, requests, errors = parse_wrk(output)
        results.append(Result(target, path, rps, p50, p99, requests, errors))
        print(f"  {target.name:<32} {rps:>9.1f} req/s   p50 {p50:>7.2f} ms   p99 {p99:>7.2f} ms"
              + (f"   ({errors} errors)" if errors else ""), flush=True)
    return results


# --- report ---------------------------------------------------------------------------------------

def results_table(results: list[Result]) -> list[str]:
    baseline = next((r for r in results if r.target.baseline), None)
    lines = ["| Page | Path | req/s | p50 (ms) | p99 (ms) | ratio to trivial | goal met |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        ratio = r.requests_per_second / baseline.requests_per_second if baseline else float("nan")
        if r.target.goal:
            met = "yes" if ratio >= GOAL_RATIO and r.p99_ms < GOAL_P99_MS and not r.errors else "**no**"
        else:
            met = "—"
        errors = f" ({r.errors} errors)" if r.errors else ""
        lines.append(f"| {r.target.name}{errors} | `{r.path}` | {r.requests_per_second:.0f} | {r.p50_ms:.1f} | "
                     f"{r.p99_ms:.1f} | {ratio:.2f} | {met} |")
    return lines


def environment_lines(args: argparse.Namespace, load_seconds: float, pg_version: str) -> list[str]:
    load = os.getloadavg()
    return [
        f"- Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {args.specialists:,} generated specialists "
        f"+ demo data (loaded in {load_seconds:.1f} s).",
        f"- Server: gunicorn, {args.workers} sync workers, loopback; {pg_version}; Python "
        f"{platform.python_version()}; {os.cpu_count()} CPUs shared by wrk, gunicorn and PostgreSQL.",
        f"- Load: wrk {args.threads} threads, {args.connections} connections, {args.duration} s per page "
        f"after a {args.warmup} s warm-up. Machine load average at the end: {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (1/5/15 min).",
        f"- Goals: directory pages ≥ {GOAL_RATIO} × the trivial endpoint's req/s and p99 < {GOAL_P99_MS:.0f} ms.",
    ]


def write_report(results: list[Result], env_lines: list[str]) -> None:
    block = "\n".join([BEGIN, "", *env_lines, "", *results_table(results), "", END])
    if RESULTS_FILE.exists() and BEGIN in RESULTS_FILE.read_text():
        before, rest = RESULTS_FILE.read_text().split(BEGIN, 1)
        after = rest.split(END, 1)[1] if END in rest else ""
        RESULTS_FILE.write_text(before + block + after)
    else:
        RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_FILE.write_text("# Benchmarks\n\nWritten by `make bench` (bench/run.py).\n\n" + block + "\n")


def postgres_version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return f"PostgreSQL {str(version).split()[0]}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specialists", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per page (not measured)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-database", action="store_true", help="don't drop balance_bench afterwards")
    parser.add_argument("--no-report", action="store_true", help="don't write docs/benchmarks.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    wrk = ensure_wrk()
    base = server_url()
    url = recreate_database(base).render_as_string(hide_password=False)
    server = None
    try:
        print(f"loading demo data with {args.specialists:,} specialists into {DATABASE_NAME} …", flush=True)
        load_seconds, context = load_data(url, args.specialists)
        print(f"  loaded in {load_seconds:.1f} s", flush=True)
        port = free_port()
        server = start_gunicorn(url, port, args.workers)
        print(f"gunicorn ({args.workers} workers) on 127.0.0.1:{port}; wrk {args.threads} threads, "
              f"{args.connections} connections, {args.duration} s per page:", flush=True)
        results = benchmark(wrk, f"http://127.0.0.1:{port}", context, args)
        stop_gunicorn(server)
        server = None
        env_lines = environment_lines(args, load_seconds, postgres_version(url))
        print("\n" + "\n".join([*env_lines, "", *results_table(results)]))
        if not args.no_report:
            write_report(results, env_lines)
            print(f"\nwritten to {RESULTS_FILE.relative_to(ROOT)}")
    finally:
        if server is not None:
            stop_gunicorn(server)
        if not args.keep_database:
            drop_database(base)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
