"""Nothing slow or fallible on the request path: mail goes out from the job queue, never in a request.

These tests use a real Huey queue (SQLite storage in the test's tmp dir, not the immediate mode the
other tests use), a real local SMTP server (aiosmtpd) and a server that accepts connections and
never answers ("black hole").
"""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from marketplace.auth.models import Role
from marketplace.consultations.lifecycle import cancel_consultation
from marketplace.consultations.models import Consultation, ConsultationState
from marketplace.database import commit, rollback
from marketplace.extensions import db
from marketplace.jobs import huey_of, job_name
from marketplace.notifications.mail import _set_status, claim_mail, deliver_pending, deliver_pending_mail, send_mail
from marketplace.notifications.models import MailStatus, OutboxMail
from marketplace.timeutil import format_datetime
from tests.factories import PASSWORD
from tests.integration.test_consultations import book_via_http, first_free_slot, login, open_all_week


class BlackHoleSMTP:
    """Accepts TCP connections and never says a word (an SMTP server that hangs)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)  # held open, never answered

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHoleSMTP]:
    server = BlackHoleSMTP()
    try:
        yield server
    finally:
        server.close()


# A real queue (not the immediate mode of the other tests), in this process's own file.
QUEUED = pytest.mark.config(JOBS_IMMEDIATE=False,
                            JOBS_URL=f"sqlite:///{tempfile.mkdtemp(prefix='balance-jobs-')}/jobs.db")


@pytest.fixture
def queued_app(app: Any, black_hole: BlackHoleSMTP) -> Any:
    """The app with a real, empty queue and mail going to an SMTP server that hangs."""
    assert not app.config["JOBS_IMMEDIATE"], "mark the test with @QUEUED"
    huey_of(app).flush()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=black_hole.port, MAIL_TIMEOUT=30)
    return app


def run_queued_jobs(app: Any) -> int:
    """Run every queued job the way a consumer does (dequeue, execute); returns how many ran."""
    huey = huey_of(app)
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def recover_smtp(app: Any, smtp_port: int) -> None:
    app.config.update(MAIL_PORT=smtp_port, MAIL_TIMEOUT=5)


def received_once_each(smtp_server: Any, subjects_to: list[tuple[str, str]]) -> None:
    got = [(str(m["To"]), str(m["Subject"])) for m in smtp_server.messages]
    assert len(got) == len(set(got)), f"a mail went out twice: {got}"
    assert sorted(got) == sorted(subjects_to)


def _outbox() -> list[tuple[str, str]]:
    db.session.commit()  # end the read snapshot: see what the workers committed
    return [(row.recipient, row.subject) for row in db.session.scalars(select(OutboxMail).order_by(OutboxMail.id))]


@QUEUED
def test_booking_answers_at_once_while_smtp_hangs_and_mail_goes_out_once_after(
        queued_app, client, make_specialist, make_user, smtp_server, black_hole):
    specialist = make_specialist(formats=["video"])
    open_all_week(specialist)
    patient = make_user(Role.CLIENT)
    login(client, patient)

    started = time.monotonic()
    response = book_via_http(client, specialist, first_free_slot(specialist))
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert elapsed < 1.0, f"the booking waited {elapsed:.1f} s for mail"
    assert black_hole.connections == []  # the request did not even try SMTP
    expected = _outbox()
    assert len(expected) == 2  # client and specialist
    assert all(row.status is MailStatus.PENDING for row in db.session.scalars(select(OutboxMail)))

    recover_smtp(queued_app, smtp_server.port)
    assert run_queued_jobs(queued_app) >= 1
    assert run_queued_jobs(queued_app) == 0
    with queued_app.app_context():
        assert deliver_pending() == 0  # the sweep finds nothing left: nothing is sent twice
    received_once_each(smtp_server, expected)


@QUEUED
def test_a_booking_renders_no_ones_mail_the_worker_writes_each_once(queued_app, client, make_specialist, make_user,
                                                                     smtp_server):
    specialist = make_specialist(formats=["video"], display_name="Dr Composed")
    open_all_week(specialist)
    patient = make_user(Role.CLIENT, email="composed@example.test", timezone="America/New_York")
    login(client, patient)
    assert book_via_http(client, specialist, first_free_slot(specialist)).status_code == 302

    rows = list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
    assert len(rows) == 2 and all(row.composer == "consultation" and row.body_text == "" and row.attachments == []
                                  for row in rows)  # who gets what, recorded; nothing rendered in the request

    recover_smtp(queued_app, smtp_server.port)
    run_queued_jobs(queued_app)
    db.session.commit()
    consultation = db.session.scalars(select(Consultation)).one()
    to_patient = next(m for m in smtp_server.messages if m["To"] == "composed@example.test")
    body = to_patient.get_body(preferencelist=("plain",)).get_content()
    assert format_datetime(consultation.start_utc, "America/New_York") in body  # the recipient's zone, named
    ics = next(part for part in to_patient.iter_attachments() if part.get_filename() == "consultation.ics")
    assert "TZID=America/New_York" in ics.get_content() and consultation.uid in ics.get_content()
    stored = db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == "composed@example.test")).one()
    # Written once on the row (a retry sends the same text); SMTP only changed the line endings.
    assert stored.status is MailStatus.SENT and stored.body_text.split() == body.split()
    assert len(smtp_server.messages) == 2


@QUEUED
def test_a_delivery_batch_composes_any_number_of_consultation_mails_in_the_same_statements(
        queued_app, client, make_specialist, make_user, smtp_server, count_queries):
    recover_smtp(queued_app, smtp_server.port)
    specialist = make_specialist(formats=["video"])
    open_all_week(specialist)
    statements = []
    for bookings in (1, 3):
        for _ in range(bookings):
            login(client, make_user(Role.CLIENT))
            assert book_via_http(client, specialist, first_free_slot(specialist)).status_code == 302
            client.post("/auth/logout")
        huey_of(queued_app).flush()  # their delivery jobs: one sweep takes every waiting mail instead
        with count_queries() as counter:
            assert deliver_pending() == 2 * bookings  # the client's and the specialist's, each
        statements.append(counter.count)
    assert statements[0] == statements[1], statements  # no statement per mail or per consultation


@QUEUED
def test_a_booking_looks_for_no_freed_time_a_cancellation_does(queued_app, client, make_specialist, make_user):
    specialist = make_specialist(formats=["video"])
    open_all_week(specialist)
    patient = make_user(Role.CLIENT)
    login(client, patient)
    assert book_via_http(client, specialist, first_free_slot(specialist)).status_code == 302
    queued = [task.name for task in huey_of(queued_app).pending()]
    assert "refresh_availability" in queued and "offer_freed_times" not in queued, queued  # it only took time
    huey_of(queued_app).flush()
    cancel_consultation(db.session.scalars(select(Consultation)).one(), patient, "Plans changed")
    commit()
    queued = [task.name for task in huey_of(queued_app).pending()]
    assert "refresh_availability" in queued and "offer_freed_times" in queued, queued  # its time is free again


@QUEUED
def test_confirming_rescheduling_and_cancelling_render_no_ones_mail(queued_app, client, make_specialist, make_user,
                                                                     smtp_server):
    """Each action records who gets what; the worker writes each mail, in each recipient's zone."""
    specialist = make_specialist(formats=["video"], display_name="Dr Later")
    open_all_week(specialist)  # requests wait for the specialist to confirm (the default)
    patient = make_user(Role.CLIENT, email="later@example.test", timezone="Asia/Tokyo")
    login(client, patient)
    first = first_free_slot(specialist)
    assert book_via_http(client, specialist, first).status_code == 302
    consultation = db.session.scalars(select(Consultation)).one()
    huey_of(queued_app).flush()
    db.session.execute(OutboxMail.__table__.delete())
    db.session.commit()

    moved = first_free_slot(specialist, after_hours=30)
    assert client.post(f"/consultations/{consultation.id}/reschedule",
                       data={"slot": moved.strftime("%Y-%m-%dT%H:%M:%SZ")}).status_code == 302
    new = db.session.scalars(select(Consultation).where(Consultation.rescheduled_from_id == consultation.id)).one()
    client.post("/auth/logout")
    login(client, specialist.user)
    assert client.post(f"/consultations/{new.id}/confirm").status_code == 302
    assert client.post(f"/consultations/{new.id}/cancel", data={"reason": "Ill"}).status_code == 302

    rows = list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
    assert len(rows) == 6 and all(row.composer == "consultation" and row.body_text == "" for row in rows)
    recover_smtp(queued_app, smtp_server.port)
    run_queued_jobs(queued_app)
    to_patient = {str(m["Subject"]).split(":")[0]: m for m in smtp_server.messages if m["To"] == "later@example.test"}
    assert set(to_patient) == {"Rescheduled", "Confirmed", "Cancelled"}
    rescheduled = to_patient["Rescheduled"].get_body(preferencelist=("plain",)).get_content()
    assert format_datetime(first, "Asia/Tokyo") in rescheduled and format_datetime(moved, "Asia/Tokyo") in rescheduled
    cancelled = next(part for part in to_patient["Cancelled"].iter_attachments()
                     if part.get_filename() == "consultation.ics").get_content()
    assert "METHOD:CANCEL" in cancelled and new.uid in cancelled


