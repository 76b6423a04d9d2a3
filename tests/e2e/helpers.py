"""Steps shared by the browser tests."""
from __future__ import annotations

from typing import Any

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
