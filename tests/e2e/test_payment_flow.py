"""Real browser: a client whose free consultation ended with "proceed" books a paid session,
pays on the (fake) Stripe Checkout page, and sees the session confirmed after the signed
webhook reached the app."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.consultations.models import (
    ConsultationState,
)
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.payments.models import Payment, PaymentStatus
from tests.e2e.helpers import client_who_may_book_paid, log_in
from tests.fakes.stripe_fake import FakeStripe, serve_fake_stripe

WEBHOOK_SECRET = "whsec_balance_e2e_secret"


def assert_accessible(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


@pytest.fixture
def fake_stripe(live_server: Any, page: Any) -> Iterator[FakeStripe]:
    """The fake Stripe API + hosted checkout, delivering webhooks to the live app."""
    with serve_fake_stripe(f"{live_server.url}/payments/webhooks/stripe", WEBHOOK_SECRET) as fake:
        live_server.app.config.update(
            STRIPE_SECRET_KEY="sk_test_balance_e2e", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_API_BASE=fake.base_url, STRIPE_MAX_NETWORK_RETRIES=0, STRIPE_CHECKOUT_HOSTS=fake.base_url,
        )
        # The page fixture blocks every host but the app; Stripe's checkout host is allowed.
        page.route(f"{fake.base_url}/**", lambda route: route.continue_())
        yield fake


def pay_for_a_session(page: Any, live_server: Any, fake_stripe: FakeStripe, profile: Any) -> None:
    """The logged-in client books the first paid time and pays on the fake Checkout page, then
    waits on the success page until the webhook has confirmed the session."""
    page.goto(f"/payments/book/{profile.slug}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a session with Dr Mira Holt")
    expect(page.get_by_test_id("session-fee")).to_have_text("€90")
    assert_accessible(page)
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Continue to payment").click()

    # On the (fake) Stripe Checkout page: the right amount, then Pay.
    expect(page).to_have_url(re.compile(rf"^{re.escape(fake_stripe.base_url)}/checkout/cs_test_\w+$"))
    expect(page.locator("#amount")).to_have_text("90.00 EUR")
    page.get_by_role("button", name="Pay 90.00 EUR").click()

    # Back in Balance: the webhook confirmed the session (reload until it has).
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/payments/success\?session_id=cs_test_"))
    heading = page.get_by_role("heading", level=1)
    for _ in range(20):
        if heading.inner_text() == "Your session is confirmed":
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(heading).to_have_text("Your session is confirmed")


def test_client_pays_for_a_session_and_sees_it_confirmed(page: Any, live_server: Any, fake_stripe: FakeStripe,
                                                          make_user: Any, make_specialist: Any) -> None:
    client_user, profile = client_who_may_book_paid(make_user, make_specialist)
    log_in(page, client_user.email)
    pay_for_a_session(page, live_server, fake_stripe, profile)
    expect(page.get_by_test_id("payment-result")).to_contain_text("€90")
    assert_accessible(page)

    assert [status for _, status in fake_stripe.deliveries] == [200]
    db.session.rollback()  # end the read snapshot: see the server threads' commits
    payment = db.session.scalars(select(Payment)).one()
    assert payment.status is PaymentStatus.PAID
    assert payment.consultation.state is ConsultationState.CONFIRMED
    assert payment.consultation.start_utc > utcnow()
    assert page.foreign_requests == []


def test_a_client_the_specialist_stood_up_reports_it_and_is_refunded(page: Any, live_server: Any,
                                                                      fake_stripe: FakeStripe, make_user: Any,
                                                                      make_specialist: Any) -> None:
    client_user, profile = client_who_may_book_paid(make_user, make_specialist)
    log_in(page, client_user.email)
    pay_for_a_session(page, live_server, fake_stripe, profile)
    db.session.rollback()
    payment = db.session.scalars(select(Payment)).one()
    consultation = payment.consultation
    start = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=20)  # it began 20 minutes ago
    consultation.start_utc, consultation.end_utc = start, start + timedelta(minutes=50)
    db.session.commit()

    page.goto(f"/consultations/{consultation.id}")
    expect(page.get_by_test_id("report-consequence")).to_have_text("The fee you paid for this session is refunded in full.")
    page.get_by_label("What happened? (optional)").fill("Nobody joined the video call.")
    page.get_by_label("Yes, the specialist did not come").check()
    page.get_by_role("button", name="Report that the specialist did not come").click()
    expect(page.locator(".flashes")).to_contain_text(
        "The fee you paid for this session (€90) is refunded in full.")
    expect(page.get_by_test_id("consultation-state")).to_have_text("Specialist did not come")
    expect(page.get_by_test_id("payment-status")).to_have_text("Refunded")
    assert_accessible(page)

    assert [r["amount"] for r in fake_stripe.refunds.values()] == [9000]
    assert page.foreign_requests == []
