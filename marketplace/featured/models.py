"""Models of the featured domain: advertising campaigns, their featured specialists, daily stats."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import Model


class Campaign(Model):
    """An advertising campaign. Dates are inclusive UTC calendar days."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="campaign_dates_ordered"),
        Index("ix_campaigns_active_dates", "active", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    entries: Mapped[list[FeaturedEntry]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True,
        order_by=lambda: [FeaturedEntry.position, FeaturedEntry.id],
    )

    def runs_on(self, day: date) -> bool:
        return self.active and self.starts_on <= day <= self.ends_on

    def status(self, today: date) -> str:
        """'running', 'scheduled', 'ended' or 'inactive' (for the admin list)."""
        if not self.active:
            return "inactive"
        if today < self.starts_on:
            return "scheduled"
        if today > self.ends_on:
            return "ended"
        return "running"

    def snapshot(self) -> dict[str, object]:
        """The audited fields."""
        return {"name": self.name, "starts_on": self.starts_on.isoformat(), "ends_on": self.ends_on.isoformat(),
                "active": self.active}

    def __repr__(self) -> str:
        return f"<Campaign {self.id}>"


class FeaturedEntry(Model):
    """A specialist featured in a campaign at a position (lower comes first)."""

    __tablename__ = "featured_entries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "profile_id"),
        Index("ix_featured_entries_campaign_position", "campaign_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    profile_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="entries")
    profile = relationship("SpecialistProfile", lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return f"<FeaturedEntry {self.id} c{self.campaign_id} p{self.profile_id}@{self.position}>"


class CampaignStat(Model):
    """Per-day counters for one featured specialist in one campaign (no personal data).

    Rows are created or incremented by one concurrency-safe upsert
    (``services.increment_campaign_stat``). Bookings are not stored here: they are
    counted from consultations booked with ``source == "campaign"`` so nothing is
    counted twice.
    """

    __tablename__ = "campaign_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("specialist_profiles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    impressions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    profile_views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
