"""Real browser: a specialist looks at their funnel by week, changes the period and opens the
numbers; the admin's trend charts render too. No CSP violation, nothing from another host; the
earnings CSV downloads."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from marketplace.auth.models import Role
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationOutcome, ConsultationState
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.payments.models import Payment, PaymentStatus
from tests.factories import PASSWORD, create_specialist, create_user

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI});
});
"""


def log_in(page, email):
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()


def no_violations(page):
    assert page.evaluate("window.__cspViolations") == []
    assert page.foreign_requests == []


def test_specialist_reads_the_funnel_chart_and_the_admin_the_trends(page, sqlite_app):
    profile = create_specialist(display_name="Dr Chart Reader")
    admin = create_user(Role.ADMIN)
    for n in range(3):  # free consultations over the last weeks, one of them a paid session after
        client_user = create_user()
        start = (utcnow() - timedelta(days=7 * n + 1)).replace(minute=0, second=0, microsecond=0)
        db.session.add(Consultation(client_id=client_user.id, specialist_id=profile.id, kind=ConsultationKind.FREE,
                                    state=ConsultationState.COMPLETED, outcome=ConsultationOutcome.PROCEED,
                                    start_utc=start, end_utc=start + timedelta(minutes=30), format="video",
                                    created_at=start - timedelta(days=2)))
    start = utcnow() - timedelta(minutes=1)  # held this week
    paid = Consultation(client_id=client_user.id, specialist_id=profile.id, kind=ConsultationKind.PAID,
                        state=ConsultationState.CONFIRMED, start_utc=start, end_utc=start + timedelta(minutes=50),
                        format="video", price_minor=9000, currency="EUR")
    db.session.add(paid)
    db.session.flush()
    db.session.add(Payment(consultation_id=paid.id, provider="stripe", provider_checkout_id="cs_chart",
                           amount_minor=9000, currency="EUR", status=PaymentStatus.PAID, paid_at=utcnow()))
    db.session.commit()
    page.context.add_init_script(RECORD_VIOLATIONS)

    log_in(page, profile.user.email)
    page.goto("/specialists/me/stats")
    chart = page.get_by_role("img", name="Your funnel by week")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 200
    expect(page.locator("[data-series=requests] circle")).to_have_count(12)
    page.get_by_label("Period").select_option("4")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/specialists/me/stats\?weeks=4#funnel$"))
    expect(page.locator("[data-series=requests] circle")).to_have_count(4)
    table = page.get_by_role("table", name="Your funnel by week")
    expect(table).to_be_hidden()
    page.get_by_text("Show the numbers").click()
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table.locator("tbody tr").last.locator("td").nth(4)).to_have_text("1")  # paid this week
    no_violations(page)

    page.get_by_role("link", name="Your earnings").click()
    expect(page.get_by_test_id("earnings-row")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    assert download.value.suggested_filename == "balance-earnings.csv"
    assert ",EUR,1,90.00,0,0.00,90.00" in open(download.value.path(), encoding="utf-8").read()
    no_violations(page)

    page.get_by_role("button", name="Log out").click()
    log_in(page, admin.email)
    page.goto("/admin/stats")
    for name in ("Sign-ups per week", "Free consultations per week", "Conversion per week",
                 "Campaign: impressions and profile views", "Campaign: bookings"):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    no_violations(page)
