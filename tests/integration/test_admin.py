"""The admin area: admins only on every /admin URL; dashboard, audit log with filters, statistics."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from flask import url_for
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter

from marketplace.audit import AuditEntry, record_audit
from marketplace.auth.models import Role
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.specialists.models import VerificationStatus
from tests.factories import AuthActions


def admin_urls(app):
    """Every rule under /admin with its converters filled in, and the methods it accepts."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/admin"):
                continue
            values = {}
            for name, converter in rule._converters.items():
                if isinstance(converter, IntegerConverter):
                    values[name] = 1
                elif isinstance(converter, AnyConverter):
                    values[name] = sorted(converter.items)[0]
                else:
                    values[name] = "x"
            methods = sorted(m for m in rule.methods if m in ("GET", "POST"))
            urls.append((url_for(rule.endpoint, **values), methods))
    return urls


def test_url_map_has_the_admin_pages(app):
    paths = {url for url, _ in admin_urls(app)}
    assert {"/admin", "/admin/audit", "/admin/stats", "/admin/featured"} <= paths
    assert len(paths) >= 8


@pytest.mark.parametrize("who", ["visitor", "client", "specialist"])
def test_non_admins_are_refused_on_every_admin_url(app, client, make_user, make_specialist, who):
    if who == "client":
        AuthActions(client).login_as(make_user())
    elif who == "specialist":
        AuthActions(client).login_as(make_specialist().user)
    audit_before = db.session.scalars(select(AuditEntry.id)).all()
    checked = 0
    for url, methods in admin_urls(app):
        for method in methods:
            response = client.open(url, method=method, data={"name": "x", "profile_id": "1"})
            if who == "visitor":
                assert response.status_code == 302, (method, url)
                assert "/auth/login" in response.headers["Location"], (method, url)
            else:
                assert response.status_code == 403, (method, url, response.status_code)
            checked += 1
    assert checked >= 10
    assert db.session.scalars(select(AuditEntry.id)).all() == audit_before


def test_admin_sees_dashboard_audit_stats_and_featured(app, client, make_user):
    AuthActions(client).login_as(make_user(role=Role.ADMIN))
    for url in ("/admin", "/admin/audit", "/admin/stats", "/admin/featured", "/admin/featured/new"):
        assert client.get(url).status_code == 200, url


def test_admin_gets_every_get_page_without_error(app, client, make_user):
    AuthActions(client).login_as(make_user(role=Role.ADMIN))
    for url, methods in admin_urls(app):
        if "GET" in methods:
            assert client.get(url).status_code in (200, 404), url


# --- dashboard ------------------------------------------------------------------------------

def test_dashboard_counts_specialists_by_status_and_links_sections(app, client, make_user, make_specialist):
    make_specialist()
    make_specialist()
    make_specialist(verification_status=VerificationStatus.PENDING, is_published=False)
    make_specialist(verification_status=VerificationStatus.REJECTED)
    AuthActions(client).login_as(make_user(role=Role.ADMIN))
    html = client.get("/admin").get_data(as_text=True)
    table = re.search(r'data-testid="specialists-by-status"(.*?)</table>', html, re.S).group(1)
    cells = r"<th scope=\"row\">(\w+)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>"
    rows = {m[0]: m[1:] for m in re.findall(cells, table)}
    assert rows["Verified"] == ("2", "0", "2")
    assert rows["Pending"] == ("0", "1", "1")
    assert rows["Rejected"] == ("1", "0", "1")
    assert re.search(r'data-testid="specialists-total">4<', html)
    for link in ("/admin/verification", "/admin/moderation", "/admin/contact", "/admin/featured", "/admin/audit",
                 "/admin/stats"):
        assert f'href="{link}"' in html


