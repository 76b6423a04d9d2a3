"""Measured responsiveness (issue 17, item 2), on both databases: figures computed by the job from
fixture messages and requests equal the hand-computed medians, are hidden below 5 data points, are
shown on the directory card and the profile (refreshing their cached pages), and the directory's
"Fast responders first" puts the quickest first within the statement budget."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.auth.models import Role
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from marketplace.jobs import job_name, jobs
from marketplace.messaging.models import Conversation, Message
from marketplace.messaging.responsiveness import refresh_responsiveness, refresh_responsiveness_job
from marketplace.specialists.models import SpecialistProfile

NOW = utcnow().replace(microsecond=0)


def conversation_with_waits(profile, client_user, waits_minutes, *, days_ago: float = 10):
    """One conversation: per wait, a client message then the specialist's reply that many minutes later."""
    conversation = Conversation(client_id=client_user.id, specialist_id=profile.user_id,
                                specialist_profile_id=profile.id, started_by_id=client_user.id)
    db.session.add(conversation)
    db.session.flush()
    t = NOW - timedelta(days=days_ago)
    for minutes in waits_minutes:
        db.session.add(Message(conversation_id=conversation.id, sender_id=client_user.id, body="Hello", created_at=t))
        t += timedelta(minutes=minutes)
        db.session.add(Message(conversation_id=conversation.id, sender_id=profile.user_id, body="Hi", created_at=t))
        t += timedelta(hours=3)
    db.session.flush()


def requests_confirmed_after(profile, make_user, minutes_list, *, days_ago: float = 5):
    for minutes in minutes_list:
        requested = NOW - timedelta(days=days_ago)
        start = NOW + timedelta(days=2)
        db.session.add(Consultation(
            client_id=make_user(Role.CLIENT).id, specialist_id=profile.id, kind=ConsultationKind.FREE,
            state=ConsultationState.CONFIRMED, start_utc=start, end_utc=start + timedelta(minutes=30),
            format="video", created_at=requested, confirmed_at=requested + timedelta(minutes=minutes),
            confirm_by_utc=requested + timedelta(hours=48)))
    db.session.flush()


def figures(profile):
    db.session.expire_all()
    return db.session.execute(select(SpecialistProfile.reply_median_minutes, SpecialistProfile.confirm_median_minutes)
                              .where(SpecialistProfile.id == profile.id)).one()


@pytest.fixture
def quick(app, make_specialist, make_user):
    """Replies: 20, 300, 45, 90 (conversation one) and 30, 600 (two) → sorted 20 30 45 90 300 600:
    median (45 + 90) / 2 = 67.5 → 68 minutes. Confirms: 10, 240, 50, 35, 120 → median 50."""
    profile = make_specialist(display_name="Dr Quick")
    conversation_with_waits(profile, make_user(Role.CLIENT), [20, 300, 45, 90])
    conversation_with_waits(profile, make_user(Role.CLIENT), [30, 600])
    requests_confirmed_after(profile, make_user, [10, 240, 50, 35, 120])
    commit()
    return profile


def test_figures_equal_the_hand_computed_medians(quick):
    version = quick.version_id
    assert refresh_responsiveness() == 1
    commit()
    assert figures(quick) == (68, 50)
    assert db.session.get(SpecialistProfile, quick.id).version_id == version  # an open editor stays valid
    assert refresh_responsiveness() == 0  # nothing changed: nothing written


def test_hidden_below_five_data_points(app, make_specialist, make_user):
    profile = make_specialist()
    conversation_with_waits(profile, make_user(Role.CLIENT), [10, 20, 30, 40])  # 4 waits
    requests_confirmed_after(profile, make_user, [5, 5, 5, 5])  # 4 requests
    commit()
    refresh_responsiveness()
    commit()
    assert figures(profile) == (None, None)


def test_waits_older_than_90_days_do_not_count(app, make_specialist, make_user):
    profile = make_specialist()
    conversation_with_waits(profile, make_user(Role.CLIENT), [10, 10, 10, 10, 10], days_ago=120)
    requests_confirmed_after(profile, make_user, [5, 5, 5, 5, 5], days_ago=91)
    commit()
    refresh_responsiveness()
    commit()
    assert figures(profile) == (None, None)


def test_figures_that_fall_below_the_threshold_are_cleared(quick):
    refresh_responsiveness()
    commit()
    db.session.execute(Message.__table__.delete())
    db.session.execute(Consultation.__table__.delete())
    commit()
    assert refresh_responsiveness() == 1
    commit()
    assert figures(quick) == (None, None)


def test_the_periodic_job_and_the_cli_refresh_them(app, quick):
    assert jobs.registered[job_name(refresh_responsiveness_job)].schedule == {"minute": "23"}
    result = app.test_cli_runner().invoke(args=["refresh-responsiveness"])
    assert result.exit_code == 0 and "1 profile(s) changed" in result.output
    assert figures(quick) == (68, 50)


def test_shown_on_the_card_and_the_profile(client, quick, make_specialist):
    old = make_specialist(display_name="Dr Old", created_at=NOW - timedelta(days=400))
    new = make_specialist(display_name="Dr New")
    client.get("/specialists")  # cached before the job ran: the job makes it stale
    client.get(f"/specialists/{quick.slug}")
    refresh_responsiveness()
    commit()
    directory = client.get("/specialists").get_data(as_text=True)
    assert "Usually replies within 2 hours. Usually confirms requests within an hour" in directory
    profile_page = client.get(f"/specialists/{quick.slug}").get_data(as_text=True)
    assert "Usually replies within 2 hours" in profile_page
    assert "Usually confirms requests within an hour" in profile_page
    assert "New on Balance" not in profile_page
    assert "New on Balance" in client.get(f"/specialists/{new.slug}").get_data(as_text=True)
    old_page = client.get(f"/specialists/{old.slug}").get_data(as_text=True)
    assert "New on Balance" not in old_page and "Usually replies" not in old_page


def card_names(html: str) -> list[str]:
    import re
    return re.findall(r'<h3 class="specialist-card-name"><a [^>]*>([^<]+)</a>', html)


def test_fast_responders_first(client, quick, make_specialist, make_user):
    slow = make_specialist(display_name="Dr Slow")
    conversation_with_waits(slow, make_user(Role.CLIENT), [600, 700, 800, 900, 1000])
    make_specialist(display_name="Dr Aaron Unmeasured")
    commit()
    default_order = card_names(client.get("/specialists").get_data(as_text=True))
    refresh_responsiveness()
    commit()
    fast = card_names(client.get("/specialists?sort=fast").get_data(as_text=True))
    assert fast == ["Dr Quick", "Dr Slow", "Dr Aaron Unmeasured"]
    assert "Dr Aaron Unmeasured" == default_order[0]  # the default order is another (name, here)
    page = client.get("/specialists?sort=fast").get_data(as_text=True)
    assert "Sorted by Fast responders first" in page
    # Both orders are cached, each under its own key (the sort is part of it).
    assert card_names(client.get("/specialists").get_data(as_text=True))[0] == "Dr Aaron Unmeasured"
    assert card_names(client.get("/specialists?sort=fast").get_data(as_text=True))[0] == "Dr Quick"
