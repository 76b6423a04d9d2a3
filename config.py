"""Configuration classes, read from the environment.

Development defaults work out of the box (SQLite in ``instance/``, console mail,
payments disabled). Production refuses to start with the default SECRET_KEY.
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))
DEFAULT_SECRET_KEY = "dev-not-secret-change-me"
TESTING_NOTES_KEY = "vF113p_1hQXLRAFLUaduy_Tk5K7ouRPuvqv2WN10pWQ="  # a published key: testing only


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _int_or_none(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else None


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'balance.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # A pooled connection unused for this long is checked before use (a dead one is replaced);
    # one in steady use is not (database.ping_when_idle; a negative value turns the check off).
    DATABASE_IDLE_PING_SECONDS = float(os.environ.get("DATABASE_IDLE_PING_SECONDS", "2"))
    SQLITE_BUSY_TIMEOUT_MS = _int("SQLITE_BUSY_TIMEOUT_MS", 15000)

    # Sessions: signed cookies only (stateless app processes).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 14

    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024  # any request body (views that take a photo declare more)
    # The profile editor's body: a phone photo the browser could not shrink still reaches the form,
    # whose photo field then names the photo limit (MAX_PHOTO_BYTES) with the other edits kept.
    PROFILE_FORM_MAX_BYTES = 40 * 1024 * 1024

    # One switch for everything shared between processes and hosts: REDIS_URL=redis://127.0.0.1:6379/0
    # sets the job queue, the cache, the counters and the rate limits (each can be set on its own).
    REDIS_URL = os.environ.get("REDIS_URL", "")

    # Background jobs (Huey): SQLite file in instance/ by default, Redis in production.
    JOBS_URL = os.environ.get("JOBS_URL", REDIS_URL)
    JOBS_NAME = os.environ.get("JOBS_NAME", "balance")
    JOBS_IMMEDIATE = False  # tests: run each job synchronously when it is enqueued
    # Each worker's CPU priority (nice value, 0–19; 0 keeps it): on a host shared with web
    # processes, requests get the CPU first and the jobs, which nobody waits on, what is left.
    JOBS_NICENESS = int(os.environ.get("JOBS_NICENESS", "10"))

    # Shared cache (Flask-Caching): in-process by default, Redis when configured.
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", REDIS_URL)
    CACHE_TYPE = "marketplace.cache.SafeRedisCache" if CACHE_REDIS_URL else "SimpleCache"
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "balance:")
    CACHE_DEFAULT_TIMEOUT = 300
    CACHE_THRESHOLD = 5000  # SimpleCache: entries per process
    CACHE_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5} if CACHE_REDIS_URL else {}
    # A GET's session user kept in each process while its versions hold (auth.sessions); unset:
    # 30 s with a shared cache, off with per-process caches (a revocation must reach every process).
    SESSION_USER_CACHE_SECONDS = _int_or_none("SESSION_USER_CACHE_SECONDS")

    # Impressions and profile views: counted without a database write on GET, written by a job.
    COUNTERS_URL = os.environ.get("COUNTERS_URL", REDIS_URL)
    COUNTERS_KEY = os.environ.get("COUNTERS_KEY", "balance:counters")  # the Redis hash
    COUNTER_FLUSH_SECONDS = float(os.environ.get("COUNTER_FLUSH_SECONDS", "5"))

    # Responses compressed (gzip / brotli) when the browser accepts it.
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/plain", "application/javascript", "application/json",
                          "text/calendar", "image/svg+xml"]
    COMPRESS_MIN_SIZE = 500
    COMPRESS_ALGORITHM = ["br", "gzip"]
    # Pages rendered for one person are compressed on every request: the fastest levels (brotli 1:
    # 38 KB → 5.3 KB in ≈ 0.05 ms; level 4 gave 4.6 KB for ≈ 0.2–0.45 ms). Static files are
    # compressed by the front server in production.
    COMPRESS_BR_LEVEL = int(os.environ.get("COMPRESS_BR_LEVEL", "1"))
    COMPRESS_LEVEL = int(os.environ.get("COMPRESS_LEVEL", "1"))
    # A page composed once for every visitor is compressed once: create_app sets Flask-Compress's
    # cache to ``templating.SharedPageCompression``.

    # Rate limiting (Flask-Limiter). Use redis://… when more than one process serves.
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI",
                                           REDIS_URL or "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "balance")
    # If the limit storage (Redis) is down, serve without limits rather than fail every login.
    RATELIMIT_SWALLOW_ERRORS = _bool("RATELIMIT_SWALLOW_ERRORS", True)
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: none, use the
    # peer address). Only then is the forwarded client address trusted for rate limits and logs.
    TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)

    # Mail: "console" prints to the log stream (without bodies of private messages),
    # "smtp" delivers via MAIL_SERVER. Everything goes through the outbox table.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 5)
    # A mail claimed by a worker that died or hung is claimed again after this many seconds.
    MAIL_LEASE_SECONDS = _int("MAIL_LEASE_SECONDS", 120)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Balance <no-reply@balance.example>")
    ADMIN_EMAIL = os.environ.get("ADMIN_EMAIL", "admin@balance.example")

    # Where this app is reachable, for links in e-mails sent from CLI commands.
    SERVER_BASE_URL = os.environ.get("SERVER_BASE_URL", "http://127.0.0.1:5000")

    # Specialists' other calendars (iCal addresses) read every 15 minutes: each read has this
    # connect/read timeout (seconds, also the bound on the whole download) and size limit. A host
    # resolving to a private, loopback, link-local or reserved address is refused unless allowed
    # (development and tests read calendars served on this machine; production never does).
    EXTERNAL_CALENDARS_TIMEOUT = float(os.environ.get("EXTERNAL_CALENDARS_TIMEOUT", "5"))
    EXTERNAL_CALENDARS_MAX_BYTES = _int("EXTERNAL_CALENDARS_MAX_BYTES", 2 * 1024 * 1024)
    EXTERNAL_CALENDARS_ALLOW_PRIVATE = _bool("EXTERNAL_CALENDARS_ALLOW_PRIVATE", True)

    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    MAX_PHOTO_BYTES = 5 * 1024 * 1024

    # The payment provider new checkouts use (marketplace/payments/providers; "stripe" is the one built in).
    PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "stripe")
    # Stripe: with no secret key, paid booking says "Payments are not enabled".
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    STRIPE_CHECKOUT_HOSTS = os.environ.get("STRIPE_CHECKOUT_HOSTS", "https://checkout.stripe.com")
    # Well under gunicorn's 30 s worker timeout: per attempt 2 s to connect and 4 s for the answer,
    # at most 1 retry, and all Stripe calls of one request give up after STRIPE_BUDGET_SECONDS.
    STRIPE_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_CONNECT_TIMEOUT_SECONDS", "2"))
    STRIPE_READ_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_READ_TIMEOUT_SECONDS", "4"))
    STRIPE_MAX_NETWORK_RETRIES = _int("STRIPE_MAX_NETWORK_RETRIES", 1)
    STRIPE_BUDGET_SECONDS = float(os.environ.get("STRIPE_BUDGET_SECONDS", "8"))

    # Specialists' private notes and the iCal addresses of their other calendars are encrypted at rest
    # (marketplace/encryption.py): comma-separated Fernet keys, the first encrypts, the others only
    # decrypt (rotation: `flask rotate-note-keys`).
    # Unset outside production: a key generated once in instance/notes.key.
    NOTES_KEYS = os.environ.get("NOTES_KEYS", "")

    PASSWORD_RESET_MAX_AGE = 60 * 60  # seconds
    EMAIL_CONFIRM_MAX_AGE = 48 * 60 * 60  # seconds: how long a confirmation link works
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    DEBUG = _bool("FLASK_DEBUG", False)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False  # individual tests turn it back on to prove CSRF is enforced
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    JOBS_IMMEDIATE = True
    COUNTERS_URL = ""
    COUNTER_FLUSH_SECONDS = 0  # hand every count to the (immediate) job queue at once
    CACHE_TYPE = "SimpleCache"
    CACHE_REDIS_URL = ""
    CACHE_OPTIONS: dict = {}
    SESSION_USER_CACHE_SECONDS = 30  # one process: every change reaches it, so every test exercises it
    MAIL_BACKEND = "memory"
    SERVER_NAME = None
    STRIPE_SECRET_KEY = None
    STRIPE_WEBHOOK_SECRET = None
    NOTES_KEYS = TESTING_NOTES_KEY  # fixed, so tests never write instance/notes.key


class ProductionConfig(Config):
    """Safe defaults; ``create_app`` refuses to start with what ``insecure_settings`` lists."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = "https"
    EXTERNAL_CALENDARS_ALLOW_PRIVATE = _bool("EXTERNAL_CALENDARS_ALLOW_PRIVATE", False)
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    # Links in e-mails: must be said, never guessed (no default in production).
    SERVER_BASE_URL = os.environ.get("SERVER_BASE_URL", "")
    # Several worker processes serve in production: rate limits are counted once, in Redis.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI",
                                           Config.REDIS_URL or "redis://127.0.0.1:6379/0")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


