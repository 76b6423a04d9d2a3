"""Server-side campaign tracking: no third-party trackers, no cookies, no personal data.

Impressions are counted where featured cards are rendered (``count_impressions``); neither
count writes to the database during the request (see ``marketplace.counters``).
Profile views are counted here: links from featured placements carry ``?src=campaign``.
Bookings are counted from consultations booked with ``source == "campaign"``.
Every profile page shown to a visitor or a client (not to specialists or admins: they are not
prospective clients) also counts for the profile's weekly views (the specialist's funnel chart).
"""
from __future__ import annotations

from flask import request
from flask_login import current_user

from marketplace.auth.models import Role
from marketplace.featured import bp
from marketplace.featured.services import CAMPAIGN_SOURCE, count_profile_view, count_weekly_profile_view

PROFILE_ENDPOINT = "specialists.profile"


@bp.before_app_request
def count_campaign_profile_view() -> None:
    """A GET of a specialist's profile reached from a campaign placement counts as one view."""
    if request.method != "GET" or request.endpoint != PROFILE_ENDPOINT:
        return
    if request.args.get("src") != CAMPAIGN_SOURCE:
        return
    slug = (request.view_args or {}).get("slug")
    if isinstance(slug, str) and slug:
        count_profile_view(slug)


@bp.before_app_request
def count_weekly_profile_view_hook() -> None:
    """A GET of a profile by a visitor or a client counts one view for its week (before the view:
    the count is handed on after the request's commit; a slug of no listed profile is dropped
    when the sums are written)."""
    if request.method != "GET" or request.endpoint != PROFILE_ENDPOINT:
        return
    if current_user.is_authenticated and current_user.role is not Role.CLIENT:
        return
    slug = (request.view_args or {}).get("slug")
    if isinstance(slug, str) and slug:
        count_weekly_profile_view(slug)
