"""Questions & answers: gating, asking, answering, reporting, moderation, anonymity, XSS, queries."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from marketplace.audit import AuditEntry
from marketplace.auth.models import Role
from marketplace.extensions import db
from marketplace.jobs import huey_of
from marketplace.notifications.models import MailStatus, OutboxMail
from marketplace.questions.models import Answer, Question, Report
from marketplace.questions.services import set_content_hidden
from marketplace.security import PROMPT_QUESTION
from marketplace.specialists.models import Specialty, VerificationStatus
from tests.factories import PASSWORD, live_session_id

# --- helpers --------------------------------------------------------------------------------

def topic_id(slug: str = "anxiety") -> int:
    return db.session.scalar(select(Specialty.id).where(Specialty.slug == slug))


def make_question(author, *, title="How can I sleep better when anxious?", body="I lie awake for hours every night.",
                  topic="anxiety", anonymous=False, hidden=False) -> Question:
    from marketplace.database import utcnow
    from marketplace.text import slugify

    question = Question(author=author, title=title, slug=slugify(title), body=body, topic_id=topic_id(topic),
                        anonymous=anonymous, hidden=hidden, hidden_at=utcnow() if hidden else None)
    db.session.add(question)
    db.session.commit()
    return question


def make_answer(question, profile, body="A free consultation is a good first step for this.") -> Answer:
    answer = Answer(question=question, specialist=profile, body=body)
    db.session.add(answer)
    db.session.commit()
    return answer


def sign_in(client, user) -> None:
    """Log in as Flask-Login would, without the deliberately slow password hash check."""
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = live_session_id(user)
        session["_fresh"] = True


def sign_out(client) -> None:
    with client.session_transaction() as session:
        session.clear()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def detail_url(question) -> str:
    return f"/questions/{question.id}-{question.slug}"


class DangerScanner(HTMLParser):
    """Collects anything in rendered HTML that could execute script."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        attrs = dict(attrs)
        own_script = tag == "script" and (attrs.get("src") or "").startswith("/static/")
        if tag in ("script", "iframe", "object", "embed") and not own_script:
            self.problems.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            url = (value or "").strip().lower()
            if name in ("href", "src", "action") and url.startswith(("javascript:", "data:text")):
                self.problems.append(f"{tag} {name}={value}")


def assert_inert(html: str) -> None:
    scanner = DangerScanner()
    scanner.feed(html)
    assert scanner.problems == []
    assert "<script>alert" not in html.lower()


@pytest.fixture
def asker(make_user):
    return make_user(display_name="Rosalind Quimby")


@pytest.fixture
def specialist(make_specialist):
    return make_specialist(display_name="Dr Ada Answer")


@pytest.fixture
def admin(make_user):
    return make_user(role=Role.ADMIN, display_name="Moderator Max")


# --- gating and asking ----------------------------------------------------------------------

def test_visitor_gets_prompt_with_links_back_to_new_question(client, make_user):
    response = client.get("/questions/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert PROMPT_QUESTION in html
    for endpoint in ("/auth/login", "/auth/signup"):
        assert (f'{endpoint}?next=/questions/new"' in html
                or f'{endpoint}?next={quote("/questions/new", safe="")}"' in html), endpoint
    assert 'name="title"' not in html

    user = make_user()
    login = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "next": "/questions/new"})
    assert login.status_code == 302 and login.headers["Location"].endswith("/questions/new")
    form = client.get("/questions/new").get_data(as_text=True)
    assert 'name="title"' in form and "Publish question" in form


def test_client_asks_a_question(client, asker):
    sign_in(client, asker)
    response = client.post("/questions/new", data={
        "title": "Is it normal to feel nervous before therapy?",
        "body": "My first session is next week and I dread it.", "topic": topic_id("anxiety")})
    question = db.session.scalar(select(Question))
    assert response.status_code == 302
    slug = "is-it-normal-to-feel-nervous-before-therapy"
    assert response.headers["Location"].endswith(f"/questions/{question.id}-{slug}")
    assert question.author_id == asker.id and not question.anonymous and not question.hidden
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Is it normal to feel nervous before therapy?" in page
    assert "Your question has been published" in page
    assert "Rosalind Quimby" in page
    assert "If you are in danger or crisis, contact local emergency services" in page
    assert "Share on other sites" in page and f"http://localhost/questions/{question.id}-" in page


