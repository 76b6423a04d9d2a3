"""Quality harness fixtures: one app per test module (SQLite; ``quality_db_app``: each backend), a
"world" with one user per role and one object of each kind, logged-in clients per role, and a
whole-database snapshot.

The world is built through the domains' services/models where they exist. A domain whose
objects cannot be built yet leaves its attribute ``None`` and records why in ``world.missing``;
tests that need it call ``world.need("consultation")`` and are skipped with that reason.
"""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, text

from marketplace.extensions import db
from tests.conftest import LiveServer, _app_lifecycle, require
from tests.factories import PASSWORD, IsolatedClient, create_specialist, create_user

log = logging.getLogger(__name__)

ROLES = ("visitor", "client", "other_client", "specialist", "other_specialist", "admin")
LOGGED_IN = ROLES[1:]


# --- app per module ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quality_app(sqlite_url: str, request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app on SQLite, shared by the tests of one module (tables emptied afterwards).

    Module scope keeps the matrix (hundreds of cases) fast; each case still gets a fresh world
    when it may write.
    """
    with _app_lifecycle(sqlite_url, request, tmp_path_factory.mktemp("quality")) as app:
        app.test_client_class = IsolatedClient
        with app.app_context():
            yield app


@pytest.fixture(scope="module", params=[
    pytest.param("sqlite", marks=pytest.mark.xdist_group("quality_db_sqlite")),
    pytest.param("postgres", marks=pytest.mark.xdist_group("quality_db_postgres")),
])
def quality_db_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app on each backend (SQLite, PostgreSQL), shared by the tests of one module.

    Like ``quality_app`` but parametrized over both databases (PostgreSQL refuses what SQLite
    takes: NUL bytes, over-long VARCHARs, integers beyond the column). ``make test`` runs a module
    on one worker (``--dist loadscope``), so each backend's app is built once.
    """
    url = request.getfixturevalue(f"{request.param}_url")
    with _app_lifecycle(url, request, tmp_path_factory.mktemp(f"quality_{request.param}")) as app:
        app.test_client_class = IsolatedClient
        with app.app_context():
            yield app


@pytest.fixture(scope="module")
def quality_live(quality_app: Any) -> Iterator[LiveServer]:
    """The module's app served over real HTTP (for the browser tests)."""
    with LiveServer(quality_app) as server:
        quality_app.config["SERVER_BASE_URL"] = server.url
        yield server


# --- the world ----------------------------------------------------------------------------------

class World:
    """The users of every role (built at once) and one object of each kind (built on first use).

    Objects: consultation (client with specialist, requested, future), payment (pending paid
    session of client with specialist), series (client's weekly series with specialist, card saved, its
    occurrence the pending paid session), paid_payment (other_client's paid session with specialist a
    week ago, paid and refunded), held_consultation (other_client with specialist, started an
    hour ago, nothing recorded), recorded_consultation (other_client with specialist, a no-show
    recorded just now), no_show_report (other_client reported that other_specialist did not come to a
    free consultation two hours ago), conversation (client with specialist), question (by
    client), answer (by specialist), report (other_client on question), article (published, by
    specialist), contact_message (from client), campaign (running, features specialist),
    featured_entry, availability_rule / availability_override / external_calendar (of specialist; its
    last read failed), reset_token (client),
    feed_token (client's calendar subscription), confirm_token (client's address confirmation link,
    already used: every account is confirmed).
    """

    def __init__(self) -> None:
        self.users: dict[str, Any] = {}
        self.profile: Any = None  # the specialist's profile
        self.other_profile: Any = None  # the other specialist's profile
        self.missing: dict[str, str] = {}
        self._objects: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        builders = dict(BUILDERS)
        if name.startswith("_") or name not in builders:
            raise AttributeError(name)
        objects = self.__dict__["_objects"]
        if name not in objects:
            from flask import current_app, g

            objects[name] = None  # no recursion on a failing dependency
            with current_app.test_request_context():  # services build URLs (e-mails)
                _try(self, name, builders[name])
            g.pop("_after_commit", None)  # mail queued in the outbox stays undelivered
        return objects[name]

    def user(self, role: str) -> Any:
        return self.users.get(role)

    def need(self, *names: str) -> Any:
        """Skip the calling test unless the world has every named object; returns the last one."""
        obj = None
        for name in names:
            obj = getattr(self, name)
            if obj is None:
                require(False, f"world has no {name}: {self.missing.get(name, 'not built')}")
        return obj


