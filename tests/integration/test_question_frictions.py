"""Questions, as people found them (issue 14): a specialist answering twice edits their one
answer; an author is told (once) when a moderator hides their question or answer."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.questions.models import Answer
from tests.integration.test_questions import (  # noqa: F401  (fixtures)
    admin,
    asker,
    detail_url,
    make_answer,
    make_question,
    sign_in,
    sign_out,
    specialist,
)


def _mails_to(app, address: str) -> list:
    return [m for m in app.extensions.get("mail_outbox", []) if address in str(m["To"])]


def test_answering_again_edits_the_one_answer(client, app, asker, specialist):  # noqa: F811
    question = make_question(asker)
    sign_in(client, specialist.user)
    url = f"/questions/{question.id}/answers"
    assert client.post(url, data={"body": "A short routine before bed often helps with this."}).status_code == 302
    page = client.get(detail_url(question)).get_data(as_text=True)
    assert "Edit your answer" in page and "A short routine before bed often helps with this." in page
    response = client.post(url, data={"body": "A steady routine and less screen time before bed often help."},
                           follow_redirects=True)
    assert "Your answer has been updated." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Answer.id))) == 1
    assert db.session.scalar(select(Answer.body)) == "A steady routine and less screen time before bed often help."
    assert len(_mails_to(app, asker.email)) == 1  # told of the new answer once, not of the edit


def test_hiding_an_answer_tells_its_author_once_and_it_cannot_be_edited(client, app, asker, specialist,  # noqa: F811
                                                                        admin):  # noqa: F811
    question = make_question(asker, title="What helps with racing thoughts?")
    answer = make_answer(question, specialist)
    db.session.commit()
    sign_in(client, admin)
    assert client.post(f"/admin/moderation/answer/{answer.id}/hide").status_code == 302
    assert client.post(f"/admin/moderation/answer/{answer.id}/hide").status_code == 302  # twice: still one mail
    sign_out(client)
    mails = _mails_to(app, specialist.user.email)
    assert [m["Subject"] for m in mails] == ["A moderator hid your answer"]
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert "What helps with racing thoughts?" in body and "/contact" in body

    sign_in(client, specialist.user)
    page = client.get(detail_url(question)).get_data(as_text=True)
    assert 'data-testid="own-answer-hidden"' in page
    response = client.post(f"/questions/{question.id}/answers", data={"body": "Trying to put my answer back up."})
    assert response.status_code == 403
    assert db.session.scalar(select(Answer.body)) != "Trying to put my answer back up."


def test_hiding_a_question_tells_the_asker(client, app, asker, admin):  # noqa: F811
    question = make_question(asker, title="A question about my neighbour Jo Bloggs")
    sign_in(client, admin)
    client.post(f"/admin/moderation/question/{question.id}/hide")
    mails = _mails_to(app, asker.email)
    assert [m["Subject"] for m in mails] == ["A moderator hid your question"]
    assert "welcome to ask again" in mails[0].get_body(preferencelist=("plain",)).get_content()


def test_a_mail_for_content_restored_before_delivery_is_dropped(app, asker, admin):  # noqa: F811
    from marketplace.notifications.mail import NothingToSay
    from marketplace.questions.services import compose_hidden_mail

    question = make_question(asker)
    try:
        compose_hidden_mail("question", question.id)
    except NothingToSay:
        pass
    else:
        raise AssertionError("a visible question must not be reported as hidden")