@pytest.mark.parametrize("data, problem", [
    ({"title": "", "body": "Long enough body text here.", "topic": "1"}, "title"),
    ({"title": "A proper question title", "body": "", "topic": "1"}, "body"),
    ({"title": "A proper question title", "body": "Long enough body text here.", "topic": "-1"}, "Choose a topic"),
    ({"title": "A proper question title", "body": "Long enough body text here.", "topic": "abc"}, "topic"),
    ({"title": "A proper question title", "body": "Long enough body text here.", "topic": "99999"}, "topic"),
])
def test_bad_question_input_changes_nothing(client, asker, data, problem):
    sign_in(client, asker)
    response = client.post("/questions/new", data=data)
    assert response.status_code == 422
    assert problem.lower() in response.get_data(as_text=True).lower()
    assert count(Question) == 0


@pytest.mark.parametrize("role", [Role.SPECIALIST, Role.ADMIN])
def test_only_clients_can_ask(client, make_user, make_specialist, role):
    user = make_specialist().user if role is Role.SPECIALIST else make_user(role=role)
    sign_in(client, user)
    page = client.get("/questions/new")
    assert page.status_code == 403
    assert "Only client accounts can ask questions." in page.get_data(as_text=True)
    response = client.post("/questions/new", data={"title": "A question from the wrong role",
                                                   "body": "This should never be stored.", "topic": topic_id()})
    assert response.status_code == 403
    assert count(Question) == 0


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_asking_is_rate_limited(client, asker):
    sign_in(client, asker)
    data = {"body": "Body long enough to be valid.", "topic": topic_id()}
    statuses = [client.post("/questions/new", data={**data, "title": f"Rate limited question {i}"}).status_code
                for i in range(6)]
    assert statuses[:5] == [302] * 5 and statuses[5] == 429
    assert count(Question) == 5


def test_detail_redirects_to_canonical_url(client, asker):
    question = make_question(asker)
    for url in (f"/questions/{question.id}", f"/questions/{question.id}-wrong-slug"):
        response = client.get(url)
        assert response.status_code == 301
        assert response.headers["Location"].endswith(detail_url(question))
    assert client.get(detail_url(question)).status_code == 200
    assert client.get("/questions/99999").status_code == 404
    assert client.get("/questions/99999-x").status_code == 404


# --- list: search, topic, pagination, query count ------------------------------------------

def test_list_filters_by_topic_and_search(client, asker):
    make_question(asker, title="Grief after losing a parent", topic="grief")
    make_question(asker, title="Panic on the train to work", topic="anxiety", body="100% of the time it happens")
    page = client.get("/questions?topic=grief").get_data(as_text=True)
    assert "Grief after losing a parent" in page and "Panic on the train" not in page
    page = client.get("/questions?q=TRAIN").get_data(as_text=True)
    assert "Panic on the train" in page and "Grief after" not in page
    page = client.get("/questions?q=%25").get_data(as_text=True)  # a literal %, not a wildcard
    assert "Panic on the train" in page and "Grief after" not in page
    page = client.get("/questions?q=nothing-matches-this").get_data(as_text=True)
    assert "No questions match your search" in page
    assert client.get("/questions?page=abc&topic=no-such-topic").status_code == 200


def test_list_paginates_newest_first(client, asker):
    from datetime import timedelta

    from marketplace.database import utcnow

    for i in range(23):
        q = make_question(asker, title=f"Numbered question {i:02d}")
        q.created_at = utcnow() - timedelta(hours=100 - i)
    db.session.commit()
    first = client.get("/questions").get_data(as_text=True)
    assert "Numbered question 22" in first and "Numbered question 02" not in first
    assert first.index("Numbered question 22") < first.index("Numbered question 21")
    second = client.get("/questions?page=2").get_data(as_text=True)
    assert "Numbered question 02" in second and "Numbered question 22" not in second


def test_question_list_query_count_is_constant(client, count_queries, make_user, make_specialist):
    askers = [make_user() for _ in range(3)]
    profiles = [make_specialist() for _ in range(2)]

    def add(n: int) -> None:
        for i in range(n):
            q = make_question(askers[i % 3], title=f"Question number {i} {n}", anonymous=i % 2 == 0)
            make_answer(q, profiles[i % 2])

    add(5)
    with count_queries() as small:
        assert client.get("/questions").status_code == 200
    add(45)
    with count_queries() as large:
        assert client.get("/questions").status_code == 200
    assert small.count == large.count, large.statements
    with count_queries() as home:
        assert client.get("/").status_code == 200
    add(10)
    with count_queries() as home_large:
        assert client.get("/").status_code == 200
    assert home.count == home_large.count


