"""Articles: writing, editing, publishing; public lists; export and deletion hooks.

Who may write: admins and verified specialists (``can_write_articles``); who may edit
an article: ``Article.can_edit`` (admins any, specialists their own).
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace.account.hooks import data_exporter, deletion_hook
from marketplace.articles.models import Article, can_write_articles
from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.cache import bump_after_commit, bump_on_change
from marketplace.database import unique_slug, utcnow
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.pagination import Page, paginate
from marketplace.text import slugify

# Cached pages that list articles (the home page) follow every change to them.
bump_on_change(Article, "articles")

log = logging.getLogger(__name__)

PER_PAGE = 12
RESERVED_SLUGS = {"new"}  # /articles/new is the writing page


class ArticleError(DomainError):
    """An articles rule was not met; the message is shown to the person."""


def _with_author() -> Any:
    return joinedload(Article.author).joinedload(User.specialist_profile)


def list_articles(*, page: Any = 1, per_page: int = PER_PAGE) -> Page:
    """Published articles, newest first."""
    stmt = (
        select(Article).where(Article.published.is_(True)).options(_with_author())
        .order_by(Article.published_at.desc(), Article.id.desc())
    )
    return paginate(stmt, page, per_page)


def latest_articles(limit: int = 6) -> list[Article]:
    """Newest published articles (home page)."""
    stmt = (
        select(Article).where(Article.published.is_(True)).options(_with_author())
        .order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    )
    return list(db.session.scalars(stmt))


def drafts_for(user: Any) -> list[Article]:
    """Unpublished articles ``user`` can edit (admins: all drafts)."""
    if not can_write_articles(user):
        return []
    stmt = select(Article).where(Article.published.is_(False)).order_by(Article.updated_at.desc())
    if not user.is_admin:
        stmt = stmt.where(Article.author_id == user.id)
    return list(db.session.scalars(stmt.options(_with_author())))


def get_article_for_viewer(slug: str, viewer: Any) -> Article | None:
    """The article if ``viewer`` may see it (drafts only to those who can edit them)."""
    article = db.session.scalar(select(Article).where(Article.slug == slug).options(_with_author()))
    if article is None or not article.can_view(viewer):
        return None
    return article


def unique_article_slug(title: str) -> str:
    base = slugify(title, max_length=100)
    if base in RESERVED_SLUGS:
        base = f"{base}-article"
    return unique_slug(Article.slug, base)


def _require_writer(user: Any) -> None:
    if not can_write_articles(user):
        raise PermissionError("Only admins and verified specialists can write articles.")


def _set_published(article: Article, published: bool) -> None:
    if published and not article.published:
        article.published_at = utcnow()
    article.published = published
    if not published:
        article.published_at = None


def write_article(author: Any, *, title: str, summary: str, body: str, publish: bool,
                  slug: str | None = None) -> Article:
    """Create an article (as a draft unless ``publish``). Raises PermissionError for non-writers."""
    _require_writer(author)
    article = Article(author_id=author.id, title=title, summary=summary, body=body,
                      slug=slug or unique_article_slug(title))
    _set_published(article, publish)
    try:
        with db.session.begin_nested():
            db.session.add(article)
    except IntegrityError:
        raise ArticleError("An article with this address already exists; choose another title.") from None
    if publish:
        record_audit(author, "article.published", article)
    log.info("article %s written by user %s", article.id, author.id)
    return article


def edit_article(editor: Any, article: Article, *, title: str, summary: str, body: str) -> Article:
    """Change an article's text (its address stays the same, so links keep working)."""
    if not article.can_edit(editor):
        raise PermissionError("You can only edit your own articles.")
    article.title, article.summary, article.body = title, summary, body
    db.session.flush()
    log.info("article %s edited by user %s", article.id, editor.id)
    return article


def set_article_published(editor: Any, article: Article, published: bool) -> Article:
    """Publish or unpublish; audited."""
    if not article.can_edit(editor):
        raise PermissionError("You can only publish your own articles.")
    if article.published != published:
        before = {"published": article.published}
        _set_published(article, published)
        record_audit(editor, "article.published" if published else "article.unpublished", article,
                     before=before, after={"published": published})
        db.session.flush()
    return article


@data_exporter("articles")
def export_articles(user: User) -> list[dict[str, Any]]:
    """Articles the user wrote."""
    articles = db.session.scalars(select(Article).where(Article.author_id == user.id).order_by(Article.created_at))
    return [
        {"id": a.id, "slug": a.slug, "title": a.title, "summary": a.summary, "body": a.body,
         "published": a.published, "published_at": a.published_at.isoformat() if a.published_at else None,
         "created_at": a.created_at.isoformat()}
        for a in articles
    ]


@deletion_hook
def unpublish_articles_of_deleted_user(user: User) -> None:
    """A deleted author's articles are taken offline (they carried the author's name and
    profile); admins can still see and republish them as drafts."""
    db.session.execute(
        update(Article).where(Article.author_id == user.id)
        .values(published=False, published_at=None, author_id=None)
    )
    db.session.flush()
    bump_after_commit("articles")  # a bulk update: not seen by bump_on_change
