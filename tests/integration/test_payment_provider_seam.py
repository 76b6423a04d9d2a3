"""The payments seam: a second provider (``tests/fakes/fake_provider.FakePay``, no Stripe at
all) takes a paid session end to end through HTTP — checkout, its own signed webhook, the
confirmation, a refund on cancel — on SQLite and PostgreSQL. Plus the seams' own rules:
events are unique per provider, lapsed holds are released before a booking through the
consultations hook, and a late payment re-claims its time only within the daily cap."""
from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationState,
    OccupiedBlock,
    SchedulingSettings,
)
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.payments import services as svc
from marketplace.payments.models import Payment, PaymentStatus, WebhookEvent
from marketplace.payments.providers import PaymentProvider, provider_named, register_provider
from marketplace.payments.providers.stripe_provider import StripeProvider
from marketplace.payments.tasks import release_and_expire
from tests.fakes.fake_provider import FakePay
from tests.integration.test_payments import _book, _only_payment, _slot, pair  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]



def _deliver(client: Any, provider: FakePay, signed: tuple[bytes, dict[str, str]], name: str = "fakepay") -> Any:
    payload, headers = signed
    return client.post(f"/payments/webhooks/{name}", data=payload, headers=headers)


def _held(client: Any, auth: Any, pair: tuple[Any, Any], fakepay: FakePay, index: int = 0) -> Payment:  # noqa: F811
    client_user, profile = pair
    auth.login_as(client_user)
    response = _book(client, profile, _slot(profile, index))
    assert response.status_code == 303
    payment = db.session.scalars(select(Payment).order_by(Payment.id.desc())).first()
    assert payment is not None
    assert response.headers["Location"] == f"{fakepay.origin}/pay/{payment.provider_checkout_id}"
    return payment


def test_both_providers_satisfy_the_protocol(app: Any, fakepay: FakePay) -> None:
    assert isinstance(StripeProvider(), PaymentProvider) and isinstance(fakepay, PaymentProvider)
    assert provider_named("stripe") is not None and provider_named("fakepay") is fakepay
    with pytest.raises(TypeError):
        register_provider(app, object())  # type: ignore[arg-type]


def test_a_second_provider_takes_a_paid_session_end_to_end(app: Any, client: Any, auth: Any, pair: Any,  # noqa: F811
                                                          fakepay: FakePay) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    page = client.get(f"/payments/book/{profile.slug}")
    assert page.status_code == 200 and "Continue to payment" in page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert f"form-action 'self' {fakepay.origin}" in csp  # the active provider's checkout host
    assert "checkout.stripe.com" not in csp

    payment = _held(client, auth, pair, fakepay)
    request = fakepay.checkouts[payment.provider_checkout_id]
    assert (payment.provider, payment.status) == ("fakepay", PaymentStatus.PENDING)
    assert (request.amount_minor, request.currency) == (9000, "EUR")
    assert payment.consultation.state is ConsultationState.PENDING_PAYMENT

    paid = fakepay.pay(payment.provider_checkout_id)
    first = _deliver(client, fakepay, paid)
    assert first.status_code == 200 and first.get_json()["result"] == "confirmed"
    assert _deliver(client, fakepay, paid).get_json()["result"] == "duplicate"  # a replay does nothing
    db.session.expire_all()
    assert payment.status is PaymentStatus.PAID
    assert payment.provider_payment_id == f"fp_ch_{payment.provider_checkout_id}"
    assert payment.consultation.state is ConsultationState.CONFIRMED
    assert db.session.scalars(select(WebhookEvent.provider)).all() == ["fakepay"]

    back = urlsplit(fakepay.success_url(payment.provider_checkout_id))  # the hosted page sends the client back
    success = client.get(f"{back.path}?{back.query}")
    assert success.status_code == 200 and "Your session is confirmed" in success.get_data(as_text=True)

    # Cancelled more than 24 h ahead: the consultations cancel hook refunds through the payment's provider.
    cancelled = client.post(f"/consultations/{payment.consultation_id}/cancel", data={"reason": "Plans changed"})
    assert cancelled.status_code == 302
    db.session.expire_all()
    assert payment.consultation.state is ConsultationState.CANCELLED
    assert payment.status is PaymentStatus.REFUNDED
    assert fakepay.refunds == {payment.refund_id: {
        "reference": f"fp_ch_{payment.provider_checkout_id}", "key": f"refund-{payment.id}",
        "metadata": {"payment_id": str(payment.id), "consultation_id": str(payment.consultation_id)},
        "amount_minor": None}}  # the whole amount


def test_each_provider_verifies_its_own_webhooks(app: Any, client: Any, auth: Any, pair: Any,  # noqa: F811
                                                 fakepay: FakePay) -> None:
    payment = _held(client, auth, pair, fakepay)
    payload, headers = fakepay.pay(payment.provider_checkout_id)
    forged = client.post("/payments/webhooks/fakepay", data=payload,
                         headers={**headers, "X-FakePay-Signature": "0" * 64})
    assert forged.status_code == 400
    assert client.post("/payments/webhooks/stripe", data=payload, headers=headers).status_code == 400
    assert client.post("/payments/webhook", data=payload, headers=headers).status_code == 400  # Stripe's alias
    unknown = client.post("/payments/webhooks/nopay", data=payload, headers=headers)
    assert unknown.status_code == 404 and unknown.is_json
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert payment.status is PaymentStatus.PENDING