# --- answering ------------------------------------------------------------------------------

def test_specialist_answers_with_profile_and_booking_links(client, app, asker, specialist):
    question = make_question(asker)
    sign_in(client, specialist.user)
    response = client.post(f"/questions/{question.id}/answers",
                           data={"body": "Many people find that a short routine before bed helps."})
    assert response.status_code == 302
    answer = db.session.scalar(select(Answer))
    assert answer.specialist_id == specialist.id and answer.question_id == question.id
    page = client.get(detail_url(question)).get_data(as_text=True)
    assert "Many people find that a short routine before bed helps." in page
    assert f'href="/specialists/{specialist.slug}"' in page
    assert f'href="/specialists/{specialist.slug}/book"' in page
    mails = [m for m in app.extensions.get("mail_outbox", []) if asker.email in str(m["To"])]
    assert len(mails) == 1
    # The mail links to the answer (on SERVER_BASE_URL: written by the worker), it does not quote it.
    text = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert "short routine" not in text
    assert f"{app.config['SERVER_BASE_URL']}{detail_url(question)}#answer-{answer.id}" in text


def test_the_answer_mail_is_written_on_delivery_and_not_sent_for_an_answer_hidden_meanwhile(
        client, app, asker, specialist, make_user):
    question = make_question(asker)
    sign_in(client, specialist.user)
    huey = huey_of(app)
    huey.immediate = False
    try:
        body = {"body": "A short walk after work often helps with this."}
        assert client.post(f"/questions/{question.id}/answers", data=body).status_code == 302
        row = db.session.scalar(select(OutboxMail).where(OutboxMail.recipient == asker.email))
        assert row.body_text == ""  # the request rendered no one's mail
        set_content_hidden(make_user(role=Role.ADMIN), "answer", db.session.scalar(select(Answer.id)), hidden=True)
        db.session.commit()
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
    finally:
        huey.immediate = True
    db.session.expire_all()
    assert db.session.get(OutboxMail, row.id).status is MailStatus.DROPPED
    assert not [m for m in app.extensions.get("mail_outbox", []) if asker.email in str(m["To"])]


def test_only_published_specialists_can_answer(client, asker, make_user, make_specialist):
    question = make_question(asker)
    url = f"/questions/{question.id}/answers"
    data = {"body": "An answer from someone who may not answer."}
    assert client.post(url, data=data).status_code == 302  # visitor → login
    for user in (make_user(), make_user(role=Role.ADMIN), make_specialist(is_published=False).user):
        sign_in(client, user)
        response = client.post(url, data=data)
        assert response.status_code == 403, user
        sign_out(client)
    assert count(Answer) == 0
    sign_in(client, asker)
    page = client.get(detail_url(question)).get_data(as_text=True)
    assert 'name="body"' not in page and "Only specialists answer questions" in page


def test_empty_answer_is_rejected(client, asker, specialist):
    question = make_question(asker)
    sign_in(client, specialist.user)
    response = client.post(f"/questions/{question.id}/answers", data={"body": "  "})
    assert response.status_code == 422
    assert count(Answer) == 0


# --- reporting and moderation ---------------------------------------------------------------

def test_report_goes_to_moderation_queue(client, asker, specialist, admin, make_user):
    question = make_question(asker, title="A question someone finds harmful")
    answer = make_answer(question, specialist, body="An answer someone else reports as spam.")
    reporter = make_user()
    assert client.post(f"/questions/report/question/{question.id}", data={"reason": "harmful"}).status_code == 302
    assert count(Report) == 0  # visitors are sent to log in

    sign_in(client, reporter)
    response = client.post(f"/questions/report/question/{question.id}",
                           data={"reason": "harmful", "next": detail_url(question)})
    assert response.status_code == 302 and response.headers["Location"].endswith(detail_url(question))
    client.post(f"/questions/report/answer/{answer.id}", data={"reason": "spam"})
    again = client.post(f"/questions/report/question/{question.id}", data={"reason": "spam"}, follow_redirects=True)
    assert "already reported" in again.get_data(as_text=True)
    assert client.post(f"/questions/report/question/{question.id}", data={"reason": "made-up"}).status_code == 302
    assert count(Report) == 2
    assert client.get("/admin/moderation").status_code == 403
    sign_out(client)

    sign_in(client, admin)
    page = client.get("/admin/moderation").get_data(as_text=True)
    assert "A question someone finds harmful" in page
    assert "An answer someone else reports as spam." in page
    assert "Harmful, abusive or unsafe" in page and "Spam or advertising" in page

    report = db.session.scalar(select(Report).where(Report.target_type == "answer"))
    client.post(f"/admin/moderation/reports/{report.id}/dismiss")
    db.session.refresh(report)
    assert report.resolved and report.resolved_by_id == admin.id
    assert count(AuditEntry, AuditEntry.action == "report.dismissed") == 1


