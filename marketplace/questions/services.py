"""Questions & answers: asking, answering, reporting, moderation, export and deletion.

Permissions live here (and in the models' ``can_*`` methods); views only translate
``QuestionError`` into a flash message.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload, undefer

from marketplace.account.hooks import data_exporter, deletion_hook
from marketplace.audit import record_audit
from marketplace.auth.confirmation import ASK, confirmation_refusal
from marketplace.auth.models import User
from marketplace.cache import bump_after_commit, bump_on_change
from marketplace.database import utcnow
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.notifications.mail import (
    Attachment,
    NothingToSay,
    external_url,
    mail_composer,
    render_mail,
    send_composed_mail,
)
from marketplace.pagination import Page, paginate
from marketplace.questions.models import Answer, Question, Report, ReportTarget
from marketplace.specialists.models import SpecialistProfile, Specialty, profile_of
from marketplace.text import slugify

# Cached pages that list questions (the home page) follow every change to them.
bump_on_change(Question, "questions")
bump_on_change(Answer, "questions")

log = logging.getLogger(__name__)

PER_PAGE = 20
REPORT_REASONS = [
    ("harmful", "Harmful, abusive or unsafe"),
    ("spam", "Spam or advertising"),
    ("personal", "Shares someone's personal information"),
    ("other", "Something else"),
]


class QuestionError(DomainError):
    """A rule of the questions domain was not met; the message is shown to the person."""


# --- reading --------------------------------------------------------------------------------

def _public_questions() -> Any:
    """Visible questions with what list templates touch loaded in the same query."""
    return (
        select(Question)
        .where(Question.hidden.is_(False))
        .options(joinedload(Question.author), joinedload(Question.topic), undefer(Question.answer_count))
    )


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_questions(*, topic: str | None = None, search: str | None = None, page: Any = 1,
                   per_page: int = PER_PAGE) -> Page:
    """Visible questions, newest first, optionally of one topic (specialty slug) and matching ``search``."""
    stmt = _public_questions()
    if topic:
        stmt = stmt.where(Question.topic_id.in_(select(Specialty.id).where(Specialty.slug == topic)))
    if search:
        pattern = _like_pattern(search.strip()[:100])
        stmt = stmt.where(or_(Question.title.ilike(pattern, escape="\\"), Question.body.ilike(pattern, escape="\\")))
    return paginate(stmt.order_by(Question.created_at.desc(), Question.id.desc()), page, per_page)


def latest_questions(limit: int = 6) -> list[Question]:
    """Newest visible questions (home page)."""
    stmt = _public_questions().order_by(Question.created_at.desc(), Question.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def topics() -> list[Specialty]:
    """The topics a question can have (the specialties vocabulary)."""
    return list(db.session.scalars(select(Specialty).order_by(Specialty.label)))


def get_question_for_viewer(question_id: int, viewer: Any) -> Question | None:
    """The question with its answers (and their specialists), or None if ``viewer`` may not see it."""
    question = db.session.scalar(
        select(Question)
        .where(Question.id == question_id)
        .options(
            joinedload(Question.author),
            joinedload(Question.topic),
            selectinload(Question.answers).joinedload(Answer.specialist),
        )
    )
    if question is None or not question.can_view(viewer):
        return None
    return question


def question_slug(title: str, max_length: int = 60) -> str:
    """URL slug of a question title, cut at a word boundary."""
    slug = slugify(title, max_length=200)
    if len(slug) > max_length:
        slug = slug[: max_length + 1].rsplit("-", 1)[0] or slug[:max_length]
    return slug


def question_url(question: Question, **kwargs: Any) -> str:
    return url_for("questions.detail", question_id=question.id, slug=question.slug, **kwargs)


# --- asking and answering -------------------------------------------------------------------

def ask_question_refusal(user: Any) -> str | None:
    """Why ``user`` may not ask a question (None if they may). Only clients ask."""
    if getattr(user, "is_client", False):
        return None
    if getattr(user, "is_specialist", False):
        return ("Only client accounts can ask questions. As a specialist you can answer them — "
                "browse the open questions and share your expertise.")
    return "Only client accounts can ask questions."


def ask_question(author: User, *, title: str, body: str, topic_id: int, anonymous: bool) -> Question:
    """Publish a new question by a client."""
    refusal = ask_question_refusal(author) or confirmation_refusal(author, ASK)
    if refusal:
        raise QuestionError(refusal)
    if db.session.get(Specialty, topic_id) is None:
        raise QuestionError("Choose a topic from the list.")
    question = Question(author=author, title=title, slug=question_slug(title), body=body,
                        topic_id=topic_id, anonymous=bool(anonymous))
    db.session.add(question)
    db.session.flush()
    log.info("question %s asked by user %s", question.id, author.id)
    return question


def answering_profile(user: Any) -> SpecialistProfile | None:
    """The listed profile (published, licence verified) through which ``user`` may answer, or None."""
    if not getattr(user, "is_authenticated", False) or not user.is_specialist:
        return None
    profile = user.specialist_profile
    return profile if profile is not None and profile.is_listed else None


def own_answer(user: Any, question: Question) -> Answer | None:
    """The answer ``user`` (a specialist) already gave to ``question``, if any: one per specialist."""
    profile = answering_profile(user)
    if profile is None:
        return None
    return db.session.scalar(select(Answer).where(Answer.question_id == question.id, Answer.specialist_id == profile.id)
                             .order_by(Answer.id).limit(1))


@dataclass(frozen=True)
class Answered:
    """What ``answer_question`` did: the specialist's answer, and whether it changed an earlier one."""

    answer: Answer
    edited: bool


