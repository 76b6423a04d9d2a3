"""Admin pages of the featured domain (registered on the admin blueprint, /admin/featured…).

The admin blueprint already refuses non-admins. Every change goes through one service
function, which writes one audit row.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.database import get_or_404
from marketplace.extensions import db
from marketplace.featured.forms import CampaignForm, FeatureForm, MoveForm, ReorderForm
from marketplace.featured.models import Campaign
from marketplace.featured.services import (
    FeaturingError,
    campaign_report,
    create_campaign,
    feature_specialist,
    get_entry_or_none,
    list_campaigns,
    move_featured_entry,
    placement_reach,
    reorder_featured_entries,
    search_eligible_profiles,
    today_utc,
    unfeature_specialist,
    update_campaign,
)
from marketplace.forms import required_text
from marketplace.routes import RouteTable
from marketplace.specialists.models import SpecialistProfile

pages = RouteTable()  # admin pages: added to the admin blueprint by marketplace/blueprints.py


def _back(campaign_id: int) -> WerkzeugResponse:
    return redirect(url_for("admin.featured_campaign", campaign_id=campaign_id))


@pages.route("/featured")
def featured_campaigns() -> ResponseReturnValue:
    return render_template("featured/admin_campaigns.html", campaigns=list_campaigns(), today=today_utc())


@pages.route("/featured/new", methods=["GET", "POST"])
def featured_new_campaign() -> ResponseReturnValue:
    form = CampaignForm()
    if form.validate_on_submit():
        try:
            campaign = create_campaign(current_user, **form.values())
        except FeaturingError as exc:
            flash(str(exc), "error")
        else:
            flash(f"Campaign “{campaign.name}” created. Now add the specialists to feature.", "success")
            return _back(campaign.id)
    return render_template("featured/admin_campaign_form.html", form=form), 200 if not form.errors else 422


@pages.route("/featured/<int:campaign_id>", methods=["GET", "POST"])
def featured_campaign(campaign_id: int) -> ResponseReturnValue:
    campaign = get_or_404(Campaign, campaign_id)
    form = CampaignForm(obj=campaign)
    if form.validate_on_submit():
        try:
            changed = update_campaign(current_user, campaign, **form.values())
        except FeaturingError as exc:
            flash(str(exc), "error")
        else:
            flash("Campaign saved." if changed else "Nothing changed.", "success" if changed else "info")
            return _back(campaign.id)
    query = request.args.get("q", "")
    reports = campaign_report(campaign)
    return render_template(
        "featured/admin_campaign.html", campaign=campaign, form=form, today=today_utc(), query=query,
        reports=reports, reach=placement_reach(reports), candidates=search_eligible_profiles(campaign, query),
    ), 200 if not form.errors else 422


@pages.route("/featured/<int:campaign_id>/entries", methods=["POST"])
def featured_add(campaign_id: int) -> ResponseReturnValue:
    campaign = get_or_404(Campaign, campaign_id)
    form = FeatureForm()
    if not form.validate_on_submit():
        flash("Choose a specialist to feature.", "error")
        return _back(campaign_id)
    try:
        entry = feature_specialist(current_user, campaign, db.session.get(SpecialistProfile, form.profile_id.data))
    except FeaturingError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{entry.profile.display_name} is now featured.", "success")
    return _back(campaign_id)


@pages.route("/featured/<int:campaign_id>/entries/<int:entry_id>/remove", methods=["POST"])
def featured_remove(campaign_id: int, entry_id: int) -> ResponseReturnValue:
    campaign = get_or_404(Campaign, campaign_id)
    try:
        profile = unfeature_specialist(current_user, campaign, get_entry_or_none(campaign, entry_id))
    except FeaturingError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{profile.display_name} is no longer featured.", "success")
    return _back(campaign_id)


@pages.route("/featured/<int:campaign_id>/entries/<int:entry_id>/move", methods=["POST"])
def featured_move(campaign_id: int, entry_id: int) -> ResponseReturnValue:
    campaign = get_or_404(Campaign, campaign_id)
    form = MoveForm()
    try:
        if not form.validate_on_submit():
            raise FeaturingError("Choose to move up or down.")
        moved = move_featured_entry(current_user, campaign, get_entry_or_none(campaign, entry_id),
                                    required_text(form.direction))
    except FeaturingError as exc:
        flash(str(exc), "error")
    else:
        flash("Order saved." if moved else "Already at the " + ("top." if form.direction.data == "up" else "bottom."),
              "success" if moved else "info")
    return _back(campaign_id)


@pages.route("/featured/<int:campaign_id>/order", methods=["POST"])
def featured_reorder(campaign_id: int) -> ResponseReturnValue:
    campaign = get_or_404(Campaign, campaign_id)
    form = ReorderForm()
    try:
        if not form.validate_on_submit():
            raise FeaturingError("The order was not understood.")
        changed = reorder_featured_entries(current_user, campaign, form.entry_ids())
    except FeaturingError as exc:
        flash(str(exc), "error")
    else:
        flash("Order saved." if changed else "Nothing changed.", "success" if changed else "info")
    return _back(campaign_id)
