"""Factory fixtures with sensible defaults: ``make_user(**overrides)``, ``make_specialist(**overrides)``.

Factories commit, so HTTP requests (which run in their own app context and session,
like in production) see the data.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.auth.models import Role, User
from marketplace.auth.services import hash_password
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.specialists.services import create_draft_profile

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)
_FAST_HASH: dict[str, str] = {}


def _hash(password: str) -> str:
    # argon2 is deliberately slow; hash each distinct test password once.
    if password not in _FAST_HASH:
        _FAST_HASH[password] = hash_password(password)
    return _FAST_HASH[password]


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh app context and DB session, as in production.

    Before the request the test's own session is committed (so the request sees the
    arranged data); afterwards it is expired (so the test sees what the request did).
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture(autouse=True)
def _isolated_test_client(request: pytest.FixtureRequest) -> None:
    for name in ("app", "sqlite_app"):
        if name in request.fixturenames:
            request.getfixturevalue(name).test_client_class = IsolatedClient


def live_session_id(user: User) -> str:
    """Start a server-side session for ``user`` (committed) and return the id Flask-Login keeps
    in the session cookie — for tests that log in without posting the login form."""
    from marketplace.auth.sessions import start_session

    start_session(user)
    db.session.commit()
    return user.get_id()


def create_user(role: Role = Role.CLIENT, *, confirmed: bool = True, **overrides: Any) -> User:
    """A user whose e-mail address is confirmed (``confirmed=False``: one who has not opened the link yet)."""
    n = next(_counter)
    password = overrides.pop("password", PASSWORD)
    values = dict(email=f"user{n}@example.test", display_name=f"User {n}", role=role, timezone="Europe/Berlin",
                  email_confirmed_at=utcnow() if confirmed else None)
    values.update(overrides)
    user = User(password_hash=_hash(password), **values)
    db.session.add(user)
    db.session.commit()
    return user


def create_specialist(**overrides: Any) -> Any:
    """A verified, published, complete specialist offering the free consultation."""
    from marketplace.specialists.models import (
        Approach,
        Format,
        Language,
        SpecialistProfile,
        Specialty,
        VerificationStatus,
    )
    from marketplace.text import render_markdown

    n = next(_counter)
    user_fields = {k[5:]: overrides.pop(k) for k in list(overrides) if k.startswith("user_")}
    name = overrides.pop("display_name", f"Dr Test Specialist {n}")
    user = create_user(Role.SPECIALIST, display_name=name, **user_fields)

    def vocab(model: Any, slugs: list[str]) -> list[Any]:
        return list(db.session.scalars(select(model).where(model.slug.in_(slugs))))

    specialties = overrides.pop("specialties", ["anxiety", "depression"])
    approaches = overrides.pop("approaches", ["cbt"])
    languages = overrides.pop("languages", ["en"])
    formats = overrides.pop("formats", ["video"])
    bio = overrides.pop("bio_markdown", "I help adults with anxiety and low mood.")
    values: dict[str, Any] = dict(
        user=user, display_name=name, slug=re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"),
        title="Clinical psychologist", licence_type="Psychologist licence", licence_number=f"LIC-{n:05d}",
        licence_jurisdiction="Berlin, Germany", verification_status=VerificationStatus.VERIFIED,
        years_of_practice=8, city="Berlin", country="DE", timezone="Europe/Berlin", fee_minor=9000,
        currency="EUR", offers_free_consultation=True, accepting_new_clients=True,
        bio_markdown=bio, bio_html=str(render_markdown(bio)), is_published=True,
        video_link="https://meet.example.org/room", address="Example Str. 1, Berlin",
    )
    values.update(overrides)
    profile = SpecialistProfile(**values)
    db.session.add(profile)
    profile.specialties = vocab(Specialty, specialties)
    profile.approaches = vocab(Approach, approaches)
    profile.languages = vocab(Language, languages)
    profile.formats = vocab(Format, formats)
    db.session.add(profile)
    db.session.commit()
    return profile


@pytest.fixture
def make_user() -> Callable[..., User]:
    return create_user


@pytest.fixture
def make_specialist() -> Callable[..., Any]:
    return create_specialist


@pytest.fixture
def draft() -> Any:
    """A specialist account with an empty draft profile (as after signing up as a specialist)."""
    profile = create_draft_profile(create_user(Role.SPECIALIST, display_name="Ada Quill"))
    db.session.commit()
    return profile


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD, **kwargs: Any) -> Any:
        return self.client.post("/auth/login", data={"email": email, "password": password, **kwargs})

    def login_as(self, user: User) -> Any:
        response = self.login(user.email)
        assert response.status_code == 302, "login failed in test setup"
        return response

    def logout(self) -> Any:
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