def _future_slot(days: int = 3, hour: int = 10) -> datetime:
    day = datetime.now(timezone.utc).replace(hour=hour, minute=0, second=0, microsecond=0)
    return day + timedelta(days=days)


def _try(world: World, name: str, builder: Callable[[World], Any]) -> None:
    """Build one object; on failure keep ``None`` and remember why (the first line of the error)."""
    if not db.session().in_nested_transaction():
        # End any read snapshot first: on SQLite a transaction that read before a live-server
        # thread wrote cannot upgrade to a write ("database is locked").
        db.session.commit()
    try:
        with db.session.begin_nested():
            obj = builder(world)
        if not db.session().in_nested_transaction():  # a dependency built inside another builder
            db.session.commit()
    except Exception as exc:  # noqa: BLE001 - any domain not ready yet
        db.session.rollback()
        obj = None
        world.missing[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.debug("world: %s not built\n%s", name, traceback.format_exc())
    world._objects[name] = obj


# Each builder takes the world and returns the object (flushed). They use the domains' own
# services; when a domain changes shape, adjust only its builder here.

NOTE_TEXT = "World note: I would like to talk about sleep."


def _set_hours(w: World) -> None:
    """Both specialists are available around the clock, every day (free slots always exist)."""
    from marketplace.consultations.availability import set_weekly_hours

    for profile in (w.profile, w.other_profile):
        set_weekly_hours(profile.id, [(day, "00:00", "23:30") for day in range(7)])
    db.session.flush()


def _build_consultation(w: World) -> Any:
    from marketplace.consultations.availability import free_slots_for
    from marketplace.consultations.booking import book_free_consultation

    slots = free_slots_for(w.profile)
    return book_free_consultation(w.users["client"], w.profile, slots[0], "video", NOTE_TEXT)


def _build_rule(w: World) -> Any:
    from marketplace.consultations.models import AvailabilityRule

    return db.session.scalar(select(AvailabilityRule).where(AvailabilityRule.specialist_id == w.profile.id))


def _build_override(w: World) -> Any:
    from marketplace.consultations.availability import add_date_override

    day = datetime.now(timezone.utc).date() + timedelta(days=20)
    return add_date_override(w.profile, day, "off")


def _build_payment(w: World) -> Any:
    """A paid session of client with specialist (models directly: the service needs Stripe)."""
    from marketplace.consultations.availability import free_slots_for
    from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState
    from marketplace.payments.models import Payment, PaymentStatus

    w.consultation  # noqa: B018 - the free consultation comes first
    start = free_slots_for(w.profile)[4]
    paid = Consultation(client_id=w.users["client"].id, specialist_id=w.profile.id, kind=ConsultationKind.PAID,
                        state=ConsultationState.PENDING_PAYMENT, start_utc=start, end_utc=start + timedelta(minutes=50),
                        format="video", price_minor=9000, currency="EUR",
                        hold_expires_at=datetime.now(timezone.utc) + timedelta(minutes=15), sequence=0)
    db.session.add(paid)
    db.session.flush()
    payment = Payment(consultation_id=paid.id, provider="stripe", amount_minor=9000, currency="EUR", status=PaymentStatus.PENDING,
                      provider_checkout_id=f"cs_test_{paid.id}", checkout_url="https://checkout.stripe.com/c/pay/x")
    db.session.add(payment)
    db.session.flush()
    return payment


def _build_series(w: World) -> Any:
    """A weekly series of client with specialist whose card is saved; its one occurrence is the
    pending paid session (models directly: the service needs a provider)."""
    from marketplace.payments.series_models import ChargeState, SeriesCharge, SeriesState, SessionSeries

    payment = w.payment
    series = SessionSeries(client_id=w.users["client"].id, specialist_id=w.profile.id, sessions=2,
                           timezone="Europe/Berlin", state=SeriesState.ACTIVE, provider="stripe",
                           provider_checkout_id="cs_test_series", provider_customer_id="cus_test",
                           provider_payment_method_id="pm_test")
    db.session.add(series)
    db.session.flush()
    db.session.add(SeriesCharge(series_id=series.id, consultation_id=payment.consultation_id, payment_id=payment.id,
                                due_at=payment.consultation.start_utc - timedelta(hours=24),
                                charge_state=ChargeState.SCHEDULED))
    db.session.flush()
    return series


def _build_paid_payment(w: World) -> Any:
    """A paid session of other_client with specialist held a week ago, paid, then refunded (earnings)."""
    from marketplace.consultations.models import ConsultationKind, ConsultationState
    from marketplace.payments.models import Payment, PaymentStatus

    held = _past_consultation(w, ConsultationKind.PAID, ConsultationState.COMPLETED, 24 * 7, price_minor=9000,
                              currency="EUR")
    paid_at = held.start_utc - timedelta(days=2)
    payment = Payment(consultation_id=held.id, provider="stripe", amount_minor=9000, currency="EUR",
                      status=PaymentStatus.REFUNDED, provider_checkout_id=f"cs_test_{held.id}", paid_at=paid_at,
                      refunded_at=paid_at + timedelta(days=1), created_at=paid_at)
    db.session.add(payment)
    db.session.flush()
    return payment


def _past_consultation(w: World, kind: Any, state: Any, hours_ago: int, **extra: Any) -> Any:
    from marketplace.consultations.models import Consultation

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=hours_ago)
    consultation = Consultation(client_id=w.users["other_client"].id, specialist_id=w.profile.id, kind=kind,
                                state=state, start_utc=start, end_utc=start + timedelta(minutes=30), format="video",
                                confirmed_at=start - timedelta(days=1), sequence=0, **extra)
    db.session.add(consultation)
    db.session.flush()
    return consultation


