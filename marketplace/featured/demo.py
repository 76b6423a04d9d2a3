"""Demo campaign (``flask demo-data``; idempotent): a running campaign featuring a few demo specialists."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.demo.registry import DemoContext, demo_seeder
from marketplace.extensions import db
from marketplace.featured.models import Campaign
from marketplace.featured.services import create_campaign, eligible_for_featuring, feature_specialist, today_utc

DEMO_CAMPAIGN = "Free first conversation — winter 2026"
FEATURED_COUNT = 6


@demo_seeder(order=60)
def seed_campaign(ctx: DemoContext) -> None:
    """Create the demo campaign (today ± 30 days) once and feature up to six eligible demo profiles."""
    if db.session.scalar(select(Campaign.id).where(Campaign.name == DEMO_CAMPAIGN)) is not None:
        return
    today = today_utc()
    campaign = create_campaign(ctx.admin, name=DEMO_CAMPAIGN, starts_on=today - timedelta(days=30),
                               ends_on=today + timedelta(days=30), active=True)
    eligible = [p for p in ctx.profiles if eligible_for_featuring(p)[0]]
    step = max(1, len(eligible) // FEATURED_COUNT)  # spread over the demo set for variety
    for profile in eligible[::step][:FEATURED_COUNT]:
        feature_specialist(ctx.admin, campaign, profile)
    db.session.flush()
