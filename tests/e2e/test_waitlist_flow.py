"""Real browser: a client finds no free time on a specialist's booking page and asks "Tell me when
a time frees up"; the specialist cancels another client's consultation; the waitlist's job (run at
once in tests) holds the time for the client and e-mails the claim link; the client opens the link
from the delivered mail, confirms, and has the consultation."""
from __future__ import annotations

import re
import time as clock
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from playwright.sync_api import expect

from marketplace.auth.models import Role
from marketplace.consultations.availability import add_date_override, free_slots_for, refresh_next_available
from marketplace.consultations.booking import book_free_consultation
from marketplace.consultations.lifecycle import cancel_consultation
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from tests.factories import PASSWORD


def claim_link(email: str, timeout: float = 10.0) -> str:
    deadline = clock.monotonic() + timeout
    while True:
        for message in reversed(current_app.extensions.get("mail_outbox", [])):
            if message["To"] == email and "is free for you" in message["Subject"]:
                body = message.get_body(preferencelist=("plain",)).get_content()
                return re.search(r"https?://\S+/waitlist/offers/\S+", body).group(0)
        if clock.monotonic() > deadline:
            raise AssertionError(f"no waitlist e-mail to {email}")
        clock.sleep(0.1)


def test_client_joins_the_waitlist_and_books_the_freed_time_from_the_email(page, make_specialist, make_user):
    specialist = make_specialist(display_name="Dr Wren Waiting", formats=["video"], timezone="Europe/Berlin")
    day = (utcnow().astimezone(ZoneInfo("Europe/Berlin")) + timedelta(days=2)).date()
    add_date_override(specialist, day, "extra", time(10, 0), time(10, 30))
    db.session.flush()
    refresh_next_available([specialist.id])
    db.session.commit()
    holder = make_user(Role.CLIENT, display_name="Holly Holder")
    [slot] = free_slots_for(specialist)
    booked = book_free_consultation(holder, specialist, slot, "video")
    commit()
    client = make_user(Role.CLIENT, display_name="Willa Waiter")

    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(client.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()

    # Nothing is free: join the waitlist (any day and time).
    page.goto(f"/specialists/{specialist.slug}/book")
    page.get_by_role("button", name="Tell me when a time frees up").click()
    expect(page.get_by_text("You are on the waitlist. We will e-mail you when a time frees up.")).to_be_visible()
    expect(page.get_by_test_id("waitlist-status")).to_contain_text("We will e-mail you when a time frees up")
    page.goto("/consultations")
    expect(page.get_by_test_id("waitlist-row")).to_contain_text("Dr Wren Waiting")

    # The specialist cancels the other booking: the time is held for the waiting client.
    db.session.rollback()
    cancel_consultation(db.session.merge(booked), specialist.user, "I am unwell that day.")
    commit()

    page.goto(claim_link(client.email))
    expect(page.get_by_role("heading", level=1)).to_have_text("A time with Dr Wren Waiting is free for you")
    expect(page.get_by_test_id("offer-details")).to_contain_text("(Europe/Berlin)")
    page.get_by_label("I understand this is not an emergency service").check()
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_text("Your free consultation is requested.")).to_be_visible()
    expect(page.get_by_test_id("consultation-state")).to_have_text("Requested")

    page.goto("/consultations")
    expect(page.get_by_test_id("consultation-row").first).to_contain_text("Dr Wren Waiting")
    expect(page.get_by_test_id("waitlist-row")).to_have_count(0)
