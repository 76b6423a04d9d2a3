"""Production refuses unsafe settings; rate limits hold across processes and proxies."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import create_engine

from config import TESTING_NOTES_KEY
from marketplace import create_app
from marketplace.auth.models import Role
from tests.conftest import free_port, require
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"SECRET_KEY": "k" * 48, "MAIL_BACKEND": "smtp", "SERVER_BASE_URL": "https://balance.example",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "NOTES_KEYS": "lXhAwnFtl0zc9Rh1Q3kDpvmFqUG7T0AKqdBsnWXnBx0="}


def _redis_available() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_production_starts_with_safe_settings():
    assert create_app("production", GOOD).config["ENV_NAME"] == "production"


@pytest.mark.parametrize(("override", "message"), [
    ({"SECRET_KEY": "x"}, "SECRET_KEY"),
    ({"SECRET_KEY": "y" * 31}, "SECRET_KEY"),
    ({"MAIL_BACKEND": "console"}, "MAIL_BACKEND"),
    ({"SERVER_BASE_URL": ""}, "SERVER_BASE_URL"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI"),
    ({"NOTES_KEYS": ""}, "NOTES_KEYS must be set"),
    ({"NOTES_KEYS": " , "}, "NOTES_KEYS must be set"),
    ({"NOTES_KEYS": TESTING_NOTES_KEY}, "published testing key"),
    ({"NOTES_KEYS": "not-a-fernet-key"}, "key 1 is not a Fernet key"),
])
def test_production_refuses_unsafe_settings(override, message):
    with pytest.raises(RuntimeError, match=message):
        create_app("production", {**GOOD, **override})


def test_development_and_testing_start_with_their_defaults():
    create_app("development", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    create_app("testing")


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_failed_logins_for_one_account_from_many_addresses_are_limited(client, make_user):
    victim = make_user(Role.CLIENT, email="victim@example.test")
    statuses = []
    for n in range(12):  # a distributed guessing attack: every try from another address
        statuses.append(client.post("/auth/login", data={"email": victim.email, "password": f"guess-number-{n}"},
                                    environ_base={"REMOTE_ADDR": f"10.0.{n}.1"}).status_code)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_the_account_limit_cannot_lock_the_owner_out_of_a_known_browser(app, make_user):
    owner = make_user(Role.CLIENT, email="owner@example.test")
    own_browser = app.test_client()
    assert own_browser.post("/auth/login", data={"email": owner.email, "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 302
    own_browser.post("/auth/logout", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    attacker = app.test_client()
    for n in range(12):
        attacker.post("/auth/login", data={"email": owner.email, "password": f"wrong-{n}-guess"},
                      environ_base={"REMOTE_ADDR": f"10.1.{n}.1"})
    assert attacker.post("/auth/login", data={"email": owner.email, "password": PASSWORD},
                         environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 429
    assert own_browser.post("/auth/login", data={"email": owner.email, "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 302


@pytest.mark.config(RATELIMIT_ENABLED=True, TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_each_client_has_its_own_address_budget(client):
    def attempt(address: str) -> int:
        return client.post("/auth/login", data={"email": f"nobody-{uuid.uuid4().hex[:6]}@example.test",
                                                "password": "wrong-password"},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"},
                           headers={"X-Forwarded-For": address}).status_code

    assert [attempt("198.51.100.1") for _ in range(11)][-1] == 429
    assert attempt("198.51.100.2") == 401  # another client behind the same proxy is not blocked


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_without_trusted_proxies_a_forged_forwarded_address_changes_nothing(client):
    statuses = [client.post("/auth/login", data={"email": f"n{n}@example.test", "password": "wrong-password"},
                            headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(11)]
    assert statuses[-1] == 429


def test_two_gunicorn_workers_with_production_defaults_block_the_11th_wrong_password(tmp_path):
    require(_redis_available(), "Redis not reachable at 127.0.0.1:6379")
    database = f"sqlite:///{tmp_path / 'prod.db'}"
    from marketplace.extensions import db

    setup = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with setup.app_context():
        db.create_all()
    create_engine(database).dispose()
    port = free_port()
    env = {**os.environ, "BALANCE_ENV": "production", "SECRET_KEY": "s" * 48, "SERVER_BASE_URL": "https://b.example",
           "NOTES_KEYS": GOOD["NOTES_KEYS"],
           "DATABASE_URL": database, "INSTANCE_PATH": str(tmp_path), "LOG_LEVEL": "WARNING",
           "RATELIMIT_KEY_PREFIX": f"balance-test-{uuid.uuid4().hex}", "SESSION_COOKIE_SECURE": "0"}
    env.pop("RATELIMIT_STORAGE_URI", None)  # the production default
    env.pop("REDIS_URL", None)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen([str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_up(port, server)
        statuses = [_post_login(port) for _ in range(11)]  # each from a new browser, through either worker
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
    assert statuses[:10] == [401] * 10, statuses
    assert statuses[10] == 429


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(server.stderr.read().decode()[-2000:] if server.stderr else "gunicorn exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def _post_login(port: int) -> int:
    """A wrong password, with the form's CSRF token as a browser would send it."""
    browser = requests.Session()
    page = browser.get(f"http://127.0.0.1:{port}/auth/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return browser.post(f"http://127.0.0.1:{port}/auth/login", allow_redirects=False, timeout=10,
                        data={"email": "someone@example.test", "password": "wrong-password", "csrf_token": token}).status_code