@QUEUED
def test_account_deletion_answers_at_once_while_smtp_hangs(queued_app, client, make_specialist, make_user, auth,
                                                            smtp_server, black_hole):
    specialist = make_specialist(formats=["video"], display_name="Dr Nine Clients")
    open_all_week(specialist)
    for i in range(9):
        patient = make_user(Role.CLIENT, email=f"patient{i}@example.test")
        login(client, patient)
        assert book_via_http(client, specialist, first_free_slot(specialist, after_hours=2 * i)).status_code == 302
        client.post("/auth/logout")
    db.session.commit()
    before = len(_outbox())

    specialist_email = specialist.user.email
    auth.login_as(specialist.user)
    started = time.monotonic()
    response = client.post("/account/delete", data={"password": PASSWORD})
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert elapsed < 1.0, f"deleting the account waited {elapsed:.1f} s"
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Consultation)
                             .where(Consultation.state != ConsultationState.CANCELLED)) == 0
    expected = _outbox()
    cancellations = expected[before:]
    assert {to for to, _subject in cancellations} >= {f"patient{i}@example.test" for i in range(9)}
    # The request rendered none of the nine notices: the worker writes each (with the name the
    # specialist had: the deletion has renamed the profile since).
    notices = list(db.session.scalars(select(OutboxMail).where(OutboxMail.recipient.like("patient%"),
                                                               OutboxMail.subject.like("Cancelled:%"))))
    assert len(notices) == 9 and all(row.composer == "consultation" and row.body_text == "" for row in notices)

    # The server hangs while the worker tries: every mail goes back to pending, none is lost.
    queued_app.config.update(MAIL_TIMEOUT=0.05)  # the server never answers: any timeout runs out (≈ 20 mails)
    run_queued_jobs(queued_app)
    db.session.commit()
    assert db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.status == MailStatus.SENT)) == 0
    assert db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.status == MailStatus.SENDING)) == 0

    recover_smtp(queued_app, smtp_server.port)
    huey = huey_of(queued_app)
    queued_app.extensions["jobs"].tasks[job_name(deliver_pending_mail)]()  # the periodic sweep's turn
    assert huey.pending_count() == 1
    run_queued_jobs(queued_app)
    # The booking requests to the specialist were still unwritten (composed on delivery) when the
    # account was deleted: they are dropped, not sent to a deleted account. Everything else, once.
    to_deleted = [(to, subject) for to, subject in expected if to == specialist_email]
    assert to_deleted and db.session.scalar(select(func.count(OutboxMail.id))
                                            .where(OutboxMail.status == MailStatus.DROPPED)) == len(to_deleted)
    received_once_each(smtp_server, [mail for mail in expected if mail not in to_deleted])
    notice = next(m for m in smtp_server.messages if m["To"] == "patient0@example.test"
                  and str(m["Subject"]).startswith("Cancelled"))
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert "because the account of Dr Nine Clients was deleted" in " ".join(text.split())
    assert "Deleted specialist" not in text


