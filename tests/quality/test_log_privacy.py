"""Log privacy: a full flow through HTTP leaks no password, e-mail, message, note or reason into logs.

Everything the app logs is captured: every record reaching the root logger at DEBUG (caplog,
formatted with its arguments and any traceback), plus stdout/stderr (capsys). Mail goes to the
"memory" backend (the test default), so e-mail bodies — which legitimately carry the reset link or
a contact message to the admin — are not printed.
"""
from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import pytest

from marketplace.extensions import db
from tests.factories import PASSWORD


def _marker(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


class _Everything(logging.Handler):
    """Formats every record fully (message with args, exception text, stack) into one list."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))


def test_full_flow_logs_no_personal_data(sqlite_app: Any, make_specialist: Any, make_user: Any,
                                         caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    from marketplace.consultations.availability import free_slots_for, set_weekly_hours
    from marketplace.consultations.booking import format_slot

    secrets = {name: _marker(name) for name in ("password", "message", "reply", "note", "contact_subject",
                                                "contact_body", "cancel_reason", "new_password", "third_password",
                                                "wrong_password", "question_body")}
    email = f"{_marker('mail')}@example.test"
    secrets["email"] = email
    profile = make_specialist()
    set_weekly_hours(profile.id, [(day, "00:00", "23:30") for day in range(7)])
    db.session.commit()
    specialist_email = profile.user.email

    handler = _Everything()
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="marketplace")
    try:
        client = sqlite_app.test_client()
        # sign up (password), fail a login (wrong password), log in
        first_password = secrets["password"] + "-long"
        r = client.post("/auth/signup", data={"display_name": "Privacy Tester", "email": email,
                                              "password": first_password, "confirm": first_password,
                                              "timezone": "Europe/Berlin"})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        # confirm the address with the link from the e-mail (the token's path is logged: it names no address)
        [mail] = [m for m in sqlite_app.extensions["mail_outbox"] if email in str(m["To"])]
        confirm_path = re.search(r"(/auth/confirm/[\w.\-]+)", mail.get_body(preferencelist=("plain",)).get_content())
        assert client.post(confirm_path.group(1)).status_code == 302
        client.post("/auth/logout")
        wrong = {"email": email, "password": secrets["wrong_password"]}
        assert client.post("/auth/login", data=wrong).status_code == 401
        assert client.post("/auth/login", data={"email": email, "password": first_password}).status_code == 302

        # a message to the specialist, and the specialist's reply
        r = client.post(f"/messages/new?to={profile.slug}", data={"body": f"Hello {secrets['message']}"})
        assert r.status_code == 302, r.status_code
        conversation_path = r.headers["Location"].split("#")[0]
        specialist = sqlite_app.test_client()
        assert specialist.post("/auth/login", data={"email": specialist_email, "password": PASSWORD}).status_code == 302
        assert specialist.post(conversation_path, data={"body": f"Hi {secrets['reply']}"}).status_code == 302

        # book a consultation with a note, then cancel it with a reason
        slot = format_slot(free_slots_for(profile)[0])
        r = client.post(f"/specialists/{profile.slug}/book",
                        data={"slot": slot, "format": "video", "note": f"About {secrets['note']}", "consent": "y"})
        assert r.status_code == 302, r.get_data(as_text=True)[:300]
        consultation_path = r.headers["Location"]
        r = client.post(f"{consultation_path}/cancel", data={"reason": f"Because {secrets['cancel_reason']}"})
        assert r.status_code == 302

        # contact us; ask a question
        r = client.post("/contact", data={"subject": secrets["contact_subject"],
                                          "body": f"Dear team {secrets['contact_body']}"})
        assert r.status_code == 302
        from marketplace.questions.services import topics

        client.post("/questions/new", data={"title": "How do I start therapy safely?", "topic": str(topics()[0].id),
                                            "body": f"Details {secrets['question_body']} and more words here."})

        # change the password, log out, reset it by e-mail
        r = client.post("/account/password", data={"current_password": first_password,
                                                   "password": secrets["new_password"] + "-x",
                                                   "confirm": secrets["new_password"] + "-x"})
        assert r.status_code == 302
        client.post("/auth/logout")
        assert client.post("/auth/reset", data={"email": email}).status_code == 302
        mails = [m for m in sqlite_app.extensions["mail_outbox"] if email in str(m["To"])]
        body = mails[-1].get_body(preferencelist=("plain",)).get_content()
        token_path = re.search(r"(/auth/reset/[\w.\-]+)", body).group(1)
        r = client.post(token_path, data={"password": secrets["third_password"] + "-y",
                                          "confirm": secrets["third_password"] + "-y"})
        assert r.status_code == 302
        # export my data (the export contains everything — it must not be logged either)
        third = {"email": email, "password": secrets["third_password"] + "-y"}
        assert client.post("/auth/login", data=third).status_code == 302
        assert secrets["message"] in client.get("/account/export").get_data(as_text=True)
    finally:
        root.removeHandler(handler)

    captured = capsys.readouterr()
    everything = "\n".join([caplog.text, *handler.lines, captured.out, captured.err])
    assert handler.lines, "nothing was logged at all: the capture is not working"
    leaks = {name: value for name, value in secrets.items() if value in everything}
    assert not leaks, f"personal data in logs: {sorted(leaks)}\n" + "\n".join(
        line for line in everything.splitlines() if any(v in line for v in leaks.values()))[:2000]
    assert specialist_email not in everything, "the specialist's e-mail address was logged"
    print(f"\nlog privacy: {len(handler.lines) // 2} log records checked for {len(secrets) + 1} secrets")


@pytest.mark.parametrize("path, shown", [
    ("/calendar/s3cr3t-feed_T0k.ics", "/calendar/<feed_token>.ics"),
    ("/auth/reset/s3cr3t.T0k-en?next=/account", "/auth/reset/<token>?next=/account"),
    ("/auth/confirm/s3cr3t.T0k-en", "/auth/confirm/<token>"),
    ("/waitlist/offers/s3cr3t.T0k-en", "/waitlist/offers/<token>"),
])
def test_the_development_servers_access_log_hides_credentials_in_paths(sqlite_app: Any, path: str,
                                                                        shown: str) -> None:
    """Werkzeug's access log (``make run`` with debug on) prints every request line: a link that is
    a credential is shown as its URL rule, like the app's own lines."""
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 0, '%s - - [%s] "%s" %s %s',
                               ("127.0.0.1", "30/Nov/2026 12:00:00", f"GET {path} HTTP/1.1", "200", "-"), None)
    for log_filter in logging.getLogger("werkzeug").filters:
        log_filter.filter(record)  # type: ignore[union-attr]
    assert "s3cr3t" not in record.getMessage() and f'"GET {shown} HTTP/1.1"' in record.getMessage()
