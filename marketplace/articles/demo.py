"""Demo articles by the editorial team and specialists (``flask demo-data``; idempotent)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.articles.models import Article
from marketplace.database import utcnow
from marketplace.demo.content import ARTICLES
from marketplace.demo.registry import DemoContext, demo_seeder
from marketplace.extensions import db


@demo_seeder(order=45)
def seed_articles(ctx: DemoContext) -> None:
    existing = set(db.session.scalars(select(Article.slug)))
    now = utcnow()
    for i, item in enumerate(ARTICLES):
        if item["slug"] in existing:
            continue
        author_ref = item["author"]
        if author_ref == "admin":
            author = ctx.admin
        elif isinstance(author_ref, int) and author_ref < len(ctx.profiles):
            author = ctx.profiles[author_ref].user
        else:
            author = ctx.admin
        published_at = now - timedelta(days=2 + 9 * (len(ARTICLES) - i))
        db.session.add(Article(
            author_id=author.id, title=item["title"], slug=item["slug"], summary=item["summary"],
            body=item["body_markdown"], published=True, published_at=published_at,
            created_at=published_at, updated_at=published_at,
        ))
    db.session.flush()
