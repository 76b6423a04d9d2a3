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