def answer_question(user: Any, question: Question, *, body: str) -> Answered:
    """Add a specialist's answer — or, when they answered before, change that answer (one answer
    per specialist and question). The asker gets an e-mail for a new answer (without its text),
    written by the worker on delivery."""
    profile = answering_profile(user)
    if profile is None:
        if getattr(user, "is_specialist", False):
            raise QuestionError("Publish your specialist profile to answer questions.")
        raise QuestionError("Only specialists can answer questions.")
    if question.hidden:
        raise QuestionError("This question is not open for answers.")
    existing = own_answer(user, question)
    if existing is not None:
        if existing.hidden:
            raise QuestionError("A moderator hid your answer to this question, so it can't be changed.")
        existing.body = body
        db.session.flush()
        log.info("answer %s to question %s edited by profile %s", existing.id, question.id, profile.id)
        return Answered(existing, edited=True)
    answer = Answer(question=question, specialist=profile, body=body)
    db.session.add(answer)
    db.session.flush()
    _notify_asker(question, answer)
    log.info("answer %s to question %s by profile %s", answer.id, question.id, profile.id)
    return Answered(answer, edited=False)


ANSWERED_MAIL = "question-answered"


def _notify_asker(question: Question, answer: Answer) -> None:
    asker = question.author
    if asker is None or asker.deleted_at is not None or not asker.active:
        return
    send_composed_mail(asker.email, "A specialist answered your question", ANSWERED_MAIL,
                       dedupe_key=f"question-answered:{answer.id}", answer_id=answer.id)


@mail_composer(ANSWERED_MAIL)
def compose_answered_mail(answer_id: int) -> tuple[str, list[Attachment]]:
    """The asker's notice of a new answer (no answer text in the mail), written on delivery: nothing
    is sent when the answer or the question was hidden or removed meanwhile, or the asker left."""
    answer = db.session.get(Answer, answer_id)
    question = answer.question if answer is not None else None
    if answer is None or question is None or answer.hidden or question.hidden:
        raise NothingToSay(f"answer {answer_id} is no longer shown")
    asker = question.author
    if asker is None or asker.deleted_at is not None or not asker.active:
        raise NothingToSay(f"the asker of question {question.id} is gone")
    url = external_url("questions.detail", question_id=question.id, slug=question.slug, _anchor=f"answer-{answer.id}")
    return render_mail("questions/email_answered.txt", asker=asker, question=question, url=url), []


# --- reports and moderation -----------------------------------------------------------------

def _load_target(target_type: str, target_id: int) -> Question | Answer | None:
    if target_type == ReportTarget.QUESTION:
        return db.session.get(Question, target_id)
    if target_type == ReportTarget.ANSWER:
        return db.session.get(Answer, target_id)
    return None


