"""`flask --app wsgi send-reminders`: 24 h and 1 h reminders, each sent exactly once (real SMTP)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from marketplace.auth.models import Role
from marketplace.consultations.models import Consultation, ConsultationState
from marketplace.consultations.notifications import send_reminders
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from marketplace.notifications.models import OutboxMail


def consultation_at(client, profile, start: datetime, state=ConsultationState.CONFIRMED) -> Consultation:
    consultation = Consultation(client_id=client.id, specialist_id=profile.id, start_utc=start,
                                end_utc=start + timedelta(minutes=30), format="video", state=state,
                                note="private note")
    db.session.add(consultation)
    db.session.commit()
    return consultation


def run(app) -> str:
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    return result.output


def test_reminders_run_twice_send_each_reminder_once(app, smtp_server, make_specialist, make_user):
    profile = make_specialist(display_name="Dr Rem")
    clients = [make_user(Role.CLIENT, display_name=f"Client {i}", timezone="Asia/Tokyo") for i in range(4)]
    now = utcnow().replace(second=0, microsecond=0)
    tomorrow = consultation_at(clients[0], profile, now + timedelta(hours=20))
    soon = consultation_at(clients[1], profile, now + timedelta(minutes=40))  # 24 h window missed
    consultation_at(clients[2], profile, now + timedelta(hours=20), state=ConsultationState.REQUESTED)
    consultation_at(clients[3], profile, now + timedelta(days=3))

    assert "1 × 24 h, 1 × 1 h" in run(app)
    assert "0 × 24 h, 0 × 1 h" in run(app)

    assert len(smtp_server.messages) == 4  # (24 h + 1 h) × (client + specialist), once each
    assert len(smtp_server.to(clients[0].email)) == 1 and len(smtp_server.to(clients[1].email)) == 1
    assert len(smtp_server.to(profile.user.email)) == 2
    assert not smtp_server.to(clients[2].email) and not smtp_server.to(clients[3].email)
    first = smtp_server.to(clients[0].email)[0]
    assert "within 24 hours" in str(first["Subject"])
    body = first.get_body(preferencelist=("plain",)).get_content()
    local = tomorrow.start_utc.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{local.strftime('%H:%M')} JST (Asia/Tokyo)" in body  # the recipient's zone
    assert "private note" not in body
    assert any(p.get_content_type() == "text/calendar" for p in first.iter_attachments())
    assert "within the hour" in str(smtp_server.to(clients[1].email)[0]["Subject"])

    db.session.rollback()  # end this session's read snapshot: see what the others committed
    assert db.session.get(Consultation, soon.id).reminder_24h_sent_at is not None  # skipped, never sent late
    # An hour before the first one, its 1 h reminder goes out — once.
    later = tomorrow.start_utc - timedelta(minutes=50)
    assert send_reminders(now=later) == {"24h": 0, "1h": 1}
    commit()
    assert send_reminders(now=later + timedelta(minutes=1)) == {"24h": 0, "1h": 0}
    commit()
    assert len(smtp_server.messages) == 6
    keys = db.session.scalars(select(OutboxMail.dedupe_key).where(OutboxMail.dedupe_key.is_not(None))).all()
    assert len(keys) == len(set(keys)) == 6


def test_cancelled_consultations_get_no_reminder(app, smtp_server, make_specialist, make_user):
    profile = make_specialist()
    consultation_at(make_user(Role.CLIENT), profile, utcnow() + timedelta(hours=5),
                    state=ConsultationState.CANCELLED)
    run(app)
    assert smtp_server.messages == []


def test_concurrent_reminder_runs_send_once(app, smtp_server, make_specialist, make_user):
    """Cron on several hosts at once: the conditional UPDATE lets exactly one run claim each reminder."""
    profile = make_specialist()
    for i in range(3):
        consultation_at(make_user(Role.CLIENT), profile, utcnow() + timedelta(hours=10 + i))
    barrier = threading.Barrier(6)
    errors: list[str] = []

    def worker() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                send_reminders()
                commit()
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.session.rollback()  # end this session's read snapshot: see what the others committed
    queued = db.session.scalars(select(OutboxMail.dedupe_key)).all()
    assert len(queued) == len(set(queued)) == 6  # 3 consultations × 2 participants, queued once each
    assert all(c.reminder_24h_sent_at is not None for c in db.session.scalars(select(Consultation)))
    # A delivery that lost a database race (SQLite) stays pending and is sent by the retry command.
    run_deliver = app.test_cli_runner().invoke(args=["deliver-mail"])
    assert run_deliver.exit_code == 0
    assert len(smtp_server.messages) == 6