def test_hide_and_restore_question(client, app, asker, admin, make_user):
    question = make_question(asker, title="Question that will be hidden")
    reporter = make_user()
    db.session.add(Report(target_type="question", target_id=question.id, reporter_id=reporter.id, reason="Spam"))
    db.session.commit()

    sign_in(client, reporter)
    assert client.post(f"/admin/moderation/question/{question.id}/hide").status_code == 403
    db.session.refresh(question)
    assert not question.hidden
    sign_out(client)

    sign_in(client, admin)
    response = client.post(f"/admin/moderation/question/{question.id}/hide")
    assert response.status_code == 302
    db.session.refresh(question)
    assert question.hidden and question.hidden_by_id == admin.id and question.hidden_at is not None
    assert db.session.scalar(select(Report.resolved)) is True
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.hidden"))
    assert entry.actor_id == admin.id and entry.target_id == str(question.id) and entry.after == {"hidden": True}
    admin_view = client.get(detail_url(question))
    assert admin_view.status_code == 200 and "hidden from the public" in admin_view.get_data(as_text=True)
    assert "Question that will be hidden" in client.get("/admin/moderation").get_data(as_text=True)
    sign_out(client)

    for user in (None, asker, reporter):
        if user:
            sign_in(client, user)
        assert client.get(detail_url(question)).status_code == 404
        assert client.get(f"/questions/{question.id}").status_code == 404
        assert "Question that will be hidden" not in client.get("/questions").get_data(as_text=True)
        assert "Question that will be hidden" not in client.get("/").get_data(as_text=True)
        assert client.post(f"/questions/report/question/{question.id}", data={"reason": "spam"}).status_code == 302
        if user:
            sign_out(client)
    assert count(Report) == 1

    sign_in(client, admin)
    client.post(f"/admin/moderation/question/{question.id}/restore")
    db.session.refresh(question)
    assert not question.hidden and question.hidden_at is None
    assert count(AuditEntry, AuditEntry.action == "question.restored") == 1
    sign_out(client)
    assert client.get(detail_url(question)).status_code == 200
    assert "Question that will be hidden" in client.get("/questions").get_data(as_text=True)


def test_hidden_answer_is_absent_for_non_admins(client, asker, specialist, admin):
    question = make_question(asker)
    answer = make_answer(question, specialist, body="This answer will be hidden by a moderator.")
    sign_in(client, admin)
    client.post(f"/admin/moderation/answer/{answer.id}/hide")
    assert "This answer will be hidden" in client.get(detail_url(question)).get_data(as_text=True)
    sign_out(client)
    db.session.refresh(answer)
    assert answer.hidden
    assert count(AuditEntry, AuditEntry.action == "answer.hidden") == 1
    page = client.get(detail_url(question)).get_data(as_text=True)
    assert "This answer will be hidden" not in page and "0 answers" in page
    assert "0 answers" in client.get("/questions").get_data(as_text=True)


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_report_without_csrf_token_is_refused(client, asker, make_user):
    question = make_question(asker)
    sign_in(client, make_user())
    response = client.post(f"/questions/report/question/{question.id}", data={"reason": "spam"})
    assert response.status_code == 400
    assert count(Report) == 0


# --- anonymity ------------------------------------------------------------------------------

