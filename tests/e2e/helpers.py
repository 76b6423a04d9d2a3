"""Steps shared by the browser tests."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from marketplace.consultations.availability import set_weekly_hours
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationOutcome, ConsultationState
from marketplace.database import utcnow
from marketplace.extensions import db
from tests.factories import PASSWORD

DEFAULT_PASSWORD = "a-calm-river-at-dawn"


def sign_up(page: Any, name: str, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Fill the sign-up form that is on screen and submit it."""
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    page.get_by_role("button", name="Create account").click()


def confirmation_link(email: str, timeout: float = 10.0) -> str:
    """The newest confirmation link mailed to ``email`` (the test app's memory mail backend: the
    outbox is delivered by the immediate job queue right after the request's commit)."""
    import re
    import time

    from flask import current_app

    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(current_app.extensions.get("mail_outbox", [])):
            if message["To"] == email and "Confirm your" in message["Subject"]:
                body = message.get_body(preferencelist=("plain",)).get_content()
                return re.search(r"https?://\S+/auth/confirm/\S+", body).group(0)
        if time.monotonic() > deadline:
            raise AssertionError(f"no confirmation e-mail to {email}")
        time.sleep(0.1)


def confirm_email(page: Any, email: str) -> None:
    """Open the confirmation link from the e-mail and press the button, as the person would; the
    page lands where they were going."""
    page.goto(confirmation_link(email))
    page.get_by_role("button", name="Confirm my e-mail address").click()
    page.get_by_text("your e-mail address is confirmed").wait_for()


def client_who_may_book_paid(make_user: Any, make_specialist: Any) -> tuple[Any, Any]:
    """(client, specialist): Dr Mira Holt (€90, 50-minute sessions, 09–17 every day) and Ilya, whose
    free consultation with her three days ago ended with "proceed" — so paid sessions may be booked."""
    profile = make_specialist(display_name="Dr Mira Holt", fee_minor=9000, currency="EUR", session_minutes=50)
    set_weekly_hours(profile.id, [(wd, "09:00", "17:00") for wd in range(7)])
    client_user = make_user(display_name="Ilya")
    first = (utcnow() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    db.session.add(Consultation(client_id=client_user.id, specialist_id=profile.id, kind=ConsultationKind.FREE,
                                state=ConsultationState.COMPLETED, start_utc=first,
                                end_utc=first + timedelta(minutes=30), format="video",
                                outcome=ConsultationOutcome.PROCEED))
    db.session.commit()
    return client_user, profile


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Log in through the login page."""
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