def _build_held_consultation(w: World) -> Any:
    """A free consultation of other_client with specialist that started an hour ago, nothing recorded:
    its page offers the outcome, "Mark as completed" and no-show forms (each with its tick box)."""
    from marketplace.consultations.models import ConsultationKind, ConsultationState

    return _past_consultation(w, ConsultationKind.FREE, ConsultationState.CONFIRMED, 1)


def _build_recorded_consultation(w: World) -> Any:
    """A session of other_client with specialist recorded as a no-show just now: its page offers the
    24-hour undo (paid kind without a payment row: one free consultation per pair is the held one)."""
    from marketplace.consultations.models import ConsultationKind, ConsultationState

    return _past_consultation(w, ConsultationKind.PAID, ConsultationState.NO_SHOW, 3, price_minor=9000,
                              currency="EUR", outcome_recorded_at=datetime.now(timezone.utc),
                              outcome_note="I waited 20 minutes.")


def _build_no_show_report(w: World) -> Any:
    """other_client reported that other_specialist did not come to their free consultation two hours
    ago (the admin's queue shows it)."""
    from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState, NoShowReport

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=2)
    consultation = Consultation(client_id=w.users["other_client"].id, specialist_id=w.other_profile.id,
                                kind=ConsultationKind.FREE, state=ConsultationState.SPECIALIST_NO_SHOW,
                                start_utc=start, end_utc=start + timedelta(minutes=30), format="video",
                                confirmed_at=start - timedelta(days=1), sequence=1)
    db.session.add(consultation)
    db.session.flush()
    report = NoShowReport(consultation_id=consultation.id, specialist_id=w.other_profile.id,
                          client_id=w.users["other_client"].id, note="Nobody joined the video call.")
    db.session.add(report)
    db.session.flush()
    return report


def _build_conversation(w: World) -> Any:
    from marketplace.messaging.services import resolve_new_conversation, start_conversation

    target = resolve_new_conversation(w.users["client"], to_slug=w.profile.slug)
    return start_conversation(w.users["client"], target, "Hello, is there a slot next week?")


def _build_question(w: World) -> Any:
    from marketplace.questions.services import ask_question, topics

    return ask_question(w.users["client"], title="How do I know if therapy is for me?",
                        body="I have felt low for months and do not know where to start.",
                        topic_id=topics()[0].id, anonymous=False)


def _build_answer(w: World) -> Any:
    from marketplace.questions.services import answer_question

    if w.question is None:
        raise LookupError("no question")
    return answer_question(w.users["specialist"], w.question, body="Talking to someone is a good first step.").answer


def _build_report(w: World) -> Any:
    from marketplace.questions.services import report_content

    if w.question is None:
        raise LookupError("no question")
    return report_content(w.users["other_client"], "question", w.question.id, reason="spam")


