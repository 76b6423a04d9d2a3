"""A request does only what its response needs: no database write on GET, and the embedded
SQLite default serves parallel logged-in readers without errors."""
from __future__ import annotations

import tempfile
import threading
import uuid
from collections import Counter
from typing import Any

import brotli
import flask_compress.flask_compress as flask_compress_module
import pytest
import requests
from flask import has_request_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from marketplace import counters
from marketplace.auth.models import Role
from marketplace.extensions import db
from marketplace.featured.models import CampaignStat
from marketplace.featured.services import flush_campaign_counts
from tests.conftest import LiveServer, require
from tests.factories import PASSWORD
from tests.integration.test_consultations import open_all_week
from tests.integration.test_featured import make_campaign

# Production-like: a real queue (its own file) and counts summed in the process for a while.
PRODUCTION_LIKE = pytest.mark.config(
    JOBS_IMMEDIATE=False, JOBS_URL=f"sqlite:///{tempfile.mkdtemp(prefix='balance-jobs-')}/jobs.db",
    COUNTER_FLUSH_SECONDS=60, RATELIMIT_ENABLED=False,
)

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriteRecorder:
    """Every INSERT/UPDATE/DELETE the app's engine runs, from any thread."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.writes: list[str] = []

    def _on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            self.writes.append(statement.split("\n")[0][:120])

    def __enter__(self) -> WriteRecorder:
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)


@pytest.fixture
def world(app: Any, make_specialist: Any, make_user: Any) -> dict[str, Any]:
    featured = make_specialist(formats=["video"], display_name="Dr Featured Person")
    other = make_specialist(formats=["video"])
    open_all_week(featured)
    open_all_week(other)
    make_campaign(featured, other)
    client_user = make_user(Role.CLIENT, email="reader@example.test")
    db.session.commit()
    return {"featured": featured, "other": other, "client": client_user}


def _pages(world: dict[str, Any]) -> list[str]:
    slug = world["featured"].slug
    return ["/", "/specialists", "/specialists?language=en&page=1", f"/specialists/{slug}",
            f"/specialists/{slug}?src=campaign", "/campaign", "/questions", "/articles"]


@PRODUCTION_LIKE
def test_no_database_write_on_any_get(app, client, auth, world):
    auth.login_as(world["client"])
    with WriteRecorder(db.engine) as recorder:
        for path in _pages(world):
            assert client.get(path).status_code == 200, path
    auth.logout()  # a POST: it may write (it revokes the session)
    with WriteRecorder(db.engine) as anonymous:
        for path in _pages(world):
            assert client.get(path).status_code == 200, path
    assert recorder.writes == [] and anonymous.writes == []

    # The featured cards shown and the campaign profile views were counted all the same (in the
    # process, for the periodic job to write).
    with app.app_context():
        counted = counters.drain()
    assert any(key.startswith("impressions|home|") for key in counted)
    assert sum(n for key, n in counted.items() if key.startswith("profile_views|")) == 2


@pytest.mark.config(COUNTER_FLUSH_SECONDS=0)
def test_counted_impressions_and_views_reach_the_statistics(app, client, world):
    featured = world["featured"]
    client.get("/")
    client.get(f"/specialists/{featured.slug}?src=campaign")
    db.session.commit()
    impressions = db.session.scalar(select(func.sum(CampaignStat.impressions)).where(CampaignStat.profile_id == featured.id))
    views = db.session.scalar(select(func.sum(CampaignStat.profile_views)).where(CampaignStat.profile_id == featured.id))
    assert impressions >= 1 and views == 1


@PRODUCTION_LIKE
def test_counts_summed_in_the_process_are_written_by_the_periodic_job(app, client, world):
    featured = world["featured"]
    for _ in range(3):
        client.get("/")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CampaignStat)) == 0  # nothing written on GET
    with app.app_context():
        flush_campaign_counts()  # what the scheduler runs every minute (it drains this process's counts here)
        db.session.commit()
    db.session.commit()
    assert db.session.scalar(select(func.sum(CampaignStat.impressions))
                             .where(CampaignStat.profile_id == featured.id)) == 3


@PRODUCTION_LIKE
def test_32_parallel_logged_in_readers_on_sqlite_get_no_errors(sqlite_app, make_specialist, make_user):
    featured = make_specialist(formats=["video"])
    open_all_week(featured)
    make_campaign(featured)
    readers = [make_user(Role.CLIENT, email=f"reader{i}@example.test") for i in range(8)]
    db.session.commit()
    paths = ["/", "/specialists", f"/specialists/{featured.slug}", f"/specialists/{featured.slug}?src=campaign"]
    statuses: Counter[int] = Counter()
    errors: list[str] = []

    with LiveServer(sqlite_app) as server:
        sessions = []
        for user in readers:
            s = requests.Session()
            response = s.post(f"{server.url}/auth/login", data={"email": user.email, "password": PASSWORD},
                              allow_redirects=False, timeout=10)
            assert response.status_code == 302
            sessions.append(s)
        barrier = threading.Barrier(32)

        def read(n: int) -> None:
            s = sessions[n % len(sessions)]
            barrier.wait(10)
            for round_ in range(4):
                path = paths[(n + round_) % len(paths)]
                try:
                    response = s.get(server.url + path, timeout=30)
                    statuses[response.status_code] += 1
                except requests.RequestException as exc:
                    errors.append(f"{path}: {exc}")

        threads = [threading.Thread(target=read, args=(n,)) for n in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    assert statuses == Counter({200: 128})


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_are_compressed_when_the_browser_accepts_it(client, encoding):
    plain = client.get("/free-consultation")
    compressed = client.get("/free-consultation", headers={"Accept-Encoding": encoding})
    assert plain.status_code == compressed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert compressed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in compressed.headers.get("Vary", "")
    assert len(compressed.data) < len(plain.data) / 2


def test_a_page_shared_by_visitors_is_compressed_once_and_a_persons_page_every_time(client, auth, make_user,
                                                                                      make_specialist, monkeypatch):
    make_specialist()
    compressions: list[int] = []
    compress = flask_compress_module._compress_data

    def counted(app, data, algorithm):  # type: ignore[no-untyped-def]
        compressions.append(len(data))
        return compress(app, data, algorithm)

    monkeypatch.setattr(flask_compress_module, "_compress_data", counted)
    visitor = [client.get("/specialists", headers={"Accept-Encoding": "br"}) for _ in range(3)]
    assert [r.headers["Content-Encoding"] for r in visitor] == ["br"] * 3
    assert visitor[0].data == visitor[1].data == visitor[2].data
    assert len(compressions) == 1  # composed once for every visitor: compressed once
    client.get("/specialists", headers={"Accept-Encoding": "gzip"})
    assert len(compressions) == 2  # once per algorithm

    auth.login_as(make_user(Role.CLIENT))
    mine = [client.get("/specialists", headers={"Accept-Encoding": "br"}) for _ in range(2)]
    assert len(compressions) == 4  # a person's page is their own: never a visitor's bytes
    assert all(r.headers["Content-Encoding"] == "br" and b"Log out" in brotli.decompress(r.data) for r in mine)


# --- Redis: shared counters, and an outage costs nothing but misses ------------------------------

def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


COUNTERS_IN_REDIS = pytest.mark.config(COUNTERS_URL="redis://127.0.0.1:6379/0",
                                       COUNTERS_KEY=f"balance-test-counters:{uuid.uuid4().hex}")


@COUNTERS_IN_REDIS
def test_counts_shared_through_redis_are_written_by_the_periodic_job(app, client, world):
    require(_redis_up(), "Redis not reachable at 127.0.0.1:6379")
    featured = world["featured"]
    with WriteRecorder(db.engine) as recorder:
        for _ in range(3):
            client.get("/")
        client.get(f"/specialists/{featured.slug}?src=campaign")
    assert recorder.writes == []
    with app.app_context():
        flush_campaign_counts()
        db.session.commit()
        assert counters.drain() == {}  # drained: a second run writes nothing twice
    db.session.commit()
    row = lambda column: db.session.scalar(select(func.sum(column)).where(CampaignStat.profile_id == featured.id))  # noqa: E731
    assert row(CampaignStat.impressions) == 3 and row(CampaignStat.profile_views) == 1


@pytest.mark.config(CACHE_TYPE="marketplace.cache.SafeRedisCache", CACHE_REDIS_URL="redis://127.0.0.1:1/0",
                    CACHE_OPTIONS={"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
                    COUNTERS_URL="redis://127.0.0.1:1/0")
def test_pages_still_answer_when_redis_is_down(client, auth, world):
    for path in _pages(world):
        assert client.get(path).status_code == 200, path
    auth.login_as(world["client"])
    for path in _pages(world):
        assert client.get(path).status_code == 200, path


class LevelRecorder:
    """The isolation level of every statement the app's engine runs, with its first word."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.statements = engine, []

    def _on_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append((statement.split()[0].upper(), conn.get_execution_options().get("isolation_level")))

    def __enter__(self) -> LevelRecorder:
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)


