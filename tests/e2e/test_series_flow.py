"""Real browser: a client whose free consultation ended with "proceed" books three weekly paid
sessions in one step, saves a card on the (fake) Stripe Checkout page in setup mode, sees
the series booked after the signed webhook reached the app, and moves one session to another time."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.consultations.booking import format_slot
from marketplace.consultations.models import (
    ConsultationState,
)
from marketplace.extensions import db
from marketplace.payments.series_models import ChargeState, SeriesCharge, SeriesState, SessionSeries
from tests.e2e import test_payment_flow as payment_flow
from tests.e2e.helpers import client_who_may_book_paid, log_in
from tests.e2e.test_payment_flow import assert_accessible
from tests.fakes.stripe_fake import FakeStripe

fake_stripe = payment_flow.fake_stripe  # the fake Stripe API + hosted checkout, webhooks to the live app


def test_client_books_weekly_sessions_and_saves_a_card(page: Any, live_server: Any, fake_stripe: FakeStripe,
                                                       make_user: Any, make_specialist: Any) -> None:
    client_user, profile = client_who_may_book_paid(make_user, make_specialist)
    log_in(page, client_user.email)

    page.goto(f"/payments/book/{profile.slug}")
    page.get_by_test_id("book-series").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book weekly sessions with Dr Mira Holt")
    assert_accessible(page)
    page.get_by_role("radio").first.check()
    page.get_by_label("How many weekly sessions?").select_option("3")
    page.get_by_role("button", name="Continue to save your card").click()

    # On the (fake) Stripe Checkout page in setup mode: save the card.
    expect(page).to_have_url(re.compile(rf"^{re.escape(fake_stripe.base_url)}/checkout/cs_test_\w+$"))
    page.get_by_role("button", name="Save card").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/payments/series/saved\?session_id=cs_test_"))
    heading = page.get_by_role("heading", level=1)
    for _ in range(20):
        if heading.inner_text() == "Your weekly sessions are booked":
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(heading).to_have_text("Your weekly sessions are booked")
    expect(page.get_by_test_id("series-sessions").get_by_role("listitem")).to_have_count(3)
    assert_accessible(page)

    assert [status for _, status in fake_stripe.deliveries] == [200]
    db.session.rollback()  # end the read snapshot: see the server threads' commits
    series = db.session.scalars(select(SessionSeries)).one()
    assert series.state is SeriesState.ACTIVE and series.sessions == 3
    assert [c.charge_state for c in series.charges] == [ChargeState.SCHEDULED] * 3
    assert {c.consultation.state for c in series.charges} == {ConsultationState.CONFIRMED}

    # Move the second session: its page offers it (until its 24-hour notice), then a new time is picked.
    second = series.charges[1].consultation
    page.get_by_test_id("series-sessions").get_by_role("link").nth(1).click()
    expect(page.get_by_test_id("move-session")).to_contain_text("You can move this session")
    page.get_by_role("link", name="Move this session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Move your session with Dr Mira Holt")
    expect(page.get_by_test_id("move-policy")).to_contain_text("(Europe/Berlin)")
    assert_accessible(page)
    chosen = page.get_by_role("radio").first
    new_start = chosen.get_attribute("value")
    chosen.check()
    page.get_by_role("button", name="Move my session").click()
    expect(page).to_have_url(f"{live_server.url}/consultations/{second.id}")
    expect(page.get_by_text("Your session has moved to the new time.")).to_be_visible()
    expect(page.get_by_test_id("consultation-time").locator("time")).to_have_attribute("datetime", new_start or "")
    db.session.rollback()
    moved = db.session.get(SeriesCharge, series.charges[1].id)
    assert moved is not None and format_slot(moved.consultation.start_utc) == new_start
    assert moved.due_at == moved.consultation.start_utc - timedelta(hours=24)
    assert page.foreign_requests == []