def test_dashboard_conversion_and_consultations_this_week(app, client, make_user, make_specialist):
    from marketplace.consultations.models import Consultation, ConsultationOutcome, ConsultationState

    profile = make_specialist()
    start = utcnow() - timedelta(days=3)
    for i, (state, outcome) in enumerate([
        (ConsultationState.COMPLETED, ConsultationOutcome.PROCEED),
        (ConsultationState.COMPLETED, ConsultationOutcome.NOT_A_FIT),
        (ConsultationState.COMPLETED, None),
        (ConsultationState.CONFIRMED, None),
    ]):
        begins = start + timedelta(hours=i)
        db.session.add(Consultation(client_id=make_user().id, specialist_id=profile.id, state=state, outcome=outcome,
                                    start_utc=begins, end_utc=begins + timedelta(minutes=30), format="video",
                                    created_at=utcnow() - timedelta(days=10 if i == 0 else 1)))
    db.session.commit()
    AuthActions(client).login_as(make_user(role=Role.ADMIN))
    html = client.get("/admin").get_data(as_text=True)
    assert re.search(r'data-testid="consultations-week">3<', html)
    funnel = re.search(r'data-testid="funnel"(.*?)</table>', html, re.S).group(1)
    assert re.findall(r"</th><td>(\d+)</td>", funnel) == ["3", "1", "0"]  # held, proceed, paid

    # The "proceed" client pays for a session with that specialist: the funnel's last step counts it.
    from marketplace.consultations.models import ConsultationKind
    from marketplace.payments.models import Payment, PaymentStatus

    proceed = db.session.scalar(select(Consultation).where(Consultation.outcome == ConsultationOutcome.PROCEED))
    later = utcnow() + timedelta(days=3)
    for paid_at in (utcnow(), None):  # a paid session, and an unpaid hold (not counted)
        session = Consultation(client_id=proceed.client_id, specialist_id=profile.id, kind=ConsultationKind.PAID,
                               state=ConsultationState.CONFIRMED, start_utc=later, end_utc=later + timedelta(hours=1),
                               format="video")
        later += timedelta(hours=2)
        db.session.add(session)
        db.session.add(Payment(consultation=session, provider="stripe", amount_minor=9000, currency="EUR", paid_at=paid_at,
                               status=PaymentStatus.PAID if paid_at else PaymentStatus.PENDING))
    db.session.commit()
    html = client.get("/admin").get_data(as_text=True)
    funnel = re.search(r'data-testid="funnel"(.*?)</table>', html, re.S).group(1)
    assert re.findall(r"</th><td>(\d+)</td>", funnel) == ["3", "1", "1"]
    assert re.search(r'data-testid="conversion">33%<', html)


def test_dashboard_runs_a_constant_number_of_queries(app, client, make_user, make_specialist, count_queries):
    AuthActions(client).login_as(make_user(role=Role.ADMIN))
    make_specialist()
    with count_queries() as few:
        client.get("/admin")
    for _ in range(6):
        make_specialist(verification_status=VerificationStatus.PENDING)
    with count_queries() as many:
        client.get("/admin")
    assert many.count == few.count


# --- audit log ------------------------------------------------------------------------------

@pytest.fixture
def audit_trail(make_user):
    ada = make_user(role=Role.ADMIN, display_name="Ada Admin", email="ada@example.test")
    bob = make_user(role=Role.ADMIN, display_name="Bob Boss", email="bob@example.test")
    days = [datetime(2026, 11, d, 12, tzinfo=timezone.utc) for d in (1, 10, 20)]
    for n, when in enumerate(days):
        record_audit(ada, "campaign.create", "Campaign", after={"name": f"<b>Campaign {n}</b>"}).created_at = when
        record_audit(bob, "featured.add", "Campaign", before=None, after={"profile_id": n}).created_at = when
    db.session.commit()
    return ada, bob


def audit_actions_shown(html):
    return re.findall(r"<td><code>([\w.]+)</code></td>", html)


def test_audit_log_shows_who_what_when_target_and_pretty_json(app, client, audit_trail):
    ada, _ = audit_trail
    AuthActions(client).login_as(ada)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert len(audit_actions_shown(html)) == 6
    assert "Ada Admin" in html and "Bob Boss" in html
    assert "Campaign" in html and "Fri 20 Nov 2026" in html
    assert '"name": "\\u003cb\\u003eCampaign 2\\u003c/b\\u003e"' in html  # indented JSON, markup inert
    assert "<b>Campaign" not in html


