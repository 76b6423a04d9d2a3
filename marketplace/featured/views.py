"""Public pages of the featured domain, and the parts it adds to other domains' pages."""
from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue

from marketplace.consultations.hooks import STATS_PAGE
from marketplace.featured import (
    bp,
    tracking,  # noqa: F401  (registers the campaign profile-view hook)
)
from marketplace.featured.services import (
    active_campaign,
    campaign_stats_for_profile,
    featured_note_for,
    featured_profiles,
)
from marketplace.parts import Part, page_parts
from marketplace.specialists.hooks import PROFILE_EDITOR
from marketplace.specialists.models import SpecialistProfile


@bp.route("/campaign")
def campaign() -> ResponseReturnValue:
    """The advertising landing page: why a free consultation, the featured specialists, a call to action."""
    return render_template("featured/campaign.html", campaign=active_campaign(),
                           featured=featured_profiles(placement="campaign"))


# --- parts of other domains' pages (marketplace.parts) -------------------------------------------

@page_parts.register(PROFILE_EDITOR, "featured_note")
def _dashboard_note(profile: SpecialistProfile | None, **_: Any) -> Part | None:
    """The specialist's dashboard: their place in the running campaign (or how to be eligible)."""
    note = featured_note_for(profile)
    return Part("featured/_dashboard_note.html", {"note": note}) if note is not None else None


@page_parts.register(STATS_PAGE, "campaign_stats")
def _campaign_stats(profile: SpecialistProfile | None, **_: Any) -> Part:
    """The specialist's statistics: their own numbers in each campaign they were featured in."""
    rows = campaign_stats_for_profile(profile) if profile is not None else []
    return Part("featured/_specialist_stats.html", {"rows": rows})
