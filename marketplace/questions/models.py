"""Models of the questions domain: public questions, specialists' answers, reports."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import Model
from marketplace.specialists.models import SpecialistProfile, Specialty

ANONYMOUS = "Anonymous"
FORMER_SPECIALIST = "Former specialist"


def _is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_admin", False))


def _hidden_has_time() -> CheckConstraint:
    return CheckConstraint("hidden = false OR hidden_at IS NOT NULL", name="hidden_has_time")


class ModeratedMixin:
    """Content an admin can hide from the public (and restore)."""

    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Answer(ModeratedMixin, Model):
    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_question_created", "question_id", "created_at"), _hidden_has_time())

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    # NULL once the specialist deleted their account: the answer stays, as "Former specialist".
    specialist_id: Mapped[int | None] = mapped_column(
        ForeignKey("specialist_profiles.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    question: Mapped[Question] = relationship(back_populates="answers")
    specialist: Mapped[SpecialistProfile | None] = relationship()

    @property
    def public_author_name(self) -> str:
        return self.specialist.display_name if self.specialist is not None else FORMER_SPECIALIST

    @property
    def links_to_profile(self) -> bool:
        """Profile and booking links only for a specialist whose profile is public."""
        return self.specialist is not None and self.specialist.is_listed

    def can_view(self, user: Any) -> bool:
        return (not self.hidden and self.question.can_view(user)) or _is_admin(user)

    def __repr__(self) -> str:
        return f"<Answer {self.id} q={self.question_id}>"


class Question(ModeratedMixin, Model):
    __tablename__ = "questions"
    # The public list: visible questions, newest first.
    __table_args__ = (Index("ix_questions_public", "hidden", "created_at"), _hidden_has_time())

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL once the asker deleted their account (the question stays, anonymous).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    topic_id: Mapped[int] = mapped_column(ForeignKey("specialties.id", ondelete="RESTRICT"), index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author = relationship("User", foreign_keys=[author_id])
    topic: Mapped[Specialty] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="question", order_by=Answer.created_at, cascade="all, delete-orphan")

    # Visible answers, loaded in the same SELECT where lists ask for it (undefer).
    answer_count: Mapped[int] = column_property(
        select(func.count(Answer.id))
        .where(Answer.question_id == id, Answer.hidden.is_(False))
        .correlate_except(Answer)
        .scalar_subquery(),
        deferred=True,
    )

    @property
    def public_author_name(self) -> str:
        """What the public sees as the asker: never the name of an anonymous asker."""
        if self.anonymous or self.author is None or self.author.deleted_at is not None:
            return ANONYMOUS
        return self.author.display_name

    def is_asked_by(self, user: Any) -> bool:
        return self.author_id is not None and getattr(user, "id", None) == self.author_id

    def can_view(self, user: Any) -> bool:
        """Hidden questions exist only for admins."""
        return not self.hidden or _is_admin(user)

    def can_moderate(self, user: Any) -> bool:
        return _is_admin(user)

    def visible_answers(self, user: Any) -> list[Answer]:
        return [a for a in self.answers if not a.hidden or _is_admin(user)]

    def __repr__(self) -> str:
        return f"<Question {self.id}>"


class ReportTarget:
    QUESTION = "question"
    ANSWER = "answer"
    ALL = (QUESTION, ANSWER)


class Report(Model):
    """A user's report of a question or answer: the moderation queue is the open ones."""

    __tablename__ = "content_reports"
    __table_args__ = (
        CheckConstraint("target_type IN ('question', 'answer')", name="target_type_known"),
        # One report per person and item: repeated clicks do not flood the queue.
        UniqueConstraint("target_type", "target_id", "reporter_id", name="uq_content_reports_once"),
        Index("ix_content_reports_open", "resolved", "created_at"),
        Index("ix_content_reports_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int]
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    reporter = relationship("User", foreign_keys=[reporter_id])

    def __repr__(self) -> str:
        return f"<Report {self.id} {self.target_type}:{self.target_id}>"