def test_a_provider_outage_books_nothing(app: Any, client: Any, auth: Any, pair: Any,  # noqa: F811
                                         fakepay: FakePay) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    fakepay.failing = True
    response = _book(client, profile, _slot(profile))
    assert response.status_code == 503 and "nothing was booked" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)) == 0


def test_events_are_unique_per_provider(app: Any) -> None:
    assert svc.record_event("stripe", "evt_1", "checkout.session.completed")
    assert svc.record_event("fakepay", "evt_1", "payment.succeeded")  # another provider's id space
    assert not svc.record_event("fakepay", "evt_1", "payment.succeeded")
    db.session.commit()  # the duplicate rolled back only its savepoint
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 2


def test_the_sweep_expires_checkouts_at_their_provider(app: Any, client: Any, auth: Any, pair: Any,  # noqa: F811
                                                        fakepay: FakePay) -> None:
    payment = _held(client, auth, pair, fakepay)
    payment.consultation.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert release_and_expire() == (1, 1)
    assert fakepay.expired == [payment.provider_checkout_id]
    db.session.expire_all()
    assert payment.status is PaymentStatus.EXPIRED
    assert payment.consultation.state is ConsultationState.CANCELLED


def _same_day_later(profile: Any, first: Any) -> Any:
    zone = ZoneInfo(profile.timezone)
    return next(s for s in svc.paid_session_slots(profile)
                if s >= first + timedelta(hours=2) and s.astimezone(zone).date() == first.astimezone(zone).date())


def test_a_late_payment_reclaims_its_time_only_within_the_daily_cap(app: Any, client: Any, auth: Any,
                                                                    pair: Any, fakepay: FakePay) -> None:  # noqa: F811
    """The released hold is paid after another booking filled the specialist's day (max 1 a day):
    the time itself is still free, but the day is not — the money goes back."""
    client_user, profile = pair
    settings = db.session.get(SchedulingSettings, profile.id)
    if settings is None:
        settings = SchedulingSettings.defaults_for(profile.id)
        db.session.add(settings)
    settings.max_per_day = 1
    db.session.commit()
    zone = ZoneInfo(profile.timezone)
    # A day's first time, so another one that day is left whatever the hour the test runs at.
    first_of_a_day = next(i for i in range(40) if _slot(profile, i).astimezone(zone).hour == 9)
    late = _held(client, auth, pair, fakepay, first_of_a_day)
    late.consultation.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    # The next booking of that day: the before_booking hook releases the lapsed hold first.
    auth.login_as(client_user)
    assert _book(client, profile, _same_day_later(profile, late.consultation.start_utc)).status_code == 303
    db.session.expire_all()
    assert late.status is PaymentStatus.EXPIRED and late.consultation.state is ConsultationState.CANCELLED

    response = _deliver(client, fakepay, fakepay.pay(late.provider_checkout_id))
    assert response.get_json()["result"] == "refunded"
    db.session.expire_all()
    assert late.consultation.state is ConsultationState.CANCELLED
    assert late.status is PaymentStatus.REFUNDED
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)
                             .where(OccupiedBlock.consultation_id == late.consultation_id)) == 0


def test_a_late_payment_reclaims_a_free_time_within_the_cap(app: Any, client: Any, auth: Any, pair: Any,  # noqa: F811
                                                            fakepay: FakePay) -> None:
    late = _held(client, auth, pair, fakepay)
    late.consultation.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert len(svc.release_expired_holds()) == 1
    db.session.commit()
    response = _deliver(client, fakepay, fakepay.pay(late.provider_checkout_id))
    assert response.get_json()["result"] == "confirmed"
    db.session.expire_all()
    assert late.consultation.state is ConsultationState.CONFIRMED and late.status is PaymentStatus.PAID
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)
                             .where(OccupiedBlock.consultation_id == late.consultation_id)) > 0


# --- the seam in the code ------------------------------------------------------------------------

def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, inside a function?) for every import of ``path``."""
    tree = ast.parse(path.read_text())
    local = {id(node) for func in ast.walk(tree) if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
             for node in ast.walk(func)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in local) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, id(node) in local))
    return found


def test_stripe_stays_inside_its_provider_and_consultations_never_imports_payments() -> None:
    stripe_users, upward, local = [], [], []
    for path in sorted((ROOT / "marketplace").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        for module, in_function in _imports(path):
            if module == "stripe" or module.startswith("stripe."):
                stripe_users.append(name)
            if name.startswith("marketplace/consultations/") and module.startswith("marketplace.payments"):
                upward.append(name)
            if name.startswith("marketplace/payments/") and in_function:
                local.append(f"{name}: {module}")
    assert sorted(set(stripe_users)) == ["marketplace/payments/providers/stripe_client.py",
                                         "marketplace/payments/providers/stripe_provider.py"]
    assert upward == []
    assert local == []


def test_free_consultations_are_untouched_by_the_payment_hooks(app: Any, client: Any, auth: Any,
                                                               make_user: Any, make_specialist: Any) -> None:
    profile = make_specialist()
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    client_user = make_user()
    consultation = Consultation(client_id=client_user.id, specialist_id=profile.id, kind=ConsultationKind.FREE,
                                state=ConsultationState.CONFIRMED, start_utc=start,
                                end_utc=start + timedelta(minutes=30), format="video", sequence=0)
    db.session.add(consultation)
    db.session.commit()
    auth.login_as(client_user)
    assert client.post(f"/consultations/{consultation.id}/cancel", data={"reason": ""}).status_code == 302
    db.session.expire_all()
    assert consultation.state is ConsultationState.CANCELLED
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
