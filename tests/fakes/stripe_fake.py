"""In-memory fake of the Stripe HTTP API for tests (real HTTP on loopback).

The app's real ``stripe`` library talks to this over HTTP, and webhooks are
signed with a real secret, so ``stripe.Webhook.construct_event`` checks are real.

Usage::

    from tests.fakes.stripe_fake import serve_fake_stripe, sign_payload

    with serve_fake_stripe(webhook_url=None, webhook_secret="whsec_test") as fake:
        stripe.api_key = "sk_test_fake"
        stripe.api_base = fake.base_url                 # module-level API
        client = stripe.StripeClient("sk_test_fake",    # or StripeClient
                                     base_addresses={"api": fake.base_url})
        fake.webhook_url = "http://127.0.0.1:5000/stripe/webhook"  # may be set late
        s = stripe.checkout.Session.create(mode="payment", line_items=[...], ...)
        # Browser flow: GET s.url (= {base}/checkout/{id}) shows a Pay button;
        # POST {base}/checkout/{id}/pay marks it paid, POSTs a signed
        # checkout.session.completed event to fake.webhook_url, then 303s to
        # success_url (with "{CHECKOUT_SESSION_ID}" replaced by the id).
        event = fake.complete_session(s.id)     # pay without a browser (no delivery)
        fake.deliver(event)                     # POST it signed -> HTTP status
        body, headers = fake.signed(event)      # or feed a Flask test_client yourself

Endpoints: POST /v1/checkout/sessions, GET /v1/checkout/sessions/{id},
POST /v1/checkout/sessions/{id}/expire, POST /v1/refunds, GET /v1/refunds/{id},
GET /v1/payment_intents/{id}, POST /v1/customers, POST /v1/payment_intents (off-session
charges of a saved card: ``fake.decline(payment_method)`` makes that card decline with a
402 ``card_error``), GET /v1/setup_intents/{id}; Checkout Sessions in ``mode=setup`` (with a
``customer``) show a "Save card" button on the hosted page whose POST saves a new payment
method and delivers ``checkout.session.completed`` (``fake.complete_setup(id)`` without a
browser); anything else is a Stripe-style 404.  Requests need
``Authorization: Bearer <non-empty key>`` (401 otherwise; if ``expected_api_key``
is set the key must match).  ``Idempotency-Key`` replays the first response;
reusing a key with different params gives a 400 ``idempotency_error``.

Inspect: ``fake.sessions``, ``fake.payment_intents``, ``fake.refunds`` (dicts by
id), ``fake.line_items`` (session id -> list), ``fake.events`` (every built
event), ``fake.deliveries`` (list of (event, status)), ``fake.requests`` (log of
dicts: method, path, params, headers).  Set ``fake.webhook_handler`` to a callable
``(body: bytes, headers: dict) -> int`` to deliver in-process instead of via HTTP.
API expiry (``/expire``) and lazy expiry past ``expires_at`` do not auto-deliver
events; use ``fake.expire_session(id, deliver=True)`` for that.

Outages: ``fake.hang_api = True`` makes every /v1 request connect, get logged in
``fake.requests`` and then wait without an answer; ``fake.hang_api = False`` lets the
waiting requests go on and be processed (like Stripe finishing work whose answer the
caller stopped waiting for; stopping the server drops them instead).
``serve_unreachable()`` yields a base URL whose TCP connects never complete.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

API_VERSION = "2025-01-01.fake"
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg",
                "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
LOGGED_HEADERS = ("Authorization", "Idempotency-Key", "Stripe-Version",
                  "Stripe-Account", "Content-Type")


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return a Stripe-Signature header value for ``payload`` (t=...,v1=...)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    signed = f"{ts}.".encode() + payload
    sig = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={ts},v1={sig}"


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def parse_stripe_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Decode Stripe's form encoding (a[b][0][c]=v, expand[]=x) into nested data."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        m = _KEY_RE.match(key)
        if not m:
            root[key] = value
            continue
        parts = [m.group(1)] + re.findall(r"\[([^\[\]]*)\]", m.group(2))
        node = root
        for i, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root)


def _listify(obj: Any) -> Any:
    if isinstance(obj, dict):
        obj = {k: _listify(v) for k, v in obj.items()}
        if obj and all(k.isdigit() for k in obj):
            return [obj[k] for k in sorted(obj, key=int)]
    return obj


def format_amount(amount: int, currency: str) -> str:
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:,.2f} {currency.upper()}"


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None,
                 param: str | None = None, type_: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.body = {"error": {k: v for k, v in {
            "type": type_, "message": message, "code": code, "param": param,
        }.items() if v is not None}}


def _missing(param: str) -> StripeError:
    return StripeError(400, f"Missing required param: {param}.",
                       code="parameter_missing", param=param)


def _to_int(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer",
                          param=param) from None


def _lookup(store: dict[str, dict], key: str, kind: str, param: str) -> dict:
    if key not in store:
        raise StripeError(404, f"No such {kind}: '{key}'", code="resource_missing", param=param)
    return store[key]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # keep test output clean
        pass


class FakeStripe:
    """WSGI app faking the Stripe API plus a hosted checkout page."""

    def __init__(self, webhook_url: str | None = None, webhook_secret: str = "whsec_test",
                 expected_api_key: str | None = None):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_handler: Callable[[bytes, dict[str, str]], int] | None = None
        self.expected_api_key = expected_api_key
        self.base_url = "http://127.0.0.1"
        self.lock = threading.RLock()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.line_items: dict[str, list[dict[str, Any]]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[tuple[dict[str, Any], int]] = []
        self.requests: list[dict[str, Any]] = []
        self._pi_metadata: dict[str, dict[str, str]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.setup_intents: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}  # by id: {"customer": cus_…}
        self.declining: set[str] = set()  # payment methods whose off-session charges are declined
        self._answering = threading.Event()  # cleared while the API hangs
        self._answering.set()
        self._stopped = False
        self._idempotency: dict[tuple[str, str], tuple[str, dict[str, Any], int, dict]] = {}
        self._url_map = Map([
            Rule("/v1/checkout/sessions", methods=["POST"], endpoint="create_session"),
            Rule("/v1/checkout/sessions/<sid>", methods=["GET"], endpoint="get_session"),
            Rule("/v1/checkout/sessions/<sid>/expire", methods=["POST"], endpoint="api_expire"),
            Rule("/v1/refunds", methods=["POST"], endpoint="create_refund"),
            Rule("/v1/refunds/<rid>", methods=["GET"], endpoint="get_refund"),
            Rule("/v1/payment_intents/<pid>", methods=["GET"], endpoint="get_pi"),
            Rule("/v1/payment_intents", methods=["POST"], endpoint="create_pi"),
            Rule("/v1/customers", methods=["POST"], endpoint="create_customer"),
            Rule("/v1/setup_intents/<seti>", methods=["GET"], endpoint="get_setup_intent"),
            Rule("/checkout/<sid>", methods=["GET"], endpoint="page"),
            Rule("/checkout/<sid>/pay", methods=["POST"], endpoint="pay"),
        ])

    # ---------------------------------------------------------------- outages
    @property
    def hang_api(self) -> bool:
        """True while /v1 requests are accepted but not answered."""
        return not self._answering.is_set()

    @hang_api.setter
    def hang_api(self, value: bool) -> None:
        if value:
            self._answering.clear()
        else:
            self._answering.set()

    def stop(self) -> None:
        """Release hanging requests without processing them (the server is going away)."""
        self._stopped = True
        self._answering.set()

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        params = parse_stripe_form(list(request.args.items(multi=True))
                                   + list(request.form.items(multi=True)))
        with self.lock:
            self.requests.append({
                "method": request.method, "path": request.path, "params": params,
                "headers": {h: request.headers[h] for h in LOGGED_HEADERS if h in request.headers},
            })
        adapter = self._url_map.bind_to_environ(request.environ)
        is_api = request.path.startswith("/v1/")
        if is_api and not self._answering.is_set():
            self._answering.wait()
            if self._stopped:
                gone = StripeError(503, "The fake Stripe stopped.", type_="api_error")
                return self._json(gone.body, gone.status)
        try:
            try:
                endpoint, args = adapter.match()
            except HTTPException:
                raise StripeError(404, f"Unrecognized request URL ({request.method}: "
                                       f"{request.path}).") from None
            if not is_api:
                return getattr(self, f"_h_{endpoint}")(request, **args)
            api_key = self._check_auth(request)
            idem = request.headers.get("Idempotency-Key")
            if request.method == "POST" and idem:
                return self._idempotent(api_key, idem, request, params, endpoint, args)
            return self._json(*self._call_api(endpoint, params, args))
        except StripeError as exc:
            return self._json(exc.body, exc.status)

    def _check_auth(self, request: Request) -> str:
        auth = request.headers.get("Authorization", "")
        key = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not key:
            raise StripeError(401, "You did not provide an API key. You need to provide your "
                                   "API key in the Authorization header, using Bearer auth.")
        if self.expected_api_key is not None and key != self.expected_api_key:
            raise StripeError(401, f"Invalid API Key provided: {key[:8]}***")
        return key

    def _call_api(self, endpoint: str, params: dict, args: dict) -> tuple[dict, int]:
        with self.lock:  # snapshot so later mutations don't leak into the response
            return json.loads(json.dumps(getattr(self, f"_api_{endpoint}")(params, **args))), 200

    def _idempotent(self, api_key: str, idem: str, request: Request, params: dict,
                    endpoint: str, args: dict) -> Response:
        with self.lock:
            stored = self._idempotency.get((api_key, idem))
            if stored is not None:
                path, old_params, status, body = stored
                if path != request.path or old_params != params:
                    raise StripeError(400, "Keys for idempotent requests can only be used "
                                           "with the same parameters they were first used "
                                           f"with. Try using a key other than '{idem}'.",
                                      type_="idempotency_error")
                resp = self._json(body, status)
                resp.headers["Idempotent-Replayed"] = "true"
                return resp
            try:
                body, status = self._call_api(endpoint, params, args)
            except StripeError as exc:
                body, status = exc.body, exc.status
            self._idempotency[(api_key, idem)] = (request.path, params, status, body)
            resp = self._json(body, status)
            resp.headers["Idempotency-Key"] = idem
            return resp

    @staticmethod
    def _json(body: dict, status: int = 200) -> Response:
        resp = Response(json.dumps(body, indent=2), status=status, mimetype="application/json")
        resp.headers["Request-Id"] = _new_id("req_")
        if status >= 500:
            resp.headers["Stripe-Should-Retry"] = "false"
        return resp

    # ------------------------------------------------------------ API handlers
    def _api_create_session(self, p: dict) -> dict:
        if not p.get("mode"):
            raise _missing("mode")
        if p["mode"] == "setup":
            return self._create_setup_session(p)
        if p["mode"] != "payment":
            raise StripeError(400, "This fake supports mode=payment and mode=setup.", param="mode")
        if not p.get("success_url"):
            raise _missing("success_url")
        items = p.get("line_items")
        if not isinstance(items, list) or not items:
            raise _missing("line_items")
        total, currency, stored = 0, None, []
        for i, item in enumerate(items):
            pd, pre = item.get("price_data") or {}, f"line_items[{i}][price_data]"
            name = (pd.get("product_data") or {}).get("name")
            for field, present in (("", pd), ("[currency]", pd.get("currency")),
                                   ("[unit_amount]", "unit_amount" in pd),
                                   ("[product_data][name]", name)):
                if not present:
                    raise _missing(pre + field)
            unit = _to_int(pd["unit_amount"], f"{pre}[unit_amount]")
            qty = _to_int(item.get("quantity", 1), f"line_items[{i}][quantity]")
            if unit < 0 or qty < 1:
                raise StripeError(400, "Invalid amount or quantity.", param=f"line_items[{i}]")
            cur = pd["currency"].lower()
            if currency and cur != currency:
                raise StripeError(400, "All line items must have the same currency.",
                                  param=f"line_items[{i}][price_data][currency]")
            currency = cur
            total += unit * qty
            stored.append({"id": _new_id("li_"), "object": "item", "description": name,
                           "quantity": qty, "amount_subtotal": unit * qty,
                           "amount_total": unit * qty, "currency": cur,
                           "price": {"object": "price", "unit_amount": unit, "currency": cur}})
        now = int(time.time())
        sid = "cs_test_" + secrets.token_hex(16)
        session = {
            "id": sid, "object": "checkout.session", "mode": "payment",
            "amount_subtotal": total, "amount_total": total, "currency": currency,
            "status": "open", "payment_status": "unpaid", "payment_intent": None,
            "metadata": self._metadata(p), "client_reference_id": p.get("client_reference_id"),
            "customer_email": p.get("customer_email"), "customer_details": None,
            "success_url": p["success_url"], "cancel_url": p.get("cancel_url"),
            "url": f"{self.base_url}/checkout/{sid}", "created": now,
            "expires_at": _to_int(p.get("expires_at", now + 86400), "expires_at"),
            "livemode": False,
        }
        self.sessions[sid] = session
        self.line_items[sid] = stored
        self._pi_metadata[sid] = self._metadata(p.get("payment_intent_data") or {})
        return session

    def _create_setup_session(self, p: dict) -> dict:
        for name in ("success_url", "currency", "customer"):
            if not p.get(name):
                raise _missing(name)
        _lookup(self.customers, p["customer"], "customer", "customer")
        now = int(time.time())
        sid = "cs_test_" + secrets.token_hex(16)
        session = {
            "id": sid, "object": "checkout.session", "mode": "setup", "currency": p["currency"].lower(),
            "amount_subtotal": None, "amount_total": None, "customer": p["customer"],
            "status": "open", "payment_status": "no_payment_required", "payment_intent": None,
            "setup_intent": None, "metadata": self._metadata(p),
            "client_reference_id": p.get("client_reference_id"), "customer_email": None,
            "customer_details": None, "success_url": p["success_url"], "cancel_url": p.get("cancel_url"),
            "url": f"{self.base_url}/checkout/{sid}", "created": now,
            "expires_at": _to_int(p.get("expires_at", now + 86400), "expires_at"), "livemode": False,
        }
        self.sessions[sid] = session
        self.line_items[sid] = []
        return session

    def _api_create_customer(self, p: dict) -> dict:
        cid = _new_id("cus_")
        self.customers[cid] = {"id": cid, "object": "customer", "email": p.get("email"),
                               "description": p.get("description"), "metadata": self._metadata(p),
                               "created": int(time.time()), "livemode": False}
        return self.customers[cid]

    def _api_get_setup_intent(self, p: dict, seti: str) -> dict:
        return _lookup(self.setup_intents, seti, "setup_intent", "intent")

    def _api_create_pi(self, p: dict) -> dict:
        for name in ("amount", "currency", "customer", "payment_method"):
            if not p.get(name):
                raise _missing(name)
        if p.get("confirm") != "true" or p.get("off_session") != "true":
            raise StripeError(400, "This fake only supports confirm=true with off_session=true.")
        amount = _to_int(p["amount"], "amount")
        method = _lookup(self.payment_methods, p["payment_method"], "payment_method", "payment_method")
        if method["customer"] != p["customer"]:
            raise StripeError(400, "The payment method does not belong to this customer.",
                              param="payment_method")
        pid = _new_id("pi_")
        declined = p["payment_method"] in self.declining
        intent = {"id": pid, "object": "payment_intent", "amount": amount,
                  "amount_received": 0 if declined else amount, "currency": p["currency"].lower(),
                  "customer": p["customer"], "payment_method": p["payment_method"],
                  "status": "requires_payment_method" if declined else "succeeded",
                  "metadata": self._metadata(p), "latest_charge": _new_id("ch_"),
                  "created": int(time.time()), "livemode": False}
        self.payment_intents[pid] = intent
        if declined:
            error = StripeError(402, "Your card has insufficient funds.", code="card_declined",
                                type_="card_error")
            error.body["error"].update(decline_code="insufficient_funds", payment_intent=intent)
            raise error
        return intent

    def decline(self, payment_method: str) -> None:
        """From now on off-session charges of ``payment_method`` are declined."""
        with self.lock:
            self.declining.add(payment_method)

    def _mark_setup(self, s: dict) -> None:
        pm = _new_id("pm_")
        seti = _new_id("seti_")
        self.payment_methods[pm] = {"id": pm, "object": "payment_method", "customer": s["customer"],
                                    "card": {"brand": "visa", "last4": "4242"}}
        self.setup_intents[seti] = {"id": seti, "object": "setup_intent", "status": "succeeded",
                                    "customer": s["customer"], "payment_method": pm, "usage": "off_session",
                                    "metadata": dict(s["metadata"])}
        s.update(status="complete", setup_intent=seti, url=None)

    def complete_setup(self, session_id: str, deliver: bool = False) -> dict[str, Any]:
        """Save a card on a setup session (no browser); return checkout.session.completed."""
        with self.lock:
            s = self._session(session_id)
            if s["status"] != "open" or s["mode"] != "setup":
                raise ValueError(f"session {session_id} is not an open setup session")
            self._mark_setup(s)
            event = self.build_event("checkout.session.completed", s)
        if deliver:
            self.deliver(event)
        return event

    def saved_payment_method(self, session_id: str) -> str:
        """The card a completed setup session saved."""
        return str(self.setup_intents[self.sessions[session_id]["setup_intent"]]["payment_method"])

    @staticmethod
    def _metadata(p: dict) -> dict[str, str]:
        md = p.get("metadata") or {}
        return {k: v for k, v in md.items() if v != ""} if isinstance(md, dict) else {}

    def _session(self, sid: str) -> dict:
        s = _lookup(self.sessions, sid, "checkout.session", "session")
        if s["status"] == "open" and s["expires_at"] < time.time():
            self._mark_expired(s)
        return s

    def _api_get_session(self, p: dict, sid: str) -> dict:
        s = self._session(sid)
        if "payment_intent" in (p.get("expand") or []) and s["payment_intent"]:
            return {**s, "payment_intent": self.payment_intents[s["payment_intent"]]}
        return s

    def _api_api_expire(self, p: dict, sid: str) -> dict:
        s = self._session(sid)
        if s["status"] != "open":
            raise StripeError(400, 'Only Checkout Sessions with a status in ["open"] can '
                                   f"be expired. This session has status '{s['status']}'.")
        return self._mark_expired(s)

    def _api_create_refund(self, p: dict) -> dict:
        pid = p.get("payment_intent")
        if not pid:
            raise _missing("payment_intent")
        pi = _lookup(self.payment_intents, pid, "payment_intent", "payment_intent")
        refunded = sum(r["amount"] for r in self.refunds.values()
                       if r["payment_intent"] == pid)
        remaining = pi["amount_received"] - refunded
        if remaining <= 0:
            raise StripeError(400, f"Charge {pi['latest_charge']} has already been refunded.",
                              code="charge_already_refunded")
        amount = _to_int(p.get("amount", remaining), "amount")
        if amount <= 0 or amount > remaining:
            raise StripeError(400, f"Refund amount ({amount}) must be between 1 and the "
                                   f"unrefunded amount on the charge ({remaining}).",
                              code="amount_too_large" if amount > 0 else None, param="amount")
        refund = {"id": _new_id("re_"), "object": "refund", "amount": amount,
                  "currency": pi["currency"], "payment_intent": pid,
                  "charge": pi["latest_charge"], "status": "succeeded",
                  "reason": p.get("reason"), "metadata": self._metadata(p),
                  "created": int(time.time())}
        self.refunds[refund["id"]] = refund
        return refund

    def _api_get_refund(self, p: dict, rid: str) -> dict:
        return _lookup(self.refunds, rid, "refund", "id")

    def _api_get_pi(self, p: dict, pid: str) -> dict:
        return _lookup(self.payment_intents, pid, "payment_intent", "intent")

    # ---------------------------------------------------------- state changes
    def _mark_paid(self, s: dict) -> None:
        pid = _new_id("pi_")
        self.payment_intents[pid] = {
            "id": pid, "object": "payment_intent", "amount": s["amount_total"],
            "amount_received": s["amount_total"], "currency": s["currency"],
            "status": "succeeded", "metadata": dict(self._pi_metadata.get(s["id"], {})),
            "latest_charge": _new_id("ch_"), "created": int(time.time()), "livemode": False,
        }
        s.update(status="complete", payment_status="paid", payment_intent=pid, url=None,
                 customer_details={"email": s["customer_email"] or "buyer@example.com"})

    def _mark_expired(self, s: dict) -> dict:
        s.update(status="expired", url=None)
        return s

    def complete_session(self, session_id: str, deliver: bool = False) -> dict[str, Any]:
        """Mark a session paid (no browser); return checkout.session.completed event."""
        with self.lock:
            s = self._session(session_id)
            if s["status"] != "open":
                raise ValueError(f"session {session_id} is {s['status']}, not open")
            self._mark_paid(s)
            event = self.build_event("checkout.session.completed", s)
        if deliver:
            self.deliver(event)
        return event

    def expire_session(self, session_id: str, deliver: bool = False) -> dict[str, Any]:
        """Expire an open session; return a checkout.session.expired event."""
        with self.lock:
            s = self._session(session_id)
            if s["status"] == "complete":
                raise ValueError(f"session {session_id} is already complete")
            event = self.build_event("checkout.session.expired", self._mark_expired(s))
        if deliver:
            self.deliver(event)
        return event

    def build_event(self, type: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {"id": _new_id("evt_"), "object": "event", "api_version": API_VERSION,
                 "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "type": type,
                 "data": {"object": json.loads(json.dumps(obj))}}
        with self.lock:
            self.events.append(event)
        return event

    def signed(self, event: dict[str, Any], timestamp: int | None = None
               ) -> tuple[bytes, dict[str, str]]:
        """Return (payload bytes, headers) exactly as deliver() would send them."""
        payload = json.dumps(event, indent=2).encode()
        return payload, {"Content-Type": "application/json; charset=utf-8",
                         "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                         "Stripe-Signature": sign_payload(payload, self.webhook_secret,
                                                          timestamp)}

    def deliver(self, event: dict[str, Any]) -> int:
        """POST the signed event to webhook_handler/webhook_url; return HTTP status
        (0 on connection failure)."""
        payload, headers = self.signed(event)
        if self.webhook_handler is not None:
            status = int(self.webhook_handler(payload, headers))
        elif self.webhook_url:
            req = urllib.request.Request(self.webhook_url, data=payload, headers=headers,
                                         method="POST")
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, OSError):
                status = 0
        else:
            raise RuntimeError("FakeStripe has no webhook_url or webhook_handler configured")
        with self.lock:
            self.deliveries.append((event, status))
        return status

    # ------------------------------------------------------- hosted checkout
    def _h_page(self, request: Request, sid: str) -> Response:
        with self.lock:
            s = self.sessions.get(sid)
            if s is not None:
                s = self._session(sid)
            items = list(self.line_items.get(sid, []))
        if s is None:
            return self._html("Checkout not found", "<p>This checkout session does not "
                              "exist.</p>", 404)
        cancel = (f'<p><a href="{html.escape(s["cancel_url"])}">Cancel</a></p>'
                  if s["cancel_url"] else "")
        if s["status"] == "open" and s["mode"] == "setup":
            body = (f'<p>Save a card for {html.escape(s["currency"].upper())} payments.</p>'
                    f'<form method="post" action="/checkout/{html.escape(sid)}/pay">'
                    f'<button type="submit">Save card</button></form>{cancel}')
            return self._html("Save a card with Fake Stripe", body)
        amount = html.escape(format_amount(s["amount_total"] or 0, s["currency"]))
        rows = "".join(f"<li>{html.escape(i['description'])} &times; {i['quantity']}: "
                       f"{html.escape(format_amount(i['amount_total'], i['currency']))}</li>"
                       for i in items)
        if s["status"] != "open":
            body = f"<p role=\"status\">This checkout session is {html.escape(s['status'])}.</p>"
            return self._html("Checkout unavailable", body, 410 if s["status"] == "expired"
                              else 200)
        body = (f'<ul aria-label="Items">{rows}</ul>'
                f'<p>Total due: <strong id="amount">{amount}</strong></p>'
                f'<form method="post" action="/checkout/{html.escape(sid)}/pay">'
                f'<button type="submit">Pay {amount}</button></form>{cancel}')
        return self._html("Pay with Fake Stripe", body)

    def _h_pay(self, request: Request, sid: str) -> Response:
        event = None
        with self.lock:
            s = self.sessions.get(sid)
            if s is None:
                return self._html("Checkout not found", "<p>No such session.</p>", 404)
            s = self._session(sid)
            if s["status"] == "expired":
                return self._html("Checkout expired", "<p>This session has expired.</p>", 410)
            if s["status"] == "open" and s["mode"] == "setup":
                self._mark_setup(s)
                event = self.build_event("checkout.session.completed", s)
            elif s["status"] == "open":
                self._mark_paid(s)
                event = self.build_event("checkout.session.completed", s)
            success = s["success_url"].replace("{CHECKOUT_SESSION_ID}", sid)
        if event is not None and (self.webhook_url or self.webhook_handler):
            self.deliver(event)
        return Response(status=303, headers={"Location": success})

    @staticmethod
    def _html(title: str, body: str, status: int = 200) -> Response:
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(title)}</title></head><body><main>"
                f"<h1>{html.escape(title)}</h1>{body}</main></body></html>")
        return Response(page, status=status, mimetype="text/html")


@contextmanager
def serve_fake_stripe(webhook_url: str | None = None, webhook_secret: str = "whsec_test",
                      expected_api_key: str | None = None) -> Iterator[FakeStripe]:
    """Serve a FakeStripe on 127.0.0.1:<random port> in a daemon thread."""
    fake = FakeStripe(webhook_url, webhook_secret, expected_api_key)
    server = make_server("127.0.0.1", 0, fake, threaded=True, request_handler=_QuietHandler)
    fake.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-stripe", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_unreachable() -> Iterator[str]:
    """Yield a loopback base URL where TCP connects hang, like a firewalled Stripe.

    Nobody accepts on the listening socket and filler connections fill its queue, so the
    kernel drops further SYNs and a client waits for its connect timeout.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(3):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    time.sleep(0.05)  # let the handshakes of the fillers land in the queue
    try:
        yield f"http://{address[0]}:{address[1]}"
    finally:
        for sock in [*fillers, listener]:
            sock.close()