MIN_SECRET_KEY_BYTES = 32


def insecure_settings(config: dict) -> list[str]:
    """What production must not run with (empty: fine)."""
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET_KEY or len(secret.encode()) < MIN_SECRET_KEY_BYTES:
        problems.append(f"SECRET_KEY must be a random value of at least {MIN_SECRET_KEY_BYTES} bytes "
                        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))').")
    if config.get("MAIL_BACKEND") != "smtp":
        problems.append("MAIL_BACKEND must be smtp: the console backend would write reset links to the logs.")
    if not config.get("SERVER_BASE_URL"):
        problems.append("SERVER_BASE_URL must be set to the public address (links in e-mails).")
    notes_keys = str(config.get("NOTES_KEYS") or "")
    if not notes_keys.strip(" ,"):
        problems.append("NOTES_KEYS must be set: comma-separated Fernet keys for the notes and calendar "
                        "addresses encrypted at rest "
                        "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').")
    elif TESTING_NOTES_KEY in notes_keys:
        problems.append("NOTES_KEYS must not contain the published testing key.")
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        problems.append("RATELIMIT_STORAGE_URI must be shared by every worker (redis://…), not memory://.")
    return problems


def get_config(name: str | None = None) -> type[Config]:
    return CONFIGS[name or os.environ.get("BALANCE_ENV", "development")]