def _build_article(w: World) -> Any:
    from marketplace.articles.services import write_article

    return write_article(w.users["specialist"], title="Starting therapy without fear",
                         summary="What to expect from a first session.",
                         body="A first session is a conversation. " * 5, publish=True)


def _build_contact_message(w: World) -> Any:
    from marketplace.contact.services import submit_contact_message

    return submit_contact_message(w.users["client"], subject="Hello", body="A question about Balance.")


def _build_campaign(w: World) -> Any:
    from marketplace.featured.services import create_campaign, feature_specialist

    today = datetime.now(timezone.utc).date()
    campaign = create_campaign(w.users["admin"], name="Spring campaign", starts_on=today - timedelta(days=1),
                               ends_on=today + timedelta(days=30))
    feature_specialist(w.users["admin"], campaign, w.profile)
    return campaign


def _build_featured_entry(w: World) -> Any:
    from marketplace.featured.models import FeaturedEntry

    if w.campaign is None:
        raise LookupError("no campaign")
    entry = db.session.scalar(select(FeaturedEntry).where(FeaturedEntry.campaign_id == w.campaign.id))
    if entry is None:
        raise LookupError("feature_specialist() did not persist the entry")
    return entry


def _build_external_calendar(w: World) -> Any:
    """Another calendar of specialist whose last read failed (its page shows the reason)."""
    from marketplace.consultations.external_calendars import add_external_calendar

    calendar = add_external_calendar(w.profile, "https://calendar.example.org/private-world/basic.ics")
    calendar.failing_since = calendar.last_attempt_at = datetime.now(timezone.utc) - timedelta(hours=2)
    calendar.error = "the server did not answer in time"
    db.session.flush()
    return calendar


def _build_confirm_token(w: World) -> str:
    """A confirmation link of the client's (already confirmed) address: a used link."""
    from marketplace.auth.confirmation import make_confirmation_token

    client = w.users["client"]
    return make_confirmation_token(client, client.email)


def _build_feed_token(w: World) -> str:
    """The client's calendar subscription token (their feed shows the world's consultation)."""
    from marketplace.consultations.feeds import make_calendar_feed

    return make_calendar_feed(w.users["client"])


def _build_reset_token(w: World) -> str:
    from marketplace.auth.services import make_reset_token

    return make_reset_token(w.users["client"])


def _build_waitlist_entry(w: World) -> Any:
    """The client waits for a time with the other specialist (mornings, Mondays)."""
    from marketplace.consultations.waitlist import join_waitlist

    return join_waitlist(w.users["client"], w.other_profile, weekdays=[0], parts=["morning"], tz="Europe/Berlin")


def _build_waitlist_offer(w: World) -> Any:
    """A time of the other specialist held for the client (for a day: the tests outlast 15 minutes)."""
    from marketplace.consultations.models import OfferState, WaitlistOffer

    entry = w.waitlist_entry
    start = _future_slot(days=5, hour=9)
    offer = WaitlistOffer(entry_id=entry.id, client_id=entry.client_id, specialist_id=entry.specialist_id,
                          start_utc=start, end_utc=start + timedelta(minutes=30), state=OfferState.OFFERED,
                          expires_at=datetime.now(timezone.utc) + timedelta(days=1))
    db.session.add(offer)
    db.session.flush()
    return offer


def _build_waitlist_token(w: World) -> str:
    from marketplace.consultations.waitlist import offer_token

    return offer_token(w.waitlist_offer)


BUILDERS: list[tuple[str, Callable[[World], Any]]] = [
    ("waitlist_entry", _build_waitlist_entry),
    ("waitlist_offer", _build_waitlist_offer),
    ("waitlist_token", _build_waitlist_token),
    ("consultation", _build_consultation),
    ("availability_rule", _build_rule),
    ("availability_override", _build_override),
    ("external_calendar", _build_external_calendar),
    ("payment", _build_payment),
    ("paid_payment", _build_paid_payment),
    ("series", _build_series),
    ("held_consultation", _build_held_consultation),
    ("recorded_consultation", _build_recorded_consultation),
    ("no_show_report", _build_no_show_report),
    ("conversation", _build_conversation),
    ("question", _build_question),
    ("answer", _build_answer),
    ("report", _build_report),
    ("article", _build_article),
    ("contact_message", _build_contact_message),
    ("campaign", _build_campaign),
    ("featured_entry", _build_featured_entry),
    ("reset_token", _build_reset_token),
    ("feed_token", _build_feed_token),
    ("confirm_token", _build_confirm_token),
]


