"""Models of the articles domain: Markdown articles by admins and verified specialists."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import Model
from marketplace.specialists.models import profile_of


def can_write_articles(user: Any) -> bool:
    """Admins and specialists whose licence has been verified may write articles."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    profile = profile_of(user)
    return profile is not None and profile.is_verified


class Article(Model):
    __tablename__ = "articles"
    __table_args__ = (
        # The public list: published, newest first.
        Index("ix_articles_public", "published", "published_at"),
        CheckConstraint("published = false OR published_at IS NOT NULL", name="published_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL if the author's account was deleted (their articles are unpublished then).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    summary: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    author = relationship("User")

    @property
    def author_profile(self) -> Any:
        """The specialist profile to show in the author card, or None for the editorial team."""
        author = self.author
        if author is None or not author.is_specialist or author.deleted_at is not None:
            return None
        profile = author.specialist_profile
        return profile if profile is not None and profile.is_listed else None

    def can_edit(self, user: Any) -> bool:
        """Admins edit any article; verified specialists only their own."""
        if not can_write_articles(user):
            return False
        return user.is_admin or self.author_id == user.id

    def can_view(self, user: Any) -> bool:
        return self.published or self.can_edit(user)

    def __repr__(self) -> str:
        return f"<Article {self.id} {self.slug}>"
