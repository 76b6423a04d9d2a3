"""Public pages of the featured domain, and the template globals other domains include."""
from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue

from marketplace.featured import (
    bp,
    tracking,  # noqa: F401  (registers the campaign profile-view hook)
)
from marketplace.featured.services import (
    FeaturedNote,
    SpecialistCampaignStats,
    active_campaign,
    campaign_stats_for_profile,
    featured_note_for,
    featured_profiles,
)
from marketplace.specialists.models import profile_of


@bp.route("/campaign")
def campaign() -> ResponseReturnValue:
    """The advertising landing page: why a free consultation, the featured specialists, a call to action."""
    return render_template("featured/campaign.html", campaign=active_campaign(),
                           featured=featured_profiles(placement="campaign"))


@bp.app_template_global()
def featured_note(user: Any) -> FeaturedNote | None:
    """For templates/featured/_dashboard_note.html: the specialist's place in the running campaign."""
    return featured_note_for(profile_of(user))


@bp.app_template_global()
def featured_campaign_stats(user: Any) -> list[SpecialistCampaignStats]:
    """For templates/featured/_specialist_stats.html: the specialist's own campaign numbers."""
    profile = profile_of(user)
    return campaign_stats_for_profile(profile) if profile is not None else []