def build_world() -> World:
    """A fresh world: new users and profiles now, objects on first use (names never clash)."""
    from flask import current_app

    w = World()
    with current_app.test_request_context():
        _populate(w)
    db.session.commit()
    return w


def _populate(w: World) -> None:
    from marketplace.auth.models import Role

    w.users["visitor"] = None
    w.users["client"] = create_user(Role.CLIENT)
    w.users["other_client"] = create_user(Role.CLIENT)
    w.profile = create_specialist()
    w.other_profile = create_specialist()
    w.users["specialist"] = w.profile.user
    w.users["other_specialist"] = w.other_profile.user
    w.users["admin"] = create_user(Role.ADMIN)
    _try(w, "hours", _set_hours)


@pytest.fixture(scope="module")
def world(quality_app: Any) -> World:
    """One world shared by a module's read-only tests."""
    return build_world()


# --- clients ------------------------------------------------------------------------------------

def client_as(app: Any, user: Any) -> Any:
    """A test client logged in as ``user`` (None = visitor), without a (slow) password check.

    Each client gets its own live server-side session (``auth.sessions``): a cookie naming a
    session the server does not know is a visitor's, which would turn every role into a visitor.
    """
    from marketplace.auth.sessions import start_session

    client = app.test_client()
    if user is not None:
        db.session.commit()  # end any read snapshot: on SQLite it can't become a write once a live-server thread wrote
        start_session(user)
        db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client


# --- the main pages, per role (accessibility and CSP scans) ------------------------------------------