def test_audit_log_filters_by_action_actor_and_dates(app, client, audit_trail):
    ada, bob = audit_trail
    AuthActions(client).login_as(ada)
    html = client.get("/admin/audit?action=featured.add").get_data(as_text=True)
    assert audit_actions_shown(html) == ["featured.add"] * 3
    html = client.get("/admin/audit?actor=ada").get_data(as_text=True)
    assert audit_actions_shown(html) == ["campaign.create"] * 3
    html = client.get(f"/admin/audit?actor=%23{bob.id}").get_data(as_text=True)
    assert audit_actions_shown(html) == ["featured.add"] * 3
    html = client.get("/admin/audit?date_from=2026-11-10&date_to=2026-11-10").get_data(as_text=True)
    assert len(audit_actions_shown(html)) == 2
    html = client.get("/admin/audit?date_from=2026-11-05&actor=bob&action=featured.add").get_data(as_text=True)
    assert len(audit_actions_shown(html)) == 2


def test_audit_log_bad_filters_show_a_message_not_an_error(app, client, audit_trail):
    AuthActions(client).login_as(audit_trail[0])
    response = client.get("/admin/audit?date_from=2026-11-20&date_to=2026-11-01&page=abc")
    assert response.status_code == 200
    assert "“To” must be on or after “From”." in response.get_data(as_text=True)
    assert client.get("/admin/audit?date_from=yesterday").status_code == 200


def test_audit_log_paginates_with_filters_kept(app, client, make_user, count_queries):
    admin = make_user(role=Role.ADMIN)
    for n in range(55):
        record_audit(admin, "campaign.update", "Campaign", after={"n": n})
    db.session.commit()
    AuthActions(client).login_as(admin)
    first = client.get("/admin/audit?action=campaign.update").get_data(as_text=True)
    assert len(audit_actions_shown(first)) == 50
    assert "action=campaign.update" in re.search(r'<nav class="pagination".*?</nav>', first, re.S).group(0)
    with count_queries() as counter:
        second = client.get("/admin/audit?action=campaign.update&page=2").get_data(as_text=True)
    assert len(audit_actions_shown(second)) == 5
    for n in range(40):
        record_audit(admin, "campaign.update", "Campaign", after={"n": n})
    db.session.commit()
    with count_queries() as more:
        client.get("/admin/audit?action=campaign.update&page=2")
    assert more.count == counter.count


# --- statistics -----------------------------------------------------------------------------

def test_stats_show_signups_per_week_consultations_and_questions(app, client, make_user, make_specialist):
    from marketplace.consultations.models import Consultation, ConsultationState

    admin = make_user(role=Role.ADMIN)
    make_user()
    make_user(created_at=utcnow() - timedelta(days=14))
    profile = make_specialist()
    start = utcnow() + timedelta(days=1)
    db.session.add(Consultation(client_id=admin.id, specialist_id=profile.id, state=ConsultationState.CANCELLED,
                                start_utc=start, end_utc=start + timedelta(minutes=30), format="video"))
    db.session.commit()
    AuthActions(client).login_as(admin)
    html = client.get("/admin/stats").get_data(as_text=True)
    signups = re.search(r'data-testid="signups-table"(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr><th scope=\"row\">[^<]+</th>((?:<td>\d+</td>)+)</tr>", signups)
    assert len(rows) == 12
    columns = re.findall(r"<th scope=\"col\">([^<]+)</th>", signups)
    this_week = dict(zip(columns[1:], re.findall(r"\d+", rows[-1]), strict=True))  # oldest week first
    assert this_week == {"Clients": "1", "Specialists": "1", "Admins": "1"}
    assert sum(int(n) for row in rows for n in re.findall(r"\d+", row)) == 4
    states = re.search(r'data-testid="consultation-states"(.*?)</table>', html, re.S).group(1)
    assert re.search(r"Cancelled</th><td>1</td>", states)
    assert 'data-testid="qa-counts"' in html