def report_content(reporter: Any, target_type: str, target_id: int, *, reason: str) -> Report:
    """Put a question or answer in the moderation queue (once per reporter and item)."""
    if not getattr(reporter, "is_authenticated", False):
        raise QuestionError("Log in to report content.")
    target = _load_target(target_type, target_id)
    if target is None or not target.can_view(reporter):
        raise QuestionError("That item no longer exists.")
    labels = dict(REPORT_REASONS)
    if reason not in labels:
        raise QuestionError("Choose a reason for the report.")
    report = Report(target_type=target_type, target_id=target_id, reporter_id=reporter.id, reason=labels[reason])
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError:
        raise QuestionError("You have already reported this. Our moderators will review it.") from None
    log.info("report %s on %s %s by user %s", report.id, target_type, target_id, reporter.id)
    return report


def _resolve_reports(admin: User, target_type: str, target_id: int) -> None:
    db.session.execute(
        update(Report)
        .where(Report.target_type == target_type, Report.target_id == target_id, Report.resolved.is_(False))
        .values(resolved=True, resolved_at=utcnow(), resolved_by_id=admin.id)
    )


def set_content_hidden(admin: User, target_type: str, target_id: int, *, hidden: bool) -> Question | Answer:
    """Hide (or restore) a question or answer; resolves its open reports; writes an audit entry."""
    if not getattr(admin, "is_admin", False):
        raise QuestionError("Only admins can moderate content.")
    target = _load_target(target_type, target_id)
    if target is None:
        raise QuestionError("That item no longer exists.")
    if target.hidden == hidden:
        return target
    before = {"hidden": target.hidden}
    target.hidden = hidden
    target.hidden_at = utcnow() if hidden else None
    target.hidden_by_id = admin.id if hidden else None
    if hidden:
        _resolve_reports(admin, target_type, target_id)
        _tell_author_hidden(target_type, target)
    record_audit(admin, f"{target_type}.{'hidden' if hidden else 'restored'}", target,
                 before=before, after={"hidden": hidden})
    db.session.flush()
    log.info("%s %s %s by admin %s", target_type, target_id, "hidden" if hidden else "restored", admin.id)
    return target


def _content_author(target: Question | Answer) -> User | None:
    author = target.author if isinstance(target, Question) else (
        target.specialist.user if target.specialist is not None else None)
    return author if author is not None and author.deleted_at is None and author.active else None


def _tell_author_hidden(target_type: str, target: Question | Answer) -> None:
    """The author hears that a moderator hid their question or answer (they no longer see it)."""
    author = _content_author(target)
    if author is not None:
        send_composed_mail(author.email, f"A moderator hid your {target_type}", "content-hidden",
                           dedupe_key=f"hidden:{target_type}:{target.id}:{target.hidden_at}",
                           target_type=target_type, target_id=target.id)


@mail_composer("content-hidden")
def compose_hidden_mail(target_type: str, target_id: int) -> tuple[str, list[Attachment]]:
    target = _load_target(target_type, target_id)
    if target is None or not target.hidden:
        raise NothingToSay(f"{target_type} {target_id} is no longer hidden")
    author = _content_author(target)
    if author is None:
        raise NothingToSay(f"the author of {target_type} {target_id} is gone")
    question = target if isinstance(target, Question) else target.question
    return render_mail("questions/email_hidden.txt", name=author.display_name, kind=target_type,
                       question=question, contact_url=external_url("contact.index")), []


def dismiss_report(admin: User, report_id: int) -> Report:
    """Close a report without hiding anything (the content is fine)."""
    report = db.session.get(Report, report_id)
    if report is None:
        raise QuestionError("That report no longer exists.")
    if not report.resolved:
        report.resolved, report.resolved_at, report.resolved_by_id = True, utcnow(), admin.id
        record_audit(admin, "report.dismissed", report, after={"target": f"{report.target_type}:{report.target_id}"})
        db.session.flush()
    return report


@dataclass
class ModerationItem:
    """One reported (or hidden) item with its open reports."""

    target_type: str
    target: Question | Answer
    reports: list[Report] = field(default_factory=list)

    @property
    def question(self) -> Question:
        return self.target if isinstance(self.target, Question) else self.target.question