MAIN_PAGES: dict[str, list[tuple[str, Callable[[World], str]]]] = {
    "visitor": [
        ("home", lambda w: "/"),
        ("free-consultation", lambda w: "/free-consultation"),
        ("campaign", lambda w: "/campaign"),
        ("directory", lambda w: "/specialists"),
        ("directory-filtered", lambda w: "/specialists?specialty=anxiety&format=video&free=1&part=evening&part=weekend"),
        ("profile", lambda w: f"/specialists/{w.profile.slug}"),
        ("booking-prompt", lambda w: f"/specialists/{w.profile.slug}/book"),
        ("questions", lambda w: "/questions"),
        ("question", lambda w: f"/questions/{w.question.id}-{w.question.slug}"),
        ("question-new-prompt", lambda w: "/questions/new"),
        ("articles", lambda w: "/articles"),
        ("article", lambda w: f"/articles/{w.article.slug}"),
        ("contact-prompt", lambda w: "/contact"),
        ("messages-prompt", lambda w: "/messages"),
        ("specialist-new-prompt", lambda w: "/specialists/new"),
        ("login", lambda w: "/auth/login"),
        ("signup", lambda w: "/auth/signup"),
        ("signup-specialist", lambda w: "/auth/signup?role=specialist"),
        ("time-zone", lambda w: f"/account/time-zone?next=/specialists/{w.profile.slug}"),
        ("reset", lambda w: "/auth/reset"),
        ("reset-token", lambda w: f"/auth/reset/{w.reset_token}"),
        ("confirm-link-used", lambda w: f"/auth/confirm/{w.confirm_token}"),
        ("not-found", lambda w: "/no-such-page"),
    ],
    "client": [
        ("home", lambda w: "/"),
        ("directory", lambda w: "/specialists"),
        ("profile", lambda w: f"/specialists/{w.profile.slug}"),
        ("booking", lambda w: f"/specialists/{w.other_profile.slug}/book"),
        ("consultations", lambda w: "/consultations"),
        ("agenda", lambda w: f"/consultations/agenda?week={w.consultation.start_utc.date().isoformat()}"),
        ("consultation", lambda w: f"/consultations/{w.consultation.id}"),
        ("reschedule", lambda w: f"/consultations/{w.consultation.id}/reschedule"),
        ("waitlist-offer", lambda w: f"/waitlist/offers/{w.waitlist_token}"),
        ("consultations-waiting", lambda w: f"/consultations?held={w.waitlist_offer.id}"),  # lists the held time
        ("booking-waiting", lambda w: f"/specialists/{w.waitlist_entry.specialist.slug}/book"),
        ("messages", lambda w: "/messages"),
        ("thread", lambda w: f"/messages/{w.conversation.id}"),
        ("message-new", lambda w: f"/messages/new?to={w.other_profile.slug}"),
        ("questions", lambda w: "/questions"),
        ("question", lambda w: f"/questions/{w.question.id}-{w.question.slug}"),
        ("question-new", lambda w: "/questions/new"),
        ("articles", lambda w: "/articles"),
        ("article", lambda w: f"/articles/{w.article.slug}"),
        ("contact", lambda w: "/contact"),
        ("account", lambda w: "/account"),
        ("free-consultation", lambda w: "/free-consultation"),
        ("campaign", lambda w: "/campaign"),
        ("specialist-new", lambda w: "/specialists/new"),
        ("paid-booking", lambda w: f"/payments/book/{w.profile.slug}"),
        ("series-booking", lambda w: f"/payments/series/{w.profile.slug}"),
        ("series-saved", lambda w: f"/payments/series/saved?session_id={w.series.provider_checkout_id}"),
        ("series-overview", lambda w: f"/payments/series/{w.series.id}/sessions"),
    ],
    "other_client": [
        # The held consultation (started an hour ago, confirmed) offers its client the no-show report.
        ("consultation-held", lambda w: f"/consultations/{w.held_consultation.id}"),
    ],
    "specialist": [
        ("profile-editor", lambda w: "/specialists/me/edit"),
        ("own-profile", lambda w: f"/specialists/{w.profile.slug}"),
        # With another calendar whose last read failed (the reason shown beside it).
        ("availability", lambda w: w.need("external_calendar") and "/specialists/me/availability"),
        ("stats", lambda w: "/specialists/me/stats"),
        ("calendar", lambda w: "/specialists/me/calendar"),
        ("calendar-week", lambda w: f"/specialists/me/calendar?week={w.consultation.start_utc.date().isoformat()}"),
        ("stats-26-weeks", lambda w: "/specialists/me/stats?weeks=26"),
        ("earnings", lambda w: w.need("paid_payment") and "/specialists/me/earnings"),
        ("clients", lambda w: "/specialists/me/clients"),
        ("client", lambda w: f"/specialists/me/clients/{w.consultation.client_id}"),
        ("consultations", lambda w: "/consultations"),
        ("consultation", lambda w: f"/consultations/{w.consultation.id}"),
        ("consultation-held", lambda w: f"/consultations/{w.held_consultation.id}"),
        ("consultation-recorded", lambda w: f"/consultations/{w.recorded_consultation.id}"),
        ("messages", lambda w: "/messages"),
        ("thread", lambda w: f"/messages/{w.conversation.id}"),
        ("question-answer", lambda w: f"/questions/{w.question.id}-{w.question.slug}"),
        ("article-new", lambda w: "/articles/new"),
        ("article-edit", lambda w: f"/articles/{w.article.slug}/edit"),
        ("account", lambda w: "/account"),
    ],
    "admin": [
        ("dashboard", lambda w: "/admin"),
        ("verification", lambda w: "/admin/verification"),
        ("moderation", lambda w: "/admin/moderation"),
        ("contact-messages", lambda w: "/admin/contact"),
        ("no-show-reports", lambda w: "/admin/no-shows"),
        ("audit", lambda w: "/admin/audit"),
        ("stats", lambda w: "/admin/stats"),
        ("featured", lambda w: "/admin/featured"),
        ("featured-new", lambda w: "/admin/featured/new"),
        ("featured-campaign", lambda w: f"/admin/featured/{w.campaign.id}"),
        ("payments", lambda w: "/admin/payments"),
        ("consultation", lambda w: f"/consultations/{w.consultation.id}"),
        ("account", lambda w: "/account"),
    ],
}


def page_cases() -> list[Any]:
    return [pytest.param(role, name, id=f"{role}-{name}") for role, pages in MAIN_PAGES.items() for name, _ in pages]


def page_url(world: World, role: str, name: str) -> str:
    path = dict(MAIN_PAGES[role])[name]
    try:
        return path(world)
    except AttributeError as exc:
        require(False, f"world lacks an object for {role}/{name}: {exc} ({world.missing})")  # a missing world object fails in CI
        raise


