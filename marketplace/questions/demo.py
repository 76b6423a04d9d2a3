"""Demo questions with specialists' answers (``flask demo-data``; idempotent)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.auth.models import Role, User, find_user_by_email
from marketplace.auth.services import register_user
from marketplace.database import utcnow
from marketplace.demo.content import QUESTIONS
from marketplace.demo.registry import DemoContext, demo_seeder
from marketplace.extensions import db
from marketplace.questions.models import Answer, Question
from marketplace.questions.services import question_slug
from marketplace.specialists.models import Specialty
from marketplace.text import slugify


def _asker(ctx: DemoContext, index: int, name: str | None) -> User:
    """Named askers get their own client account; anonymous questions come from the demo clients."""
    if not name:
        return ctx.clients[index % len(ctx.clients)] if ctx.clients else ctx.admin
    email = f"{slugify(name)}.asks@balance.example"
    return find_user_by_email(email) or register_user(
        email=email, password=ctx.password, display_name=name, role=Role.CLIENT, timezone="Europe/Berlin",
        confirmed=True)


@demo_seeder(order=40)
def seed_questions(ctx: DemoContext) -> None:
    existing = set(db.session.scalars(select(Question.title)))
    topics = {t.slug: t for t in db.session.scalars(select(Specialty))}
    now = utcnow()
    for i, item in enumerate(QUESTIONS):
        if item["title"] in existing or item["topic"] not in topics:
            continue
        asked_at = now - timedelta(days=3 * (len(QUESTIONS) - i), hours=5 * i)
        question = Question(
            author=_asker(ctx, i, item["asked_by"]), title=item["title"], slug=question_slug(item["title"]),
            body=item["body"], topic=topics[item["topic"]], anonymous=item["anonymous"], created_at=asked_at,
        )
        db.session.add(question)
        for n, answer in enumerate(item["answers"]):
            if answer["specialist_index"] >= len(ctx.profiles):
                continue
            db.session.add(Answer(question=question, specialist=ctx.profiles[answer["specialist_index"]],
                                  body=answer["body"], created_at=asked_at + timedelta(hours=6 + 20 * n)))
    db.session.flush()