def test_a_mail_claimed_by_a_worker_that_died_is_delivered_once_after_its_lease(app, smtp_server):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_LEASE_SECONDS=1)
    mail = send_mail("someone@example.test", "Your consultation", "Hello")
    db.session.commit()
    mail_id = mail.id  # the row only (the unit of work's after-commit delivery is not run here)

    # A worker claims it, then dies before sending (nothing more happens in that worker).
    assert claim_mail(mail_id) is not None
    assert deliver_pending() == 0  # within the lease nobody else takes it
    assert smtp_server.messages == []

    time.sleep(1.2)
    results: list[int] = []

    def sweep() -> None:  # two workers sweep at the same time: exactly one sends
        with app.app_context():
            results.append(deliver_pending())
            db.session.remove()

    workers = [threading.Thread(target=sweep) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(20)
    assert sorted(results) == [0, 1]
    assert [str(m["To"]) for m in smtp_server.messages] == ["someone@example.test"]
    db.session.commit()
    row = db.session.get(OutboxMail, mail_id)
    assert row.status is MailStatus.SENT and row.attempts == 2


def test_a_worker_that_outlived_its_lease_cannot_undo_a_delivery(app, smtp_server):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_LEASE_SECONDS=0)
    mail = send_mail("late@example.test", "Subject", "Body")
    db.session.commit()
    mail_id = mail.id

    slow_attempt = claim_mail(mail_id)  # this worker hangs…
    assert deliver_pending() == 1  # …its lease (0 s) is over, another worker delivers
    _set_status(mail_id, slow_attempt, MailStatus.PENDING, last_error="timeout")  # the hung one gives up late
    db.session.commit()
    assert db.session.get(OutboxMail, mail_id).status is MailStatus.SENT
    assert deliver_pending() == 0
    assert len(smtp_server.messages) == 1