class BrowserSessions:
    """One browser context per role (logged in by cookie), blocking and recording foreign requests."""

    def __init__(self, browser: Any, live: Any, app: Any, world: World, **context_options: Any) -> None:
        self.browser, self.live, self.app, self.world = browser, live, app, world
        self.options = context_options
        self.contexts: dict[str, Any] = {}
        self.pages: dict[str, Any] = {}
        self.foreign: dict[str, list[str]] = {}
        self.console: dict[str, list[str]] = {}
        self.init_script: str | None = None

    def page(self, role: str) -> Any:
        """The role's one tab (reused across tests: opening tabs is the slow part)."""
        if role not in self.pages:
            page = self.context(role).new_page()
            page.set_default_timeout(20000)
            messages: list[str] = []
            page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}")
                    if msg.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
            self.pages[role] = page
            self.console[role] = messages
        self.console[role].clear()
        self.foreign[role].clear()
        return self.pages[role]

    def context(self, role: str) -> Any:
        if role not in self.contexts:
            ctx = self.browser.new_context(base_url=self.live.url, timezone_id="Europe/Berlin", locale="en-GB",
                                           **self.options)
            foreign: list[str] = []
            live_url = self.live.url

            def _route(route: Any) -> Any:
                if route.request.url.startswith(live_url) or route.request.url.startswith("data:"):
                    return route.continue_()
                foreign.append(route.request.url)
                return route.abort()

            ctx.route("**/*", _route)
            if self.init_script:
                ctx.add_init_script(self.init_script)
            user = self.world.user(role)
            if user is not None:
                client = client_as(self.app, user)
                client.get("/ping")
                cookie = client.get_cookie("session")
                ctx.add_cookies([{"name": "session", "value": cookie.value, "url": live_url}])
            self.contexts[role] = ctx
            self.foreign[role] = foreign
        return self.contexts[role]

    def close(self) -> None:
        for ctx in self.contexts.values():
            ctx.close()


def login_page(page: Any, user: Any, password: str = PASSWORD) -> None:
    """Log a Playwright page in through the real login form."""
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


# --- database snapshot --------------------------------------------------------------------------

# Columns that may change on any request without being a "change" by the submission.
VOLATILE_COLUMNS = {"last_login_at", "updated_at", "last_seen_at"}


def db_snapshot() -> dict[str, list[str]]:
    """Every row of every table (volatile columns left out), to prove 'no database change'."""
    import marketplace.models  # noqa: F401

    db.session.commit()
    snap: dict[str, list[str]] = {}
    for table in db.metadata.sorted_tables:
        cols = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
        rows = db.session.execute(select(*cols)).all()
        snap[table.name] = sorted(repr(tuple(r)) for r in rows)
    return snap


def snapshot_diff(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """Human-readable differences: table, row count before/after, first changed row."""
    diffs = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name, []), after.get(name, [])
        if b != a:
            added = sorted(set(a) - set(b))[:1]
            removed = sorted(set(b) - set(a))[:1]
            diffs.append(f"{name}: {len(b)} -> {len(a)} rows; +{added} -{removed}")
    return diffs


class WriteRecorder:
    """Records SQL writes (INSERT/UPDATE/DELETE) that were COMMITTED while active.

    Cheap, exact evidence of "no database change": writes that a refused request made and
    then rolled back (the unit of work rolls back every response >= 400) do not count.
    """

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.pending: dict[int, list[str]] = {}
        self.committed: list[str] = []

    def _execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(self.WRITES):
            self.pending.setdefault(id(conn.connection), []).append(" ".join(statement.split())[:120])

    def _commit(self, conn: Any) -> None:
        self.committed += self.pending.pop(id(conn.connection), [])

    def _rollback(self, conn: Any) -> None:
        self.pending.pop(id(conn.connection), None)

    def __enter__(self) -> WriteRecorder:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._execute)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)
        return self

    def __exit__(self, *exc: Any) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._execute)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)


def row_counts() -> dict[str, int]:
    import marketplace.models  # noqa: F401

    db.session.commit()
    tables = [t.name for t in db.metadata.sorted_tables]
    sql = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{name}")' for name in tables)
    return dict(zip(tables, db.session.execute(text(sql)).one()))