def test_postgres_gets_read_without_begin_and_commit(app, client, auth, world, backend):
    """On PostgreSQL a GET's statements run in autocommit (READ COMMITTED gives each statement its
    own snapshot anyway): a logged-in person's cached page is one round trip, not three. A POST, and
    the GET of a view marked ``writes_on_get`` (reading a conversation marks it read), keep their
    transaction; SQLite keeps its transactions everywhere."""
    auth.login_as(world["client"])
    slug = world["featured"].slug
    client.get("/specialists")  # warm: the pages and the login's flash
    with LevelRecorder(db.engine) as reading:
        for path in ("/specialists", f"/specialists/{slug}", "/"):
            assert client.get(path).status_code == 200, path
    assert reading.statements, "a logged-in page loads its session's user"
    reads = {level for word, level in reading.statements if word == "SELECT"}
    assert reads == ({"AUTOCOMMIT"} if backend == "postgresql" else {None})
    # the counters' flush, a job (run at once in tests, in its own app context): a transaction
    assert all(level is None for word, level in reading.statements if word != "SELECT")

    with LevelRecorder(db.engine) as posting:
        assert client.post("/account/time-zone", data={"timezone": "Asia/Tokyo", "next": "/"}).status_code == 302
    assert ("UPDATE", None) in posting.statements and all(level is None for _w, level in posting.statements)


@pytest.mark.config(COUNTER_FLUSH_SECONDS=60)  # no counter flush job (run at once in tests) in between
def test_a_get_that_only_read_commits_nothing(app, client, auth, world):
    """The unit of work commits what a request changed; a GET that only read gives its connection
    back without a COMMIT (the end of the request closes the session), a POST commits."""
    commits: list[str] = []

    def _committed(_session: Any) -> None:
        if has_request_context():  # not the test client's own commit of the test's data (factories.py)
            commits.append("commit")

    auth.login_as(world["client"])
    client.get("/specialists")  # warm, and the login's flash
    event.listen(Session, "after_commit", _committed)
    try:
        for path in ("/specialists", f"/specialists/{world['featured'].slug}", "/consultations"):
            assert client.get(path).status_code == 200, path
        assert commits == []
        assert client.post("/account/time-zone", data={"timezone": "Asia/Tokyo", "next": "/"}).status_code == 302
        assert commits == ["commit"]
    finally:
        event.remove(Session, "after_commit", _committed)
