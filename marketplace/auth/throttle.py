"""Login throttling: per client address and per account, without a lock-out anyone can trigger.

* Per address (``AUTH_LIMIT``, Flask-Limiter's address key): one source cannot try many passwords.
  Behind a proxy the address is the client's only when ``TRUSTED_PROXY_COUNT`` says how many
  proxies to trust (``ProxyFix``); otherwise every client would share the proxy's address.
* Per account (``ACCOUNT_LIMIT``): failed logins for one e-mail address from anywhere (guessing
  from many addresses). It never applies to a browser that has logged in to that account before
  (a signed "known device" cookie), so an attacker who trips it cannot lock the owner out.
"""
from __future__ import annotations

import hashlib

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.auth.models import normalize_email

AUTH_LIMIT = "10 per minute;50 per hour"
ACCOUNT_LIMIT = "10 per 15 minutes;30 per day"
DEVICE_COOKIE = "balance_device"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600
MAX_ACCOUNTS_PER_DEVICE = 5


def _account_hash(email: str) -> str:
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()[:24]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def account_key() -> str:
    return "login-account:" + _account_hash(str(request.form.get("email", ""))[:254])


def _known_accounts() -> list[str]:
    try:
        value = _serializer().loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadSignature:
        return []
    return [str(v) for v in value][:MAX_ACCOUNTS_PER_DEVICE] if isinstance(value, list) else []


def is_known_device() -> bool:
    """Whether this browser has logged in to the account it is trying now."""
    return _account_hash(str(request.form.get("email", ""))[:254]) in _known_accounts()


def login_failed(response: Response) -> bool:
    return response.status_code == 401


def remember_device(response: WerkzeugResponse, email: str) -> WerkzeugResponse:
    """After a successful login: this browser is known to the account from now on."""
    accounts = [_account_hash(email), *(a for a in _known_accounts() if a != _account_hash(email))]
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps(accounts[:MAX_ACCOUNTS_PER_DEVICE]),
                        max_age=DEVICE_COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


__all__ = ["ACCOUNT_LIMIT", "AUTH_LIMIT", "account_key", "is_known_device", "login_failed", "remember_device"]