@QUEUED
def test_password_reset_does_the_same_work_for_known_and_unknown_addresses(queued_app, client, make_user,
                                                                            count_queries, smtp_server):
    make_user(Role.CLIENT, email="known@example.test")
    timings = {}
    counts = {}
    for email in ("known@example.test", "unknown@example.test"):
        with count_queries() as counter:
            started = time.monotonic()
            response = client.post("/auth/reset", data={"email": email})
            timings[email] = time.monotonic() - started
        assert response.status_code in (200, 302)
        counts[email] = counter.count
    assert counts["known@example.test"] == counts["unknown@example.test"]
    assert _outbox() == []  # nothing rendered or written in the request
    assert max(timings.values()) < 1.0

    recover_smtp(queued_app, smtp_server.port)
    run_queued_jobs(queued_app)
    run_queued_jobs(queued_app)  # the reset job queues its mail's delivery
    assert [str(m["To"]) for m in smtp_server.messages] == ["known@example.test"]
    link = smtp_server.bodies()[0]
    assert queued_app.config["SERVER_BASE_URL"] + "/auth/reset/" in link


@QUEUED
def test_a_real_consumer_runs_jobs_in_the_app(queued_app, smtp_server):
    recover_smtp(queued_app, smtp_server.port)
    with queued_app.app_context():
        send_mail("consumer@example.test", "Queued", "Body")
        commit()
    consumer = huey_of(queued_app).create_consumer(workers=2, worker_type="thread", periodic=False)
    consumer.start()
    try:
        deadline = time.monotonic() + 10
        while not smtp_server.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)
    assert [str(m["To"]) for m in smtp_server.messages] == ["consumer@example.test"]
    # The delivery job returned how many it sent; nothing reads it, so nothing keeps it (a result
    # store written by every job and never read would only grow).
    assert huey_of(queued_app).result_count() == 0


@QUEUED
def test_workers_leave_the_cpu_to_requests(queued_app):
    """Each worker of a consumer runs at JOBS_NICENESS (10 by default): on a host shared with web
    processes, the requests get the CPU first. The process that starts the consumer keeps its own."""
    assert queued_app.config["JOBS_NICENESS"] == 10
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    huey = huey_of(queued_app)
    seen: list[int] = []

    @huey.task(name="priority_probe")
    def probe() -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, 0))

    probe()
    probe()
    consumer = huey.create_consumer(workers=2, worker_type="thread", periodic=False)
    consumer.start()
    try:
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)
    assert seen == [max(ours, 10)] * 2
    assert os.getpriority(os.PRIO_PROCESS, 0) == ours


@QUEUED
def test_jobs_are_not_queued_when_the_action_rolls_back(queued_app):
    with queued_app.app_context():
        send_mail("never@example.test", "Rolled back", "Body")
        rollback()
        assert huey_of(queued_app).pending_count() == 0
