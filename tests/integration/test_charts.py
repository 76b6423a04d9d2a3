"""Weekly chart data on SQLite and PostgreSQL: the specialist's funnel and the admin's marketplace
trends equal hand-computed counts (weeks cut in the viewer's zone), profile views counted off the
request path into their week, a fixed number of queries whatever the period, and the pages."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from marketplace.admin.services import marketplace_trends
from marketplace.auth.models import Role
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
)
from marketplace.consultations.stats import weekly_funnel
from marketplace.extensions import db
from marketplace.featured.models import Campaign, CampaignStat
from marketplace.featured.services import today_utc
from marketplace.specialists.models import ProfileViewWeek
from marketplace.weeks import Weeks, monday_of
from tests.factories import AuthActions

TODAY = date(2026, 11, 25)  # a Wednesday; the weeks of 2, 9, 16 and 23 November


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def consultation(client_user: Any, profile: Any, *, created: datetime, start: datetime,
                 kind: ConsultationKind = ConsultationKind.FREE, state: ConsultationState = ConsultationState.COMPLETED,
                 outcome: ConsultationOutcome | None = None, source: str | None = None,
                 rescheduled_from: Consultation | None = None) -> Consultation:
    row = Consultation(client_id=client_user.id, specialist_id=profile.id, kind=kind, state=state, outcome=outcome,
                       start_utc=start, end_utc=start + timedelta(minutes=30), format="video", created_at=created,
                       source=source, rescheduled_from_id=rescheduled_from.id if rescheduled_from else None)
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def history(make_user: Any, make_specialist: Any) -> Any:
    """A Berlin specialist's November (UTC+1): each free consultation with another client."""
    profile = make_specialist()
    other = make_specialist()
    clients = [make_user() for _ in range(6)]
    consultation(clients[0], profile, created=utc(2026, 11, 3, 10), start=utc(2026, 11, 5, 10),
                 outcome=ConsultationOutcome.PROCEED, source="campaign")
    # Asked for at 00:30 on Monday 9 November in Berlin (still Sunday in UTC): the second week.
    consultation(clients[1], profile, created=utc(2026, 11, 8, 23, 30), start=utc(2026, 11, 10, 10),
                 outcome=ConsultationOutcome.NOT_A_FIT)
    moved = consultation(clients[2], profile, created=utc(2026, 11, 16, 12), start=utc(2026, 11, 18, 10),
                         state=ConsultationState.CANCELLED)
    # The moved booking counts once, when first asked for; it was held on 24 November.
    consultation(clients[2], profile, created=utc(2026, 11, 17, 9), start=utc(2026, 11, 24, 10),
                 outcome=ConsultationOutcome.PROCEED, rescheduled_from=moved)
    consultation(clients[3], profile, created=utc(2026, 10, 20, 9), start=utc(2026, 10, 22, 9),
                 outcome=ConsultationOutcome.PROCEED)  # before the period
    consultation(clients[3], profile, created=utc(2026, 11, 1, 9), start=utc(2026, 11, 18, 9),
                 kind=ConsultationKind.PAID, state=ConsultationState.CONFIRMED)
    consultation(clients[3], profile, created=utc(2026, 11, 1, 9), start=utc(2026, 11, 19, 9),
                 kind=ConsultationKind.PAID, state=ConsultationState.CANCELLED)
    # 23:30 UTC on Sunday 22 November is 00:30 on Monday in Berlin: the fourth week.
    consultation(clients[3], profile, created=utc(2026, 11, 1, 9), start=utc(2026, 11, 22, 23, 30),
                 kind=ConsultationKind.PAID, state=ConsultationState.COMPLETED)
    consultation(clients[4], other, created=utc(2026, 11, 10, 9), start=utc(2026, 11, 12, 9),
                 outcome=ConsultationOutcome.PROCEED)  # another specialist's
    db.session.add_all([ProfileViewWeek(profile_id=profile.id, week_start=date(2026, 11, 2), views=10),
                        ProfileViewWeek(profile_id=profile.id, week_start=date(2026, 11, 16), views=7),
                        ProfileViewWeek(profile_id=profile.id, week_start=date(2026, 10, 26), views=99),
                        ProfileViewWeek(profile_id=other.id, week_start=date(2026, 11, 9), views=5)])
    campaign = Campaign(name="Autumn", starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 30))
    db.session.add(campaign)
    db.session.flush()
    db.session.add_all([CampaignStat(day=date(2026, 11, 2), campaign_id=campaign.id, profile_id=profile.id,
                                     impressions=40, profile_views=4),
                        CampaignStat(day=date(2026, 11, 8), campaign_id=campaign.id, profile_id=profile.id,
                                     impressions=60, profile_views=6),
                        CampaignStat(day=date(2026, 11, 9), campaign_id=campaign.id, profile_id=other.id,
                                     impressions=25, profile_views=0)])
    db.session.commit()
    return profile


def test_the_funnel_per_week_equals_hand_counted(app: Any, history: Any) -> None:
    funnel = weekly_funnel(history.id, Weeks.ending(TODAY, 4, "Europe/Berlin"))
    assert funnel.weeks.mondays == (date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23))
    assert funnel.stages == {
        "views": [10, 0, 7, 0],
        "requests": [1, 1, 1, 0],
        "completed": [1, 1, 0, 1],
        "proceed": [1, 0, 0, 1],
        "paid": [0, 0, 1, 1],
    }