def moderation_queue() -> list[ModerationItem]:
    """Open reports grouped by item, oldest report first (a fixed number of queries)."""
    reports = list(db.session.scalars(
        select(Report).where(Report.resolved.is_(False)).order_by(Report.created_at, Report.id)
        .options(joinedload(Report.reporter))
    ))
    targets = _targets_by_key(
        {r.target_id for r in reports if r.target_type == ReportTarget.QUESTION},
        {r.target_id for r in reports if r.target_type == ReportTarget.ANSWER},
    )
    items: dict[tuple[str, int], ModerationItem] = {}
    for report in reports:
        key = (report.target_type, report.target_id)
        if key not in targets:
            continue
        items.setdefault(key, ModerationItem(report.target_type, targets[key])).reports.append(report)
    return list(items.values())


def hidden_content(limit: int = 50) -> list[ModerationItem]:
    """Recently hidden questions and answers, newest first, so admins can restore them."""
    questions = db.session.scalars(
        select(Question).where(Question.hidden.is_(True)).order_by(Question.hidden_at.desc()).limit(limit)
        .options(joinedload(Question.author))
    )
    answers = db.session.scalars(
        select(Answer).where(Answer.hidden.is_(True)).order_by(Answer.hidden_at.desc()).limit(limit)
        .options(joinedload(Answer.question), joinedload(Answer.specialist))
    )
    items = [ModerationItem(ReportTarget.QUESTION, q) for q in questions]
    items += [ModerationItem(ReportTarget.ANSWER, a) for a in answers]
    return sorted(items, key=_hidden_at, reverse=True)[:limit]


def _hidden_at(item: ModerationItem) -> datetime:
    hidden_at = item.target.hidden_at
    assert hidden_at is not None  # CHECK hidden_has_time: a hidden row has its time
    return hidden_at


def _targets_by_key(question_ids: set[int], answer_ids: set[int]) -> dict[tuple[str, int], Any]:
    targets: dict[tuple[str, int], Any] = {}
    if question_ids:
        for q in db.session.scalars(select(Question).where(Question.id.in_(question_ids))
                                    .options(joinedload(Question.author))):
            targets[(ReportTarget.QUESTION, q.id)] = q
    if answer_ids:
        for a in db.session.scalars(select(Answer).where(Answer.id.in_(answer_ids))
                                    .options(joinedload(Answer.question), joinedload(Answer.specialist))):
            targets[(ReportTarget.ANSWER, a.id)] = a
    return targets


# --- account hooks --------------------------------------------------------------------------

@data_exporter("questions")
def export_questions(user: User) -> dict[str, Any]:
    """The user's own questions, answers and reports (no other person's name)."""
    questions = db.session.scalars(
        select(Question).where(Question.author_id == user.id).order_by(Question.created_at)
        .options(joinedload(Question.topic)))
    data: dict[str, Any] = {
        "questions": [
            {"id": q.id, "title": q.title, "body": q.body, "topic": q.topic.label, "anonymous": q.anonymous,
             "hidden_by_moderator": q.hidden, "created_at": q.created_at.isoformat()}
            for q in questions
        ],
        "answers": [],
        "reports": [
            {"target": f"{r.target_type}:{r.target_id}", "reason": r.reason, "created_at": r.created_at.isoformat()}
            for r in db.session.scalars(select(Report).where(Report.reporter_id == user.id).order_by(Report.id))
        ],
    }
    profile = profile_of(user)
    if profile is not None:
        answers = db.session.scalars(
            select(Answer).where(Answer.specialist_id == profile.id).order_by(Answer.created_at)
            .options(joinedload(Answer.question)))
        # The question is identified by id and title only: never by its asker.
        data["answers"] = [
            {"id": a.id, "question_id": a.question_id, "question_title": a.question.title, "body": a.body,
             "hidden_by_moderator": a.hidden, "created_at": a.created_at.isoformat()}
            for a in answers
        ]
    return data


@deletion_hook
def anonymise_questions_of_deleted_user(user: User) -> None:
    """A deleted asker's questions stay (answers are useful to others) but become anonymous;
    a deleted specialist's answers stay, shown as "Former specialist" without profile links."""
    db.session.execute(
        update(Question).where(Question.author_id == user.id).values(anonymous=True, author_id=None))
    profile = profile_of(user)
    if profile is not None:
        db.session.execute(update(Answer).where(Answer.specialist_id == profile.id).values(specialist_id=None))
    db.session.execute(update(Report).where(Report.reporter_id == user.id).values(reporter_id=None))
    db.session.flush()
    bump_after_commit("questions")  # bulk updates: not seen by bump_on_change
