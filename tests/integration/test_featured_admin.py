"""/admin/featured: campaigns, featuring, ordering; every change writes exactly one audit row."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.audit import AuditEntry
from marketplace.auth.models import Role
from marketplace.extensions import db
from marketplace.featured.models import Campaign, FeaturedEntry
from marketplace.featured.services import active_featured_profile_ids, today_utc
from marketplace.specialists.models import VerificationStatus


@pytest.fixture
def admin(make_user, auth):
    user = make_user(role=Role.ADMIN, display_name="Ada Admin")
    auth.login_as(user)
    return user


def audit_rows(action=None):
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(db.session.scalars(stmt))


def audit_count():
    return db.session.scalar(select(func.count(AuditEntry.id)))


def campaign_form(name="Winter", start=-1, end=30, active=True):
    today = today_utc()
    data = {"name": name, "starts_on": (today + timedelta(days=start)).isoformat(),
            "ends_on": (today + timedelta(days=end)).isoformat()}
    if active:
        data["active"] = "y"
    return data


def order_of(campaign_id):
    return list(db.session.scalars(select(FeaturedEntry.profile_id).where(FeaturedEntry.campaign_id == campaign_id)
                                   .order_by(FeaturedEntry.position, FeaturedEntry.id)))


def entry_id(campaign_id, profile):
    return db.session.scalar(select(FeaturedEntry.id).where(FeaturedEntry.campaign_id == campaign_id,
                                                            FeaturedEntry.profile_id == profile.id))


def test_admin_runs_a_campaign_and_every_action_writes_exactly_one_audit_row(app, client, admin, make_specialist):
    a, b, c = (make_specialist(display_name=f"Dr {n}") for n in ("Ames", "Bo", "Cy"))

    def act(method, url, expected_action, **kwargs):
        before = audit_count()
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 302, (url, response.status_code)
        rows = audit_rows()[before:]
        assert [r.action for r in rows] == [expected_action], url
        assert rows[0].actor_id == admin.id
        return rows[0]

    row = act("post", "/admin/featured/new", "campaign.create", data=campaign_form())
    campaign_id = db.session.scalar(select(Campaign.id))
    assert row.after["name"] == "Winter" and row.target_id == str(campaign_id)

    for profile in (a, b, c):
        row = act("post", f"/admin/featured/{campaign_id}/entries", "featured.add", data={"profile_id": profile.id})
    assert row.before == {"order": [a.id, b.id]}
    assert row.after == {"profile_id": c.id, "display_name": "Dr Cy", "order": [a.id, b.id, c.id]}
    assert order_of(campaign_id) == [a.id, b.id, c.id]
    assert active_featured_profile_ids() == [a.id, b.id, c.id]

    row = act("post", f"/admin/featured/{campaign_id}/entries/{entry_id(campaign_id, c)}/move", "featured.reorder",
              data={"direction": "up"})
    assert row.before == {"order": [a.id, b.id, c.id]} and row.after == {"order": [a.id, c.id, b.id]}
    act("post", f"/admin/featured/{campaign_id}/entries/{entry_id(campaign_id, a)}/move", "featured.reorder",
        data={"direction": "down"})
    assert order_of(campaign_id) == [c.id, a.id, b.id]

    ids = [entry_id(campaign_id, p) for p in (b, c, a)]
    act("post", f"/admin/featured/{campaign_id}/order", "featured.reorder", data={"order": ",".join(map(str, ids))})
    assert order_of(campaign_id) == [b.id, c.id, a.id]

    row = act("post", f"/admin/featured/{campaign_id}/entries/{entry_id(campaign_id, c)}/remove", "featured.remove")
    assert row.before["profile_id"] == c.id and row.after == {"order": [b.id, a.id]}
    assert order_of(campaign_id) == [b.id, a.id]

    row = act("post", f"/admin/featured/{campaign_id}", "campaign.update", data=campaign_form(active=False))
    assert row.before["active"] is True and row.after["active"] is False
    assert active_featured_profile_ids() == []


def test_no_op_actions_write_no_audit_row(app, client, admin, make_specialist):
    a = make_specialist()
    client.post("/admin/featured/new", data=campaign_form())
    campaign_id = db.session.scalar(select(Campaign.id))
    client.post(f"/admin/featured/{campaign_id}/entries", data={"profile_id": a.id})
    before = audit_count()
    response = client.post(f"/admin/featured/{campaign_id}/entries/{entry_id(campaign_id, a)}/move",
                           data={"direction": "up"}, follow_redirects=True)
    assert "Already at the top." in response.get_data(as_text=True)
    response = client.post(f"/admin/featured/{campaign_id}", data=campaign_form(), follow_redirects=True)
    assert "Nothing changed." in response.get_data(as_text=True)
    assert audit_count() == before


@pytest.mark.parametrize("overrides,reason", [
    ({"verification_status": VerificationStatus.PENDING}, "licence not verified"),
    ({"is_published": False}, "profile not published"),
    ({"offers_free_consultation": False}, "does not offer the free 30-minute consultation"),
    ({"accepting_new_clients": False}, "not accepting new clients"),
])
def test_ineligible_specialist_cannot_be_added(app, client, admin, make_specialist, overrides, reason):
    profile = make_specialist(display_name="Dr Nope", **overrides)
    client.post("/admin/featured/new", data=campaign_form())
    campaign_id = db.session.scalar(select(Campaign.id))
    before = audit_count()
    html = client.post(f"/admin/featured/{campaign_id}/entries", data={"profile_id": profile.id},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Dr Nope can&#39;t be featured: {reason}." in html
    assert order_of(campaign_id) == [] and audit_count() == before
    assert "Feature Dr Nope" not in html  # not offered among the candidates either


def test_adding_twice_or_unknown_specialist_is_refused_cleanly(app, client, admin, make_specialist):
    a = make_specialist(display_name="Dr Once")
    client.post("/admin/featured/new", data=campaign_form())
    campaign_id = db.session.scalar(select(Campaign.id))
    client.post(f"/admin/featured/{campaign_id}/entries", data={"profile_id": a.id})
    before = audit_count()
    html = client.post(f"/admin/featured/{campaign_id}/entries", data={"profile_id": a.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "Dr Once is already featured in this campaign." in html
    html = client.post(f"/admin/featured/{campaign_id}/entries", data={"profile_id": 999999},
                       follow_redirects=True).get_data(as_text=True)
    assert "That specialist does not exist." in html
    for bad in ({"profile_id": "abc"}, {}):
        assert client.post(f"/admin/featured/{campaign_id}/entries", data=bad).status_code == 302
    assert client.post(f"/admin/featured/{campaign_id}/entries/999999/remove").status_code == 302
    missing = f"/admin/featured/{campaign_id}/entries/999999"
    assert client.post(f"{missing}/move", data={"direction": "up"}).status_code == 302
    assert client.post(f"/admin/featured/{campaign_id}/order", data={"order": "1,x"}).status_code == 302
    assert client.post(f"/admin/featured/{campaign_id}/order", data={"order": "999"}).status_code == 302
    assert client.post("/admin/featured/999999/entries", data={"profile_id": a.id}).status_code == 404
    assert order_of(campaign_id) == [a.id] and audit_count() == before


def test_invalid_campaign_form_changes_nothing(app, client, admin):
    response = client.post("/admin/featured/new", data=campaign_form(start=5, end=1))
    assert response.status_code == 422
    assert "The last day must be on or after the first day." in response.get_data(as_text=True)
    response = client.post("/admin/featured/new", data={"name": "", "starts_on": "nope", "ends_on": ""})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Campaign.id))) == 0 and audit_count() == 0


def test_admin_page_lists_campaigns_entries_eligibility_and_candidates(app, client, admin, make_specialist):
    a = make_specialist(display_name="Dr Featured")
    make_specialist(display_name="Dr Candidate")
    make_specialist(display_name="Dr Pending", verification_status=VerificationStatus.PENDING)
    client.post("/admin/featured/new", data=campaign_form(name="Autumn push"))
    campaign_id = db.session.scalar(select(Campaign.id))
    client.post(f"/admin/featured/{campaign_id}/entries", data={"profile_id": a.id})

    listing = client.get("/admin/featured").get_data(as_text=True)
    assert "Autumn push" in listing and "Running" in listing
    html = client.get(f"/admin/featured/{campaign_id}").get_data(as_text=True)
    assert "Dr Featured" in html and "Eligible" in html
    assert "Feature Dr Candidate" in html and "Feature Dr Pending" not in html and "Feature Dr Featured" not in html
    searched = client.get(f"/admin/featured/{campaign_id}?q=cand").get_data(as_text=True)
    assert "Feature Dr Candidate" in searched
    assert "Feature Dr Candidate" not in client.get(f"/admin/featured/{campaign_id}?q=zzz").get_data(as_text=True)