def test_the_funnel_in_utc_puts_the_edges_in_other_weeks(app: Any, history: Any) -> None:
    funnel = weekly_funnel(history.id, Weeks.ending(TODAY, 4, "UTC"))
    assert funnel.stages["requests"] == [2, 0, 1, 0]  # 23:30 UTC on Sunday 8 November
    assert funnel.stages["paid"] == [0, 0, 2, 0]  # 23:30 UTC on Sunday 22 November


def test_marketplace_trends_per_week_equal_hand_counted(app: Any, history: Any) -> None:
    trends = marketplace_trends(Weeks.ending(TODAY, 4, "UTC"))
    assert trends.booked == [2, 1, 1, 0]  # both specialists; the moved booking once
    assert trends.completed == [1, 2, 0, 1]
    assert trends.proceed == [1, 1, 0, 1]
    assert trends.not_a_fit == [0, 1, 0, 0]
    assert trends.conversion == [100, 50, None, 100]
    assert trends.campaign_bookings == [1, 0, 0, 0]
    assert trends.impressions == [100, 25, 0, 0]
    assert trends.campaign_views == [10, 0, 0, 0]


def test_chart_data_is_a_fixed_number_of_queries(app: Any, history: Any, count_queries: Any) -> None:
    profile_id = history.id
    counts = []
    for period in (4, 26):
        weeks = Weeks.ending(TODAY, period, "Europe/Berlin")
        with count_queries() as funnel:
            weekly_funnel(profile_id, weeks)
        with count_queries() as trends:
            marketplace_trends(weeks)
        counts.append(tuple(len([s for s in c.statements if not s.strip().upper().startswith("BEGIN")])
                            for c in (funnel, trends)))
    assert counts == [(3, 3), (3, 3)]  # one grouped query per source, not one per week


def test_the_stats_pages_run_the_same_queries_for_any_period(app: Any, client: Any, history: Any,
                                                             make_user: Any, count_queries: Any) -> None:
    auth = AuthActions(client)
    for user, url in ((history.user, "/specialists/me/stats"), (make_user(role=Role.ADMIN), "/admin/stats")):
        auth.login_as(user)
        counts = []
        for period in (4, 12, 26):
            with count_queries() as counter:
                response = client.get(f"{url}?weeks={period}")
            assert response.status_code == 200
            counts.append(counter.count)
        assert len(set(counts)) == 1, counts
        auth.logout()


def test_the_stats_page_shows_the_funnel_chart_and_its_numbers(app: Any, client: Any, history: Any) -> None:
    AuthActions(client).login_as(history.user)
    html = client.get("/specialists/me/stats?weeks=4").get_data(as_text=True)
    assert re.search(r'<svg class="chart-svg"[^>]*role="img"[^>]*aria-labelledby="funnel-title funnel-desc"', html)
    assert '<title id="funnel-title">Your funnel by week</title>' in html
    assert 'Europe/Berlin' in html
    table = re.search(r'data-testid="funnel-table"(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr><th scope="row">[^<]+</th>((?:<td>[^<]*</td>)+)</tr>', table)
    assert len(rows) == 4
    assert '<option value="4" selected>' in html
    assert html.count('data-testid="funnel-table"') == 1
    for weeks, expected in (("26", 26), ("abc", 12), ("1000", 12)):  # anything else: the default
        other = client.get(f"/specialists/me/stats?weeks={weeks}").get_data(as_text=True)
        table = re.search(r'data-testid="funnel-table"(.*?)</table>', other, re.S).group(1)
        assert table.count('<th scope="row">') == expected


def test_a_profile_view_is_counted_in_its_week_off_the_request_path(app: Any, client: Any, make_user: Any,
                                                                   make_specialist: Any) -> None:
    profile = make_specialist()

    def views() -> list[tuple[date, int]]:
        return [(r.week_start, r.views) for r in db.session.scalars(
            select(ProfileViewWeek).where(ProfileViewWeek.profile_id == profile.id))]

    assert client.get(f"/specialists/{profile.slug}").status_code == 200  # a visitor
    auth = AuthActions(client)
    auth.login_as(make_user())  # a client
    client.get(f"/specialists/{profile.slug}?src=campaign")
    auth.logout()
    auth.login_as(profile.user)  # the specialist looking at their own page: not a prospective client
    client.get(f"/specialists/{profile.slug}")
    client.get("/specialists/nobody-by-this-name")
    assert views() == [(monday_of(today_utc()), 2)]
    assert db.session.scalar(select(func.count()).select_from(ProfileViewWeek)) == 1


@pytest.mark.config(COUNTER_FLUSH_SECONDS=3600)
def test_a_profile_view_writes_nothing_during_the_request(app: Any, client: Any, make_specialist: Any,
                                                          count_queries: Any) -> None:
    profile = make_specialist()
    client.get(f"/specialists/{profile.slug}")
    with count_queries() as counter:
        client.get(f"/specialists/{profile.slug}")
    assert not [s for s in counter.statements if "profile_view_weeks" in s]
    assert db.session.scalar(select(func.count()).select_from(ProfileViewWeek)) == 0