def test_anonymous_question_never_shows_the_askers_name(client, app, make_user, make_specialist):
    asker = make_user(display_name="Zebulon Secretname")
    sign_in(client, asker)
    client.post("/questions/new", data={"title": "A private worry I want to ask about",
                                        "body": "Something I would rather not sign with my name.",
                                        "topic": topic_id(), "anonymous": "y"})
    sign_out(client)
    question = db.session.scalar(select(Question))
    assert question.anonymous
    profile = make_specialist()
    make_answer(question, profile)
    other = make_user()

    for viewer in (None, other, profile.user):
        if viewer:
            sign_in(client, viewer)
        for url in ("/questions", detail_url(question), "/", "/questions?q=private+worry"):
            html = client.get(url).get_data(as_text=True)
            assert "A private worry" in html, url
            assert "Zebulon" not in html and "Secretname" not in html, url
        assert "Anonymous" in client.get(detail_url(question)).get_data(as_text=True)
        if viewer:
            export = client.get("/account/export").get_data(as_text=True)
            assert "Secretname" not in export
            sign_out(client)
    # Even the specialist who answered exports the question without its asker.
    sign_in(client, profile.user)
    data = json.loads(client.get("/account/export").get_data(as_text=True))
    assert data["questions"]["answers"][0]["question_title"] == "A private worry I want to ask about"


def test_asker_export_contains_own_questions(client, asker):
    make_question(asker, title="My exported question", anonymous=True)
    sign_in(client, asker)
    data = json.loads(client.get("/account/export").get_data(as_text=True))
    assert data["questions"]["questions"][0]["title"] == "My exported question"
    assert data["questions"]["questions"][0]["anonymous"] is True


def test_account_deletion_anonymises_questions_and_detaches_answers(client, asker, specialist):
    from marketplace.account.services import delete_account

    question = make_question(asker, title="Question of someone who leaves")
    make_answer(question, specialist, body="Answer of a specialist who leaves.")
    delete_account(asker, PASSWORD)
    delete_account(specialist.user, PASSWORD)
    db.session.commit()
    db.session.refresh(question)
    assert question.anonymous and question.author_id is None
    page = client.get(detail_url(question)).get_data(as_text=True)
    assert "Rosalind" not in page and "Anonymous" in page
    assert "Answer of a specialist who leaves." in page and "Former specialist" in page
    assert f"/specialists/{specialist.slug}" not in page


# --- XSS ------------------------------------------------------------------------------------

XSS_TITLE = '<script>alert("t")</script> <img src=x onerror=alert(1)>'
XSS_BODY = ('<script>alert("b")</script>\n\n<img src=x onerror="alert(2)"> [click](javascript:alert(3)) '
            '<a href="javascript:alert(4)" onclick="alert(5)">x</a> <svg onload=alert(6)></svg>')


def test_xss_payloads_in_questions_and_answers_are_inert(client, asker, specialist, admin):
    sign_in(client, asker)
    client.post("/questions/new", data={"title": XSS_TITLE, "body": XSS_BODY, "topic": topic_id()})
    sign_out(client)
    question = db.session.scalar(select(Question))
    assert question is not None
    sign_in(client, specialist.user)
    client.post(f"/questions/{question.id}/answers", data={"body": XSS_BODY + " answer"})
    client.post(f"/questions/report/question/{question.id}", data={"reason": "harmful"})
    sign_out(client)
    assert count(Answer) == 1
    for url in ("/questions", detail_url(question), "/"):
        assert_inert(client.get(url).get_data(as_text=True))
    sign_in(client, admin)
    assert_inert(client.get("/admin/moderation").get_data(as_text=True))
    assert_inert(client.get(detail_url(question)).get_data(as_text=True))


# --- demo data ------------------------------------------------------------------------------

def test_demo_questions_are_idempotent(app):
    from marketplace.demo.content import QUESTIONS
    from marketplace.demo.registry import DemoContext
    from marketplace.questions.demo import seed_questions
    from tests.factories import create_specialist, create_user

    ctx = DemoContext(admin=create_user(Role.ADMIN), clients=[create_user(), create_user()])
    ctx.profiles = [create_specialist(verification_status=VerificationStatus.VERIFIED) for _ in range(22)]
    seed_questions(ctx)
    seed_questions(ctx)
    db.session.commit()
    assert count(Question) == len(QUESTIONS)
    assert count(Answer) == sum(len(q["answers"]) for q in QUESTIONS)
    named = db.session.scalar(select(Question).where(Question.anonymous.is_(False)))
    assert named.public_author_name != "Anonymous"
